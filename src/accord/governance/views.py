"""Proposals and the change log in the shapes every adapter renders: a Report (text, Markdown) and
plain JSON (exact numbers, every field), so the CLI, and later the API, show the same thing.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta
from typing import Any

from accord.governance.backtest import Backtest
from accord.governance.changelog import ChangeLog
from accord.governance.proposals import Proposal
from accord.reports.base import Column, Filters, Report, Section, utc_text


def plain(value: Any) -> Any:
    """JSON-ready: dataclasses as dicts, instants as ISO text."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime):  # UTC with a Z, as every API answer writes instants
        return utc_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def proposal_json(p: Proposal) -> dict[str, Any]:
    out = plain(p)
    out["diff"] = p.diff.to_dict()
    out["backtest"] = p.backtest.to_dict() if p.backtest else None
    out["waiting_for"] = p.waiting_for
    out.pop("text", None)
    return dict(out)


def changelog_json(log: ChangeLog) -> dict[str, Any]:
    """The change log as plain data, oldest version first (as :class:`ChangeLog` holds them); each
    proposal as :func:`proposal_json` gives it (no full text)."""
    return {
        "as_of": plain(log.as_of),
        "entries": [
            {
                "activation": plain(e.activation),
                "how": e.how,
                "why": e.why,
                "proposal": proposal_json(e.proposal) if e.proposal else None,
                "diff": e.diff.to_dict(),
                "checks": plain(e.checks),
            }
            for e in log.entries
        ],
        "closed": [proposal_json(p) for p in log.closed],
        "pending": [proposal_json(p) for p in log.pending],
    }


def _day(moment: datetime | None) -> str:
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


def _num(value: float | int | None, *, share: bool = False) -> str:
    if value is None:
        return "n/a"
    if share:
        return f"{100 * value:.1f}%"
    return f"{value:,.2f}".rstrip("0").rstrip(".") if isinstance(value, float) else f"{value:,}"


def _delta(a: float | int | None, b: float | int | None, *, share: bool = False) -> str:
    if a is None or b is None:
        return ""
    d = b - a
    if share:
        return f"{100 * d:+.1f} pts"
    return f"{d:+,.2f}".rstrip("0").rstrip(".") if isinstance(d, float) else f"{d:+,}"


def proposal_report(p: Proposal) -> Report:
    as_of = p.backtest.as_of if p.backtest else p.proposed_at
    approvals = ", ".join(f"{a.person} ({_day(a.at)})" for a in p.approvals) or "none yet"
    facts = [
        ["State", p.state],
        ["Why", p.why],
        ["Proposed by", f"{p.author}, {_day(p.proposed_at)}"],
        ["Version", f"{p.base_version} -> {p.version}"],
        ["Approvals", approvals],
        ["Waiting for", ", ".join(p.waiting_for) if p.state == "open" else ""],
    ]
    if p.rejection:
        facts.append(["Rejected", f"by {p.rejection.person}, {_day(p.rejection.at)}: {p.rejection.reason}"])
    if p.activated_at:
        facts.append(["In force since", _day(p.activated_at)])
    two = [Column("item", "Item"), Column("value", "Value")]
    sections = [Section("proposal", f"Proposal {p.id}", two, facts)]
    sections.append(
        Section(
            "changes",
            "What changes",
            [Column("kind", "Kind"), Column("summary", "Change")],
            [[c.kind, c.summary] for c in p.diff.changes],
            notes=[] if p.diff.changes else ["no change in meaning (comments or layout only)"],
        )
    )
    if p.backtest is not None:
        sections.extend(backtest_sections(p.backtest))
    else:
        sections.append(Section("backtest", "Backtest", two, [], notes=["not run (--no-backtest)"]))
    return Report("proposal", f"Proposal {p.id}: {p.why}", int(as_of.timestamp()), Filters(), sections)


