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

from accord.engine.packing import (
    DAY_BITS,
    EPOCH,
    PATTERN,
    Layout,
    count_requests,
    day_mask_requests,
    day_masks,
    distinct_day_counts,
    partition_and_window,
    window_frame,
)
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


def build_stream(plan: Plan, ev: ir.Table, profiles: ir.Table, as_of: int | ir.IntegerValue) -> ir.Table:
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
    instant = ibis.literal(as_of, "int64") if isinstance(as_of, int) else as_of
    parts.append(synthetic(as_of_rows, instant, KIND_AS_OF))
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


STREAM_COLUMNS = frozenset(
    {"ts", "day", "type", "contact_id", "account_id", "topic", "reason_code", "recycle_on_ts"}
)
"""The event columns :func:`build_stream` and :func:`row_flags` read whatever the spec says."""


def event_columns(plan: Plan) -> frozenset[str]:
    """Every event column the derive reads: the stream's own, and those the spec's rules and features
    name. Nothing past :func:`row_flags` reads an event column, so a chunked derive writes only these to
    its chunk files; the others (event, actor and campaign ids, say) would be written and read back for
    nothing. On the benchmark's 10M events the split keeps 9 of 15 columns and writes in 4 s, not 9."""
    return STREAM_COLUMNS | plan.event_fields


def state_columns(plan: Plan, s: ir.Table, lay: Layout) -> ir.Table:
    """Window columns over the flagged stream: features, intent terms, committee roles, handoff.

    Counts leave packed (``pk__*``, decoded by :func:`decode_counts` once there is one row per point);
    sums, extremes, intent and handoff are aggregates of their own.
    """
    spec = plan.spec
    s = s.mutate(origin=s.ts.min().over(ibis.window(group_by=s.contact_id)))
    rel = (s.ts - s.origin).cast("float64") / plan.half_life
    if lay.epochs:  # growth from the start of each epoch: 2 ** rel would overflow (packing.EPOCH)
        s = s.mutate(epoch=(rel / EPOCH).floor().cast("int64"))
        rel = rel - s.epoch.cast("float64") * EPOCH
    s = s.mutate(rel=rel, growth=ibis.literal(2.0) ** rel)  # once per row, not once per signal
    s = s.mutate(sig_hit=s.sig.notnull())
    edges: dict[str, Any] = {}  # window inside a window's argument is refused: edges go first
    for name, group, window, column in distinct_day_counts(plan):
        if day_masks(window) == 0:
            edges[f"first__{name}"], edges[f"last__{name}"] = _day_edges(s, s[group], s[column])
    if edges:
        s = s.mutate(**edges)

    def by(group: Any, frame: tuple[int | None, int] = (None, 0)) -> Any:
        return ibis.window(group_by=group, order_by=s.ts, range=frame)

    def growing(group: str, frame: tuple[int | None, int] = (None, 0)) -> Any:
        """The window of a running total of non-negative terms, or of a running maximum, from the start.

        Within one contact such a value only grows row by row, so the largest among simultaneous rows
        (which :func:`evaluation_points` keeps) is the one after all of them, the RANGE frame's value:
        a ROWS frame gives it without a search for each row's last peer. Over an account the rows of
        one instant belong to several contacts, so the account keeps the RANGE frame.
        """
        if group == "contact_id" and frame == (None, 0):
            return ibis.window(group_by=s.contact_id, order_by=s.ts, rows=(None, 0))
        return by(s[group], frame)

    flags = {lane: column for lane, _, _, column in count_requests(plan)}
    cols: dict[str, Any] = {}
    for pack in lay.packs:
        zero = ibis.literal(0, "int64")
        terms = [
            ibis.ifelse(s[flags[lane]], ibis.literal(1 << (k * pack.width), "int64"), zero)
            for k, lane in enumerate(pack.lanes)
        ]
        total = terms[0]
        for term in terms[1:]:
            total = total + term
        # Integer terms cast once: DuckDB reads a literal 1.0 as a DECIMAL and sums decimals far slower
        # than doubles, and Ibis drops a cast of a float64 literal to float64 as a no-op.
        summed = total.cast("float64") if pack.real else total
        cols[pack.column] = summed.sum().over(growing(pack.group, pack.frame)).cast("int64")
    for name, feature in spec.features.items():
        scope, window = partition_and_window(feature)
        win = by(s[scope], window_frame(window))
        hit = s[f"hit__{name}"]
        if feature.agg == "sum":
            cols[f"f__{name}"] = (
                ibis.ifelse(hit, s[f"of__{name}"].cast("float64"), 0.0).sum().over(win).coalesce(0.0)
            )
        elif feature.agg in ("min", "max"):
            value = ibis.ifelse(hit, s[f"of__{name}"], ibis.null(s[f"of__{name}"].type()))
            cols[f"f__{name}"] = (value.min() if feature.agg == "min" else value.max()).over(win)
        elif feature.agg == "days_since":  # the latest instant; decode_counts takes the days since
            cols[f"ds__{name}"] = ibis.ifelse(hit, s.ts, ibis.null("int64")).max().over(growing(scope))
    for name, group, window, masks, column in day_mask_requests(plan):
        span = masks * DAY_BITS
        slot = ((s.day % span) + span) % span  # days before 1970 are negative: keep the slot positive
        for j in range(masks):
            mine = s[column] & (slot >= j * DAY_BITS) & (slot < (j + 1) * DAY_BITS)
            # a visible cast: Spark reads a bare 1 as a 32-bit INT, and shifts it past bit 31 to garbage
            one = ibis.literal(1, "int32").cast("int64")
            bit = ibis.ifelse(mine, one << (slot - j * DAY_BITS), ibis.literal(0, "int64"))
            cols[f"dm__{name}__{j}"] = _bit_or(bit).over(by(s[group], window_frame(window)))
    committee = spec.scoring.committee
    if committee is not None:
        frame = window_frame(int(committee.window.total_seconds()))
        for j, roles in enumerate(_role_masks(plan)):
            bit = ibis.cases(*[(s.role == r, ibis.literal(1 << k, "int64")) for k, r in enumerate(roles)],
                             else_=ibis.literal(0, "int64"))  # fmt: skip
            cols[f"roles__{j}"] = _bit_or(bit).over(by(s.part, frame))
    intent = (
        ibis.window(group_by=[s.contact_id, s.epoch], order_by=s.ts, rows=(None, 0))
        if lay.epochs
        else growing("contact_id")
    )
    for sg in plan.signals:
        mine = s.sig == sg.index
        # points are positive (the spec says so) and growth too: a running total that only grows
        cols[f"is__{sg.index}"] = ibis.ifelse(mine, sg.points * s.growth, 0.0).sum().over(intent)
    cols["handoff"] = (s.ts * 4 + s.hcode).max().over(growing("contact_id"))
    # only what evaluation_points reads leaves the window step: fewer columns through every sort
    keep = ["contact_id", "part", "ts", "kind", "known", "rel", *(["epoch"] if lay.epochs else [])]
    keep += [f"{p}__{r.index}" for r in plan.regressions for p in ("reg", "blk")]
    return s.select(*keep, **cols)


