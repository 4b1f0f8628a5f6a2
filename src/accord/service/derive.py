"""Deriving a workspace and reading what derive wrote: explanations and the lead queue."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import ibis

from accord.errors import WorkspaceError
from accord.ledger.store import Ledger
from accord.service.workspace import Progress, Workspace
from accord.spec.load import spec_hash
from accord.spec.model import Spec


@dataclass
class DeriveResult:
    run_id: str
    spec_version: str
    as_of: datetime
    counts: dict[str, int]
    timings: list[tuple[str, float]]
    tiers: dict[str, int]
    stages: dict[str, int]
    unknown_opportunity_stages: int


def _output_tables(
    points: Any, leads: Any, drivers: Any, stages: Any, moment: datetime | Any, version: str
) -> dict[str, Any]:
    """The derived tables as stored: instants as UTC timestamps, every row stamped with the spec version.
    ``moment`` is the instant, or an expression of it (the session variable: the same SQL each run)."""

    def utc(col: Any) -> Any:
        return col.as_timestamp("s").cast("timestamp('UTC')")

    instant = ibis.literal(moment, type="timestamp('UTC')") if isinstance(moment, datetime) else utc(moment)

    stamp = {"spec_version": ibis.literal(version)}
    return {
        "derived_scores": points.select(
            "contact_id", at=utc(points.ts), trigger=points.trigger, fit=points.fit, intent=points.intent,
            committee=points.committee, score=points.score, tier=points.tier, motion=points.motion,
            disposition=points.disposition, assigned=points.assigned, stage=points.stage, **stamp),
        "derived_leads": leads.mutate(as_of=instant,
                                      stage_since=utc(leads.stage_since), **stamp),
        "derived_drivers": drivers.select(
            "contact_id", "rank", "component", "key", "label", "points", "count",
            last_at=utc(drivers.last_ts), detail=drivers.detail, **stamp),
        "derived_stages": stages.mutate(entered_at=utc(stages.entered_at), exited_at=utc(stages.exited_at),
                                        **stamp),
    }  # fmt: skip


MIN_MEMORY_LIMIT = 32_000_000
"""The least memory cap a derive can finish under: an empty ledger derives at 32MB and not at 16MB
(measured with DuckDB 1.5). A ledger with data needs more (a 400-contact demo about 96MB, a
5,000-contact one about 192MB); a cap between this floor and what the ledger needs fails as out of
memory, with nothing stored. Below a few kB DuckDB cannot even run the SET, nor reset it after."""

_UNITS = {"b": 1, "byte": 1, "bytes": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6,
          "g": 10**9, "gb": 10**9, "t": 10**12, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}  # fmt: skip
_SIZE = re.compile(r"\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)\s*([a-z]+)\s*", re.IGNORECASE)


def memory_limit_bytes(text: str) -> int:
    """A cap in DuckDB's notation, checked here: DuckDB reads a negative size as no cap at all, and
    a tiny one fails inside SET with an out-of-memory error that leaves the connection unusable."""
    match = _SIZE.fullmatch(text)
    unit = _UNITS.get(match.group(2).lower()) if match else None
    if match is None or unit is None:
        raise WorkspaceError(
            f"memory limit '{text}' is not a size",
            hint="give a number and a unit, e.g. 3GB, 512MB or 2.5GiB",
        )
    size = float(match.group(1)) * unit
    if size <= 0:
        raise WorkspaceError(
            f"memory limit '{text}' must be more than zero",
            hint="give a cap such as 3GB, or leave --memory-limit out to let DuckDB use up to 80% of RAM",
        )
    if size < MIN_MEMORY_LIMIT:
        raise WorkspaceError(
            f"memory limit '{text}' is too small: a derive needs at least {MIN_MEMORY_LIMIT // 10**6}MB, "
            "and more as the ledger grows",
            hint="give 1GB or more for a real ledger; DuckDB spills to disk beside the workspace "
            "when it needs more than the cap",
        )
    return int(size)


@contextmanager
def _run_settings(con: duckdb.DuckDBPyConnection, memory_limit: str | None) -> Iterator[None]:
    """DuckDB's settings for one derive, then DuckDB's defaults again (Accord sets no others).

    - Insertion order is not kept: no derived table has an order of its own (every reader sorts), and
      keeping scan order can hold back DuckDB's parallel operators. The benchmark has always run so;
      at 10M events the gain measured within this host's noise.
    - ``memory_limit``: without one DuckDB may hold up to 80% of the machine's memory on a large ledger;
      under one it spills to disk beside the workspace and finishes.

    Both settings are the database's, so a server's connection, which outlives the run, must not keep
    them. RESET rather than setting back the text read before: DuckDB reports the limit rounded
    (4.6 GiB), and setting that text back drifts.
    """
    try:
        con.execute("SET preserve_insertion_order = false")
        if memory_limit is not None:
            con.execute(f"SET memory_limit = '{memory_limit_bytes(memory_limit)}B'")  # a size, checked
        try:
            yield
        except duckdb.OutOfMemoryException:
            if memory_limit is None:
                raise
            raise WorkspaceError(
                f"derive needs more memory than the limit of {memory_limit} allows; nothing was stored",
                hint="raise --memory-limit, or make room for DuckDB to spill to disk beside the workspace",
            ) from None
    finally:
        con.execute("RESET memory_limit")
        con.execute("RESET preserve_insertion_order")


def run_derive(
    ws: Workspace,
    *,
    as_of: datetime | None = None,
    progress: Progress | None = None,
    engine: str = "duckdb",
    memory_limit: str | None = None,
) -> DeriveResult:
    """Derive scores, tiers and stage histories as of an instant and store them in the workspace.

    ``engine="spark"`` runs the same derive on a local Spark session (the inputs go over as Parquet)
    and stores its results in the workspace exactly as DuckDB's would be. ``memory_limit`` (DuckDB's
    notation, e.g. ``"3GB"``) caps DuckDB's memory for the run.
    """
    import secrets

    from accord.engine.backends import Materializer, duckdb_backend
    from accord.ledger.derived import record_run

    if engine not in ("duckdb", "spark"):
        raise WorkspaceError(f"unknown engine '{engine}'", hint="use duckdb (default) or spark")
    spec = ws.spec
    version = spec_hash(spec)
    moment = (as_of or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    as_of_ts = int(moment.timestamp())
    started = datetime.now(UTC)
    with ws.ledger() as ledger, _run_settings(ledger.con, memory_limit):
        from accord.governance.proposals import sync

        sync(ws, ledger, now=started)  # a hand edit of accord.yaml enters the change log here
        if engine == "spark":
            cache = Materializer(duckdb_backend(ledger.con))
            try:
                derived = _derive_on_spark(ledger, spec, as_of_ts, progress)
                for name in ("points", "leads", "drivers", "stages"):
                    setattr(derived, name, cache(ibis.memtable(getattr(derived, name))))
                counts, timings = _store(ledger, cache.backend, derived, moment, version, 0.0)
            finally:
                cache.close()
            unknown = derived.unknown_opportunity_stages
        else:
            counts, timings, unknown = store_derive(ledger, spec, as_of_ts, progress)
        tiers = dict(
            ledger.con.execute(
                "SELECT coalesce(tier, '(none)'), count(*) FROM derived_leads GROUP BY 1 ORDER BY 1"
            ).fetchall()
        )
        stages = dict(
            ledger.con.execute(
                "SELECT coalesce(stage, '(none)'), count(*) FROM derived_leads GROUP BY 1"
            ).fetchall()
        )
        run_id = f"drv_{started:%Y%m%dT%H%M%S}_{secrets.token_hex(3)}"
        record_run(
            ledger,
            run_id=run_id,
            spec_version=version,
            as_of=moment,
            started=started,
            finished=datetime.now(UTC),
            engine=engine,
            counts=counts,
            timings=timings,
        )
    order = {s: i for i, s in enumerate(spec.stage_ids())}
    ordered = dict(sorted(stages.items(), key=lambda kv: order.get(kv[0], len(order))))
    return DeriveResult(run_id, version, moment, counts, timings, tiers, ordered, unknown)


def store_derive(
    ledger: Ledger, spec: Spec, as_of: int, progress: Progress | None = None
) -> tuple[dict[str, int], list[tuple[str, float]], int]:
    """Derive on the ledger's DuckDB as of ``as_of`` and replace its derived tables: (rows per table,
    seconds per step, unknown opportunity stages). `accord derive` and the backtest both run this.

    The instant is a session variable and the steps keep their names, so every derive of one spec
    in the process builds and compiles its steps once (docs/derive.md, "The instant in the SQL")."""
    import time

    from accord.engine.backends import Materializer, duckdb_backend
    from accord.engine.derive import AS_OF_VARIABLE, as_of_expression, bind_as_of
    from accord.engine.inputs import events_sql, profiles_sql

    clock = time.perf_counter()
    backend = duckdb_backend(ledger.con)
    cache = Materializer(backend)
    try:
        ev = backend.sql(events_sql(spec))  # read where used: a copy would hold every column
        instant_sql = bind_as_of(ledger.con, as_of)
        cache.name_by_content("run")
        profiles = cache(backend.sql(profiles_sql(spec, instant_sql)), "profiles")
        load_secs = time.perf_counter() - clock
        if progress:
            progress("reading the ledger", 0.05)
        derived = _engine(spec, cache, ev, profiles, as_of, progress, AS_OF_VARIABLE)
        counts, timings = _store(ledger, backend, derived, as_of_expression(), spec_hash(spec), load_secs)
    finally:
        cache.close()
    return counts, timings, derived.unknown_opportunity_stages


def _store(
    ledger: Ledger, backend: Any, derived: Any, instant: Any, version: str, load_secs: float
) -> tuple[dict[str, int], list[tuple[str, float]]]:
    """The engine's outputs stored as the derived tables: (rows per table, seconds per step)."""
    import time

    from accord.ledger.derived import replace_derived

    tables = _output_tables(derived.points, derived.leads, derived.drivers, derived.stages, instant, version)
    clock = time.perf_counter()
    counts = replace_derived(ledger, backend, tables)
    timings = [
        ("reading the ledger", load_secs),
        *derived.timings,
        ("writing tables", time.perf_counter() - clock),
    ]
    return counts, timings


