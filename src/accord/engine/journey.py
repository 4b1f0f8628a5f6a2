"""Stages: the journey machine of docs/derive.md in set-based form, and stage histories.

Forward moves within a stretch without regressions are a running maximum of the candidate stage. A
regression starts a new stretch ("epoch") at a fixed stage, and whether it applies depends on the
stage just before it, so epochs are found a round at a time: each round computes every contact's
stage from its latest epoch and finds the next applicable regression. Rounds are few (the most
regressions any one contact has), and each is a set-based query, never a loop over events.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ibis
import ibis.expr.types as ir

from accord.engine.plan import Plan
from accord.engine.rules import compile_rule
from accord.engine.state import flag

NEVER = -(1 << 50)
Cache = Callable[[ir.Table], ir.Table]
Count = Callable[[ir.Table], int]


def candidates(plan: Plan, scored: ir.Table) -> ir.Table:
    """The highest-numbered stage whose entry rule holds at each point (-1 if none)."""
    pairs = [
        (flag(compile_rule(rule, scored)), ibis.literal(i, "int64"))
        for i, rule in reversed(list(enumerate(plan.entries)))
    ]
    return scored.mutate(candidate=ibis.cases(*pairs, else_=ibis.literal(-1, "int64")))


def _round(plan: Plan, p: ir.Table, frontier: ir.Table) -> ir.Table:
    """Each point after its contact's latest epoch start, with ``pre`` and the regression it fires."""
    regs = plan.regressions
    f = frontier.select(fc=frontier.contact_id, fs=frontier.s, fz=frontier.z, fu=frontier.u)
    x = p.join(f, p.contact_id == f.fc).filter(p.ts > f.fs)
    eligible = ibis.ifelse(x.ts >= x.fu, x.candidate, -1)
    running = eligible.max().over(ibis.window(group_by=x.contact_id, order_by=x.ts, rows=(None, 0)))
    x = x.mutate(pre=ibis.greatest(x.fz, running))
    apply = [(x[f"reg__{r.index}"] == 1) & x.pre.isin(list(r.sources)) for r in regs]
    return x.select(
        "contact_id",
        "ts",
        "pre",
        fires=ibis.or_(*apply) if apply else ibis.literal(False),
        z=ibis.cases(
            *[(a, ibis.literal(r.target, "int64")) for a, r in zip(apply, regs, strict=True)],
            else_=ibis.null("int64"),
        )
        if apply
        else ibis.null("int64"),
        u=ibis.cases(
            *[(a, x[f"blk__{r.index}"]) for a, r in zip(apply, regs, strict=True)],
            else_=ibis.null("int64"),
        )
        if apply
        else ibis.null("int64"),
    )


def _first_firing(x: ir.Table, k: int) -> ir.Table:
    first = x.filter(x.fires).mutate(
        n=ibis.row_number().over(ibis.window(group_by=x.contact_id, order_by=x.ts))
    )
    return first.filter(first.n == 0).select(
        contact_id=first.contact_id, k=ibis.literal(k, "int64"), s=first.ts, z=first.z, u=first.u
    )


