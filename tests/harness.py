"""Run the engine and the reference on the same small ledger and put both results in one shape."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from accord.domain.reference import Event, ReferenceResult
from accord.engine.backends import Materializer, duckdb_backend
from accord.engine.derive import AS_OF_VARIABLE, Derived, bind_as_of, derive
from accord.engine.inputs import events_sql, profiles_sql
from accord.engine.plan import Plan
from accord.ledger.schema import TABLES
from accord.ledger.store import Ledger
from accord.spec.model import Spec

POINT_FIELDS = ("contact_id", "ts", "trigger", "fit", "intent", "committee", "score", "tier", "motion",
                "disposition", "assigned", "candidate")  # fmt: skip


def _arrow(kind: str, rows: Sequence[Mapping[str, Any]]) -> pa.Table:
    table = TABLES[kind]
    types = {"string": pa.string(), "timestamp": pa.timestamp("us", tz="UTC"), "date": pa.date32(),
             "number": pa.float64(), "integer": pa.int64(), "boolean": pa.bool_()}  # fmt: skip
    data: dict[str, Any] = {}
    for column in table.columns:
        data[column.name] = pa.array([r.get(column.name) for r in rows], type=types[column.type])
    data[table.extra] = pa.array([json.dumps(r.get(table.extra) or {}) for r in rows], type=pa.string())
    return pa.table(data)


def load_ledger(
    path: Path,
    contacts: Mapping[str, Mapping[str, Any]],
    accounts: Mapping[str, Mapping[str, Any]],
    events: Sequence[Event],
) -> Ledger:
    """A real ledger file holding exactly these records (inserted directly, in the given order)."""
    ledger = Ledger.create(path)
    fill(ledger, contacts, accounts, events)
    return ledger


def fill(
    ledger: Ledger,
    contacts: Mapping[str, Mapping[str, Any]],
    accounts: Mapping[str, Mapping[str, Any]],
    events: Sequence[Event],
) -> None:
    """Insert records straight into a ledger (tests build exact situations this way)."""
    rows = {
        "contacts": [{"contact_id": cid, **{k: v for k, v in c.items() if k != "attributes"},
                      "attributes": c.get("attributes")} for cid, c in contacts.items()],
        "accounts": [{"account_id": aid, **a} for aid, a in accounts.items()],
        "events": [{
            "event_id": e.event_id, "occurred_at": datetime.fromtimestamp(e.ts, UTC), "type": e.type,
            "contact_id": e.contact_id, "account_id": e.account_id, "opportunity_id": e.opportunity_id,
            "actor_id": e.actor_id, "campaign_id": e.campaign_id, "content_id": e.content_id,
            "topic": e.topic, "source": e.source, "properties": dict(e.props)} for e in events],
    }  # fmt: skip
    for kind, records in rows.items():
        table = TABLES[kind]
        data = _arrow(kind, records)
        ledger.con.register("incoming", data)
        cols = [c.name for c in table.columns] + [table.extra]
        extra = "ingested_at" if kind == "events" else "updated_at"
        ledger.con.execute(
            f"INSERT INTO {table.name} ({', '.join(cols)}, content_hash, {extra}) "
            f"SELECT {', '.join(cols[:-1])}, {table.extra}::JSON, md5(random()::VARCHAR), now() FROM incoming"
        )
        ledger.con.unregister("incoming")


def run_engine(
    ledger: Ledger,
    spec: Spec,
    as_of: int,
    backend: Any = None,
    chunk_events: int | None = None,
    *,
    shared: bool = False,
) -> tuple[Derived, Materializer]:
    """Derive with the engine; ``chunk_events`` makes it run account chunks of about that many events.

    ``shared`` runs it as ``accord derive`` does on DuckDB: the instant as a session variable and
    steps under stable names, so this derive reuses the expressions and SQL of earlier ones of the
    same spec in the process. The outputs are then materialised here, by this run's back end."""
    backend = backend or duckdb_backend(ledger.con)
    cache = Materializer(backend)
    variable, instant_sql = None, str(as_of)
    if shared:
        variable, instant_sql = AS_OF_VARIABLE, bind_as_of(ledger.con, as_of)
        cache.name_by_content("harness")
    ev = cache(backend.sql(events_sql(spec)), "events")
    profiles = cache(backend.sql(profiles_sql(spec, instant_sql)), "profiles")
    scratch = (lambda: Materializer(backend)) if chunk_events else None
    derived = derive(
        Plan(spec), ev, profiles, as_of, cache=cache, chunk_events=chunk_events, scratch=scratch,
        as_of_variable=variable,
    )  # fmt: skip
    if shared:
        for name in ("points", "leads", "drivers", "stages"):
            setattr(derived, name, cache(getattr(derived, name), f"out_{name}"))
    return derived, cache


def engine_shape(derived: Derived, spec: Spec) -> dict[str, Any]:
    ids = spec.stage_ids()
    points = sorted(
        (
            (*(_norm(r[f]) for f in POINT_FIELDS), ids.index(r["stage"]) if r["stage"] else -1)
            for r in derived.points.to_pyarrow().to_pylist()
        ),
        key=lambda p: (p[0], p[1]),
    )
    drivers: dict[str, list[tuple[Any, ...]]] = {}
    for r in sorted(derived.drivers.to_pyarrow().to_pylist(), key=lambda r: (r["contact_id"], r["rank"])):
        drivers.setdefault(r["contact_id"], []).append(
            (r["key"], r["label"], _norm(r["points"]), r["count"], r["last_ts"], r["detail"])
        )
    stages = sorted(
        (
            r["entity_type"],
            r["entity_id"],
            r["stage"],
            int(r["seq"]),
            int(r["entered_at"]),
            None if r["exited_at"] is None else int(r["exited_at"]),
            r["exit_to"],
            bool(r["skipped"]),
        )
        for r in derived.stages.to_pyarrow().to_pylist()
    )
    return {
        "points": points,
        "drivers": drivers,
        "stages": stages,
        "unknown": derived.unknown_opportunity_stages,
    }


def reference_shape(result: ReferenceResult) -> dict[str, Any]:
    points = sorted(
        (
            p.contact_id,
            p.ts,
            p.trigger,
            _norm(p.fit),
            _norm(p.intent),
            _norm(p.committee),
            _norm(p.score),
            p.tier,
            p.motion,
            p.disposition,
            p.assigned,
            p.candidate,
            p.stage,
        )
        for p in result.points
    )
    drivers = {
        cid: [(d.key, d.label, _norm(d.points), d.count, d.last_ts, d.detail) for d in ds]
        for cid, ds in result.drivers.items()
        if ds
    }
    stages = sorted(
        (r.entity_type, r.entity_id, r.stage, r.seq, r.entered_at, r.exited_at, r.exit_to, r.skipped)
        for r in result.stages
    )
    return {
        "points": points,
        "drivers": drivers,
        "stages": stages,
        "unknown": result.unknown_opportunity_stages,
    }


def _norm(value: Any) -> Any:
    """Floats to hundredths (both sides round2 already; this absorbs a last-bit difference)."""
    if isinstance(value, float):
        return round(value, 6)
    return value
