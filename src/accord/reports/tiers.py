"""Tier validation: does Tier 1 convert better than leads in general? If not, the thresholds move.

Definitions (docs/metrics.md, "Tier validation"):
- Cohort: contacts first scored in the period (their first score point).
- A contact's tier class: the best tier (first in the spec's order) it held before it reached the
  target stage, or ever if it never did. Tiers held after converting are left out, so a deal's own
  activity cannot make its lead look hot in hindsight.
- Converted: reached the target stage (default: the stage after the acceptance stage, i.e.
  opportunity) by the report's instant, or within the horizon after first holding its class tier.
- Baseline: every contact in the cohort. Lift = tier rate / baseline rate, with a Katz log
  interval; each rate with a 95% Wilson interval.
- Flag: the first tier's rate is not above the baseline (or its lift interval reaches 1).
"""

from __future__ import annotations

from accord.errors import ReportError
from accord.reports.base import Column, Report, Section
from accord.reports.data import DAY, ReportData, ts
from accord.reports.stats import lift_interval, wilson


def default_target(data: ReportData) -> str:
    stages = [s.id for s in data.spec.journey.stages]
    accepted = data.spec.agreement.accepted_stage
    if accepted in stages and stages.index(accepted) + 1 < len(stages):
        return stages[stages.index(accepted) + 1]
    return stages[-1]


def tiers(data: ReportData, *, to_stage: str | None = None, horizon_days: float | None = None) -> Report:
    target = data.stage_id(to_stage, "--to-stage") if to_stage else default_target(data)
    order = [t.name for t in data.spec.tiers]
    if not order:
        raise ReportError("the spec declares no tiers", hint="add `tiers:` to the spec to validate them")
    rank = {name: i for i, name in enumerate(order)}
    held: dict[str, dict[str, int]] = {}
    first_scored: dict[str, int] = {}
    if data.has_derived:
        for r in data.query(
            'SELECT contact_id, tier, min("at") AS first_at FROM derived_scores GROUP BY ALL'
        ):
            at = ts(r["first_at"])
            if at is None or r["contact_id"] not in data.contacts:
                continue
            cid = r["contact_id"]
            first_scored[cid] = min(at, first_scored.get(cid, at))
            if r["tier"] in rank:
                held.setdefault(cid, {})[r["tier"]] = at
    histories = data.contact_stages
    horizon = None if horizon_days is None else horizon_days * DAY
    members: dict[str, list[bool]] = {name: [] for name in order}
    unclassed: list[bool] = []
    baseline: list[bool] = []
    for cid, first in first_scored.items():
        if not data.filters.in_period(first):
            continue
        reached = data.reached(histories.get(cid, []), target)
        tiers_held = held.get(cid, {})
        before = {t: at for t, at in tiers_held.items() if reached is None or at <= reached}
        best = min(before, key=lambda t: rank[t]) if before else None
        converted = reached is not None
        if converted and horizon is not None:
            start = before[best] if best is not None else first
            converted = reached is not None and reached - start <= horizon
        baseline.append(converted)
        (members[best] if best is not None else unclassed).append(converted)
    n0, k0 = len(baseline), sum(baseline)
    rate0 = k0 / n0 if n0 else None
    rows: list[list[object]] = []
    firsts: list[tuple[int, float | None, float | None, float | None]] = []  # n, rate, lift, lift_low
    for name in order:
        group = members[name]
        n, k = len(group), sum(group)
        rate = k / n if n else None
        low, high = wilson(k, n)
        lift = rate / rate0 if rate is not None and rate0 else None
        lift_low, lift_high = lift_interval(k, n, k0, n0)
        rows.append([name, n, k, rate, low, high, lift, lift_low, lift_high])
        firsts.append((n, rate, lift, lift_low))
    low0, high0 = wilson(k0, n0)
    rows.append(["All leads (baseline)", n0, k0, rate0, low0, high0, 1.0 if rate0 else None, None, None])
    section = Section(
        "tiers",
        f"Conversion to {target} by tier",
        [
            Column("tier", "Tier"),
            Column("n", "Leads", "int"),
            Column("converted", "Converted", "int"),
            Column("rate", "Conversion", "share"),
            Column("ci_low", "95% CI low", "share"),
            Column("ci_high", "95% CI high", "share"),
            Column("lift", "Lift vs baseline", "number"),
            Column("lift_low", "Lift CI low", "number"),
            Column("lift_high", "Lift CI high", "number"),
        ],
        rows,
    )
    section.notes.append(
        "Each lead counts in the best tier it held before reaching the target stage (or ever, if it "
        "has not); the baseline is every lead first scored in the period."
    )
    if unclassed:
        section.notes.append(f"{len(unclassed)} leads never held a tier and count only in the baseline.")
    top_n, top_rate, top_lift, top_low = firsts[0]
    if n0 and top_n:
        if top_rate is not None and rate0 is not None and top_rate <= rate0:
            section.flags.append(
                f"{order[0]} converts at {top_rate:.1%}, not above the baseline {rate0:.1%}: revisit its "
                "thresholds at the next recalibration"
            )
        elif top_low is not None and top_lift is not None and top_low <= 1.0:
            section.flags.append(
                f"{order[0]} beats the baseline ({top_lift:.2f}x) but its lift interval reaches 1: "
                "not yet proven"
            )
    elif n0:
        section.flags.append(f"no lead held {order[0]} in the period: the tier cannot be validated")
    return Report(
        "tiers",
        "Tier validation",
        data.as_of,
        data.filters,
        [section],
        data.spec.workspace.currency,
    )