def walk(plan: Plan, points: ir.Table, contacts: ir.Table, cache: Cache, count: Count) -> ir.Table:
    """Per point: ``pre`` (stage after forward moves) and ``post`` (after a regression).

    The first round covers every point and is kept: for a contact no regression ever applies to
    (nearly all of them), it is the answer. Only the points of contacts with later epochs go through
    the epoch assembly below.
    """
    regs = plan.regressions
    cols = (
        ["contact_id", "ts", "candidate"]
        + [f"reg__{r.index}" for r in regs]
        + [f"blk__{r.index}" for r in regs]
    )
    p = cache(points.select(*cols))
    frontier = cache(
        contacts.select(
            contact_id=contacts.contact_id,
            k=ibis.literal(0, "int64"),
            s=ibis.literal(NEVER, "int64"),
            z=ibis.literal(-1, "int64"),
            u=ibis.literal(NEVER, "int64"),
        )
    )
    epochs = [frontier]
    x0 = cache(_round(plan, p, frontier))
    x = x0
    for k in range(1, 10_000):
        if not regs:
            break
        frontier = cache(_first_firing(x, k))
        if count(frontier) == 0:
            break
        epochs.append(frontier)
        x = _round(plan, p, frontier)
    unmoved = x0.select("contact_id", "ts", pre=x0.pre.cast("int64"), post=x0.pre.cast("int64"))
    if len(epochs) == 1:
        return unmoved
    typed = [
        ep.select(contact_id=ep.contact_id, **{c: ep[c].cast("int64") for c in ("k", "s", "z", "u")})
        for ep in epochs
    ]  # engines read literals back as narrower ints
    e = cache(ibis.union(*typed, distinct=False))
    moved = cache(e.filter(e.k > 0).select(mc=e.contact_id).distinct())
    unmoved = unmoved.anti_join(moved, unmoved.contact_id == moved.mc)
    p = p.semi_join(moved, p.contact_id == moved.mc)
    marks = e.select("contact_id", ts=e.s, k=e.k, m=ibis.literal(1, "int8"))
    plain = p.select("contact_id", "ts", k=ibis.null("int64"), m=ibis.literal(0, "int8"))
    u = ibis.union(plain, marks, distinct=False)
    u = u.mutate(ek=u.k.max().over(ibis.window(group_by=u.contact_id, order_by=[u.ts, u.m], rows=(None, 0))))
    u = u.filter(u.m == 0).select(uc=u.contact_id, uts=u.ts, ek=u.ek)
    y = p.join(u, [p.contact_id == u.uc, p.ts == u.uts]).drop("uc", "uts")
    ep = e.select(ec=e.contact_id, ek2=e.k, ez=e.z, eu=e.u)
    y = y.join(ep, [y.contact_id == ep.ec, y.ek == ep.ek2]).drop("ec", "ek2")
    eligible = ibis.ifelse(y.ts >= y.eu, y.candidate, -1)
    running = eligible.max().over(ibis.window(group_by=[y.contact_id, y.ek], order_by=y.ts, rows=(None, 0)))
    y = y.mutate(pre=ibis.greatest(y.ez, running))
    post = e.filter(e.k > 0).select(pc=e.contact_id, ps=e.s, pz=e.z)
    y = y.left_join(post, [y.contact_id == post.pc, y.ts == post.ps])
    moved_points = y.select(
        "contact_id", "ts", pre=y.pre.cast("int64"), post=y.pz.coalesce(y.pre).cast("int64")
    )
    return ibis.union(unmoved, moved_points, distinct=False)


def _expand(
    steps: ir.Table,
    entity_type: str,
    ids: list[str],
    optional: list[bool],
    skippable: Callable[[int, Any], Any] | None = None,
) -> ir.Table:
    """Stage history rows from (entity_id, ts, prev, pre, post) change points.

    A forward move from ``prev`` to ``pre`` enters ``pre`` and passes through the stages in between
    (flagged skipped, optional ones left out); a ``post`` other than ``pre`` is a move back at the same
    instant. One select per stage keeps this free of constant tables, which not every engine joins.
    """
    n = len(ids)
    fwd = steps.filter(steps.pre > steps.prev)
    parts: list[ir.Table] = []
    for i, sid in enumerate(ids):
        passed = (fwd.prev < i) & (fwd.pre > i)
        if optional[i]:
            passed = ibis.literal(False)
        if skippable is not None:
            passed = passed & skippable(i, fwd.pre)
        hit = fwd.filter(passed | (fwd.pre == i))
        parts.append(
            hit.select(
                entity_id=hit.entity_id,
                ts=hit.ts,
                seq=ibis.literal(i, "int64"),
                stage=ibis.literal(sid),
                skipped=hit.pre > i,
            )
        )
    back = steps.filter(steps.post != steps.pre)
    parts.append(
        back.select(
            entity_id=back.entity_id,
            ts=back.ts,
            seq=ibis.literal(n + 1, "int64"),
            stage=_name(ids, back.post),
            skipped=ibis.literal(False),
        )
    )
    rows = ibis.union(*parts, distinct=False)
    w = ibis.window(group_by=rows.entity_id, order_by=[rows.ts, rows.seq])
    return rows.select(
        entity_type=ibis.literal(entity_type),
        entity_id=rows.entity_id,
        stage=rows.stage,
        seq=rows.seq,
        entered_at=rows.ts,
        exited_at=rows.ts.lead().over(w),
        exit_to=rows.stage.lead().over(w),
        skipped=rows.skipped,
    )


POINT_COLUMNS = ("contact_id", "ts", "kind", "fit", "intent", "committee", "score", "tier", "motion",
                 "disposition", "assigned", "candidate")  # fmt: skip
"""What the stage machine and the score history read from the scored points."""


def scored_points(plan: Plan, scored: ir.Table) -> ir.Table:
    """The scored points with their candidate stage and regression triggers, and nothing else."""
    regs = [f"{p}__{r.index}" for r in plan.regressions for p in ("reg", "blk")]
    return candidates(plan, scored).select(*POINT_COLUMNS, *regs)


def _name(ids: list[str], index: Any) -> Any:
    return ibis.cases(*[(index == i, ibis.literal(s)) for i, s in enumerate(ids)], else_=ibis.null("string"))


