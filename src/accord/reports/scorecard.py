"""The shared scorecard: the seven numbers that say whether the agreement is working.

If they improve together, alignment is real; if one improves alone, a team is optimising its own
metric. Definitions (docs/metrics.md, "Scorecard"):
1. MQL acceptance rate = accepted / (accepted + rejected) of dispositions in the period.
2. First-touch SLA compliance = met / (met + breached) first-touch clocks started in the period.
3. Marketing-influenced and -sourced closed-won revenue, as shares of closed-won (attribution report).
4. Forecast variance between teams = (marketing - sales) / sales for the latest quarter that has
   started, from `revenue_plan.forecasts`.
5. Pipeline coverage = open pipeline amount / revenue still to win in the plan period
   (target - closed-won so far), in total and by pipeline stage; target `revenue_plan.coverage`.
6. Content utilization = share of open deals that used a mapped asset (content report).
7. Win rate by demand state of entry = won / (won + lost) of deals closed in the period, grouped by
   the first stage their primary contact entered the journey in (skipped stages excluded).
Handoff figures (1, 2) honour the period only; the others honour every filter.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from accord.handoffs.report import sla_report
from accord.reports.attribution import summarize
from accord.reports.base import Column, Report, Section
from accord.reports.data import DAY, OppRow, ReportData, midnight, quarter_bounds, status_against
from accord.reports.stats import wilson

WEEK = 7 * DAY


def remaining_target(data: ReportData) -> tuple[float | None, float]:
    """Revenue still to win in the plan period as of the report's instant, and what was won so far."""
    plan = data.spec.revenue_plan
    if plan is None:
        return None, 0.0
    start, end = midnight(plan.start), midnight(plan.end) + DAY
    if data.as_of >= end:
        return None, 0.0
    won = sum(
        o.amount or 0.0
        for o in data.opportunities.values()
        if o.is_won and o.closed_at is not None and start <= o.closed_at <= data.as_of
    )
    return max(plan.target - won, 0.0), won


def _reads(value: float | None, target: float | None, unit: str) -> str:
    """The value as a reader says it: '82.0% (target 90.0%)', '1.7x (target 3.0x)'."""

    def say(x: float) -> str:
        return f"{100 * x:.1f}%" if unit == "share" else f"{x:.2f}x"

    if value is None:
        return "no data"
    return say(value) + (f" (target {say(target)})" if target is not None else "")


def open_deals(data: ReportData) -> list[OppRow]:
    return [o for o in data.opportunities.values() if not o.is_closed]


def entry_state(data: ReportData, deal: OppRow) -> str:
    if not deal.contact_id:
        return "(no contact)"
    entered = [r for r in data.all_contact_stages.get(deal.contact_id, []) if not r.skipped]
    return entered[0].stage if entered else "(no journey)"


def _acceptance_streak(data: ReportData, target: float, weeks: int) -> int:
    """How many whole weeks in a row, ending at the report's instant, acceptance was below target."""
    rows = data.query(
        "SELECT floor((epoch(?::TIMESTAMPTZ) - epoch(occurred_at)) / ?)::BIGINT AS back, type, count(*) AS n "
        "FROM events WHERE type IN ('accepted', 'rejected') AND occurred_at <= ?::TIMESTAMPTZ "
        "AND occurred_at > ?::TIMESTAMPTZ - to_seconds(?) GROUP BY ALL",
        [datetime.fromtimestamp(data.as_of, UTC), WEEK, datetime.fromtimestamp(data.as_of, UTC),
         datetime.fromtimestamp(data.as_of, UTC), weeks * WEEK],
    )  # fmt: skip
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for r in rows:
        counts[int(r["back"])][r["type"]] = int(r["n"])
    streak = 0
    for back in range(weeks):
        week = counts.get(back, {})
        decided = week.get("accepted", 0) + week.get("rejected", 0)
        if decided == 0 or week.get("accepted", 0) / decided >= target:
            break
        streak += 1
    return streak