def backtest_sections(b: Backtest) -> list[Section]:
    a, n = b.active, b.proposed
    cols = [
        Column("metric", "Measure"),
        Column("in_force", "In force"),
        Column("proposed", "Proposed"),
        Column("change", "Change"),
    ]
    rows: list[list[Any]] = []

    def add(label: str, x: float | int | None, y: float | int | None, *, share: bool = False) -> None:
        rows.append([label, _num(x, share=share), _num(y, share=share), _delta(x, y, share=share)])

    leads_a = {t.tier: t.leads for t in a.tiers}
    leads_n = {t.tier: t.leads for t in n.tiers}
    for tier in dict.fromkeys([*leads_a, *leads_n]):
        add(f"Leads in {tier}", leads_a.get(tier), leads_n.get(tier))
    add(f"{n.top_tier} entries per week", a.top_per_week, n.top_per_week)
    add(f"{n.top_tier} leads open at once", a.open_at_once, n.open_at_once)
    add(f"Reps needed (of {n.reps}, capacity {n.capacity or 'n/a'})", a.reps_needed, n.reps_needed)
    add("MQLs per week", a.mql_per_week, n.mql_per_week)
    add("Expected MQL acceptance", a.acceptance, n.acceptance, share=True)
    for sla in dict.fromkeys([*a.sla_per_week, *n.sla_per_week]):
        add(f"SLA clocks per week: {sla}", a.sla_per_week.get(sla), n.sla_per_week.get(sla))
    conv_a = {c.tier: c for c in a.conversion}
    for c in n.conversion:
        before = conv_a.get(c.tier)
        add(
            f"{c.tier} conversion to {n.conversion_target}",
            before.rate if before else None,
            c.rate,
            share=True,
        )
        rows.append(
            [
                f"{c.tier} lift vs all leads",
                _num(before.lift if before else None),
                _num(c.lift),
                _delta(before.lift if before else None, c.lift),
            ]
        )
    period = f"the {b.weeks} weeks to {b.as_of.date().isoformat()}"
    figures = Section(
        "backtest",
        f"Backtest: history derived under each version ({period})",
        cols,
        rows,
        notes=[
            f"Acceptance rests on {a.dispositioned} (in force) and {n.dispositioned} (proposed) MQLs Sales "
            "dispositioned; leads only the proposal makes MQLs were never seen by Sales.",
            "Definitions: docs/governance.md.",
        ],
    )
    weekly = Section(
        "weekly",
        f"{n.top_tier} entries per week",
        [
            Column("week", "Week of"),
            Column("in_force", "In force", "int"),
            Column("proposed", "Proposed", "int"),
        ],
        [
            [(b.since.date() + _weeks(i)).isoformat(), x, y]
            for i, (x, y) in enumerate(zip(a.top_weekly, n.top_weekly, strict=False))
        ],
    )
    movers = Section(
        "movers",
        f"Leads that change tier ({b.moved} in all; examples)",
        [
            Column("contact", "Contact"),
            Column("tier", "Tier"),
            Column("score", "Score"),
            Column("before", "Drivers in force"),
            Column("after", "Drivers proposed"),
        ],
        [
            [
                m.contact_id,
                f"{m.before_tier} -> {m.after_tier}",
                f"{_num(m.before_score)} -> {_num(m.after_score)}",
                "; ".join(m.before_drivers),
                "; ".join(m.after_drivers),
            ]
            for m in b.movers
        ],
    )
    return [figures, weekly, movers]


def _weeks(i: int) -> timedelta:
    return timedelta(days=7 * i)


def changelog_report(log: ChangeLog) -> Report:
    entries = Section(
        "changes",
        "Versions in force",
        [
            Column("at", "In force from"),
            Column("version", "Version"),
            Column("how", "How"),
            Column("why", "Why"),
            Column("changed", "What changed"),
        ],
        [
            [_day(e.activation.at), e.activation.version, e.how, e.why or "", e.diff.summary()]
            for e in reversed(log.entries)
        ],
    )
    unsigned = [e for e in log.entries if e.activation.origin == "hand_edit"]
    if unsigned:
        entries.flags.append(
            f"{len(unsigned)} version(s) activated without sign-off: "
            + ", ".join(e.activation.version for e in unsigned)
        )
    details = Section(
        "details",
        "Changes in detail",
        [Column("version", "Version"), Column("kind", "Kind"), Column("summary", "Change")],
        [[e.activation.version, c.kind, c.summary] for e in reversed(log.entries) for c in e.diff.changes],
    )
    checks = Section(
        "checks",
        "Forecast against what happened (30 and 90 days after activation)",
        [
            Column("version", "Version"),
            Column("days", "After", "int"),
            Column("status", "Status"),
            Column("metric", "Measure"),
            Column("before", "Before (backtest)"),
            Column("predicted", "Predicted"),
            Column("actual", "Actual"),
        ],
    )
    for e in reversed(log.entries):
        if e.activation.origin == "first_seen":
            continue
        for c in e.checks:
            if not c.lines:
                checks.rows.append([e.activation.version, c.days, c.status, c.note, "", "", ""])
            for line in c.lines:
                share = "acceptance" in line.metric
                checks.rows.append(
                    [
                        e.activation.version,
                        c.days,
                        c.status,
                        line.metric,
                        _num(line.before, share=share),
                        _num(line.predicted, share=share),
                        _num(line.actual, share=share),
                    ]
                )
    closed = Section(
        "closed",
        "Proposals that did not come into force",
        [
            Column("id", "Proposal"),
            Column("state", "State"),
            Column("why", "Why"),
            Column("outcome", "Outcome"),
        ],
        [
            [
                p.id,
                p.state,
                p.why,
                f"rejected by {p.rejection.person}: {p.rejection.reason}"
                if p.rejection
                else "stale: the agreement changed under it",
            ]
            for p in log.closed
        ],
    )
    pending = Section(
        "pending",
        "Open proposals",
        [Column("id", "Proposal"), Column("why", "Why"), Column("waiting", "Waiting for")],
        [[p.id, p.why, ", ".join(p.waiting_for)] for p in log.pending],
    )
    return Report(
        "changelog", "Change log of the agreement", int(log.as_of.timestamp()), Filters(),
        [entries, details, checks, closed, pending],
    )  # fmt: skip
