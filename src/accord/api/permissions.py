"""Who may do what: the permission matrix as data, so docs, API, dashboard and tests read one table.

Roles follow the people who co-own the agreement. Reading is open to every role (one source of
truth); writing is narrow. Dispositions and touches are further limited by the domain rule that only
a lead's owner or the owner's manager may act on it (`accord.handoffs.dispositions`), so a rep acts
on their own leads only and a sales manager on their team's. Likewise a proposal to change the
agreement is approved or rejected only by the governance owners of the version in force
(`accord.governance.proposals`), whichever role their key has.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    admin = "admin"
    revops = "revops"
    marketing = "marketing"
    sales_manager = "sales_manager"
    rep = "rep"
    viewer = "viewer"


class Action(StrEnum):
    read = "read"  # reports, dashboard, leads, accounts, opportunities, the spec, queues
    ingest = "ingest"  # POST events (marketing automation, CRM sync)
    disposition = "disposition"  # accept / reject / recycle a lead (own or team's only)
    touch = "touch"  # log a call, email or meeting on a lead (own or team's only)
    validate_spec = "validate_spec"  # check a proposed spec without changing anything
    change_spec = "change_spec"  # replace the active spec
    run = "run"  # derive and tick on demand
    manage_keys = "manage_keys"  # create and revoke API keys
    read_audit = "read_audit"  # the audit log of writes
    propose_change = "propose_change"  # propose a new text of the agreement (diff and backtest)
    decide_change = "decide_change"  # approve or reject a proposal (governance owners only)


R = Role
MATRIX: dict[Action, frozenset[Role]] = {
    Action.read: frozenset(Role),
    Action.ingest: frozenset({R.admin, R.revops, R.marketing}),
    Action.disposition: frozenset({R.rep, R.sales_manager}),
    Action.touch: frozenset({R.rep, R.sales_manager}),
    Action.validate_spec: frozenset({R.admin, R.revops, R.marketing, R.sales_manager}),
    Action.change_spec: frozenset({R.admin, R.revops}),
    Action.run: frozenset({R.admin, R.revops}),
    Action.manage_keys: frozenset({R.admin}),
    Action.read_audit: frozenset({R.admin, R.revops}),
    Action.propose_change: frozenset({R.admin, R.revops, R.marketing, R.sales_manager}),
    Action.decide_change: frozenset(Role) - {R.viewer},
}
"""Action -> roles allowed. Dispositions and touches also require owning the lead or managing its owner;
approving or rejecting a proposal requires being a governance owner of the agreement in force, whatever
the role (the person signs, not the role), except that a viewer key only ever reads."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: the person id of the spec (or users table), their role, and which key they used."""

    person: str
    role: Role
    key_id: str

    def may(self, action: Action) -> bool:
        return self.role in MATRIX[action]


def matrix_markdown() -> str:
    """The matrix as the table docs/api.md shows (generated, so it cannot drift from the code)."""
    roles = list(Role)
    lines = ["| action | " + " | ".join(r.value for r in roles) + " |", "|---|" + "---|" * len(roles)]
    for action in Action:
        cells = ["yes" if r in MATRIX[action] else "" for r in roles]
        lines.append(f"| {action.value} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
