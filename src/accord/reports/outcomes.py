"""Closed deals: win rate and cycle time by any dimension, and the quarterly loss post-mortem.

Definitions (docs/metrics.md, "Deals", "Loss post-mortem"):
- Win rate = won / (won + lost) of deals closed in the period, with a 95% Wilson interval; cycle time
  is the median of days from creation to close, for won and lost deals apart.
- A loss pattern area (pricing, qualification...) with ``pattern_min_deals`` losses in a calendar
  quarter is structural; the post-mortem proposes a change to the system, never to a person.
- Loss interviews count per area, and the area an interviewer assigns places a loss whose CRM reason
  is missing, unknown to the spec, or in the "other" area (accord.reports.reviews).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from accord.errors import ReportError
from accord.reports.base import Column, Report, Section
from accord.reports.data import DAY, OppRow, ReportData
from accord.reports.pipeline import _amount, quarter
from accord.reports.reviews import assigned_area, evidence_section, interview_notes, interviews_of
from accord.reports.stats import median, wilson
from accord.spec.rules import suggest

DIMENSIONS = ("owner", "manager", "team", "segment", "source", "product", "quarter")
NO_REASON = "(no reason)"
CHANGES: dict[str, str] = {
    "icp": "Tighten the ideal customer profile and the fit rules that let these accounts into the pipeline",
    "qualification": "Raise the qualification bar: confirm budget, decision process and timeline before "
    "a deal is created",
    "content": "Fill the content gap these buyers hit (e.g. security and compliance material) before "
    "producing new top-of-funnel assets",
    "pricing": "Review packaging and discount guardrails",
    "sales_motion": "Adjust the sales motion: reach several committee members early, secure a champion, "
    "sharpen competitive positioning",
    "product": "Take the missing capabilities to the product roadmap with the lost deal value attached",
    "timing": "Qualify urgency earlier and move timing losses to nurture with a recycle date",
    "other": "Split the reasons coded 'other' into codes the spec names, then review them again",
}
"""The change each pattern area suggests; about the system, never about a person."""


# ---- deals: win rate and cycle time --------------------------------------------------------------


def _closed_in_period(data: ReportData) -> list[OppRow]:
    return [o for o in data.opportunities.values() if o.is_closed and data.filters.in_period(o.closed_at)]


def _undated(data: ReportData, section: Section) -> None:
    """Closed deals without a close date cannot be placed in a period; say so rather than drop them."""
    n = sum(1 for o in data.opportunities.values() if o.is_closed and o.closed_at is None)
    if n:
        section.notes.append(
            f"{n} closed deal{'s have' if n != 1 else ' has'} no close date and {'are' if n != 1 else 'is'} "
            "left out: record when each closed."
        )


def _key(data: ReportData, by: str | None) -> Callable[[OppRow], str]:
    if by is None:
        return lambda _o: "all"
    if by not in DIMENSIONS:
        near = suggest(by, DIMENSIONS)
        raise ReportError(
            f"--by: unknown dimension '{by}'" + (f"; did you mean '{near}'?" if near else ""),
            hint=f"deals can be grouped by: {', '.join(DIMENSIONS)}",
        )
    if by == "quarter":
        return lambda o: quarter(data, o.closed_at) if o.closed_at is not None else "(no date)"
    return lambda o: getattr(o, by) or "(none)"


def _deal_row(group: str, opps: list[OppRow]) -> list[Any]:
    won = [o for o in opps if o.is_won]
    lost = [o for o in opps if not o.is_won]
    low, high = wilson(len(won), len(opps))

    def cycle(xs: list[OppRow]) -> float | None:
        return median([(o.closed_at - o.created_at) / DAY for o in xs
                       if o.closed_at is not None and o.created_at is not None])  # fmt: skip

    rate = len(won) / len(opps) if opps else None
    return [group, len(won), len(lost), rate, low, high, _amount(won), cycle(won), cycle(lost)]


def deals(data: ReportData, *, by: str | None = None) -> Report:
    key = _key(data, by)
    closed = _closed_in_period(data)
    groups: dict[str, list[OppRow]] = defaultdict(list)
    for o in closed:
        groups[key(o)].append(o)
    rows = [_deal_row(group, groups[group]) for group in sorted(groups)]
    if by is not None:
        rows.append(_deal_row("(all)", closed))
    section = Section(
        "deals",
        "Win rate and cycle time of closed deals",
        [
            Column("group", by or "group"),
            Column("won", "Won", "int"),
            Column("lost", "Lost", "int"),
            Column("win_rate", "Win rate", "share"),
            Column("ci_low", "95% CI low", "share"),
            Column("ci_high", "95% CI high", "share"),
            Column("won_amount", "Won amount", "money"),
            Column("days_to_win", "Median days to win", "days"),
            Column("days_to_loss", "Median days to loss", "days"),
        ],
        rows,
    )
    section.notes.append(
        "Deals closed in the period; win rate = won / (won + lost) with a 95% Wilson interval; cycle time "
        "= median days from creation to close."
    )
    _undated(data, section)
    return Report(
        "deals",
        "Deals: win rate and cycle time",
        data.as_of,
        data.filters,
        [section],
        data.spec.workspace.currency,
    )


# ---- loss post-mortem ----------------------------------------------------------------------------


def losses(data: ReportData) -> Report:
    need = data.spec.pipeline.pattern_min_deals
    reasons = {r.id: r for r in data.spec.loss_reasons}
    lost = [o for o in _closed_in_period(data) if not o.is_won]
    unknown = sorted({o.loss_reason for o in lost if o.loss_reason and o.loss_reason not in reasons})
    by_reason: dict[tuple[str, str], list[OppRow]] = defaultdict(list)
    for o in lost:
        code = o.loss_reason if o.loss_reason in reasons else NO_REASON
        by_reason[(quarter(data, o.closed_at) if o.closed_at is not None else "(no date)", code)].append(o)
    reason_rows: list[list[Any]] = []
    by_area: dict[tuple[str, str], list[OppRow]] = defaultdict(list)
    heard = interviews_of(data, lost)
    moved: set[str] = set()  # deals an interview placed in its area
    for (q, code), ds in sorted(by_reason.items(), key=lambda kv: (kv[0][0], -len(kv[1]), kv[0][1])):
        spec_reason = reasons.get(code)
        area = spec_reason.pattern if spec_reason else NO_REASON
        for o in ds:
            assigned = assigned_area(heard.get(o.opportunity_id, []))
            if area in (NO_REASON, "other") and assigned is not None:
                moved.add(o.opportunity_id)
                by_area[(q, assigned)].append(o)
            else:
                by_area[(q, area)].append(o)
        label = spec_reason.label if spec_reason else "no reason recorded, or one the spec does not name"
        structural = spec_reason is not None and len(ds) >= need
        reason_rows.append([q, code, label, area, len(ds), _amount(ds), structural])
    by_quarter: dict[str, int] = defaultdict(int)
    for (q, _), ds in by_area.items():
        by_quarter[q] += len(ds)
    reason_section = Section(
        "reasons",
        "Losses by quarter and reason",
        [
            Column("quarter", "Quarter"),
            Column("reason", "Loss reason"),
            Column("label", "Meaning"),
            Column("area", "Pattern area"),
            Column("deals", "Lost deals", "int"),
            Column("amount", "Lost amount", "money"),
            Column("structural", "Structural", "flag"),
        ],
        reason_rows,
    )
    gaps = sum(len(ds) for (_, code), ds in by_reason.items() if code == NO_REASON)
    if gaps:
        reason_section.flags.append(
            f"{gaps} lost deal{'s have' if gaps != 1 else ' has'} no loss reason the spec names: a data gap; "
            "record a reason on every closed-lost deal"
            + (f" (codes not in the spec: {', '.join(unknown)})" if unknown else "")
        )
    _undated(data, reason_section)
    area_rows = [
        [q, area, len(ds), _amount(ds), len(ds) / by_quarter[q], area != NO_REASON and len(ds) >= need,
         sum(1 for o in ds if o.opportunity_id in heard), sum(1 for o in ds if o.opportunity_id in moved)]
        for (q, area), ds in sorted(by_area.items(), key=lambda kv: (kv[0][0], -len(kv[1]), kv[0][1]))
    ]  # fmt: skip
    area_section = Section(
        "patterns",
        "Loss patterns by quarter",
        [
            Column("quarter", "Quarter"),
            Column("area", "Pattern area"),
            Column("deals", "Lost deals", "int"),
            Column("amount", "Lost amount", "money"),
            Column("share", "Share of the quarter's losses", "share"),
            Column("structural", "Structural", "flag"),
            Column("interviewed", "Interviewed", "int"),
            Column("by_interview", "Placed by interview", "int"),
        ],
        area_rows,
    )
    area_section.notes.append(
        f"A pattern area with {need} or more losses in a quarter is structural. Review 5 to 10 losses per "
        "quarter with both teams and leave with 3 to 5 structural changes."
    )
    thin = sorted(q for q, n in by_quarter.items() if n < 5)
    if thin:
        area_section.notes.append(f"Fewer than 5 losses in {', '.join(thin)}: read those patterns with care.")
    area_section.notes += interview_notes(data, lost, heard)
    change_rows = [
        [
            q,
            area,
            len(ds),
            ", ".join(sorted({o.loss_reason or "no reason, interview" for o in ds})),
            CHANGES[area],
        ]
        for (q, area), ds in sorted(by_area.items())
        if area != NO_REASON and len(ds) >= need
    ]
    changes = Section(
        "changes",
        "Structural changes to consider",
        [
            Column("quarter", "Quarter"),
            Column("area", "Pattern area"),
            Column("deals", "Lost deals", "int"),
            Column("reasons", "Loss reasons"),
            Column("change", "Change to consider"),
        ],
        change_rows,
    )
    changes.notes.append(
        "Each row is a change to the plan for next quarter (ICP, qualification, content, pricing, sales "
        "motion...), not a list of individual mistakes."
    )
    return Report(
        "losses",
        "Loss post-mortem",
        data.as_of,
        data.filters,
        [reason_section, area_section, changes, evidence_section(data, lost, heard)],
        data.spec.workspace.currency,
    )
