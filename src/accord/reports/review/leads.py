"""Agenda items on lead quality: false positives, and whether the tiers convert in their order.

False positive (docs/metrics.md, "Review pack"): a contact that became an MQL (reached the
agreement's MQL stage) in the period and that either Sales rejected, within the horizon, with a
reason code the spec marks ``false_positive`` (the lead should never have been sent: not a fit, bad
data), or that reached no opportunity within the horizon (90 days). MQLs still inside the horizon
without an opportunity are "still maturing": the rate is a floor until they resolve.

Tier performance composes the tier validation report (`accord report tiers`, same cohort, same
horizon) with the acceptance of the leads Sales dispositioned in the period, by the tier each lead
held when it was dispositioned.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from accord.reports.base import Column, Section
from accord.reports.data import ReportData, ts
from accord.reports.review.context import Context
from accord.reports.review.handoffs import pct, plural, points, share_change
from accord.reports.review.pack import AgendaItem
from accord.reports.review.period import Period
from accord.reports.stats import wilson
from accord.reports.tiers import default_target, tiers


@dataclass
class Outcomes:
    """What became of one period's MQLs; the four outcomes add up to ``mqls``."""

    mqls: int = 0
    rejected: int = 0  # rejected with a false-positive reason code within the horizon
    no_opportunity: int = 0  # horizon over, no opportunity, not rejected as a false positive
    converted: int = 0  # reached an opportunity within the horizon
    maturing: int = 0  # inside the horizon, no opportunity yet
    by_reason: Counter[str] = field(default_factory=Counter)

    @property
    def false_positives(self) -> int:
        return self.rejected + self.no_opportunity


def false_positive_codes(ctx: Context) -> list[str]:
    return [r.id for r in ctx.spec.reason_codes if r.false_positive]


def _rejections(ctx: Context) -> dict[str, list[tuple[int, str]]]:
    """Each contact's rejections (instant, reason code) up to the report's instant, in order."""
    out: dict[str, list[tuple[int, str]]] = {}
    for r in ctx.current.query(
        "SELECT contact_id, occurred_at, properties FROM events WHERE type = 'rejected' "
        "AND contact_id IS NOT NULL AND occurred_at <= ? ORDER BY contact_id, occurred_at, event_id",
        [datetime.fromtimestamp(ctx.as_of, UTC)],
    ):
        props = json.loads(r["properties"]) if r["properties"] else {}
        at = ts(r["occurred_at"])
        assert at is not None
        out.setdefault(r["contact_id"], []).append((at, str(props.get("reason_code") or "(no reason)")))
    return out


def outcomes(ctx: Context, data: ReportData, rejections: dict[str, list[tuple[int, str]]]) -> Outcomes:
    mql = ctx.spec.agreement.mql_stage
    target = default_target(data)
    codes = set(false_positive_codes(ctx))
    result = Outcomes()
    if mql not in data.journey_order:
        return result
    for contact, history in data.contact_stages.items():
        became = data.reached(history, mql)
        if became is None or not data.filters.in_period(became):
            continue
        result.mqls += 1
        converted = data.reached(history, target, after=became)
        before_opportunity = [
            (at, code) for at, code in rejections.get(contact, []) if converted is None or at < converted
        ]
        fp = next(
            (
                code
                for at, code in before_opportunity
                if code in codes and became <= at <= became + ctx.horizon
            ),
            None,
        )
        if fp is not None:
            result.rejected += 1
            result.by_reason[fp] += 1
        elif converted is not None and converted - became <= ctx.horizon:
            result.converted += 1
        elif ctx.as_of - became >= ctx.horizon:
            result.no_opportunity += 1
        else:
            result.maturing += 1
    return result


