"""One contact, now: the batch definitions applied to a single account's events in milliseconds.

The per-account query is built from the same Ibis expressions as the batch derive and compiled to SQL
once per spec version, with the account and the as-of instant left as query parameters; each call is
then one or two prepared queries and the stage machine over that contact's few points. New events go
through the ledger (idempotent by event_id) before anything is computed, so the real-time answer and
the next batch derive read the same facts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import ibis
import pyarrow as pa

from accord.domain.journey import JourneyPoint, StageRow, Trigger, walk
from accord.engine import journey, scoring, state
from accord.engine.backends import duckdb_backend
from accord.engine.inputs import events_sql, profiles_sql
from accord.engine.plan import Plan
from accord.errors import AccordError
from accord.ledger.imports import Stager
from accord.ledger.schema import TABLES
from accord.ledger.store import Ledger
from accord.spec.load import spec_hash
from accord.spec.model import Spec

_AS_OF = 987654321987
_AT_TABLE = "_accord_realtime_as_of"
_EVENTS_TABLE = "_accord_realtime_events"
_PROFILES_TABLE = "_accord_realtime_profiles"


@dataclass
class LeadState:
    """A contact's state as of an instant: what a rep or a webhook needs to act."""

    contact_id: str
    as_of: int
    fit: float
    intent: float
    committee: float
    score: float
    tier: str | None
    motion: str | None
    disposition: str | None
    assigned: bool
    stage: str | None
    drivers: list[dict[str, Any]] = field(default_factory=list)
    history: list[StageRow] = field(default_factory=list)
    spec_version: str = ""


