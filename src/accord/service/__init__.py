"""Use cases: the only door the CLI, the API and the dashboard go through.

Adapters parse input and render output; everything they do to a workspace happens here. The
package re-exports every use case so callers write ``service.run_derive`` and never depend on
which module holds it.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from accord.service.access import Conflict, Forbidden, NotFound, may_read_queue, readable_queues
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
    from accord.service.handoffs import disposition, owner_queue, queue_overview, queue_sizes, run_tick, sla
    from accord.service.hosted import HostedWorkspace, hold
    from accord.service.ingestion import IngestResult, ingest
    from accord.service.keys import KeyInfo, audit, create_key, has_admin_key, list_keys, revoke_key
    from accord.service.plays import acknowledge_alert, handoff_context, list_alerts, may_acknowledge_alert
    from accord.service.records import account_view, contact_view, dispose, opportunity_view, touch
    from accord.service.reports import check_filters, known_filters, report, review, unknown_filters
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

_WHERE: dict[str, str] = {
    "Conflict": "accord.service.access",
    "DemoResult": "accord.service.demo",
    "DeriveResult": "accord.service.derive",
    "Explanation": "accord.service.derive",
    "Forbidden": "accord.service.access",
    "HostedWorkspace": "accord.service.hosted",
    "IngestResult": "accord.service.ingestion",
    "KeyInfo": "accord.service.keys",
    "NotFound": "accord.service.access",
    "Progress": "accord.service.workspace",
    "SPEC_FILE": "accord.service.workspace",
    "STARTER_SPEC": "accord.service.workspace",
    "Signature": "accord.service.governance",
    "SpecText": "accord.service.agreement",
    "WORKSPACE_ENV": "accord.service.workspace",
    "Workspace": "accord.service.workspace",
    "account_view": "accord.service.records",
    "acknowledge_alert": "accord.service.plays",
    "approve_proposal": "accord.service.governance",
    "audit": "accord.service.keys",
    "build_demo": "accord.service.demo",
    "change_log": "accord.service.governance",
    "change_log_data": "accord.service.governance",
    "check_filters": "accord.service.reports",
    "check_spec": "accord.service.agreement",
    "clock_dict": "accord.service.decide",
    "contact_view": "accord.service.records",
    "create_key": "accord.service.keys",
    "decisions": "accord.service.decide",
    "dispose": "accord.service.records",
    "disposition": "accord.service.handoffs",
    "explain": "accord.service.derive",
    "get_proposal": "accord.service.governance",
    "handoff_context": "accord.service.plays",
    "has_admin_key": "accord.service.keys",
    "hold": "accord.service.hosted",
    "import_file": "accord.service.workspace",
    "ingest": "accord.service.ingestion",
    "init_workspace": "accord.service.workspace",
    "known_filters": "accord.service.reports",
    "leads": "accord.service.derive",
    "list_alerts": "accord.service.plays",
    "list_keys": "accord.service.keys",
    "list_proposals": "accord.service.governance",
    "locate": "accord.service.workspace",
    "may_acknowledge_alert": "accord.service.plays",
    "may_read_queue": "accord.service.access",
    "readable_queues": "accord.service.access",
    "opportunity_view": "accord.service.records",
    "owner_queue": "accord.service.handoffs",
    "queue_overview": "accord.service.handoffs",
    "queue_sizes": "accord.service.handoffs",
    "proposal_data": "accord.service.governance",
    "propose_change": "accord.service.governance",
    "read_spec": "accord.service.agreement",
    "reject_proposal": "accord.service.governance",
    "replace_spec": "accord.service.agreement",
    "report": "accord.service.reports",
    "review": "accord.service.reports",
    "revoke_key": "accord.service.keys",
    "run_derive": "accord.service.derive",
    "run_tick": "accord.service.handoffs",
    "sign_agreement": "accord.service.governance",
    "sla": "accord.service.handoffs",
    "status": "accord.service.workspace",
    "touch": "accord.service.records",
    "unknown_filters": "accord.service.reports",
    "validate_spec": "accord.service.workspace",
}
"""Where each use case lives. Loaded on first use: a CLI command needs a few of them, and importing
them all (Ibis, the engine, PostgreSQL's driver) cost about a second before any command could start."""


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'accord.service' has no attribute '{name}'")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


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
    "known_filters",
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
    "queue_overview",
    "queue_sizes",
    "read_spec",
    "readable_queues",
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
    "unknown_filters",
    "validate_spec",
]
