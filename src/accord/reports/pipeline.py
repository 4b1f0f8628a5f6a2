"""The weekly pipeline review, win rate and cycle time of closed deals, and the quarterly loss post-mortem.

Definitions (docs/metrics.md, "Pipeline review", "Deals", "Loss post-mortem"):
- A deal is open at an instant when it was created before it and had not closed by then; its weight
  is its amount times the probability the spec gives its pipeline stage.
- Stalled: open, and no stage movement for ``pipeline.stalled_after`` (21 days) or more at the
  report's instant. A deal with neither a stage date nor a creation date cannot be judged and is
  listed as such, never dropped.
- A stall reason is the one recorded on the deal, else the first that holds of: no next action, next
  action overdue, stuck in its stage. The same reason on ``pattern_min_deals`` (3) stalled deals is
  structural: it goes to the loss post-mortem, not to the rep.
- Win rate = won / (won + lost) of deals closed in the period, with a 95% Wilson interval; cycle time
  is the median of days from creation to close, for won and lost deals apart.
- A loss pattern area (pricing, qualification...) with ``pattern_min_deals`` losses in a calendar
  quarter is structural; the post-mortem proposes a change to the system, never to a person.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from accord.errors import ReportError
from accord.reports.base import Column, Report, Section
from accord.reports.data import DAY, OppRow, ReportData, StageRow

AGENDA: tuple[tuple[str, str, int], ...] = (
    ("forecast_delta", "Forecast delta", 5),
    ("over_threshold", "Deals over threshold", 20),
    ("stalled", "Stalled inventory", 10),
    ("patterns", "Pattern flags", 5),
    ("commitments", "Action commitments", 5),
)
"""The review's agenda in order, with the minutes of a 45-minute meeting."""

DAY_NAMES = {"mon": "Mondays", "tue": "Tuesdays", "wed": "Wednesdays", "thu": "Thursdays", "fri": "Fridays",
             "sat": "Saturdays", "sun": "Sundays"}  # fmt: skip


# ---- shared helpers ------------------------------------------------------------------------------


def _zone(data: ReportData) -> ZoneInfo:
    return ZoneInfo(data.spec.workspace.timezone)


def local_day(data: ReportData, at: int) -> date:
    """The calendar day of an instant in the workspace's time zone."""
    return datetime.fromtimestamp(at, UTC).astimezone(_zone(data)).date()


def quarter(data: ReportData, at: int) -> str:
    """Calendar quarter of an instant in the workspace's time zone, e.g. 2026-Q3."""
    day = local_day(data, at)
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def _stage_name(data: ReportData, stage: str | None) -> str:
    names = {s.id: s.name for s in data.spec.pipeline.stages}
    return names.get(stage or "", stage or "(no stage)")


def _days(data: ReportData, since: int | None) -> float | None:
    return None if since is None else (data.as_of - since) / DAY


def _amount(opps: Iterable[OppRow]) -> float:
    return sum(o.amount or 0.0 for o in opps)


def _open_deals(data: ReportData) -> list[OppRow]:
    return [o for o in data.opportunities.values() if not o.is_closed]


# ---- pipeline review -----------------------------------------------------------------------------


def agenda_minutes(total: int) -> list[int]:
    """The 45-minute split scaled to the spec's meeting length; largest remainders keep the sum exact."""
    base = [m for *_, m in AGENDA]
    exact = [m * total / sum(base) for m in base]
    minutes = [int(x) for x in exact]
    by_remainder = sorted(range(len(exact)), key=lambda i: (minutes[i] - exact[i], i))
    for i in by_remainder[: total - sum(minutes)]:
        minutes[i] += 1
    return minutes


def problems(o: OppRow, today: date) -> list[str]:
    """What keeps a deal from having a named owner and a dated next action (the review's rule)."""
    out: list[str] = []
    if not o.owner:
        out.append("missing owner")
    if not o.next_action:
        out.append("missing next action")
    elif o.next_action_due is None:
        out.append("missing next-action date")
    elif o.next_action_due < today:
        out.append("next action overdue")
    return out


def stall_reason(data: ReportData, o: OppRow, today: date) -> str:
    """The recorded reason, else the first gap that explains a deal sitting still."""
    if o.stall_reason:
        return o.stall_reason
    if not o.next_action:
        return "no next action"
    if o.next_action_due is not None and o.next_action_due < today:
        return "next action overdue"
    return f"stuck in {_stage_name(data, o.stage)}"


