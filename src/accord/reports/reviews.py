"""Retrospectives, their actions and loss interviews, read back from the ledger; and `accord report retros`.

Review records are statements about the past (what the team agreed, what a buyer said), not
measurements: every report lists all of them whenever they were written, so a retro recorded after
the last derive shows at once. What is judged in time stays at its own instant: the frozen scorecard
at the retrospective's, and "overdue" at the report's day (docs/metrics.md, "Retrospectives").
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from accord.domain.reviews import Action, Interview, Retro
from accord.errors import ReportError
from accord.reports.base import Column, Report, Section
from accord.reports.data import OppRow, ReportData, ts
from accord.spec.rules import suggest

Query = Callable[[str, list[Any]], list[dict[str, Any]]]
REVIEW_TYPES = ("campaign_retrospective", "action_created", "action_done", "loss_interview")


def _rows(query: Query, types: tuple[str, ...]) -> list[dict[str, Any]]:
    marks = ", ".join("?" for _ in types)
    found = query(
        "SELECT event_id, occurred_at, type, opportunity_id, actor_id, properties FROM events "
        f"WHERE type IN ({marks}) AND source = 'accord' ORDER BY occurred_at, event_id",
        list(types),
    )
    for r in found:
        r["at"] = ts(r["occurred_at"])
        r["props"] = json.loads(r["properties"]) if r["properties"] else {}
    return found


def read_retros(query: Query) -> list[Retro]:
    """Every retrospective, oldest first."""
    return [
        Retro(
            r["event_id"],
            p["campaign"],
            p["milestone"],
            int(r["at"]),
            r["actor_id"],
            list(p.get("worked", [])),
            list(p.get("stalled", [])),
            list(p.get("actions", [])),
            int(p.get("scorecard_as_of", r["at"])),
            list(p.get("scorecard", [])),
        )
        for r in _rows(query, ("campaign_retrospective",))
        for p in (r["props"],)
    ]


def read_actions(query: Query) -> dict[str, Action]:
    """Every action by id, with its closure when one was recorded (the first closure counts)."""
    actions: dict[str, Action] = {}
    for r in _rows(query, ("action_created", "action_done")):
        p = r["props"]
        if r["type"] == "action_created":
            actions[p["action_id"]] = Action(
                p["action_id"], p["campaign"], p["milestone"], p["text"], p["owner"],
                date.fromisoformat(p["due"]), int(r["at"]),
            )  # fmt: skip
        elif (found := actions.get(p.get("action_id", ""))) is not None and found.done_at is None:
            found.done_at, found.done_by, found.note = int(r["at"]), r["actor_id"], p.get("note")
    return actions


def read_interviews(query: Query) -> list[Interview]:
    """Every loss interview, oldest first."""
    return [
        Interview(
            r["event_id"],
            r["opportunity_id"],
            int(r["at"]),
            r["props"].get("interviewer") or "",
            r["props"].get("role"),
            r["props"].get("area"),
            dict(r["props"].get("answers", {})),
        )
        for r in _rows(query, ("loss_interview",))
    ]


def local_day(at: int, timezone: str) -> date:
    return datetime.fromtimestamp(at, UTC).astimezone(ZoneInfo(timezone)).date()


def primary_line(retro: Retro) -> str:
    """The frozen primary outcome in one cell: "150,000 of 750,000 (behind pace)"."""
    if not retro.scorecard:
        return "no scorecard"
    first = retro.scorecard[0]
    actual = first.get("actual")
    if actual is None:
        return f"{first.get('status')}"
    return f"{actual:,.0f} of {first.get('target', 0):,.0f} ({first.get('status')})"


RETRO_COLUMNS = [
    Column("campaign", "Campaign"),
    Column("milestone", "Milestone"),
    Column("held", "Held", "date"),
    Column("scorecard", "Primary outcome then"),
    Column("worked", "What worked"),
    Column("stalled", "What stalled"),
    Column("actions", "Actions", "int"),
]
ACTION_COLUMNS = [
    Column("action", "Action id"),
    Column("campaign", "Campaign"),
    Column("milestone", "Milestone"),
    Column("text", "What changes"),
    Column("owner", "Owner"),
    Column("due", "Due", "date"),
    Column("status", "Status"),
    Column("days_overdue", "Days overdue", "int"),
    Column("done", "Done on", "date"),
]


def retro_row(data: ReportData, r: Retro) -> list[Any]:
    tz = data.spec.workspace.timezone
    return [r.campaign, r.milestone, local_day(r.held_at, tz), primary_line(r), "; ".join(r.worked),
            "; ".join(r.stalled), len(r.changes)]  # fmt: skip


def action_row(data: ReportData, a: Action, today: date) -> list[Any]:
    tz = data.spec.workspace.timezone
    done = local_day(a.done_at, tz) if a.done_at is not None else None
    return [a.action_id, a.campaign, a.milestone, a.text, data.name_of(a.owner), a.due, a.status(today),
            a.days_overdue(today), done]  # fmt: skip


def report_day(data: ReportData) -> date:
    """The day "overdue" is judged on: the report's instant in the workspace time zone."""
    return local_day(data.as_of, data.spec.workspace.timezone)