def _engine(
    spec: Spec,
    cache: Any,
    ev: Any,
    profiles: Any,
    as_of: int,
    progress: Progress | None,
    variable: str | None = None,
) -> Any:
    """The engine on ``cache``'s back end, in account chunks when the ledger is large."""
    from accord.engine.backends import Materializer
    from accord.engine.derive import derive
    from accord.engine.plan import Plan

    backend = cache.backend
    return derive(
        Plan(spec),
        ev,
        profiles,
        as_of,
        cache=cache,
        progress=progress,
        scratch=lambda: Materializer(backend),
        as_of_variable=variable,
    )


def _derive_on_spark(ledger: Ledger, spec: Spec, as_of: int, progress: Progress | None) -> Any:
    """Derive on a local Spark session; the results come back as Arrow tables."""
    import tempfile

    from accord.engine.backends import Materializer, spark_backend, spark_session
    from accord.engine.inputs import export_inputs

    with tempfile.TemporaryDirectory(prefix="accord-spark-in-") as folder:
        files = export_inputs(ledger.con, spec, as_of, Path(folder))
        with spark_session() as session:
            spark = spark_backend(session)
            cache = Materializer(spark)
            try:
                ev = spark.read_parquet(str(files.events))
                profiles = spark.read_parquet(str(files.profiles))
                derived = _engine(spec, cache, ev, profiles, as_of, progress)
                for name in ("points", "leads", "drivers", "stages"):
                    setattr(derived, name, getattr(derived, name).to_pyarrow())
            finally:
                cache.close()
    return derived


