"""Features, intent, committee and handoff state at every evaluation point, as window expressions.

The stream holds every event (with its contact's partition) plus synthetic rows at the as-of instant
and at regression wake-ups. Each quantity of docs/derive.md is a window over that stream, ordered by
whole seconds; RANGE frames make simultaneous events count together. The result is one row per
(contact, ts): the evaluation points.
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir

from accord.engine.plan import DRIVER_COUNT_WINDOW, HANDOFF_CODES, Plan
from accord.engine.rules import compile_rule

FAR = 1 << 50  # beyond any instant; stands for "never"
KIND_EVENT, KIND_WAKE, KIND_AS_OF = 0, 1, 2


def flag(rule_expr: Any) -> Any:
    """A rule as a plain true/false column: unknown counts as false, as in a filter."""
    return rule_expr.fill_null(False)


def _cases(pairs: list[tuple[Any, Any]], default: Any) -> Any:
    return ibis.cases(*pairs, else_=default) if pairs else default


def block_expr(plan: Plan, reg_index: int, t: ir.Table) -> Any:
    """blocked_until for a regression triggered by the event on this row (docs/derive.md)."""
    reg = plan.regressions[reg_index]
    override = _cases(
        [(t.reason_code == code, ibis.literal(secs, "int64")) for code, secs in plan.reason_recycle.items()],
        ibis.null("int64"),
    )
    base = ibis.literal(reg.recycle or 0, "int64")
    recycle = override.coalesce(base)
    return ibis.greatest(t.ts + 1, t.ts + recycle, t.recycle_on_ts.coalesce(0))


def build_stream(plan: Plan, ev: ir.Table, profiles: ir.Table, as_of: int) -> ir.Table:
    """Events (up to as-of) with their partition, plus as-of and wake-up rows per known contact."""
    prof = profiles.select(pc=profiles.contact_id, p=profiles.part, role=profiles.committee_role)
    e = ev.filter(ev.ts <= as_of, ev.contact_id.notnull() | ev.account_id.notnull())
    e = e.left_join(prof, e.contact_id == prof.pc)
    e = e.mutate(
        part=ibis.coalesce(e.p, e.account_id, ibis.literal("c:") + e.contact_id),
        known=e.pc.notnull(),
        is_event=ibis.literal(True),
        kind=ibis.literal(KIND_EVENT, "int8"),
    ).drop("pc", "p")
    schema = e.schema()

    def synthetic(source: ir.Table, ts: Any, kind: int) -> ir.Table:
        values: dict[str, Any] = {}
        for name, dtype in schema.items():
            values[name] = ibis.null(dtype)
        values.update(
            contact_id=source.contact_id,
            part=source.part,
            ts=ts.cast("int64"),
            role=source.role,
            known=ibis.literal(True),
            is_event=ibis.literal(False),
            kind=ibis.literal(kind, "int8"),
        )
        return source.select(**{name: values[name].cast(dtype) for name, dtype in schema.items()})

    parts = [e]
    as_of_rows = profiles.select(
        contact_id=profiles.contact_id, part=profiles.part, role=profiles.committee_role
    )
    parts.append(synthetic(as_of_rows, ibis.literal(as_of, "int64"), KIND_AS_OF))
    for reg in plan.regressions:
        triggers = e.filter(e.known, e.type.isin(list(reg.on)))
        triggers = triggers.mutate(wake=block_expr(plan, reg.index, triggers))
        triggers = triggers.filter(triggers.wake <= as_of)
        parts.append(synthetic(triggers, triggers.wake, KIND_WAKE))
    return ibis.union(*parts, distinct=False)


def distinct_counts(stream: ir.Table, key: str, flag_col: str, value: Any, window: int | None) -> ir.Table:
    """Distinct values of ``value`` among flagged rows in (t - window, t], at every (key, ts).

    Engines lack DISTINCT in window functions (Spark), so each flagged row j stands for its value
    from ts_j until the value's next occurrence or ts_j + window, whichever is first; the count at t
    is then a running sum of +1 at starts and -1 at ends.
    """
    j = stream.filter(stream[flag_col], value.notnull()).select(k=stream[key], ts=stream.ts, v=value)
    j = j.mutate(nxt=j.ts.lead().over(ibis.window(group_by=[j.k, j.v], order_by=j.ts)))
    end = j.nxt if window is None else ibis.least(j.nxt.coalesce(FAR), j.ts + window)
    starts = j.select("k", "ts", d=ibis.literal(1, "int64"), m=ibis.literal(1, "int8"))
    ends = j.select("k", ts=end.cast("int64"), d=ibis.literal(-1, "int64"), m=ibis.literal(2, "int8"))
    ends = ends.filter(ends.ts.notnull())
    points = stream.filter(stream[key].notnull()).select(k=stream[key], ts=stream.ts).distinct()
    points = points.select("k", "ts", d=ibis.literal(0, "int64"), m=ibis.literal(0, "int8"))
    u = ibis.union(points, starts, ends, distinct=False)
    u = u.mutate(n=u.d.sum().over(ibis.window(group_by=u.k, order_by=u.ts, range=(None, 0))))
    return u.filter(u.m == 0).select("k", "ts", "n").distinct()


def row_flags(plan: Plan, s: ir.Table) -> ir.Table:
    """Per-row facts that need the rules (and so every event column); the slim result is what windows read."""
    spec = plan.spec
    is_ev = s.is_event
    cols: dict[str, Any] = {
        "contact_id": s.contact_id,
        "part": s.part,
        "ts": s.ts,
        "day": s.day,
        "kind": s.kind,
        "known": s.known,
        "is_event": is_ev,
        "topic": s.topic,
        "type": s.type,
    }
    sig = _cases(
        [(flag(compile_rule(sg.rule, s)), ibis.literal(sg.index, "int32")) for sg in plan.signals],
        ibis.null("int32"),
    )
    cols["sig"] = ibis.ifelse(is_ev & s.known, sig, ibis.null("int32"))
    for name, feature in spec.features.items():
        cols[f"hit__{name}"] = is_ev & flag(compile_rule(plan.feature_rules[name], s))
        if feature.of is not None and feature.of != "day":
            cols[f"of__{name}"] = s[feature.of]
    if spec.scoring.committee is not None:
        engaged = is_ev & s.type.isin(plan.engaged_types)
        cols["role"] = ibis.ifelse(engaged, s.role, ibis.null("string"))
    code = _cases(
        [(s.type == t, ibis.literal(c, "int64")) for t, c in HANDOFF_CODES.items()], ibis.null("int64")
    )
    cols["hcode"] = ibis.ifelse(is_ev & s.known, code, ibis.null("int64"))
    for reg in plan.regressions:
        trig = is_ev & s.type.isin(list(reg.on))
        cols[f"reg__{reg.index}"] = ibis.ifelse(trig, 1, 0)
        cols[f"blk__{reg.index}"] = ibis.ifelse(trig, block_expr(plan, reg.index, s), ibis.null("int64"))
    return s.select(**cols)


def state_columns(plan: Plan, s: ir.Table) -> ir.Table:
    """Window columns over the flagged stream: features, intent terms, committee roles, handoff."""
    spec = plan.spec
    s = s.mutate(origin=s.ts.min().over(ibis.window(group_by=s.contact_id)))
    s = s.mutate(rel=(s.ts - s.origin).cast("float64") / plan.half_life)
    edges: dict[str, Any] = {}  # window inside a window's argument is refused: edges go first
    for name, feature in spec.features.items():
        if feature.agg == "count_distinct" and feature.of == "day":
            group = s.contact_id if feature.scope == "contact" else s.part
            edges[f"first__{name}"], edges[f"last__{name}"] = _day_edges(s, group, s[f"hit__{name}"])
    if spec.scoring.intent.require is not None:
        edges["first__pat"], edges["last__pat"] = _day_edges(s, s.contact_id, s.sig.notnull())
    if edges:
        s = s.mutate(**edges)

    def by(group: Any, window: int | None = None) -> Any:
        rng = (None, 0) if window is None else (-(window - 1), 0)
        return ibis.window(group_by=group, order_by=s.ts, range=rng)

    cols: dict[str, Any] = {}
    for name, feature in spec.features.items():
        group = s.contact_id if feature.scope == "contact" else s.part
        win = by(group, None if feature.window is None else int(feature.window.total_seconds()))
        hit = s[f"hit__{name}"]
        if feature.agg == "count":
            cols[f"f__{name}"] = ibis.ifelse(hit, 1, 0).sum().over(win)
        elif feature.agg == "sum":
            cols[f"f__{name}"] = (
                ibis.ifelse(hit, s[f"of__{name}"].cast("float64"), 0.0).sum().over(win).coalesce(0.0)
            )
        elif feature.agg in ("min", "max"):
            value = ibis.ifelse(hit, s[f"of__{name}"], ibis.null(s[f"of__{name}"].type()))
            cols[f"f__{name}"] = (value.min() if feature.agg == "min" else value.max()).over(win)
        elif feature.agg == "days_since":
            last = ibis.ifelse(hit, s.ts, ibis.null("int64")).max().over(by(group))
            cols[f"f__{name}"] = (s.ts - last).cast("float64") / 86400.0
        elif feature.agg == "count_distinct" and feature.of == "day":
            window = None if feature.window is None else int(feature.window.total_seconds())
            cols[f"f__{name}"] = _distinct_days(s, group, s[f"first__{name}"], s[f"last__{name}"], window)
    for sg in plan.signals:
        mine = s.sig == sg.index
        growth = ibis.literal(2.0) ** s.rel
        cols[f"is__{sg.index}"] = ibis.ifelse(mine, sg.points * growth, 0.0).sum().over(by(s.contact_id))
    pattern = spec.scoring.intent.require
    if pattern is not None:
        window = int(pattern.window.total_seconds())
        cols["pat_days"] = _distinct_days(s, s.contact_id, s.first__pat, s.last__pat, window)
    if spec.scoring.committee is not None:
        for i, (role, _) in enumerate(plan.committee_roles):
            hit = s.role == role
            cols[f"role__{i}"] = ibis.ifelse(hit, s.ts, ibis.null("int64")).max().over(by(s.part))
    cols["handoff"] = (s.ts * 4 + s.hcode).max().over(by(s.contact_id))
    # only what evaluation_points reads leaves the window step: fewer columns through every sort
    keep = ["contact_id", "part", "ts", "kind", "known", "rel"]
    keep += [f"{p}__{r.index}" for r in plan.regressions for p in ("reg", "blk")]
    return s.select(*keep, **cols)


def _day_edges(s: ir.Table, group: Any, hit: Any) -> tuple[Any, Any]:
    """Is this flagged row the first / the last flagged row of its day (within its group)?"""
    flagged = ibis.window(group_by=[group, hit], order_by=s.ts)
    before, after = s.day.lag().over(flagged), s.day.lead().over(flagged)
    return hit & (before.isnull() | (before != s.day)), hit & (after.isnull() | (after != s.day))


def _distinct_days(s: ir.Table, group: Any, first: Any, last: Any, window: int | None) -> Any:
    """Distinct days of flagged rows in (t - window, t]: days only move forward in time, so the days
    gone from the window are a prefix, counted by their last flagged row at or before t - window."""
    started = ibis.ifelse(first, 1, 0).sum().over(ibis.window(group_by=group, order_by=s.ts, range=(None, 0)))
    if window is None:
        return started
    gone = (
        ibis.ifelse(last, 1, 0).sum().over(ibis.window(group_by=group, order_by=s.ts, range=(None, -window)))
    )
    return started - gone.coalesce(0)


def recent_signals(plan: Plan, s: ir.Table, as_of: int) -> ir.Table:
    """Per contact and intent signal: events in the 30 days before as-of and the latest one (drivers)."""
    mine = s.filter(s.sig.notnull())
    return mine.group_by([mine.contact_id, mine.sig]).aggregate(
        n30=ibis.ifelse(mine.ts > as_of - DRIVER_COUNT_WINDOW, 1, 0).sum(), last=mine.ts.max()
    )


def evaluation_points(plan: Plan, s: ir.Table) -> ir.Table:
    """One row per (contact, ts): window values are equal across simultaneous rows, so max() keeps them."""
    spec = plan.spec
    s = s.filter(s.known, s.contact_id.notnull())
    aggs: dict[str, Any] = {"part": s.part.max(), "kind": s.kind.min(), "rel": s.rel.max()}
    for name, _feature in spec.features.items():
        if f"f__{name}" in s.columns:
            aggs[f"f__{name}"] = s[f"f__{name}"].max()
    for sg in plan.signals:
        aggs[f"is__{sg.index}"] = s[f"is__{sg.index}"].max()
    if "pat_days" in s.columns:
        aggs["pat_days"] = s.pat_days.max()
    if spec.scoring.committee is not None:
        for i in range(len(plan.committee_roles)):
            aggs[f"role__{i}"] = s[f"role__{i}"].max()
    aggs["handoff"] = s.handoff.max()
    for reg in plan.regressions:
        aggs[f"reg__{reg.index}"] = s[f"reg__{reg.index}"].max()
        aggs[f"blk__{reg.index}"] = s[f"blk__{reg.index}"].max()
    return s.group_by(["contact_id", "ts"]).aggregate(**aggs)


def distinct_tables(plan: Plan, s: ir.Table) -> list[tuple[str, str, ir.Table]]:
    """(column, key, table) for every count-distinct quantity: features and the intent pattern."""
    spec = plan.spec
    out: list[tuple[str, str, ir.Table]] = []
    for name, feature in spec.features.items():
        if feature.agg != "count_distinct" or feature.of == "day":
            continue
        key = "contact_id" if feature.scope == "contact" else "part"
        value = s.day if feature.of == "day" else s[f"of__{name}"]
        window = None if feature.window is None else int(feature.window.total_seconds())
        out.append((f"f__{name}", key, distinct_counts(s, key, f"hit__{name}", value, window)))
    pattern = spec.scoring.intent.require
    if pattern is not None and pattern.distinct_topics > 1:
        # with one topic required, any intent event in the window is enough: pat_days >= 1 says so
        intent = s.mutate(intent_hit=s.sig.notnull())
        window = int(pattern.window.total_seconds())
        topic = intent.topic.coalesce(intent.type)
        out.append(
            ("pat_topics", "contact_id", distinct_counts(intent, "contact_id", "intent_hit", topic, window))
        )
    return out
