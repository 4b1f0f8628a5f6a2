"""One revenue plan for both teams: from the revenue target back to leads, activities and spend.

Definitions (docs/metrics.md, "Revenue plan"):
- Rates are measured over the report period (--from/--to), else the 365 days before the report's
  instant; an entry in `revenue_plan.assumptions` overrides the measured value.
  win_rate = won / (won + lost) of deals closed; avg_deal_size = mean closed-won amount;
  cycle_days = median days from creation to closed-won; stage rates = cohort conversion between
  consecutive journey stages from the MQL stage to the opportunity stage (no horizon);
  opportunities_per_contact = opportunities created / contacts reaching the opportunity stage;
  activities_per_opportunity = rep-activity events / opportunities created;
  cost_per_mql = campaign cost of campaigns starting in the window / MQLs in the window.
- Backward: deals = target / avg_deal_size; opportunities = deals / win_rate; contacts at each stage
  = the next stage's volume / the rate between them; activities = opportunities x activities per
  opportunity; marketing spend = MQLs x cost per MQL; required pipeline = target x coverage.
- Plan against actual: the plan's totals spread evenly over its days; to date = total x share of
  the plan period elapsed at the report's instant; status ahead (>= 100%), on track (>= 90%),
  behind (< 90%).
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from accord.errors import ReportError
from accord.reports.base import Column, Report, Section
from accord.reports.data import DAY, ReportData, midnight, quarter_bounds
from accord.reports.stats import median
from accord.reports.tiers import default_target

YEAR = 365 * DAY


class Rates:
    """The measured rates, their bases, and the values the plan uses after the spec's overrides."""

    def __init__(self, data: ReportData, since: int, until: int) -> None:
        self.data, self.since, self.until = data, since, until
        self.rows: list[list[Any]] = []
        self.used: dict[str, float | None] = {}
        self.stage_pairs: list[tuple[str, str]] = []

    def within(self, at: int | None) -> bool:
        return at is not None and self.since <= at < self.until

    def add(self, key: str, label: str, measured: float | None, basis: str, kind: str = "number") -> None:
        plan = self.data.spec.revenue_plan
        override = plan.assumptions.get(key) if plan else None
        used = override if override is not None else measured
        source = "assumption" if override is not None else ("measured" if measured is not None else "missing")
        self.rows.append([key, label, measured, basis, override, used, source])
        self.used[key] = used

    def measure(self) -> None:
        data = self.data
        deals = list(data.opportunities.values())
        closed = [o for o in deals if o.is_closed and self.within(o.closed_at)]
        won = [o for o in closed if o.is_won]
        self.add("win_rate", "Win rate", len(won) / len(closed) if closed else None, f"{len(closed)} closed")
        amounts = [o.amount for o in won if o.amount is not None]
        self.add("avg_deal_size", "Average won deal", sum(amounts) / len(amounts) if amounts else None,
                 f"{len(amounts)} won with an amount")  # fmt: skip
        cycles = [(o.closed_at - o.created_at) / DAY for o in won if o.closed_at and o.created_at]
        self.add("cycle_days", "Sales cycle (median days)", median(cycles), f"{len(cycles)} won with dates")
        stages = [s.id for s in data.spec.journey.stages]
        first = data.spec.agreement.mql_stage
        last = default_target(data)
        if first in stages and last in stages and stages.index(first) < stages.index(last):
            chain = stages[stages.index(first) : stages.index(last) + 1]
            chain = [s for s in chain if not data.spec.journey.stages[stages.index(s)].optional]
            self.stage_pairs = list(itertools.pairwise(chain))
        histories = data.contact_stages
        for a, b in self.stage_pairs:
            cohort = [h for h in histories.values() if self.within(data.reached(h, a))]
            k = sum(1 for h in cohort if data.reached(h, b, after=data.reached(h, a)) is not None)
            self.add(f"rate_{a}_{b}", f"{a} -> {b}", k / len(cohort) if cohort else None,
                     f"{k} of {len(cohort)} reaching {a}")  # fmt: skip
        created = [o for o in deals if self.within(o.created_at)]
        at_opp = sum(1 for h in histories.values() if self.within(data.reached(h, last)))
        per_contact = len(created) / at_opp if at_opp else None
        basis = f"{len(created)} created, {at_opp} contacts"
        self.add(
            "opportunities_per_contact", f"Opportunities per contact reaching {last}", per_contact, basis
        )
        activity = data.query(
            "SELECT count(*) AS n FROM events WHERE type IN (SELECT unnest(?)) "
            "AND occurred_at >= to_timestamp(?) AND occurred_at < to_timestamp(?)",
            [sorted(_rep_activity(data)), self.since, self.until],
        )[0]["n"]
        self.add("activities_per_opportunity", "Rep activities per opportunity",
                 activity / len(created) if created else None, f"{activity} activities")  # fmt: skip
        mqls = (
            sum(1 for h in histories.values() if self.within(data.reached(h, first)))
            if first in stages
            else 0
        )
        cost = data.query(
            "SELECT sum(cost) AS cost FROM campaigns WHERE start_date >= to_timestamp(?)::DATE "
            "AND start_date < to_timestamp(?)::DATE",
            [self.since, self.until],
        )[0]["cost"]
        self.add("cost_per_mql", "Marketing cost per MQL", float(cost) / mqls if cost and mqls else None,
                 f"cost {0 if cost is None else float(cost):,.0f}, {mqls} MQLs", "money")  # fmt: skip