@dataclass
class Explanation:
    """Everything a rep needs to act on one lead, as derived."""

    contact: dict[str, Any]
    lead: dict[str, Any]
    drivers: list[dict[str, Any]]
    stages: list[dict[str, Any]]
    run: dict[str, Any]
    stale: bool


def _rows(cursor: Any) -> list[dict[str, Any]]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def _require_derived(ledger: Ledger) -> dict[str, Any]:
    from accord.ledger.derived import has_derived, latest_run

    run = latest_run(ledger)
    if run is None or not has_derived(ledger):
        raise WorkspaceError("nothing derived yet", hint="run `accord derive` first")
    return run


def _not_derived_yet(ledger: Ledger, run: dict[str, Any], contact_id: str) -> None:
    """A contact the ledger holds but the last derive does not: the cure is a derive, not another id
    (the nearest ids would start with this very one)."""
    sql = "SELECT updated_at FROM contacts WHERE contact_id = ?"
    stored = ledger.con.execute(sql, [contact_id]).fetchall()
    if not stored:
        return
    as_of = f"as of {run['as_of'].astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    if stored[0][0] is not None and stored[0][0] >= run["started_at"]:
        raise WorkspaceError(
            f"contact '{contact_id}' is newer than the last derive ({as_of}): it has no score yet",
            hint="run `accord derive` to score it, then explain it again",
        )
    raise WorkspaceError(
        f"contact '{contact_id}' is in the ledger but not in the last derive ({as_of})",
        hint="run `accord derive` to score it, then explain it again",
    )