def _timelines(data: ReportData) -> dict[str, list[StageRow]]:
    """Opportunity stage rows in time order (a move back carries a high seq, so seq alone misorders)."""
    return {k: sorted(v, key=lambda r: (r.entered_at, r.seq)) for k, v in data.stages("opportunity").items()}


def _state(
    data: ReportData, o: OppRow, timeline: list[StageRow], cut: int, closed: set[str]
) -> tuple[str | None, float] | None:
    """(stage, amount) of a deal open just before ``cut``; None when it did not exist or had closed.

    The amount is the last one an event recorded before ``cut``, else the deal's current amount.
    """
    born = o.created_at if o.created_at is not None else (timeline[0].entered_at if timeline else None)
    if born is not None and born >= cut:
        return None
    if o.is_closed and (o.closed_at is None or o.closed_at < cut):
        return None
    before = [r for r in timeline if r.entered_at < cut]
    if before and before[-1].stage in closed:
        return None
    # without a stage history, a deal that has closed since has no known stage then: it weighs 0
    stage = before[-1].stage if before else (None if o.is_closed else o.stage)
    amounts = [p["amount"] for at, _, p in data.opportunity_events.get(o.opportunity_id, [])
               if at < cut and p.get("amount") is not None]  # fmt: skip
    amount = float(amounts[-1]) if amounts else o.amount
    return stage, amount or 0.0


def _moves(timeline: list[StageRow], start: int, cut: int, order: dict[str, int]) -> tuple[int, int]:
    """Forward and backward moves between open stages at instants in [start, cut)."""
    points: list[tuple[int, str]] = []
    for r in timeline:
        if points and points[-1][0] == r.entered_at:
            points[-1] = (r.entered_at, r.stage)
        else:
            points.append((r.entered_at, r.stage))
    forward = back = 0
    for (_, before), (at, after) in itertools.pairwise(points):
        if start <= at < cut and before in order and after in order:
            forward += order[after] > order[before]
            back += order[after] < order[before]
    return forward, back


def forecast_delta(data: ReportData, minutes: int) -> Section:
    """Two snapshots and the moves between them: amount changes on deals that did not move still show."""
    pipeline = data.spec.pipeline
    open_order = {s.id: i for i, s in enumerate(pipeline.stages) if s.outcome == "open"}
    closed = {s.id for s in pipeline.stages if s.outcome != "open"}
    prob = {s.id: s.probability or 0.0 for s in pipeline.stages}
    f = data.filters
    start = f.since if f.since is not None else data.as_of - 7 * DAY
    cut = min(f.until, data.as_of + 1) if f.until is not None else data.as_of + 1
    timelines = _timelines(data)
    opps = list(data.opportunities.values())

    def snapshot(at: int) -> list[Any]:
        states = [s for o in opps if (s := _state(data, o, timelines.get(o.opportunity_id, []), at, closed))]
        return [len(states), sum(a for _, a in states), sum(a * prob.get(st or "", 0.0) for st, a in states)]

    def within(at: int | None) -> bool:
        return at is not None and start <= at < cut

    created = [o for o in opps if within(o.created_at)]
    won = [o for o in opps if o.is_won and within(o.closed_at)]
    lost = [o for o in opps if o.is_closed and not o.is_won and within(o.closed_at)]
    forward = back = 0
    for o in opps:
        ahead, behind = _moves(timelines.get(o.opportunity_id, []), start, cut, open_order)
        forward, back = forward + ahead, back + behind
    before, after = snapshot(start), snapshot(cut)
    rows: list[list[Any]] = [
        ["Deals created", len(created), _amount(created), None],
        ["Moved forward a stage", forward, None, None],
        ["Moved back a stage", back, None, None],
        ["Won", len(won), _amount(won), None],
        ["Lost", len(lost), _amount(lost), None],
        ["Open pipeline at the start", *before],
        ["Open pipeline at the end", *after],
        ["Net change", *(b - a for a, b in zip(before, after, strict=True))],
    ]
    section = Section(
        "forecast_delta",
        f"Forecast delta ({minutes} min)",
        [
            Column("item", "What changed"),
            Column("deals", "Deals", "int"),
            Column("amount", "Amount", "money"),
            Column("weighted", "Weighted by stage probability", "money"),
        ],
        rows,
    )
    weighted = "weighted = amount x the probability the spec gives the deal's stage."
    if start >= cut:  # never "from 2027-01-01 to 2026-11-25"
        section.notes.append(
            f"The period starts after the report's instant: nothing can have changed; {weighted}"
        )
    else:
        first, last = local_day(data, start), local_day(data, cut - 1)
        section.notes.append(
            f"Changes from {first} to {last} (the 7 days before the report's instant unless a period is "
            f"given); {weighted}"
        )
    return section