def overdue_flags(data: ReportData, actions: list[Action], today: date, label: str) -> list[str]:
    return [
        f"{label}: action {a.action_id} '{a.text}' ({data.name_of(a.owner)}) is "
        f"{a.days_overdue(today)} day{'s' if a.days_overdue(today) != 1 else ''} overdue (due {a.due})"
        for a in actions
        if a.status(today) == "overdue"
    ]


def retros(data: ReportData, *, campaign: str | None = None) -> Report:
    """Every retrospective (in the period, by the day it was held), its actions and frozen scorecards."""
    charters = data.spec.campaigns
    found = read_retros(data.query)
    known = sorted(set(charters) | {r.campaign for r in found})
    if campaign is not None and campaign not in known:
        near = suggest(campaign, known)
        raise ReportError(
            f"--campaign: no campaign '{campaign}'" + (f"; did you mean '{near}'?" if near else ""),
            hint="campaigns: " + (", ".join(known) or "none"),
        )
    chosen = [
        r for r in found if (campaign is None or r.campaign == campaign) and _in_period(data, r.held_at)
    ]
    actions = read_actions(data.query)
    today = report_day(data)
    listed = [
        actions[i] for r in chosen for i in r.changes if i in actions
    ]  # in the order the retros agreed them
    retro_section = Section("retros", "Retrospectives", RETRO_COLUMNS, [retro_row(data, r) for r in chosen])
    retro_section.notes.append(
        "Each retrospective keeps the campaign scorecard as it read when the retro was held (see "
        "'Scorecards as frozen'); later events never change it."
    )
    for cid, charter in charters.items():
        if campaign not in (None, cid):
            continue
        ended = data.as_of >= _closes(data, charter.end)
        if ended and not any(r.campaign == cid and r.closing for r in found):
            retro_section.flags.append(
                f"{charter.name}: ended on {charter.end} with no closing retrospective "
                f"(`accord retro {cid} --close ...`)"
            )
    action_section = Section(
        "actions", "Actions agreed", ACTION_COLUMNS, [action_row(data, a, today) for a in listed]
    )
    action_section.flags += overdue_flags(data, listed, today, "Overdue")
    action_section.notes.append(
        f"Overdue = not done and due before {today} (the report's day). Close one with "
        "`accord action done ID --note TEXT`."
    )
    frozen = Section(
        "frozen",
        "Scorecards as frozen",
        [
            Column("campaign", "Campaign"),
            Column("milestone", "Milestone"),
            Column("as_of", "Scorecard as of", "date"),
            Column("result", "Result"),
            Column("target", "Target", "number"),
            Column("actual", "Actual", "number"),
            Column("progress", "Of target", "share"),
            Column("status", "Status"),
        ],
        [
            [
                r.campaign,
                r.milestone,
                local_day(r.scorecard_as_of, data.spec.workspace.timezone),
                row.get("result"),
                row.get("target"),
                row.get("actual"),
                row.get("progress"),
                row.get("status"),
            ]
            for r in chosen
            for row in r.scorecard
        ],
    )
    if not chosen:
        retro_section.notes.append(
            "No retrospective recorded yet: hold one at each milestone and at close with `accord retro`."
        )
    return Report(
        "retros",
        "Campaign retrospectives and their actions",
        data.as_of,
        data.filters,
        [retro_section, action_section, frozen],
        data.spec.workspace.currency,
    )


def _in_period(data: ReportData, at: int) -> bool:
    f = data.filters
    return (f.since is None and f.until is None) or f.in_period(at)


def _closes(data: ReportData, end: date) -> int:
    from datetime import timedelta

    day = end + timedelta(days=1)
    zone = ZoneInfo(data.spec.workspace.timezone)
    return int(datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC).timestamp())