def _rep_activity(data: ReportData) -> set[str]:
    from accord.reports.attribution import touch_types

    return touch_types(data)[1]


def _div(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else a / b


def _mul(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a * b


def plan(data: ReportData) -> Report:
    spec_plan = data.spec.revenue_plan
    if spec_plan is None:
        raise ReportError(
            "the spec has no revenue_plan", hint="add `revenue_plan:` (start, end, target) to the spec"
        )
    until = data.filters.until if data.filters.until is not None else data.as_of
    since = data.filters.since if data.filters.since is not None else until - YEAR
    rates = Rates(data, since, until)
    rates.measure()
    used = rates.used
    target = spec_plan.target
    months = max(1.0, (midnight(spec_plan.end) + DAY - midnight(spec_plan.start)) / (DAY * 365 / 12))
    deals = _div(target, used["avg_deal_size"])
    opportunities = _div(deals, used["win_rate"])
    contacts = _div(opportunities, used["opportunities_per_contact"])
    volumes: list[tuple[str, float | None]] = []
    volume = contacts
    for a, b in reversed(rates.stage_pairs):
        volumes.append((b, volume))
        volume = _div(volume, used[f"rate_{a}_{b}"])
    if rates.stage_pairs:
        volumes.append((rates.stage_pairs[0][0], volume))
    volumes.reverse()
    mqls = volumes[0][1] if volumes else None
    lines: list[tuple[str, float | None, str]] = [
        ("Revenue target", target, "money"),
        ("Required pipeline (target x coverage)", target * spec_plan.coverage, "money"),
        ("Won deals needed", deals, "number"),
        ("Opportunities needed", opportunities, "number"),
        *((f"Contacts reaching {stage}", v, "number") for stage, v in volumes),
        ("Rep activities", _mul(opportunities, used["activities_per_opportunity"]), "number"),
        ("Marketing spend", _mul(mqls, used["cost_per_mql"]), "money"),
    ]
    if spec_plan.sourced_share is not None:
        lines.append(("Marketing-sourced revenue", target * spec_plan.sourced_share, "money"))
    inputs = Section(
        "inputs",
        "Rates the plan stands on",
        [
            Column("key", "Rate"),
            Column("label", "Meaning"),
            Column("measured", "Measured", "number"),
            Column("basis", "Basis"),
            Column("assumption", "Spec assumption", "number"),
            Column("used", "Used", "number"),
            Column("source", "Source"),
        ],
        rates.rows,
    )
    window = f"{datetime.fromtimestamp(since, UTC):%Y-%m-%d} to {datetime.fromtimestamp(until, UTC):%Y-%m-%d}"
    inputs.notes.append(f"Measured from {window}; `revenue_plan.assumptions` overrides any of them.")
    missing = [r[0] for r in rates.rows if r[6] == "missing"]
    if missing:
        inputs.flags.append(
            "no data for "
            + ", ".join(missing)
            + ": add them under revenue_plan.assumptions to complete the plan"
        )
    backward = Section(
        "plan",
        f"The plan, {spec_plan.start} to {spec_plan.end}",
        [
            Column("line", "Line"),
            Column("total", "Total", "number"),
            Column("per_month", "Per month", "number"),
            Column("kind", "Unit"),
        ],
        [
            [name, value, _div(value, months), "money" if kind == "money" else "count"]
            for name, value, kind in lines
        ],
    )
    cycle = used["cycle_days"]
    if cycle is not None:
        last_day = datetime.fromtimestamp(midnight(spec_plan.end) - cycle * DAY, UTC).date()
        backward.notes.append(
            f"With a {cycle:.0f}-day cycle, opportunities created after {last_day} are unlikely to close in "
            "the plan period."
        )
    return Report(
        "plan",
        "Revenue plan",
        data.as_of,
        data.filters,
        [inputs, backward, _against_actual(data, lines, volumes), _forecasts(data)],
        data.spec.workspace.currency,
    )


def _against_actual(
    data: ReportData, lines: list[tuple[str, float | None, str]], volumes: list[tuple[str, float | None]]
) -> Section:
    spec_plan = data.spec.revenue_plan
    assert spec_plan is not None
    start, end = midnight(spec_plan.start), midnight(spec_plan.end) + DAY
    now = min(max(data.as_of, start), end)
    elapsed = (now - start) / (end - start)

    def inside(at: int | None) -> bool:
        return at is not None and start <= at < now

    deals = list(data.opportunities.values())
    planned = {name: value for name, value, _ in lines}
    histories = data.contact_stages
    actuals: list[tuple[str, float | None, float, str]] = [
        ("Closed-won revenue", planned["Revenue target"],
         sum(o.amount or 0 for o in deals if o.is_won and inside(o.closed_at)), "money"),
        ("Pipeline created", planned["Required pipeline (target x coverage)"],
         sum(o.amount or 0 for o in deals if inside(o.created_at)), "money"),
        ("Opportunities created", planned["Opportunities needed"],
         float(sum(1 for o in deals if inside(o.created_at))), "count"),
    ]  # fmt: skip
    for stage, value in volumes:
        count = sum(1 for h in histories.values() if inside(data.reached(h, stage)))
        actuals.append((f"Contacts reaching {stage}", value, float(count), "count"))
    rows = []
    for name, total, actual, unit in actuals:
        to_date = None if total is None else total * elapsed
        ratio = _div(actual, to_date)
        status = (
            "no plan"
            if ratio is None
            else "ahead"
            if ratio >= 1
            else "on track"
            if ratio >= 0.9
            else "behind"
        )
        rows.append([name, total, to_date, actual, ratio, status, unit])
    section = Section(
        "actual",
        "Plan against actual, to date",
        [
            Column("line", "Line"),
            Column("plan_total", "Plan (period)", "number"),
            Column("plan_to_date", "Plan to date", "number"),
            Column("actual", "Actual", "number"),
            Column("attainment", "Attainment", "share"),
            Column("status", "Status"),
            Column("unit", "Unit"),
        ],
        rows,
    )
    section.notes.append(
        f"{elapsed:.0%} of the plan period has elapsed; the plan is spread evenly over its days "
        "(ahead >= 100%, on track >= 90%, behind below)."
    )
    return section


def _forecasts(data: ReportData) -> Section:
    """Both teams' quarter-start forecasts, their gap, and how each fared against the closed-won."""
    spec_plan = data.spec.revenue_plan
    assert spec_plan is not None
    rows = []
    for f in spec_plan.forecasts:
        start, end = quarter_bounds(f.quarter)
        won = None
        if data.as_of >= start:
            won = sum(
                o.amount or 0
                for o in data.all_opportunities.values()
                if o.is_won and o.closed_at is not None and start <= o.closed_at < min(end, data.as_of + 1)
            )
        variance = _div(f.marketing - f.sales, f.sales)
        rows.append([
            f.quarter, f.marketing, f.sales, variance, won,
            None if won is None else _div(f.marketing - won, won),
            None if won is None else _div(f.sales - won, won),
            "closed" if data.as_of >= end else "in progress" if won is not None else "not started",
        ])  # fmt: skip
    section = Section(
        "forecasts",
        "Forecasts at quarter start",
        [
            Column("quarter", "Quarter"),
            Column("marketing", "Marketing", "money"),
            Column("sales", "Sales", "money"),
            Column("variance", "Gap (marketing vs sales)", "share"),
            Column("actual", "Closed-won", "money"),
            Column("marketing_error", "Marketing error", "share"),
            Column("sales_error", "Sales error", "share"),
            Column("state", "Quarter"),
        ],
        rows,
    )
    section.notes.append(
        "Gap = (marketing - sales) / sales; an error = (forecast - closed-won) / closed-won."
    )
    if not rows:
        section.notes.append(
            "No forecasts recorded: add them under revenue_plan.forecasts each quarter start."
        )
    return section
