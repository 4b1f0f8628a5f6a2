"""Review packs: the revenue council's agenda for a month or a quarter, built from the reports.

`accord review --month` / `--quarter` (and `accord report review` for any --from/--to period). Each
agenda item shows the period beside the one before it and says what the figures ask the council to
discuss; the meeting runs as a council would run it:

1. rejection reasons, 2. false positives, 3. tier performance (the handoff boundary: is Marketing
sending the right leads?), 4. SLA misses (is Sales working them in time?), 5. stalled-deal patterns
(where the pipeline sits still), 6. definitions untouched for a quarter (what to confirm or
recalibrate), 7. decisions and owners (every proposal leaves with a name and a date).

Nothing is defined twice: each item calls the report that already defines its metric (the SLA
report, tier validation, the pipeline review) and composes.
"""

from __future__ import annotations

from accord.errors import ReportError
from accord.ledger.store import Ledger
from accord.reports.base import Column, Filters, Report, Section
from accord.reports.data import ReportData
from accord.reports.review.context import HORIZON_DAYS, Context
from accord.reports.review.deals import stalled_patterns
from accord.reports.review.definitions import untouched_definitions
from accord.reports.review.handoffs import plural, rejections, sla_misses
from accord.reports.review.leads import false_positives, tier_performance
from accord.reports.review.pack import MONTH_MINUTES, QUARTER_MINUTES, AgendaItem, ReviewPack
from accord.reports.review.period import Period, choose, days_period, local_day, month_of, quarter_of
from accord.spec.model import Spec

__all__ = ["Period", "ReviewPack", "build_pack", "choose", "review"]


def build_pack(
    ledger: Ledger,
    spec: Spec,
    period: Period,
    *,
    as_of: int,
    filters: Filters | None = None,
    horizon_days: float | None = None,
) -> ReviewPack:
    """The pack for one period, compared with the period before it, as of the report's instant."""
    from zoneinfo import ZoneInfo

    if horizon_days is not None and horizon_days <= 0:
        raise ReportError(
            f"--horizon {horizon_days:g} is not a number of days", hint="give a positive number"
        )
    zone = ZoneInfo(spec.workspace.timezone)
    f = filters or Filters()
    ctx = Context(ledger, spec, as_of, period, period.previous(zone), Filters(None, None, f.segment, f.team,
                  f.source), horizon_days or HORIZON_DAYS)  # fmt: skip
    minutes = QUARTER_MINUTES if period.kind == "quarter" or period.days > 45 else MONTH_MINUTES
    items = [
        rejections(ctx, minutes["rejections"]),
        false_positives(ctx, minutes["false_positives"]),
        tier_performance(ctx, minutes["tiers"]),
        sla_misses(ctx, minutes["sla"]),
        stalled_patterns(ctx, minutes["stalled"]),
        untouched_definitions(ctx, minutes["definitions"]),
    ]
    items.append(decisions(ctx, items, minutes["decisions"]))
    pack = ReviewPack(period, ctx.previous, as_of, spec.workspace.currency, items,
                      filters=Filters(period.since, period.until, f.segment, f.team, f.source))  # fmt: skip
    if period.until > as_of:
        pack.notes.append(
            f"{period.name} had not ended at the report's instant: its figures are partial, and stalled "
            "deals and definitions are read at that instant."
        )
    active = {k: v for k, v in (("segment", f.segment), ("team", f.team), ("source", f.source)) if v}
    if active:
        pack.notes.append(
            "Filters " + ", ".join(f"{k} {v}" for k, v in active.items()) + " narrow leads, tiers and deals; "
            "rejection reasons and SLA figures come from `accord sla` and cover everyone."
        )
    return pack


def decisions(ctx: Context, items: list[AgendaItem], minutes: int) -> AgendaItem:
    """The closing item: every proposal the figures raised, with an owner, due before the next council."""
    due = _next(ctx)
    rows = [[item.title, what, who, due.last] for item in items for what, who in item.actions]
    section = Section(
        "decisions",
        "Decisions to take, with owners",
        [Column("topic", "Agenda item"), Column("decision", "To decide"), Column("owner", "Owner"),
         Column("due", "Due", "date")],
        rows,
    )  # fmt: skip
    section.notes.append(
        f"Due by the end of {due.name}, before the next council; the tie-breaker "
        f"({ctx.person(ctx.spec.governance.tie_breaker)}) decides what the owners cannot agree."
    )
    if rows:
        raised = plural(len(rows), "decision")
        discuss = [f"{raised} raised by the figures: leave with an owner and a date for each."]
    else:
        discuss = ["The figures raise no decision: confirm the agreement stands as it is."]
    return AgendaItem("decisions", "Decisions and owners", minutes, discuss, [section])


def _next(ctx: Context) -> Period:
    """The period after the reviewed one: when the decisions are due and the next council looks."""
    from datetime import timedelta

    day = ctx.period.last + timedelta(days=1)
    if ctx.period.kind == "month":
        return month_of(day, ctx.zone)
    if ctx.period.kind == "quarter":
        return quarter_of(day, ctx.zone)
    return days_period(day, day + timedelta(days=ctx.period.days - 1), ctx.zone)


def period_of(data: ReportData) -> Period:
    """A registry run's period: --from/--to, else the last complete month.

    A span that is a whole calendar month or quarter is one, so it is compared with the previous
    month or quarter; any other span with as many days just before it. Only --from runs to the
    report's day; only --to takes the calendar month that day falls in.
    """
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(data.spec.workspace.timezone)
    f = data.filters
    if f.since is None and f.until is None:
        return choose(None, None, data.as_of, zone)
    if f.until is None:  # from a day up to the report's instant
        assert f.since is not None
        span = days_period(local_day(f.since, zone), local_day(data.as_of, zone), zone)
    elif f.since is None:  # the calendar month the last day falls in
        return month_of(local_day(f.until - 1, zone), zone)
    else:
        span = days_period(local_day(f.since, zone), local_day(f.until - 1, zone), zone)
    for whole in (month_of(span.first, zone), quarter_of(span.first, zone)):
        if (whole.first, whole.last) == (span.first, span.last):
            return whole  # a calendar month or quarter is compared with the previous one
    return span


def review(data: ReportData, *, horizon_days: float | None = None) -> Report:
    """The registry's entry: the pack flattened to one report (agenda in the section titles)."""
    pack = build_pack(data.ledger, data.spec, period_of(data), as_of=data.as_of, filters=data.filters,
                      horizon_days=horizon_days)  # fmt: skip
    return pack.to_report()