def campaign_sections(data: ReportData, cid: str, name: str, end: date) -> list[Section]:
    """The campaigns report's view of one charter's retrospectives and their open or overdue actions."""
    mine = [r for r in read_retros(data.query) if r.campaign == cid]
    actions = read_actions(data.query)
    today = report_day(data)
    retro_section = Section(
        f"{cid}.retros", f"{name}: retrospectives", RETRO_COLUMNS, [retro_row(data, r) for r in mine]
    )
    if not mine:
        retro_section.notes.append(
            "No retrospective yet: hold one after each milestone and at close (`accord retro`)."
        )
    if data.as_of >= _closes(data, end) and not any(r.closing for r in mine):
        retro_section.flags.append(f"{name}: ended on {end} with no closing retrospective")
    pending = [actions[i] for r in mine for i in r.changes if i in actions and actions[i].done_at is None]
    action_section = Section(
        f"{cid}.actions",
        f"{name}: open actions",
        ACTION_COLUMNS,
        [action_row(data, a, today) for a in pending],
        flags=overdue_flags(data, pending, today, name),
    )
    done = sum(1 for r in mine for i in r.changes if i in actions and actions[i].done_at is not None)
    action_section.notes.append(
        f"{len(pending)} open, {done} done; overdue = not done and due before {today}."
    )
    return [retro_section, action_section]


# ---- loss interviews in the post-mortem ---------------------------------------------------------


def interviews_of(data: ReportData, lost: list[OppRow]) -> dict[str, list[Interview]]:
    """The interviews of the lost deals the post-mortem counts, by deal, oldest first."""
    ids = {o.opportunity_id for o in lost}
    out: dict[str, list[Interview]] = {}
    for i in read_interviews(data.query):
        if i.opportunity_id in ids:
            out.setdefault(i.opportunity_id, []).append(i)
    return out


def assigned_area(interviews: list[Interview]) -> str | None:
    """The area the latest interview that names one assigns (a later view supersedes an earlier one)."""
    named = [i.area for i in interviews if i.area]
    return named[-1] if named else None


def counted_area(data: ReportData, o: OppRow, interviews: list[Interview]) -> str:
    """The pattern area a loss counts in: the spec's area of its CRM reason, unless that is missing,
    unknown or 'other' and an interview assigns one."""
    reason = next((r for r in data.spec.loss_reasons if r.id == o.loss_reason), None)
    area = reason.pattern if reason else "(no reason)"
    if area in ("(no reason)", "other"):
        return assigned_area(interviews) or area
    return area


def interview_notes(data: ReportData, lost: list[OppRow], heard: dict[str, list[Interview]]) -> list[str]:
    from accord.reports.pipeline import quarter

    per: dict[str, list[int]] = {}
    for o in lost:
        q = quarter(data, o.closed_at) if o.closed_at is not None else "(no date)"
        seen = per.setdefault(q, [0, 0])
        seen[0] += o.opportunity_id in heard
        seen[1] += 1
    counts = ", ".join(f"{q} {n} of {m}" for q, (n, m) in sorted(per.items()))
    return [
        f"Loss interviews: {sum(1 for o in lost if o.opportunity_id in heard)} of {len(lost)} lost deals "
        f"interviewed ({counts or 'none lost'}); aim for 5 to 10 reviewed losses a quarter.",
        "Rule: the area an interviewer assigns places a loss whose CRM reason is missing, not in the spec, "
        "or in the 'other' area ('Placed by interview'); a CRM reason the spec maps to an area keeps it "
        "there, and the interview is still counted and quoted. With several interviews of one deal, the "
        "latest that names an area decides.",
    ]


def evidence_section(data: ReportData, lost: list[OppRow], heard: dict[str, list[Interview]]) -> Section:
    """What buyers said, quoted short and attributed to their committee role, never to a person."""
    from accord.domain.reviews import QUESTIONS, shorten
    from accord.reports.pipeline import quarter

    roles = {r.id: r.label for r in data.spec.buying_committee}
    rows: list[list[Any]] = []
    for o in lost:
        for i in heard.get(o.opportunity_id, []):
            q = quarter(data, o.closed_at) if o.closed_at is not None else "(no date)"
            quotes = [f"\u201c{shorten(i.answers.get(k, ''), 90)}\u201d" for k in QUESTIONS]
            rows.append(
                [
                    q,
                    counted_area(data, o, heard[o.opportunity_id]),
                    roles.get(i.role or "", i.role or "buyer"),
                    o.loss_reason or "(none)",
                    *quotes,
                ]
            )
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    section = Section(
        "interviews",
        "What lost buyers said, by pattern area",
        [Column("quarter", "Quarter"), Column("area", "Pattern area"), Column("role", "Said by (role)"),
         Column("reason", "CRM reason"),
         *(Column(k, QUESTIONS[k][1]) for k in QUESTIONS)],
    )  # fmt: skip
    section.rows = rows
    if not rows:
        section.notes.append(
            "No loss interviews yet: record one per reviewed loss with `accord interview OPPORTUNITY`."
        )
    section.notes.append("Quotes are attributed to the buyer's committee role; interviewers are not shown.")
    return section
