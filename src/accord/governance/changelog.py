"""The change log: every version that came into force, what changed, why, who agreed, and at 30 and
90 days whether the backtest's forecast came true.

The forecast is judged by the same figures the backtest computed (:mod:`accord.governance.figures`),
measured on the workspace's own derive over the 30 or 90 days after activation. That derive must
have been made under the version being judged and reach the end of the period; otherwise the check
says what is missing instead of comparing numbers that mean something else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from accord.governance.diff import SpecDiff, diff_specs
from accord.governance.figures import Figures, measure
from accord.governance.proposals import ACTIVATED, OPEN, Proposal, load_proposals, sync
from accord.governance.versions import FIRST_SEEN, Activation, activations, instant, spec_of
from accord.ledger.store import Ledger
from accord.service.workspace import Workspace
from accord.spec.model import Spec

CHECK_DAYS = (30, 90)
NOT_DUE, MEASURED, NEEDS_DERIVE, CUT_SHORT = "not yet due", "measured", "derive needed", "replaced before"


@dataclass(frozen=True)
class CheckLine:
    metric: str
    before: float | None  # the backtest's figure for the version it replaced
    predicted: float | None  # the backtest's figure for this version
    actual: float | None


@dataclass(frozen=True)
class Check:
    days: int
    due_at: datetime
    status: str  # NOT_DUE, MEASURED, NEEDS_DERIVE or CUT_SHORT
    note: str
    lines: list[CheckLine]


@dataclass(frozen=True)
class Entry:
    """One coming-into-force of a version."""

    activation: Activation
    proposal: Proposal | None
    diff: SpecDiff
    checks: list[Check]

    @property
    def why(self) -> str | None:
        return self.proposal.why if self.proposal else None

    @property
    def how(self) -> str:
        if self.activation.origin == FIRST_SEEN:
            return "baseline: in force when the ledger first saw the agreement"
        if self.activation.signed_off and self.proposal is not None:
            return f"proposal {self.proposal.id}, approved by " + ", ".join(self.activation.approvers)
        return "activated without sign-off: accord.yaml was edited with no approved proposal"


@dataclass(frozen=True)
class ChangeLog:
    as_of: datetime
    entries: list[Entry]  # oldest first
    closed: list[Proposal]  # rejected or stale proposals: changes that did not happen
    pending: list[Proposal]  # open proposals


def change_log(ws: Workspace, *, now: datetime | None = None) -> ChangeLog:
    moment = instant(now)
    with ws.ledger() as ledger:
        sync(ws, ledger, now=moment)
        proposals = load_proposals(ledger)
        history = activations(ledger)
        by_id = {p.id: p for p in proposals}
        specs: dict[str, Spec] = {}
        written = ledger.written()  # once: every check of this view reads the same ledger
        entries = []
        for i, a in enumerate(history):
            proposal = by_id.get(a.proposal_id or "")
            after = spec_of(ledger, a.version, specs)
            before = spec_of(ledger, a.previous, specs) if a.previous else None
            diff = (
                proposal.diff
                if proposal is not None
                else (diff_specs(before, after) if before and after else SpecDiff(()))
            )
            retired = history[i + 1].at if i + 1 < len(history) else None
            checks = [
                _check(ledger, a, after, proposal, days, retired, moment, written) for days in CHECK_DAYS
            ]
            entries.append(Entry(a, proposal, diff, checks))
    closed = [p for p in proposals if p.state not in (ACTIVATED, OPEN)]
    pending = [p for p in proposals if p.state == OPEN]
    return ChangeLog(moment, entries, closed, pending)


_MEASURED: dict[tuple[Any, ...], Figures] = {}
"""Figures of past windows by what they were read from. Measuring one check reads the whole ledger
(about 3 s on the 5,000-contact demo), and the change log measures two per activation on every view,
although nothing changes between derives; a new derive or any new import makes a new key."""
_MEASURED_MAX = 64


def _measured(
    ledger: Ledger, spec: Spec, version: str, read: tuple[Any, ...], since: int, until: int
) -> Figures:
    """``read``: the derive run and :meth:`Ledger.written` the figures would be read from."""
    key = (str(getattr(ledger, "path", id(ledger))), version, since, until, *read)
    found = _MEASURED.get(key)
    if found is None:
        found = measure(ledger, spec, version, since=since, until=until)
        if len(_MEASURED) >= _MEASURED_MAX:
            _MEASURED.clear()
        _MEASURED[key] = found
    return found


def _check(
    ledger: Ledger,
    a: Activation,
    spec: Spec | None,
    proposal: Proposal | None,
    days: int,
    retired: datetime | None,
    now: datetime,
    written: tuple[Any, ...],
) -> Check:
    from accord.ledger.derived import has_derived, latest_run

    due = a.at + timedelta(days=days)
    if retired is not None and retired < due:
        span = (retired - a.at).days
        return Check(days, due, CUT_SHORT, f"replaced after {span} days, before the {days}-day check", [])
    if now < due:
        return Check(days, due, NOT_DUE, f"due {due.date().isoformat()}", [])
    run = latest_run(ledger) if has_derived(ledger) else None
    run_as_of = instant(run["as_of"]) if run else None
    if (
        spec is None
        or run is None
        or run["spec_version"] != a.version
        or run_as_of is None
        or run_as_of < due
    ):
        return Check(
            days,
            due,
            NEEDS_DERIVE,
            f"run `accord derive` under version {a.version} as of {due.date().isoformat()} or later "
            "to measure what happened",
            [],
        )
    read = (run["run_id"], *written)
    actual = _measured(ledger, spec, a.version, read, int(a.at.timestamp()), int(due.timestamp()))
    bt = proposal.backtest if proposal else None
    lines = _lines(bt.active if bt else None, bt.proposed if bt else None, actual)
    note = "against the backtest" if bt else "no backtest: activated without a proposal"
    return Check(days, due, MEASURED, note, lines)


def _lines(before: Figures | None, predicted: Figures | None, actual: Figures) -> list[CheckLine]:
    def pick(f: Figures | None, name: str) -> float | None:
        value: Any = getattr(f, name) if f is not None else None
        return None if value is None else float(value)

    return [
        CheckLine(
            f"{actual.top_tier} per week",
            pick(before, "top_per_week"),
            pick(predicted, "top_per_week"),
            actual.top_per_week,
        ),
        CheckLine(
            "MQLs per week",
            pick(before, "mql_per_week"),
            pick(predicted, "mql_per_week"),
            actual.mql_per_week,
        ),
        CheckLine(
            "MQL acceptance", pick(before, "acceptance"), pick(predicted, "acceptance"), actual.acceptance
        ),
    ]