def scorecard(data: ReportData) -> Report:
    spec = data.spec
    f = data.filters
    sla = sla_report(data.ledger, spec, data.as_of, f.since, f.until)
    first_touch = next((line for line in sla.lines if line.sla == spec.agreement.sales.first_touch_sla), None)
    attribution, _ = summarize(data)
    plan = spec.revenue_plan
    remaining, _won = remaining_target(data)
    deals = open_deals(data)
    pipeline = sum(o.amount or 0.0 for o in deals)
    coverage = pipeline / remaining if remaining else None
    forecast = None
    if plan:
        started = [
            fc for fc in plan.forecasts
            if quarter_bounds(fc.quarter)[0] <= data.as_of
        ]  # fmt: skip
        forecast = started[-1] if started else None
    from accord.reports.content import content_utilization

    used, active = content_utilization(data)
    closed = [o for o in data.opportunities.values() if o.is_closed and f.in_period(o.closed_at)]
    won = sum(1 for o in closed if o.is_won)
    acc = sla.acceptance
    ft_target = spec.agreement.sales.first_touch_compliance
    ft_value = first_touch.compliance if first_touch else None
    ft_basis = (
        f"{first_touch.counts['met']} met, {first_touch.counts['breached']} breached" if first_touch else ""
    )
    influenced_target = plan.influenced_share if plan else None
    sourced_target = plan.sourced_share if plan else None
    coverage_target = plan.coverage if plan else None
    variance = (forecast.marketing - forecast.sales) / forecast.sales if forecast and forecast.sales else None
    variance_basis = (
        f"{forecast.quarter}: marketing {forecast.marketing:,.0f}, sales {forecast.sales:,.0f}"
        if forecast
        else "no forecast for a quarter that has started"
    )
    coverage_basis = (
        f"{pipeline:,.0f} open against {remaining:,.0f} still to win"
        if remaining is not None
        else "no plan period in progress"
    )
    won_basis = f"{attribution.won:,.0f}"
    rows: list[list[Any]] = [
        ["MQL acceptance rate", acc["rate"], acc["target"], status_against(acc["rate"], acc["target"]),
         "share", f"{acc['accepted']} accepted, {acc['rejected']} rejected"],
        ["First-touch SLA compliance", ft_value, ft_target, status_against(ft_value, ft_target), "share",
         ft_basis],
        ["Marketing-influenced closed-won", attribution.influenced_share, influenced_target,
         status_against(attribution.influenced_share, influenced_target), "share",
         f"{attribution.influenced:,.0f} of {won_basis}"],
        ["Marketing-sourced closed-won", attribution.sourced_share, sourced_target,
         status_against(attribution.sourced_share, sourced_target), "share",
         f"{attribution.sourced:,.0f} of {won_basis}"],
        ["Forecast variance between teams", variance, None, "no target", "share", variance_basis],
        ["Pipeline coverage", coverage, coverage_target, status_against(coverage, coverage_target), "ratio",
         coverage_basis],
        ["Content utilization in active deals", used / active if active else None, None, "no target", "share",
         f"{used} of {active} open deals"],
        ["Win rate (by entry state below)", won / len(closed) if closed else None, None, "no target",
         "share", f"{won} won of {len(closed)} closed"],
    ]  # fmt: skip
    for row in rows:
        row.insert(1, _reads(row[1], row[2], row[4]))
    head = Section(
        "scorecard",
        "Minimum viable metrics",
        [
            Column("metric", "Metric"),
            Column("reads", "Reads"),
            Column("value", "Value", "number"),
            Column("target", "Target", "number"),
            Column("status", "Status"),
            Column("unit", "Unit"),
            Column("basis", "Basis"),
        ],
        rows,
    )
    head.notes.append(
        "Shares are fractions (0.75 = 75%); coverage is a ratio (3.0 = 3x the remaining target)."
    )
    weeks = spec.agreement.joint.acceptance_alert_weeks
    streak = _acceptance_streak(data, spec.agreement.marketing.acceptance_rate, weeks)
    if streak >= weeks:
        head.flags.append(
            f"acceptance has been below {spec.agreement.marketing.acceptance_rate:.0%} for {streak} weeks "
            "in a row: revisit the MQL criteria with both leaders, not the reps"
        )
    for row in rows:
        if row[4] == "below target":
            head.flags.append(f"{row[0]} is below target")
    return Report(
        "scorecard",
        "Shared scorecard",
        data.as_of,
        data.filters,
        [head, _coverage_by_stage(data, deals, remaining), _win_rate_by_entry(data, closed)],
        spec.workspace.currency,
    )


def _coverage_by_stage(data: ReportData, deals: list[OppRow], remaining: float | None) -> Section:
    probability = {s.id: s.probability for s in data.spec.pipeline.stages} if data.spec.pipeline else {}
    order = {s.id: i for i, s in enumerate(data.spec.pipeline.stages)} if data.spec.pipeline else {}
    by_stage: dict[str, list[OppRow]] = defaultdict(list)
    for o in deals:
        by_stage[o.stage or "(none)"].append(o)
    rows = []
    for stage in sorted(by_stage, key=lambda s: (order.get(s, len(order)), s)):
        group = by_stage[stage]
        amount = sum(o.amount or 0.0 for o in group)
        p = probability.get(stage)
        rows.append([stage, len(group), amount, None if p is None else amount * p,
                     amount / remaining if remaining else None])  # fmt: skip
    return Section(
        "coverage",
        "Pipeline coverage by stage",
        [
            Column("stage", "Stage"),
            Column("deals", "Open deals", "int"),
            Column("amount", "Amount", "money"),
            Column("weighted", "Weighted by stage probability", "money"),
            Column("coverage", "Coverage of remaining target", "number"),
        ],
        rows,
    )


def _win_rate_by_entry(data: ReportData, closed: list[OppRow]) -> Section:
    groups: dict[str, list[bool]] = defaultdict(list)
    for o in closed:
        groups[entry_state(data, o)].append(o.is_won)
    order = data.journey_order
    rows = []
    for state in sorted(groups, key=lambda s: (order.get(s, len(order)), s)):
        outcomes = groups[state]
        k, n = sum(outcomes), len(outcomes)
        low, high = wilson(k, n)
        rows.append([state, n, k, k / n, low, high])
    return Section(
        "win_rate_by_entry",
        "Win rate by demand state of entry",
        [
            Column("entry_state", "Entered the journey at"),
            Column("closed", "Closed", "int"),
            Column("won", "Won", "int"),
            Column("win_rate", "Win rate", "share"),
            Column("ci_low", "95% CI low", "share"),
            Column("ci_high", "95% CI high", "share"),
        ],
        rows,
        notes=["A deal's entry state is the first stage its primary contact entered (skips excluded)."],
    )
