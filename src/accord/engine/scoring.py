"""Fit, intent, committee, score, tier, motion and drivers at each evaluation point (docs/derive.md)."""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir

from accord.engine.packing import EPOCH
from accord.engine.plan import DISPOSITION_BY_CODE, DRIVER_COUNT_WINDOW, Plan
from accord.engine.rules import compile_rule
from accord.engine.state import flag
from accord.spec.durations import format_duration


def round2(x: Any) -> Any:
    """Hundredths, the same way everywhere: floor(x * 100 + 0.5) / 100."""
    return (x * 100 + 0.5).floor().cast("float64") / 100


def _num(value: float) -> Any:
    return ibis.literal(float(value), "float64")


def fit_table(plan: Plan, profiles: ir.Table) -> ir.Table:
    """Fit per contact (constant over time) and each rule's points, for drivers."""
    cols: dict[str, Any] = {}
    for i, (rule, points, _) in enumerate(plan.fit_rules):
        cols[f"fit__{i}"] = ibis.ifelse(flag(compile_rule(rule, profiles)), round2(_num(points)), _num(0.0))
    t = profiles.mutate(**cols)
    total = sum((t[f"fit__{i}"] for i in range(len(plan.fit_rules))), _num(0.0))
    t = t.mutate(fit_total=round2(total))
    cap = plan.spec.scoring.fit.cap
    fit = t.fit_total if cap is None else ibis.least(t.fit_total, _num(cap))
    return t.mutate(fit=fit)


def _join_distinct(points: ir.Table, tables: list[tuple[str, str, ir.Table]]) -> ir.Table:
    for column, key, table in tables:
        renamed = table.select(_k=table.k, _ts=table.ts, **{column: table.n})
        points = points.left_join(renamed, [points[key] == renamed._k, points.ts == renamed._ts])
        points = points.drop("_k", "_ts").mutate(**{column: ibis._[column].coalesce(0)})
    return points


def rule_profile_columns(plan: Plan) -> list[str]:
    """Profile columns the tier and stage rules read: all the evaluation points need from profiles."""
    names: set[str] = set()
    for rule, _, _ in plan.tiers:
        names |= {plan.journey_scope.fields[n].column for n in rule.names()}
    for rule in plan.entries:
        names |= {plan.journey_scope.fields[n].column for n in rule.names()}
    profile = {f.column for f in plan.profile_scope.fields.values()}
    return sorted(names & profile)


def score_points(
    plan: Plan,
    points: ir.Table,
    distincts: list[tuple[str, str, ir.Table]],
    fitted: ir.Table,
    *,
    wide: bool = True,
) -> ir.Table:
    """Add every score part, the tier, the motion and the handoff state to the evaluation points.

    ``wide`` keeps every profile column and every driver part (for the as-of drivers); otherwise only
    what the tier and stage rules read is joined, which keeps a large score history narrow.
    """
    spec = plan.spec
    t = _join_distinct(points, distincts)
    keep = (
        [c for c in fitted.columns if c != "part"]
        if wide
        else ["contact_id", "fit", *rule_profile_columns(plan)]
    )
    profile_side = fitted.select(*keep)
    t = t.left_join(profile_side, t.contact_id == profile_side.contact_id).drop("contact_id_right")
    decay = ibis.literal(2.0) ** (-t.rel)
    cols: dict[str, Any] = {}
    for sg in plan.signals:
        summed = t[f"is__{sg.index}"]
        if f"prev__{sg.index}" in t.columns:  # a long stream, summed per epoch (state._previous_epoch)
            summed = summed + t[f"prev__{sg.index}"] * _num(2.0**-EPOCH)
        raw = decay * summed
        cols[f"in__{sg.index}"] = round2(raw if sg.cap is None else ibis.least(raw, _num(sg.cap)))
    t = t.mutate(**cols)
    total = sum((t[f"in__{sg.index}"] for sg in plan.signals), _num(0.0))
    t = t.mutate(intent_sum=round2(total))
    cap = spec.scoring.intent.cap
    t = t.mutate(intent_capped=t.intent_sum if cap is None else ibis.least(t.intent_sum, _num(cap)))
    pattern = spec.scoring.intent.require
    if pattern is not None and "pat_topics" not in t.columns:
        t = t.mutate(pat_topics=ibis.ifelse(t.pat_days > 0, 1, 0))  # one topic: any intent event has one
    met = (
        ibis.literal(True)
        if pattern is None
        else ((t.pat_days >= pattern.distinct_days) & (t.pat_topics >= pattern.distinct_topics))
    )
    t = t.mutate(pattern_met=met, intent=ibis.ifelse(met, t.intent_capped, _num(0.0)))
    committee = spec.scoring.committee
    if committee is not None:
        roles = sum(
            (ibis.ifelse(t[f"engaged__{i}"] > 0, 1, 0) for i in range(len(plan.committee_roles))),
            ibis.literal(0),
        )
        value = _num(committee.points_per_role) * roles
        if committee.cap is not None:
            value = ibis.least(value, _num(committee.cap))
        t = t.mutate(committee_roles=roles, committee=round2(value))
    else:
        t = t.mutate(committee_roles=ibis.literal(0), committee=_num(0.0))
    features = {name: t[f"f__{name}"] for name in spec.features}
    t = t.mutate(score=round2(t.fit + t.intent + t.committee), **features)
    which = ibis.cases(
        *[
            (flag(compile_rule(rule, t)), ibis.literal(i, "int64"))
            for i, (rule, _, _) in enumerate(plan.tiers)
        ],
        else_=ibis.null("int64"),
    )
    t = t.mutate(tier_index=which)
    tier = ibis.cases(
        *[(t.tier_index == i, ibis.literal(name)) for i, (_, name, _) in enumerate(plan.tiers)],
        else_=ibis.null("string"),
    )
    motion = ibis.cases(
        *[(t.tier_index == i, ibis.literal(m)) for i, (_, _, m) in enumerate(plan.tiers)],
        else_=ibis.null("string"),
    )
    code = t.handoff % 4
    disposition = ibis.cases(
        *[(code == c, ibis.literal(d)) for c, d in DISPOSITION_BY_CODE.items()], else_=ibis.null("string")
    )
    return t.mutate(
        tier=tier, motion=motion, disposition=disposition, assigned=(code.isin([0, 1])).fill_null(False)
    )