def decode_counts(plan: Plan, t: ir.Table, lay: Layout) -> ir.Table:
    """The packed counts as the columns scoring reads: count features, distinct days, roles engaged."""
    spec = plan.spec
    cols: dict[str, Any] = {}
    masked = {name: masks for name, _, _, masks, _ in day_mask_requests(plan)}
    for name, feature in spec.features.items():
        if feature.agg == "count":
            cols[f"f__{name}"] = lay.lane(t, f"f__{name}")
        elif feature.agg == "days_since":
            cols[f"f__{name}"] = (t.ts - t[f"ds__{name}"]).cast("float64") / 86400.0
    for name, _, window, _ in distinct_day_counts(plan):
        days = (
            _mask_days(t, name, masked[name])
            if name in masked
            else _distinct_days(lay, t, name, window is not None)
        )
        cols["pat_days" if name == PATTERN else f"f__{name}"] = days
    masks = _role_masks(plan) if spec.scoring.committee is not None else []
    for j, roles in enumerate(masks):
        mask = t[f"roles__{j}"].coalesce(0)
        for k in range(len(roles)):
            cols[f"engaged__{j * ROLES_PER_MASK + k}"] = ((mask >> k) & 1).cast("int64")
    drop = [pack.column for pack in lay.packs] + [f"roles__{j}" for j in range(len(masks))]
    drop += [f"dm__{name}__{j}" for name, n in masked.items() for j in range(n)]
    drop += [f"ds__{name}" for name, feature in spec.features.items() if feature.agg == "days_since"]
    return t.mutate(**cols).drop(*drop)


ROLES_PER_MASK = 62
"""Committee roles one window aggregate tracks: one bit each in a signed 64-bit mask."""


@ibis.udf.agg.builtin(name="bit_or")  # type: ignore[untyped-decorator]
def _bit_or(x: int) -> int:  # type: ignore[empty-body]
    """Bitwise OR over a window, spelled ``bit_or`` by DuckDB, Spark and PostgreSQL alike. (Ibis
    compiles its own ``bit_or`` for DuckDB only.)"""


def _role_masks(plan: Plan) -> list[list[str]]:
    """The committee roles, ROLES_PER_MASK to a mask.

    Scoring asks only whether each role engaged within the window, so one OR of role bits over the
    account's window answers every role at once: one window aggregate where counting each role took a
    packed sum per three roles (measured on 1M events: 12% off the window step).
    """
    roles = [role for role, _ in plan.committee_roles]
    return [roles[i : i + ROLES_PER_MASK] for i in range(0, len(roles), ROLES_PER_MASK)]


