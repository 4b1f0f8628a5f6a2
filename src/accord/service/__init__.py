"""Use cases: the only door the CLI, the API and the dashboard go through.

Adapters parse input and render output; everything they do to a workspace happens here. The
package re-exports every use case so callers write ``service.run_derive`` and never depend on
which module holds it.
"""

from accord.service.access import Conflict, Forbidden, NotFound, may_read_queue
from accord.service.agreement import SpecText, check_spec, read_spec, replace_spec
from accord.service.decide import clock_dict, decisions
from accord.service.demo import DemoResult, build_demo
from accord.service.derive import DeriveResult, Explanation, explain, leads, run_derive
from accord.service.governance import (
    Signature,
    approve_proposal,
    change_log,
    change_log_data,
    get_proposal,
    list_proposals,
    proposal_data,
    propose_change,
    reject_proposal,
    sign_agreement,
)
from accord.service.handoffs import disposition, owner_queue, run_tick, sla
from accord.service.hosted import HostedWorkspace, hold
from accord.service.ingest import IngestResult, ingest
from accord.service.keys import KeyInfo, audit, create_key, has_admin_key, list_keys, revoke_key
from accord.service.plays import acknowledge_alert, handoff_context, list_alerts, may_acknowledge_alert
from accord.service.records import account_view, contact_view, dispose, opportunity_view, touch
from accord.service.reports import check_filters, report, review
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
    "Conflict",
    "DemoResult",
    "DeriveResult",
    "Explanation",
    "Forbidden",
    "HostedWorkspace",
    "IngestResult",
    "KeyInfo",
    "NotFound",
    "Progress",
    "Signature",
    "SpecText",
    "Workspace",
    "account_view",
    "acknowledge_alert",
    "approve_proposal",
    "audit",
    "build_demo",
    "change_log",
    "change_log_data",
    "check_filters",
    "check_spec",
    "clock_dict",
    "contact_view",
    "create_key",
    "decisions",
    "dispose",
    "disposition",
    "explain",
    "get_proposal",
    "handoff_context",
    "has_admin_key",
    "hold",
    "import_file",
    "ingest",
    "init_workspace",
    "leads",
    "list_alerts",
    "list_keys",
    "list_proposals",
    "locate",
    "may_acknowledge_alert",
    "may_read_queue",
    "opportunity_view",
    "owner_queue",
    "proposal_data",
    "propose_change",
    "read_spec",
    "reject_proposal",
    "replace_spec",
    "report",
    "review",
    "revoke_key",
    "run_derive",
    "run_tick",
    "sign_agreement",
    "sla",
    "status",
    "touch",
    "validate_spec",
]