def contact_history(plan: Plan, walked: ir.Table) -> ir.Table:
    w = ibis.window(group_by=walked.contact_id, order_by=walked.ts)
    steps = walked.mutate(prev=walked.post.lag().over(w).coalesce(-1))
    steps = steps.filter((steps.pre != steps.prev) | (steps.post != steps.prev))
    steps = steps.select(
        entity_id=steps.contact_id, ts=steps.ts, prev=steps.prev, pre=steps.pre, post=steps.post
    )
    return _expand(steps, "contact", plan.stage_ids, plan.optional)


def account_history(plan: Plan, walked: ir.Table, profiles: ir.Table) -> ir.Table:
    """The account is at the highest current stage among its contacts."""
    n = len(plan.stage_ids)
    w = ibis.window(group_by=walked.contact_id, order_by=walked.ts)
    ch = walked.mutate(prev=walked.post.lag().over(w).coalesce(-1))
    ch = ch.filter(ch.post != ch.prev)
    acct = profiles.filter(profiles.account_id.notnull()).select(
        ac=profiles.contact_id, aid=profiles.account_id
    )
    ch = ch.join(acct, ch.contact_id == acct.ac)
    deltas = {f"d__{k}": ibis.ifelse(ch.post >= k, 1, 0) - ibis.ifelse(ch.prev >= k, 1, 0) for k in range(n)}
    ch = ch.mutate(**deltas)
    win = ibis.window(group_by=ch.aid, order_by=ch.ts, range=(None, 0))
    ch = ch.mutate(**{f"c__{k}": ch[f"d__{k}"].sum().over(win) for k in range(n)})
    stage = ibis.cases(
        *[(ch[f"c__{k}"] > 0, ibis.literal(k, "int64")) for k in reversed(range(n))],
        else_=ibis.literal(-1, "int64"),
    )
    per = ch.select(aid=ch.aid, ts=ch.ts, st=stage).distinct()
    per = per.mutate(prev=per.st.lag().over(ibis.window(group_by=per.aid, order_by=per.ts)).coalesce(-1))
    per = per.filter(per.st != per.prev)
    steps = per.select(
        entity_id=per.aid, ts=per.ts, prev=per.prev, pre=ibis.greatest(per.st, per.prev), post=per.st
    )
    return _expand(steps, "account", plan.stage_ids, plan.optional)


def opportunity_history(plan: Plan, ev: ir.Table, as_of: int | ir.IntegerValue) -> tuple[ir.Table, ir.Table]:
    """Opportunity stage history from opportunity events, and the count of unknown stage values."""
    stages = plan.spec.pipeline.stages
    ids = [s.id for s in stages]
    won = next(s.id for s in stages if s.outcome == "won")
    lost = next(s.id for s in stages if s.outcome == "lost")
    o = ev.filter(
        ev.opportunity_id.notnull(),
        ev.ts <= as_of,
        ev.type.isin(["opp_created", "opp_stage_changed", "closed_won", "closed_lost"]),
        (ev.type != "opp_stage_changed") | ev.stage.notnull(),
    )
    value = ibis.cases(
        (o.type == "closed_won", ibis.literal(won)),
        (o.type == "closed_lost", ibis.literal(lost)),
        (o.type == "opp_created", o.stage.coalesce(ids[0])),
        else_=o.stage,
    )
    idx = ibis.cases(
        *[(value == s, ibis.literal(i, "int64")) for i, s in enumerate(ids)], else_=ibis.null("int64")
    )
    prio = ibis.cases(
        (o.type == "opp_created", 0), (o.type == "opp_stage_changed", 1), (o.type == "closed_won", 2), else_=3
    )
    o = o.mutate(idx=idx, key=prio.cast("int64") * 1000 + idx)
    unknown = o.filter(o.idx.isnull()).aggregate(n=ibis._.count())
    per = o.filter(o.idx.notnull()).group_by(["opportunity_id", "ts"]).aggregate(key=ibis._.key.max())
    per = per.mutate(st=per.key % 1000)
    per = per.mutate(
        prev=per.st.lag().over(ibis.window(group_by=per.opportunity_id, order_by=per.ts)).coalesce(-1)
    )
    per = per.filter(per.st != per.prev)
    steps = per.select(
        entity_id=per.opportunity_id,
        ts=per.ts,
        prev=per.prev,
        pre=ibis.greatest(per.st, per.prev),
        post=per.st,
    )
    outcome = {i: s.outcome for i, s in enumerate(stages)}
    open_ids = [i for i, out in outcome.items() if out == "open"]
    lost_ids = [i for i, out in outcome.items() if out == "lost"]

    def skippable(i: int, pre: Any) -> Any:
        return ibis.literal(i in open_ids) & ~pre.isin(lost_ids)

    history = _expand(steps, "opportunity", ids, [False] * len(ids), skippable)
    return history, unknown