class RealTime:
    """Compiled once per spec version; call :meth:`state` or :meth:`update` as often as needed."""

    def __init__(self, ledger: Ledger, spec: Spec) -> None:
        self.ledger = ledger
        self.spec = spec
        self.plan = Plan(spec)
        self.version = spec_hash(spec)
        backend = duckdb_backend(ledger.con)
        # Each call copies the account's slice (its contacts' profiles, its stream's events) into two
        # small registered tables; the compiled queries read those, so the profile of every contact
        # (an arg_max over the whole ledger) is computed once per call, not once per subquery.
        self._profiles_slice_sql = (
            f"WITH p AS MATERIALIZED ({profiles_sql(spec, '$as_of')}) "
            "SELECT * FROM p WHERE part = (SELECT any_value(part) FROM p WHERE contact_id = $contact)"
        )
        self._events_slice_sql = events_sql(
            spec,
            where=(
                "WHERE account_id = $part OR 'c:' || contact_id = $part OR contact_id IN "
                f"(SELECT contact_id FROM {_PROFILES_TABLE})"
            ),
        )
        ev_schema = backend.sql(events_sql(spec, where="WHERE false")).schema()
        profiles_schema = backend.sql(f"SELECT * FROM ({profiles_sql(spec, _AS_OF)}) WHERE false").schema()
        ev = ibis.table(ev_schema, name=_EVENTS_TABLE)
        profiles = ibis.table(profiles_schema, name=_PROFILES_TABLE)
        plan = self.plan
        stream = state.row_flags(plan, state.build_stream(plan, ev, profiles, _AS_OF))
        points = state.evaluation_points(plan, state.state_columns(plan, stream))
        distincts = state.distinct_tables(plan, stream)
        fitted = scoring.fit_table(plan, profiles)
        scored = journey.scored_points(
            plan, scoring.score_points(plan, points, distincts, fitted, wide=False)
        )
        self._points_sql = self._prepare(backend, scored.order_by(["contact_id", "ts"]))
        at = scoring.score_points(plan, points.filter(points.ts == _AS_OF), distincts, fitted, wide=True)
        at = scoring.with_recent(plan, at, state.recent_signals(plan, stream, _AS_OF))
        self._at_sql = self._prepare(backend, at)
        # drivers read the few as-of rows many times: compiled against a named table they are put in
        rows = ibis.table(at.schema(), name=_AT_TABLE)
        self._drivers_sql = str(
            ibis.to_sql(scoring.drivers(plan, rows).order_by(["contact_id", "rank"]), dialect="duckdb")
        )
        self._reasons_sql = (
            f"SELECT ts, type, reason_code, recycle_on_ts FROM ({events_sql(spec)}) "
            "WHERE contact_id = $contact AND ts <= $as_of AND type IN "
            f"({', '.join(repr(t) for r in plan.regressions for t in r.on) or 'NULL'})"
        )

    @staticmethod
    def _prepare(backend: Any, expr: Any) -> str:
        sql = str(ibis.to_sql(expr, dialect="duckdb"))
        if str(_AS_OF) not in sql or _EVENTS_TABLE not in sql or _PROFILES_TABLE not in sql:
            raise AssertionError("real-time query lost its parameters")  # a bug, caught by tests
        return sql.replace(str(_AS_OF), "$as_of")

    def _rows(self, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        cursor = self.ledger.con.execute(sql, params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]

    def state(self, contact_id: str, as_of: datetime | None = None) -> LeadState:
        """The contact's state as of an instant (default now), from the ledger as it is."""
        moment = int((as_of or datetime.now(UTC)).timestamp())
        con = self.ledger.con
        profiles = con.execute(
            self._profiles_slice_sql, {"contact": contact_id, "as_of": moment}
        ).to_arrow_table()
        contacts = profiles.column("contact_id").to_pylist()
        if contact_id not in contacts:
            raise AccordError(
                f"no contact '{contact_id}' in the ledger",
                hint="a contact exists once it is imported or named by an event",
            )
        part = profiles.column("part")[contacts.index(contact_id)].as_py()
        con.register(_PROFILES_TABLE, profiles)
        try:
            events = con.execute(self._events_slice_sql, {"part": part}).to_arrow_table()
            con.register(_EVENTS_TABLE, events)
            try:
                params = {"as_of": moment}
                points = [p for p in self._rows(self._points_sql, params) if p["contact_id"] == contact_id]
                at_rows = con.execute(self._at_sql, params).to_arrow_table()
            finally:
                con.unregister(_EVENTS_TABLE)
        finally:
            con.unregister(_PROFILES_TABLE)
        triggers = self._triggers(contact_id, moment)
        journey_points = [
            JourneyPoint(
                ts=int(p["ts"]), candidate=int(p["candidate"]), triggers=tuple(triggers.get(int(p["ts"]), ()))
            )
            for p in points
        ]
        steps, history = walk(self.spec, contact_id, journey_points)
        now = points[-1]
        stage_index = steps[-1][2] if steps else -1
        con.register(_AT_TABLE, at_rows)
        try:
            drivers = [d for d in self._rows(self._drivers_sql, {}) if d["contact_id"] == contact_id]
        finally:
            con.unregister(_AT_TABLE)
        return LeadState(
            contact_id=contact_id,
            as_of=moment,
            fit=now["fit"],
            intent=now["intent"],
            committee=now["committee"],
            score=now["score"],
            tier=now["tier"],
            motion=now["motion"],
            disposition=now["disposition"],
            assigned=bool(now["assigned"]),
            stage=self.plan.stage_ids[stage_index] if stage_index >= 0 else None,
            drivers=drivers,
            history=history,
            spec_version=self.version,
        )

    def _triggers(self, contact_id: str, as_of: int) -> dict[int, list[Trigger]]:
        out: dict[int, list[Trigger]] = {}
        for row in self._rows(self._reasons_sql, {"contact": contact_id, "as_of": as_of}):
            recycle = None
            if row["recycle_on_ts"] is not None:
                recycle = datetime.fromtimestamp(int(row["recycle_on_ts"]), UTC).date()
            out.setdefault(int(row["ts"]), []).append(Trigger(row["type"], row["reason_code"], recycle))
        return out

    def update(
        self, contact_id: str, events: list[dict[str, Any]], as_of: datetime | None = None
    ) -> LeadState:
        """Append a contact's new events (idempotently, by event_id) and return its updated state."""
        if events:
            self.append(events)
        return self.state(contact_id, as_of)

    def append(self, events: list[dict[str, Any]]) -> int:
        table = _events_table(events)
        stager = Stager("UTC")
        try:
            batch = stager.stage_typed("events", table, label="realtime")
        finally:
            stager.close()
        if batch.rejects:
            first = batch.rejects[0]
            raise AccordError(f"event {first.row} refused: {first.reason}")
        result = self.ledger.commit(batch, f"rt_{datetime.now(UTC):%Y%m%dT%H%M%S%f}", datetime.now(UTC))
        if result.rejects:
            raise AccordError(result.rejects[0].reason)
        return result.imported


def _events_table(events: list[dict[str, Any]]) -> pa.Table:
    """Plain dicts to the typed Arrow shape of the events table (properties as a JSON object)."""
    import json

    columns = TABLES["events"].columns
    data: dict[str, list[Any]] = {c.name: [] for c in columns}
    data["properties"] = []
    for event in events:
        for c in columns:
            value = event.get(c.name)
            if c.type == "timestamp" and isinstance(value, str):
                value = datetime.fromisoformat(value)
            if c.type == "timestamp" and isinstance(value, datetime) and value.tzinfo is None:
                value = value.replace(tzinfo=UTC)
            data[c.name].append(value)
        props = event.get("properties") or {}
        data["properties"].append(
            json.dumps(props, default=lambda v: v.isoformat() if isinstance(v, date) else str(v))
        )
    arrays = {}
    for c in columns:
        kind = pa.timestamp("us", tz="UTC") if c.type == "timestamp" else pa.string()
        arrays[c.name] = pa.array(data[c.name], type=kind)
    arrays["properties"] = pa.array(data["properties"], type=pa.string())
    return pa.table(arrays)