def explain(ws: Workspace, contact_id: str) -> Explanation:
    """Score, drivers, tier and stage history of one contact from the latest derive."""
    from accord.spec.rules import suggest

    with ws.ledger(read_only=True) as ledger:
        run = _require_derived(ledger)
        lead = _rows(ledger.con.execute("SELECT * FROM derived_leads WHERE contact_id = ?", [contact_id]))
        if not lead:
            _not_derived_yet(ledger, run, contact_id)
            near = [
                r[0]
                for r in ledger.con.execute(
                    "SELECT contact_id FROM contacts "
                    "ORDER BY jaro_winkler_similarity(contact_id, ?) DESC LIMIT 3",
                    [contact_id],
                ).fetchall()
            ]
            close = suggest(contact_id, near)
            raise WorkspaceError(
                f"no contact '{contact_id}' in the derived state",
                hint=f"did you mean '{close}'?"
                if close
                else "list leads with `accord leads`; import or derive again if it is new",
            )
        contact = _rows(
            ledger.con.execute(
                "SELECT c.*, a.name AS account_name, a.industry, a.employees, a.country AS account_country "
                "FROM contacts c LEFT JOIN accounts a ON a.account_id = c.account_id WHERE c.contact_id = ?",
                [contact_id],
            )
        )
        drivers = _rows(
            ledger.con.execute(
                "SELECT * FROM derived_drivers WHERE contact_id = ? ORDER BY rank", [contact_id]
            )
        )
        stages = _rows(
            ledger.con.execute(
                "SELECT * FROM derived_stages WHERE entity_type = 'contact' AND entity_id = ? "
                "ORDER BY entered_at, seq",
                [contact_id],
            )
        )
    return Explanation(
        contact[0] if contact else {"contact_id": contact_id},
        lead[0],
        drivers,
        stages,
        run,
        stale=run["spec_version"] != spec_hash(ws.spec),
    )


def leads(
    ws: Workspace,
    *,
    tier: str | None = None,
    stage: str | None = None,
    owner: str | None = None,
    limit: int = 25,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The queue: leads by score, with the top driver of each (why now)."""
    from accord.spec.rules import suggest

    spec = ws.spec
    where, params = [], []
    if tier is not None:
        names = spec.tier_names()
        match = [n for n in names if n == tier or n.lower() == tier.lower() or n.split()[-1] == tier]
        if not match:
            close = suggest(tier, names)
            raise WorkspaceError(
                f"no tier '{tier}'",
                hint=f"did you mean '{close}'?" if close else f"tiers: {', '.join(names)}",
            )
        where.append("l.tier = ?")
        params.append(match[0])
        tier = match[0]
    if stage is not None:
        if stage not in spec.stage_ids():
            close = suggest(stage, spec.stage_ids())
            raise WorkspaceError(
                f"no stage '{stage}'",
                hint=f"did you mean '{close}'?" if close else f"stages: {', '.join(spec.stage_ids())}",
            )
        where.append("l.stage = ?")
        params.append(stage)
    if owner is not None:
        where.append("c.owner_id = ?")
        params.append(owner)
    clause = ("WHERE " + " AND ".join(where)) if where else ""
    with ws.ledger(read_only=True) as ledger:
        run = _require_derived(ledger)
        if owner is not None and owner not in spec.people:
            # an owner from the CRM need not be one of the spec's people; a typo is neither
            known = [r[0] for r in ledger.con.execute(
                "SELECT DISTINCT owner_id FROM contacts WHERE owner_id IS NOT NULL").fetchall()]  # fmt: skip
            if owner not in known:
                close = suggest(owner, [*spec.people, *known])
                raise WorkspaceError(
                    f"no owner '{owner}' in the agreement or on any contact",
                    hint=f"did you mean '{close}'?" if close else "owners are the spec's people",
                )
        rows = _rows(
            ledger.con.execute(
                f"SELECT l.contact_id, trim(concat_ws(' ', c.first_name, c.last_name)) AS name, c.title, "
                f"a.name AS account, l.score, l.fit, l.intent, l.committee, l.tier, l.motion, l.stage, "
                f"l.stage_since, l.top_driver, l.top_driver_points, c.owner_id, l.as_of, "
                f"d.points AS points_top, d.component, d.key, d.label, d.count, d.last_at, d.detail "
                f"FROM derived_leads l LEFT JOIN contacts c USING (contact_id) "
                f"LEFT JOIN derived_drivers d ON d.contact_id = l.contact_id AND d.rank = 1 "
                f"LEFT JOIN accounts a ON a.account_id = l.account_id {clause} "
                f"ORDER BY l.score DESC, l.contact_id LIMIT ?",
                [*params, limit],
            )
        )
    run["tier"] = tier
    return rows, run