def over_threshold(data: ReportData, threshold: float, minutes: int, today: date) -> Section:
    opps = sorted(
        (o for o in _open_deals(data) if o.amount is not None and o.amount >= threshold),
        key=lambda o: (-(o.amount or 0.0), o.opportunity_id),
    )
    rows = [
        [o.opportunity_id, o.owner, _stage_name(data, o.stage), o.amount, _days(data, o.stage_since),
         o.next_action, o.next_action_due, "; ".join(problems(o, today)) or None]
        for o in opps
    ]  # fmt: skip
    section = Section(
        "over_threshold",
        f"Deals over threshold ({minutes} min)",
        [
            Column("deal", "Deal"),
            Column("owner", "Owner"),
            Column("stage", "Stage"),
            Column("amount", "Amount", "money"),
            Column("days_in_stage", "Days in stage", "days"),
            Column("next_action", "Next action"),
            Column("due", "Due", "date"),
            Column("flags", "Flags"),
        ],
        rows,
    )
    section.notes.append(
        f"Open deals of {data.spec.workspace.currency} {threshold:,.0f} or more; walk each and leave with "
        "a named owner and a dated next action."
    )
    no_amount = sum(1 for o in _open_deals(data) if o.amount is None)
    if no_amount:
        section.notes.append(
            f"{no_amount} open deal{'s have' if no_amount != 1 else ' has'} no amount: cannot tell whether "
            "over the threshold; record the amount."
        )
    counts: dict[str, int] = defaultdict(int)
    for o in opps:
        for problem in problems(o, today):
            counts[problem] += 1
    section.flags += [
        f"{n} deal{'s' if n != 1 else ''} over threshold: {p}" for p, n in sorted(counts.items())
    ]
    return section


def stalled_inventory(
    data: ReportData, minutes: int, today: date
) -> tuple[Section, list[tuple[OppRow, str]]]:
    """The stalled section, and the stalled deals with their reasons for the pattern flags."""
    limit = data.spec.pipeline.stalled_after.total_seconds()
    stalled: list[tuple[OppRow, str]] = []
    unknown: list[OppRow] = []
    for o in _open_deals(data):
        if o.stage_since is None:
            unknown.append(o)
        elif data.as_of - o.stage_since >= limit:
            stalled.append((o, stall_reason(data, o, today)))
    stalled.sort(key=lambda p: (p[0].stage_since or 0, p[0].opportunity_id))
    rows: list[list[Any]] = [
        [o.opportunity_id, o.owner, _stage_name(data, o.stage), o.amount, _days(data, o.stage_since),
         reason, "stalled", not problems(o, today)]
        for o, reason in stalled
    ]  # fmt: skip
    rows += [
        [o.opportunity_id, o.owner, _stage_name(data, o.stage), o.amount, None, None, "cannot tell",
         not problems(o, today)]
        for o in sorted(unknown, key=lambda o: o.opportunity_id)
    ]  # fmt: skip
    days = limit / DAY
    section = Section(
        "stalled",
        f"Stalled inventory ({minutes} min)",
        [
            Column("deal", "Deal"),
            Column("owner", "Owner"),
            Column("stage", "Stage"),
            Column("amount", "Amount", "money"),
            Column("days_in_stage", "Days without stage movement", "days"),
            Column("reason", "Stall reason"),
            Column("status", "Status"),
            Column("owned", "Owner and a next action dated, not overdue", "flag"),
        ],
        rows,
    )
    section.notes.append(f"Open deals with no stage movement for {days:g} days or more.")
    if unknown:
        section.notes.append(
            f"{len(unknown)} open deal{'s have' if len(unknown) != 1 else ' has'} no stage date and no "
            "creation date: cannot tell whether stalled; record when the deal entered its stage."
        )
    unowned = sum(1 for o, _ in stalled if problems(o, today))
    if unowned:
        section.flags.append(
            f"{unowned} stalled deal{'s lack' if unowned != 1 else ' lacks'} a named owner or a dated next "
            "action: off the forecast until both are set"
        )
    return section, stalled