def with_recent(plan: Plan, leads: ir.Table, recent: ir.Table) -> ir.Table:
    """Each signal's recent count and latest event as columns, in one join (drivers read them)."""
    cols: dict[str, Any] = {}
    for sg in plan.signals:
        mine = recent.sig == sg.index
        cols[f"n30__{sg.index}"] = ibis.ifelse(mine, recent.n30, ibis.null("int64")).max()
        cols[f"last__{sg.index}"] = ibis.ifelse(mine, recent["last"], ibis.null("int64")).max()
    pivot = recent.group_by(rc=recent.contact_id).aggregate(**cols) if cols else None
    if pivot is None:
        return leads
    return leads.left_join(pivot, leads.contact_id == pivot.rc).drop("rc")


def drivers(plan: Plan, leads: ir.Table) -> ir.Table:
    """The contributions behind each as-of score; they add up to it exactly (after round2).

    ``leads`` holds the wide as-of scores with the recent-signal columns (see :func:`with_recent`);
    materialise it first, since every driver reads it.
    """
    spec = plan.spec
    parts: list[ir.Table] = []

    def driver(
        component: str,
        key: str,
        label: Any,
        points: Any,
        keep: Any,
        count: Any = None,
        last: Any = None,
        detail: Any = None,
    ) -> None:
        rows = leads.filter(keep)
        parts.append(
            rows.select(
                contact_id=rows.contact_id,
                component=ibis.literal(component),
                key=ibis.literal(key),
                label=label if isinstance(label, ir.Value) else ibis.literal(label),
                points=points.cast("float64"),
                count=(count if count is not None else ibis.null("int64")).cast("int64"),
                last_ts=(last if last is not None else ibis.null("int64")).cast("int64"),
                detail=(detail if detail is not None else ibis.null("string")).cast("string"),
            )
        )

    for i, (_, _, label) in enumerate(plan.fit_rules):
        driver("fit", f"fit:{i}", label, leads[f"fit__{i}"], leads[f"fit__{i}"] != 0)
    fit_cap = spec.scoring.fit.cap
    if fit_cap is not None:
        driver(
            "fit",
            "fit:cap",
            f"fit cap ({_show(fit_cap)})",
            round2(_num(fit_cap) - leads.fit_total),
            leads.fit_total > fit_cap,
        )
    for sg in plan.signals:
        column = leads[f"in__{sg.index}"]
        driver(
            "intent",
            f"intent:{sg.index}",
            sg.label,
            column,
            column != 0,
            count=leads[f"n30__{sg.index}"],
            last=leads[f"last__{sg.index}"],
        )
    intent_cap = spec.scoring.intent.cap
    if intent_cap is not None:
        driver(
            "intent",
            "intent:cap",
            f"intent cap ({_show(intent_cap)})",
            round2(_num(intent_cap) - leads.intent_sum),
            leads.intent_sum > intent_cap,
        )
    pattern = spec.scoring.intent.require
    if pattern is not None:
        days = ibis.ifelse(
            leads.pat_days < pattern.distinct_days,
            leads.pat_days.cast("string") + ibis.literal(f" of {pattern.distinct_days} distinct days"),
            ibis.literal(""),
        )
        topics = ibis.ifelse(
            leads.pat_topics < pattern.distinct_topics,
            leads.pat_topics.cast("string") + ibis.literal(f" of {pattern.distinct_topics} distinct topics"),
            ibis.literal(""),
        )
        both = ibis.ifelse((days != "") & (topics != ""), days + ibis.literal(", ") + topics, days + topics)
        label = (
            ibis.literal("intent pattern not met (")
            + both
            + ibis.literal(f" in {format_duration(pattern.window)})")
        )
        driver("intent", "intent:pattern", label, round2(-leads.intent_capped), ~leads.pattern_met)
    committee = spec.scoring.committee
    if committee is not None:
        days = _show(committee.window.total_seconds() / 86400)
        names = [
            ibis.ifelse(leads[f"engaged__{i}"] > 0, ibis.literal(", " + label), ibis.literal(""))
            for i, (_, label) in enumerate(plan.committee_roles)
        ]
        joined = sum(names[1:], names[0]) if names else ibis.literal("")
        detail = joined.substr(2)
        noun = ibis.ifelse(leads.committee_roles == 1, ibis.literal(" role"), ibis.literal(" roles"))
        label = (
            ibis.literal("buying committee: ")
            + leads.committee_roles.cast("string")
            + noun
            + ibis.literal(f" engaged in {days} days")
        )
        driver("committee", "committee", label, leads.committee, leads.committee != 0, detail=detail)
    table = ibis.union(*parts, distinct=False)
    order = ibis.window(group_by=table.contact_id, order_by=[ibis.desc(table.points.abs()), table.key])
    return table.mutate(rank=ibis.row_number().over(order) + 1)


def _show(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


__all__ = ["DRIVER_COUNT_WINDOW", "drivers", "fit_table", "round2", "score_points"]