def _day_edges(s: ir.Table, group: Any, hit: Any) -> tuple[Any, Any]:
    """Is this flagged row the first / the last flagged row of its day (within its group)?

    Days never go back as time goes on, so the day of the flagged row before is the largest flagged
    day among the rows before (in one sort of the group by time, ties in a fixed order), and the one
    after the smallest among the rows after. Every edge of every feature then shares the group's one
    sort, where partitioning by (group, flag) to take lag and lead sorted once per feature.
    """
    day = ibis.ifelse(hit, s.day, ibis.null(s.day.type()))
    before = day.max().over(ibis.window(group_by=group, order_by=s.ts, rows=(None, -1)))
    after = day.min().over(ibis.window(group_by=group, order_by=s.ts, rows=(1, None)))
    return hit & (before.isnull() | (before != s.day)), hit & (after.isnull() | (after != s.day))


@ibis.udf.scalar.builtin(name="bit_count")  # type: ignore[untyped-decorator]
def _bit_count(x: int) -> int:  # type: ignore[empty-body]
    """Set bits of an integer, spelled ``bit_count`` by DuckDB and Spark alike."""


def _mask_days(t: ir.Table, name: str, masks: int) -> Any:
    """Distinct days of a window from its day masks (see :func:`day_masks`)."""
    total: Any = ibis.literal(0, "int64")
    for j in range(masks):
        total = total + _bit_count(t[f"dm__{name}__{j}"].coalesce(0)).cast("int64")
    return total


def _distinct_days(lay: Layout, t: ir.Table, name: str, windowed: bool) -> Any:
    """Distinct days of flagged rows in (t - window, t]: days only move forward in time, so the days
    gone from the window are a prefix, counted by their last flagged row at or before t - window."""
    started = lay.lane(t, f"started__{name}")
    return started - lay.lane(t, f"gone__{name}") if windowed else started


def recent_signals(plan: Plan, s: ir.Table, as_of: int | ir.IntegerValue) -> ir.Table:
    """Per contact and intent signal: events in the 30 days before as-of and the latest one (drivers)."""
    mine = s.filter(s.sig.notnull())
    return mine.group_by([mine.contact_id, mine.sig]).aggregate(
        n30=ibis.ifelse(mine.ts > as_of - DRIVER_COUNT_WINDOW, 1, 0).sum(), last=mine.ts.max()
    )


def evaluation_points(plan: Plan, s: ir.Table, lay: Layout) -> ir.Table:
    """One row per (contact, ts): window values are equal across simultaneous rows, so max() keeps them."""
    s = s.filter(s.known, s.contact_id.notnull())
    aggs: dict[str, Any] = {"part": s.part.max(), "kind": s.kind.min(), "rel": s.rel.max()}
    skip = {"contact_id", "ts", "part", "kind", "known", "rel"}
    for column in s.columns:
        if column not in skip:
            aggs[column] = s[column].max()
    t = decode_counts(plan, s.group_by(["contact_id", "ts"]).aggregate(**aggs), lay)
    return _previous_epoch(plan, t) if lay.epochs else t


def _previous_epoch(plan: Plan, t: ir.Table) -> ir.Table:
    """Each signal's decayed total of the epoch before a point's own (``prev__*``), in that epoch's
    growth. Older epochs are more than :data:`EPOCH` half-lives back: under 2 ** -256 of their points,
    nothing at hundredths. A running total only grows, so an epoch's total is its largest value."""
    names = [f"is__{sg.index}" for sg in plan.signals]
    ends = t.group_by(["contact_id", "epoch"]).aggregate(**{f"prev__{n[4:]}": t[n].max() for n in names})
    ends = ends.mutate(_c=ends.contact_id, _e=ends.epoch + 1).drop("contact_id", "epoch")
    joined = t.left_join(ends, [t.contact_id == ends._c, t.epoch == ends._e]).drop("_c", "_e")
    return joined.mutate(**{f"prev__{n[4:]}": joined[f"prev__{n[4:]}"].coalesce(0.0) for n in names})


def distinct_tables(plan: Plan, s: ir.Table) -> list[tuple[str, str, ir.Table]]:
    """(column, key, table) for every count-distinct quantity: features and the intent pattern."""
    spec = plan.spec
    out: list[tuple[str, str, ir.Table]] = []
    for name, feature in spec.features.items():
        if feature.agg != "count_distinct" or feature.of == "day":
            continue
        key, window = partition_and_window(feature)  # days are counted in the window step, not here
        out.append((f"f__{name}", key, distinct_counts(s, key, f"hit__{name}", s[f"of__{name}"], window)))
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