def pattern_flags(data: ReportData, stalled: list[tuple[OppRow, str]], minutes: int) -> Section:
    need = data.spec.pipeline.pattern_min_deals
    groups: dict[str, list[OppRow]] = defaultdict(list)
    for o, reason in stalled:
        groups[reason].append(o)
    ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    rows = [
        [reason, len(opps), _amount(opps), len(opps) >= need, ", ".join(o.opportunity_id for o in opps)]
        for reason, opps in ordered
    ]
    section = Section(
        "patterns",
        f"Pattern flags ({minutes} min)",
        [
            Column("reason", "Stall reason"),
            Column("deals", "Stalled deals", "int"),
            Column("amount", "Amount", "money"),
            Column("structural", "Structural", "flag"),
            Column("deal_ids", "Deals"),
        ],
        rows,
    )
    section.notes.append(
        f"A stall reason shared by {need} or more stalled deals is structural: fix the system, not the deal."
    )
    section.flags += [
        f"'{reason}' holds {len(opps)} stalled deals: structural, route to the loss post-mortem"
        for reason, opps in ordered
        if len(opps) >= need
    ]
    return section


def action_commitments(data: ReportData, minutes: int, today: date) -> Section:
    friday = today + timedelta(days=(4 - today.weekday()) % 7 or 7)
    rows: list[list[Any]] = []
    later = 0
    for o in _open_deals(data):
        due = o.next_action_due
        if not o.next_action:
            status = "owner must name a next action"
        elif due is None:
            status = "owner must date the next action"
        elif due < today:
            status = "overdue"
        elif due <= friday:
            status = "due by Friday"
        else:
            later += 1
            continue
        rows.append([o.owner or "(no owner)", o.opportunity_id, o.next_action, due, status])
    rank = {"overdue": 0, "due by Friday": 1, "owner must date the next action": 2}
    rows.sort(key=lambda r: (r[0] == "(no owner)", r[0], rank.get(r[4], 3), r[3] or date.max, r[1]))
    section = Section(
        "commitments",
        f"Action commitments ({minutes} min)",
        [
            Column("owner", "Owner"),
            Column("deal", "Deal"),
            Column("next_action", "Next action"),
            Column("due", "Due", "date"),
            Column("status", "Commitment"),
        ],
        rows,
    )
    section.notes.append(
        f"Dated next actions due by Friday {friday}, and open deals without one; {later} deal"
        f"{'s' if later != 1 else ''} with a next action due later not listed."
    )
    return section


def pipeline_review(data: ReportData, *, threshold: float | None = None) -> Report:
    pipeline = data.spec.pipeline
    if threshold is None:
        threshold = pipeline.deal_threshold
    try:
        threshold = float(threshold)
    except (TypeError, ValueError):
        raise ReportError(
            f"--threshold '{threshold}' is not a number", hint="give an amount, e.g. 50000"
        ) from None
    if threshold < 0:
        raise ReportError(f"--threshold {threshold:g} is negative", hint="give an amount of 0 or more")
    minutes = agenda_minutes(pipeline.review_minutes)
    today = local_day(data, data.as_of)
    stalled, stalled_deals = stalled_inventory(data, minutes[2], today)
    sections = [
        forecast_delta(data, minutes[0]),
        over_threshold(data, threshold, minutes[1], today),
        stalled,
        pattern_flags(data, stalled_deals, minutes[3]),
        action_commitments(data, minutes[4], today),
    ]
    if data.filters.since is not None or data.filters.until is not None:
        stalled.notes.append("The period narrows the forecast delta only; the other sections are as of now.")
    return Report(
        "pipeline",
        f"Pipeline review ({pipeline.review_minutes} min, {DAY_NAMES[pipeline.review_day]})",
        data.as_of,
        data.filters,
        sections,
        data.spec.workspace.currency,
    )
