"""Derive, end to end: inputs -> evaluation points -> scores and tiers -> stages -> output tables.

The same function runs on any Ibis back end; the caller supplies the back end's way to materialise an
intermediate table (``cache``) so later steps read it instead of recomputing it.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeAlias, TypeVar

import ibis
import ibis.expr.types as ir

from accord.engine import journey, packing, scoring, state
from accord.engine.plan import Plan

Progress = Callable[[str, float], None]
T = TypeVar("T")

TRIGGERS = {state.KIND_EVENT: "event", state.KIND_WAKE: "wake_up", state.KIND_AS_OF: "as_of"}

Instant: TypeAlias = int | ir.IntegerValue
"""The as-of instant in epoch seconds: a literal, or (DuckDB) a session variable read by the SQL."""


AS_OF_VARIABLE = "accord_as_of"
"""The DuckDB session variable a derive reads its instant from (set by the caller)."""


@ibis.udf.scalar.builtin(name="getvariable")  # type: ignore[untyped-decorator]
def _getvariable(name: str) -> int:  # type: ignore[empty-body]
    """DuckDB's session variable (``SET VARIABLE``), folded into a constant when a query is bound."""


def bind_as_of(con: Any, as_of: int, variable: str = AS_OF_VARIABLE) -> str:
    """Set the session variable a derive reads its instant from on DuckDB connection ``con``; the
    SQL text that reads it, for hand-written queries (the profiles)."""
    con.execute(f"SET VARIABLE {variable} = {int(as_of)}::BIGINT")
    return f"getvariable('{variable}')"


def as_of_expression(variable: str = AS_OF_VARIABLE) -> ir.IntegerValue:
    """The instant as the SQL reads it from ``variable``."""
    out: ir.IntegerValue = _getvariable(variable).name("as_of")
    return out


@dataclass
class Derived:
    """The derived tables (as Ibis expressions over materialised intermediates) and how long each took."""

    points: ir.Table
    leads: ir.Table
    drivers: ir.Table
    stages: ir.Table
    unknown_opportunity_stages: int
    timings: list[tuple[str, float]] = field(default_factory=list)


def _default_cache(t: ir.Table) -> ir.Table:
    return t.cache()


def _count(t: ir.Table) -> int:
    return int(t.count().execute())


_derives = itertools.count()

CHUNK_EVENTS = 1_250_000
"""Above this many events derive runs account by account in chunks of about this size: every quantity
is computed within one account's stream, so chunks are independent, and a chunk's intermediate tables
are dropped before the next starts. Peak memory then follows the chunk, not the ledger. Since chunks
share their compiled plans, a chunk costs little more than its rows (measured on 10M events: 1.25M
chunks take about the time of 2.5M ones, with about 0.8 GB less peak memory)."""