def false_positives(ctx: Context, minutes: int) -> AgendaItem:
    rejections = _rejections(ctx)
    now = outcomes(ctx, ctx.current, rejections)
    before = outcomes(ctx, ctx.before, rejections)
    days = f"{ctx.horizon_days:g} days"
    codes = false_positive_codes(ctx)
    labels = {r.id: r.label for r in ctx.spec.reason_codes}
    p, q = ctx.period.name, ctx.previous.name
    mql_name = next((s.name for s in ctx.spec.journey.stages if s.id == ctx.spec.agreement.mql_stage), "MQL")

    def line(label: str, n: int, m: int, a: Outcomes, b: Outcomes) -> list[Any]:
        share = n / a.mqls if a.mqls else None
        share_before = m / b.mqls if b.mqls else None
        return [label, n, share, m, share_before, share_change(share, share_before)]

    rows = [
        line(f"MQLs (reached {mql_name})", now.mqls, before.mqls, now, before),
        line("Rejected as a false positive", now.rejected, before.rejected, now, before),
        line(f"No opportunity within {days}", now.no_opportunity, before.no_opportunity, now, before),
        line("False positives", now.false_positives, before.false_positives, now, before),
        line(f"Reached an opportunity within {days}", now.converted, before.converted, now, before),
        line(
            f"Still maturing (under {days}, no opportunity yet)", now.maturing, before.maturing, now, before
        ),
    ]
    summary = Section(
        "false_positives",
        f"What became of the MQLs of {p} and {q}",
        [
            Column("measure", "MQLs"),
            Column("count", p, "int"),
            Column("share", "Share of MQLs", "share"),
            Column("previous", q, "int"),
            Column("previous_share", "Share before", "share"),
            Column("share_change", "Change in share (points)", "share"),
        ],
        rows,
    )
    summary.notes.append(
        f"A false positive is an MQL that Sales rejected within {days} with a reason marked false_positive "
        f"({', '.join(codes) or 'none marked'}), or that reached no opportunity within {days}."
    )
    if not codes:
        summary.notes.append(
            "No reason code is marked false_positive in the spec: only the no-opportunity rule applies."
        )
    by_reason = Section(
        "false_positive_reasons",
        "Rejected as a false positive, by reason",
        [Column("reason", "Reason code"), Column("label", "Reason"), Column("count", p, "int"),
         Column("previous", q, "int")],
        [[c, labels.get(c, c), now.by_reason[c], before.by_reason[c]]
         for c in sorted(set(now.by_reason) | set(before.by_reason),
                         key=lambda c: (-now.by_reason[c], -before.by_reason[c], c))],
    )  # fmt: skip
    rate = now.false_positives / now.mqls if now.mqls else None
    rate_before = before.false_positives / before.mqls if before.mqls else None
    if not now.mqls:
        discuss = [f"No contact became an MQL in {p}: nothing to judge."]
    else:
        so_far = " so far" if now.maturing else ""
        text = (
            f"{pct(rate)} of the {now.mqls} MQLs of {p} are false positives{so_far} ({now.rejected} "
            f"rejected as not an MQL, {now.no_opportunity} without an opportunity after {days}) against "
            f"{pct(rate_before)} for {q}."
        )
        if now.by_reason:
            code, n = max(now.by_reason.items(), key=lambda kv: (kv[1], kv[0]))
            text += f" The most common rejection among them: '{labels.get(code, code)}' ({n})."
        discuss = [text]
        if now.maturing:
            discuss.append(
                f"{plural(now.maturing, 'MQL')} still inside the {days}: the rate can only rise; judge the "
                "no-opportunity part at the next quarterly review."
            )
    actions = []
    if rate is not None and rate_before is not None and rate > rate_before:
        summary.flags.append(f"false positives rose from {pct(rate_before)} to {pct(rate)} of MQLs")
        actions.append(
            ("Tighten the fit rules or the intent pattern behind the MQL, with a backtest", ctx.owners())
        )
    return AgendaItem("false_positives", "False positives", minutes, discuss, [summary, by_reason], actions)


# ---- 3. tier performance ---------------------------------------------------------------------------


def _acceptance_by_tier(ctx: Context, period: Period) -> dict[str | None, tuple[int, int]]:
    """(accepted, rejected) per tier the lead held at the disposition, over dispositions in the period."""
    data = ctx.data(period)
    rows = data.query(
        "SELECT e.contact_id, e.type, s.tier FROM events e "
        'ASOF LEFT JOIN derived_scores s ON e.contact_id = s.contact_id AND e.occurred_at >= s."at" '
        "WHERE e.type IN ('accepted', 'rejected') AND e.contact_id IS NOT NULL "
        "AND e.occurred_at >= ? AND e.occurred_at < ? AND e.occurred_at <= ?",
        [datetime.fromtimestamp(t, UTC) for t in (period.since, period.until, ctx.as_of)],
    )
    keep = data.contacts
    filtered = any(v is not None for v in (data.filters.segment, data.filters.team, data.filters.source))
    out: dict[str | None, tuple[int, int]] = {}
    for r in rows:
        if filtered and r["contact_id"] not in keep:
            continue
        accepted, rejected = out.get(r["tier"], (0, 0))
        out[r["tier"]] = (accepted + (r["type"] == "accepted"), rejected + (r["type"] == "rejected"))
    return out


