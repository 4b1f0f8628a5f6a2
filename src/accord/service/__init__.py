"""Use cases: the only door the CLI, the API and the dashboard go through.

Adapters parse input and render output; everything they do to a workspace happens here. The
package re-exports every use case so callers write ``service.run_derive`` and never depend on
which module holds it.
"""

from accord.service.demo import DemoResult, build_demo
from accord.service.derive import DeriveResult, Explanation, explain, leads, run_derive
from accord.service.governance import Signature, sign_agreement
from accord.service.handoffs import disposition, owner_queue, run_tick, sla
from accord.service.reports import report
from accord.service.workspace import (
    SPEC_FILE,
    STARTER_SPEC,
    WORKSPACE_ENV,
    Progress,
    Workspace,
    import_file,
    init_workspace,
    locate,
    status,
    validate_spec,
)

__all__ = [
    "SPEC_FILE",
    "STARTER_SPEC",
    "WORKSPACE_ENV",
    "DemoResult",
    "DeriveResult",
    "Explanation",
    "Progress",
    "Signature",
    "Workspace",
    "build_demo",
    "disposition",
    "explain",
    "import_file",
    "init_workspace",
    "leads",
    "locate",
    "owner_queue",
    "report",
    "run_derive",
    "run_tick",
    "sign_agreement",
    "sla",
    "status",
    "validate_spec",
]