def derive(
    plan: Plan,
    ev: ir.Table,
    profiles: ir.Table,
    as_of: int,
    *,
    cache: Callable[[ir.Table], ir.Table] = _default_cache,
    progress: Progress | None = None,
    chunk_events: int | None = CHUNK_EVENTS,
    scratch: Callable[[], Any] | None = None,
    as_of_variable: str | None = None,
) -> Derived:
    """Everything docs/derive.md defines, as of ``as_of`` (whole epoch seconds).

    With ``as_of_variable`` (DuckDB: the caller has run ``SET VARIABLE <name> = as_of``) the SQL
    reads the instant from that variable instead of holding it as a literal. Every derive of one spec
    then builds the same expressions and compiles the same SQL, and a later derive in the process
    reuses them (:class:`Builds`): on a small ledger that was most of a derive's 2.5 s.

    With ``chunk_events`` and ``scratch`` (a factory of short-lived materialisers with
    ``__call__(expr, name=None)`` and ``close``, like :class:`accord.engine.backends.Materializer`), a
    large ledger is derived in chunks of whole account streams, each chunk's outputs kept through
    ``cache`` and its intermediates dropped with its scratch materialiser. A materialiser that can
    ``name_by_content`` gives every chunk the same table names, so the chunks' plans compile once.
    """
    instant: Instant = as_of if as_of_variable is None else as_of_expression(as_of_variable)
    events = _count(ev) if chunk_events is not None and scratch is not None else 0
    chunks = -(-events // chunk_events) if chunk_events and events > chunk_events else 1
    # shared by the process only when the instant is a variable: then a caller that reads outputs
    # through its own back end (never through an expression's) gets equal expressions back
    builds = Builds(plan.fingerprint if as_of_variable is not None else None)
    if chunks == 1 or scratch is None:
        return _derive_chunk(
            plan, ev, profiles, instant, cache=cache, progress=progress, opportunities=True, once=builds
        )
    keyed_profiles = cache(_chunk_keys(profiles, chunks))
    used = state.event_columns(plan)
    keyed_ev = _keyed_events(ev.select(*[c for c in ev.columns if c in used]), keyed_profiles, chunks)
    split = getattr(cache, "split", None)
    reader = split(keyed_ev, "_chunk") if split is not None else None

    def events_of(k: int) -> ir.Table:
        return reader(k) if reader is not None else keyed_ev.filter(keyed_ev._chunk == k).drop("_chunk")

    outputs: dict[str, list[ir.Table]] = {"points": [], "leads": [], "drivers": [], "stages": []}
    timings: dict[str, float] = {}
    family = f"d{next(_derives)}"
    widest: dict[str, int] = {}
    for k in range(chunks):
        local = scratch()
        stable = getattr(local, "name_by_content", None)
        if stable is not None:
            stable(family)
        try:

            def report(phase: str, fraction: float, k: int = k) -> None:
                if progress is not None:
                    progress(f"{phase} ({k + 1} of {chunks})", (k + fraction) / chunks)

            part = _derive_chunk(
                plan,
                local(events_of(k), "events"),
                local(keyed_profiles.filter(keyed_profiles._chunk == k).drop("_chunk"), "profiles"),
                instant,
                cache=local,
                progress=report,
                opportunities=False,
                widest=widest,
                once=builds,
            )
            clock = time.perf_counter()
            for name, tables in outputs.items():
                tables.append(cache(getattr(part, name)))
            part.timings.append(("drivers and leads", time.perf_counter() - clock))
            for name, secs in part.timings:
                timings[name] = timings.get(name, 0.0) + secs
        finally:
            local.close()
    clock = time.perf_counter()
    unknown = 0
    if plan.spec.pipeline.track_history:
        opp_history, unknown_table = journey.opportunity_history(plan, ev, instant)
        outputs["stages"].append(cache(opp_history))
        unknown = int(unknown_table.to_pyarrow()["n"][0].as_py() or 0)
    timings["stage histories"] = timings.get("stage histories", 0.0) + time.perf_counter() - clock

    def union(tables: list[ir.Table]) -> ir.Table:
        return tables[0] if len(tables) == 1 else ibis.union(*tables, distinct=False)

    return Derived(
        union(outputs["points"]),
        union(outputs["leads"]),
        union(outputs["drivers"]),
        union(outputs["stages"]),
        unknown,
        list(timings.items()),
    )


def _bucket(key: ir.StringValue, chunks: int) -> ir.IntegerValue:
    h = key.hash()
    return ((h % chunks) + chunks) % chunks


def _chunk_keys(profiles: ir.Table, chunks: int) -> ir.Table:
    """Each profile with the chunk of its account stream: a hash of its partition key, so an account's
    contacts and events share a chunk."""
    return profiles.mutate(_chunk=_bucket(profiles.part, chunks))


def _keyed_events(ev: ir.Table, keyed_profiles: ir.Table, chunks: int) -> ir.Table:
    """Each event with the chunk of its partition (as build_stream assigns it). Split once into files
    by chunk where the materialiser can (a copy of the whole ledger with its chunk numbers would hold
    all of it in memory at once), else filtered afresh for every chunk."""
    prof = keyed_profiles.select(_pc=keyed_profiles.contact_id, _pk=keyed_profiles._chunk)
    joined = ev.left_join(prof, ev.contact_id == prof._pc)
    own = _bucket(ibis.coalesce(joined.account_id, ibis.literal("c:") + joined.contact_id), chunks)
    return joined.mutate(_chunk=joined._pk.coalesce(own).coalesce(0)).drop("_pc", "_pk")


def _derive_chunk(
    plan: Plan,
    ev: ir.Table,
    profiles: ir.Table,
    as_of: Instant,
    *,
    cache: Callable[[ir.Table], ir.Table],
    progress: Progress | None,
    opportunities: bool,
    widest: dict[str, int] | None = None,
    once: Builds | None = None,
) -> Derived:
    """One derive over whole account streams. ``widest`` carries the largest partitions seen by earlier
    chunks: a chunk packs its counts at least that wide, so chunks share one layout and one plan.
    ``once`` carries the expressions earlier chunks built (see :class:`Builds`)."""
    once = Builds(None) if once is None else once
    timings: list[tuple[str, float]] = []
    clock = time.perf_counter()

    def step(name: str, fraction: float) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings.append((name, now - clock))
        clock = now
        if progress is not None:
            progress(name, fraction)

    spec = plan.spec
    store = _named(cache)

    def keep(name: str, build: Callable[[], ir.Table], *inputs: Any) -> ir.Table:
        return store(once(name, build, *inputs), name)

    flagged = keep(
        "flagged",
        lambda: state.row_flags(plan, state.build_stream(plan, ev, profiles, as_of)),
        ev,
        profiles,
        as_of,
    )
    step("events and rules", 0.2)
    widest = {} if widest is None else widest
    for group, rows in packing.partition_rows(flagged).items():
        widest[group] = max(widest.get(group, 0), rows)
    lay = packing.layout(plan, widest)
    points = keep(
        "points",
        lambda: state.evaluation_points(plan, state.state_columns(plan, flagged, lay), lay),
        flagged,
        lay,
    )
    distincts = [
        (column, key, store(table, f"distinct_{column}"))
        for column, key, table in once("distincts", lambda: state.distinct_tables(plan, flagged), flagged)
    ]
    tables = tuple(table for _, _, table in distincts)
    fitted = keep("fitted", lambda: scoring.fit_table(plan, profiles), profiles)

    def scores() -> ir.Table:
        return journey.scored_points(plan, scoring.score_points(plan, points, distincts, fitted, wide=False))

    scored = keep("scored", scores, points, fitted, *tables)
    step("features and scores", 0.55)
    walked = store(journey.walk(plan, scored, profiles, cache, _count), "walked")
    step("stage machine", 0.75)
    history, parts = once("histories", lambda: _histories(plan, walked, profiles), walked, profiles)
    unknown = 0
    if opportunities and spec.pipeline.track_history:
        opp_history, unknown_table = journey.opportunity_history(plan, ev, as_of)
        parts = [*parts, opp_history]
        unknown = int(unknown_table.to_pyarrow()["n"][0].as_py() or 0)
    stages = store(ibis.union(*parts, distinct=False), "stages")
    step("stage histories", 0.85)

    def as_of_scores() -> ir.Table:
        at_points = points.filter(points.ts == as_of)
        return scoring.with_recent(
            plan,
            scoring.score_points(plan, at_points, distincts, fitted, wide=True),
            state.recent_signals(plan, flagged, as_of),
        )

    at = keep("at", as_of_scores, points, fitted, flagged, as_of, *tables)
    drivers = keep("drivers", lambda: scoring.drivers(plan, at), at)
    outputs = once("outputs", lambda: _outputs(plan, scored, walked, history, at, drivers, as_of),
                   scored, walked, at, drivers, as_of)  # fmt: skip
    out_points, leads = outputs
    step("drivers and leads", 1.0)
    return Derived(out_points, leads, drivers, stages, unknown, timings)


def _named(cache: Callable[..., ir.Table]) -> Callable[[ir.Table, str], ir.Table]:
    """``cache`` taking a step's name where it can (a :class:`~accord.engine.backends.Materializer`):
    chunk after chunk then stores each step under one table name, so every later step's expression is
    the same for every chunk, and is built and compiled once."""
    if getattr(cache, "name_by_content", None) is not None:
        return lambda expr, name: cache(expr, name)
    return lambda expr, _name: cache(expr)


_BUILT: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_BUILT_MAX = 256
_BUILT_LOCK = threading.Lock()  # a server may derive two workspaces at once


class Builds:
    """Expressions built once per distinct inputs: within one derive, or (``plan`` given) for the
    whole process.

    Building a step's expression is Python work (about 0.3 s for the drivers alone, 1 to 2 s for a
    whole chunk). Chunks hand equal inputs to the same builders, and so do later derives of the same
    spec when their intermediates have the same names and the instant is a variable: only the first
    pays. An expression depends only on the plan, its inputs' names and types, the layout and the
    instant, all in the key; its data never enters it. Ibis compares DuckDB back ends by their kind,
    so an expression built on an earlier connection compiles and runs on the current one, provided
    the caller's back end runs it: executing it through its own would reach a closed connection.
    """

    def __init__(self, plan: str | None) -> None:
        self.plan = plan
        self.built: OrderedDict[tuple[Any, ...], Any] = OrderedDict() if plan is None else _BUILT

    def __call__(self, name: str, build: Callable[[], T], *inputs: Any) -> T:
        key = (self.plan, name, *(x.op() if isinstance(x, ir.Table | ir.Value) else x for x in inputs))
        with _BUILT_LOCK:
            found = self.built.get(key)
            if found is not None:
                self.built.move_to_end(key)
                return found  # type: ignore[no-any-return]
        out = build()  # outside the lock: seconds of Python, and equal builds are interchangeable
        with _BUILT_LOCK:
            self.built[key] = out
            while self.plan is not None and len(self.built) > _BUILT_MAX:
                self.built.popitem(last=False)
        return out


def _histories(plan: Plan, walked: ir.Table, profiles: ir.Table) -> tuple[ir.Table, list[ir.Table]]:
    """The contact history (leads read when each contact entered its stage) and every stage history."""
    history = journey.contact_history(plan, walked)
    parts = [history]
    if plan.spec.journey.track_accounts:
        parts.append(journey.account_history(plan, walked, profiles))
    return history, parts


def _outputs(
    plan: Plan,
    scored: ir.Table,
    walked: ir.Table,
    history: ir.Table,
    at: ir.Table,
    drivers: ir.Table,
    as_of: Instant,
) -> tuple[ir.Table, ir.Table]:
    """The score history (every point with its stage) and the leads (as-of scores, top driver, stage)."""
    spec = plan.spec
    w = walked.select(wc=walked.contact_id, wts=walked.ts, stage_idx=walked.post)
    full = scored.join(w, [scored.contact_id == w.wc, scored.ts == w.wts]).drop("wc", "wts")
    out_points = full.select(
        "contact_id", "ts",
        trigger=ibis.cases(*[(full.kind == k, ibis.literal(v)) for k, v in TRIGGERS.items()]),
        fit=full.fit, intent=full.intent, committee=full.committee, score=full.score, tier=full.tier,
        motion=full.motion, disposition=full.disposition, assigned=full.assigned, candidate=full.candidate,
        stage=_stage_name(plan, full.stage_idx),
    )  # fmt: skip
    top = drivers.filter(drivers.rank == 1).select(
        tc=drivers.contact_id, top_driver=drivers.label, top_driver_points=drivers.points
    )
    current = walked.filter(walked.ts == as_of).select(cc=walked.contact_id, stage_idx=walked.post)
    entered = history.filter(history.exited_at.isnull()).select(
        hc=history.entity_id, stage_since=history.entered_at
    )
    leads = at.left_join(top, at.contact_id == top.tc).drop("tc")
    leads = leads.left_join(current, leads.contact_id == current.cc).drop("cc")
    leads = leads.left_join(entered, leads.contact_id == entered.hc).drop("hc")
    leads = leads.mutate(stage=_stage_name(plan, leads.stage_idx))
    leads = leads.select(
        "contact_id", "account_id", "fit", "intent", "committee", "score", "tier", "motion", "disposition",
        "assigned", "stage", "stage_since", "top_driver", "top_driver_points", "pattern_met",
        "committee_roles", *spec.features)  # fmt: skip
    return out_points, leads


def _stage_name(plan: Plan, index: ir.IntegerValue) -> ir.StringValue:
    return ibis.cases(
        *[(index == i, ibis.literal(s)) for i, s in enumerate(plan.stage_ids)], else_=ibis.null("string")
    )