def tier_performance(ctx: Context, minutes: int) -> AgendaItem:
    validation = tiers(ctx.current, horizon_days=ctx.horizon_days).section("tiers")
    now = {r["tier"]: r for r in validation.records()}
    before = {
        r["tier"]: r for r in tiers(ctx.before, horizon_days=ctx.horizon_days).section("tiers").records()
    }
    accept = _acceptance_by_tier(ctx, ctx.period)
    p, q = ctx.period.name, ctx.previous.name
    order = [t.name for t in ctx.spec.tiers]
    target = default_target(ctx.current)
    rows: list[list[Any]] = []
    for name in [*order, "All leads (baseline)"]:
        r, b = now.get(name, {}), before.get(name, {})
        if name in order:
            accepted, rejected = accept.get(name, (0, 0))
        else:
            accepted, rejected = (sum(a for a, _ in accept.values()), sum(x for _, x in accept.values()))
        decided = accepted + rejected
        rows.append([name, r.get("n", 0), decided, accepted / decided if decided else None,
                     r.get("converted", 0), r.get("rate"), r.get("lift"), b.get("n", 0), b.get("rate"),
                     share_change(r.get("rate"), b.get("rate"))])  # fmt: skip
    section = Section(
        "tier_performance",
        "Volume, acceptance and conversion by tier",
        [
            Column("tier", "Tier"),
            Column("leads", f"Leads, {p}", "int"),
            Column("dispositioned", "Dispositioned", "int"),
            Column("acceptance", "Acceptance", "share"),
            Column("converted", f"Reached {target}", "int"),
            Column("conversion", "Conversion", "share"),
            Column("lift", "Lift vs all leads", "number"),
            Column("previous_leads", f"Leads, {q}", "int"),
            Column("previous_conversion", f"Conversion, {q}", "share"),
            Column("conversion_change", "Change (points)", "share"),
        ],
        rows,
    )
    section.notes.append(
        f"Leads first scored in the period, each in the best tier it held before converting (as `accord "
        f"report tiers`); converted = reached {target} within {ctx.horizon_days:g} days. Acceptance counts "
        "the period's dispositions by the tier the lead held at the time."
    )
    section.flags += validation.flags
    inversions = _inversions(order, now)
    section.flags += [text for _, text in inversions]
    if inversions:
        discuss = [
            inversions[0][1] + ": the tier thresholds are out of order; review them at the recalibration."
        ]
        actions = [
            ("Re-set the tier thresholds so a higher tier converts better, with a backtest", ctx.owners())
        ]
    elif rows and rows[0][5] is not None:
        top = rows[0]
        lift = f", {top[6]:.2f}x all leads" if top[6] is not None else ""
        discuss = [
            f"Tiers convert in their order; {top[0]} converts at {pct(top[5])}{lift} ({q}: {pct(top[8])})."
        ]
        actions = []
    else:
        discuss = [f"No lead first scored in {p} held {order[0] if order else 'a tier'}: nothing to compare."]
        actions = []
    return AgendaItem("tiers", "Tier performance", minutes, discuss, [section], actions)


def _inversions(order: list[str], rows: dict[str, dict[str, Any]]) -> list[tuple[float, str]]:
    """Every (higher, lower) pair of tiers where the lower one converts better, largest gap first."""
    found: list[tuple[float, str]] = []
    for i, high in enumerate(order):
        for low in order[i + 1 :]:
            a, b = rows.get(high, {}), rows.get(low, {})
            if not a.get("n") or not b.get("n") or a.get("rate") is None or b.get("rate") is None:
                continue
            if b["rate"] > a["rate"]:
                low_b, high_a = wilson(b["converted"], b["n"])[0], wilson(a["converted"], a["n"])[1]
                overlap = low_b is not None and high_a is not None and low_b <= high_a
                gap = points(b["rate"] - a["rate"])
                text = (
                    f"{low} converts better than {high}: {b['converted']} of {b['n']} ({pct(b['rate'])}) "
                    f"against {a['converted']} of {a['n']} ({pct(a['rate'])}), {gap}"
                    + (" (the 95% intervals overlap: could still be noise)" if overlap else "")
                )
                found.append((b["rate"] - a["rate"], text))
    found.sort(key=lambda f: -f[0])
    return found
