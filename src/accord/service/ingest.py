"""Events in, decisions out: the API's ingest as a use case.

Events are checked exactly as imports check them (:meth:`Stager.stage_typed`) and committed in one
transaction (:meth:`Ledger.commit`), so the ledger's idempotency holds: an ``event_id`` already stored
with the same content is a duplicate and changes nothing; with other content it is a conflict and is
refused, item by item. Then, for each contact the events name, the decision a rep or a webhook acts on:
score, tier, motion and stage from :class:`RealTime` (the batch definitions, one contact at a time), the
owner the tick would assign (or has assigned), and the deadline of its open SLA clock.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from accord.domain.clocks import Clock, Clocks, Happening
from accord.engine.realtime import EVENT_SELECT, LeadState, RealTime, SliceCache, event_of, fetch_rows
from accord.errors import AccordError
from accord.handoffs.view import HandoffView, clock_types
from accord.ledger.imports import Stager
from accord.ledger.schema import TABLES
from accord.ledger.store import Batch, Ledger, Reject
from accord.service.grouped import GroupWriter, Waiting
from accord.service.hosted import HostedWorkspace, writing
from accord.service.workspace import Workspace
from accord.spec.load import spec_hash

MAX_BATCH = 1000
MAX_DECISIONS = 25
"""Decisions per request: each costs one real-time evaluation (see bench/RESULTS.md, "API ingest")."""
OPEN = ("open", "at_risk", "breached")
_POOLS = threading.Lock()


@dataclass
class Item:
    """What became of one event of the request."""

    index: int
    event_id: str | None
    status: str  # stored | duplicate | conflict | rejected
    contact_id: str | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"index": self.index, "event_id": self.event_id, "status": self.status}
        if self.reason:
            out["reason"] = self.reason
        return out


@dataclass
class IngestResult:
    items: list[Item]
    decisions: list[dict[str, Any]] = field(default_factory=list)
    undecided: list[str] = field(default_factory=list)  # contacts past MAX_DECISIONS
    timings: dict[str, float] = field(default_factory=dict)

    def count(self, status: str) -> int:
        return sum(1 for i in self.items if i.status == status)


def _iso(ts: int | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def _json_default(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else str(value)


def events_table(events: Sequence[Mapping[str, Any]]) -> pa.Table:
    """Plain event dicts (instants already zone-aware) as the typed Arrow shape imports stage."""
    data: dict[str, Any] = {}
    for c in TABLES["events"].columns:
        if c.type == "timestamp":
            values = [e.get(c.name) for e in events]
            data[c.name] = pa.array(
                [v.astimezone(UTC) if isinstance(v, datetime) else None for v in values],
                type=pa.timestamp("us", tz="UTC"),
            )
        else:
            data[c.name] = pa.array(
                [None if e.get(c.name) is None else str(e.get(c.name)) for e in events], type=pa.string()
            )
    data["properties"] = pa.array(
        [json.dumps(e.get("properties") or {}, sort_keys=True, default=_json_default) for e in events],
        type=pa.string(),
    )
    return pa.table(data)


_THREAD = threading.local()


def _stager() -> Stager:
    """One staging database per thread, kept: opening one costs more than staging a small batch."""
    stager: Stager | None = getattr(_THREAD, "stager", None)
    if stager is None:
        stager = _THREAD.stager = Stager("UTC")
        stager.con.execute("SET threads = 1")  # tiny batches; many request threads share two cores
    return stager


def ingest(
    ws: Workspace,
    events: Sequence[Mapping[str, Any]],
    *,
    now: datetime,
    decide: bool = True,
    max_decisions: int = MAX_DECISIONS,
) -> IngestResult:
    """Store what is new, report every item, and decide for the contacts the events name."""
    if len(events) > MAX_BATCH:
        raise AccordError(f"{len(events)} events in one request; at most {MAX_BATCH}", hint="split the batch")
    clock = time.perf_counter()
    table = events_table(events)
    named = [None if e.get("event_id") is None else str(e.get("event_id")) for e in events]
    if isinstance(ws, HostedWorkspace) and None not in named and len(set(named)) == len(named):
        # every event names its own id: the committing request stages the whole group at once
        pending = _Pending(raw=table, ids=[str(i) for i in named])
        _committer(ws).run(pending)
        timings = {"stage": pending.staging}
    else:
        alone = _stager().stage_typed("events", table, label="api")
        pending = _Pending(batch=alone, ids=[str(i) for i in alone.rows.column("event_id").to_pylist()])
        timings = {"stage": time.perf_counter() - clock}
        if isinstance(ws, HostedWorkspace):
            _committer(ws).run(pending)
        else:
            _commit_group(ws, [pending])
    batch = pending.batch
    assert batch is not None
    rejected = {r.row: r.reason for r in batch.rejects}
    staged = batch.rows.select(["_row", "event_id", "content_hash"]).to_pylist()
    existing = pending.existing
    timings["commit"] = time.perf_counter() - clock - timings["stage"]
    by_row = {int(r["_row"]): r for r in staged}
    first_of: dict[str, int] = {}
    items: list[Item] = []
    for index, event in enumerate(events):
        row = index + 1
        contact = event.get("contact_id")
        if row in rejected:
            items.append(Item(index, event.get("event_id"), "rejected", contact, rejected[row]))
            continue
        got = by_row.get(row)
        if got is None:  # the same event repeated inside the request: the first copy counts
            eid = event.get("event_id")
            items.append(
                Item(index, eid, "duplicate", contact, f"repeats item {first_of.get(str(eid), '?')}")
            )
            continue
        eid = str(got["event_id"])
        first_of[eid] = index
        if eid not in existing:
            items.append(Item(index, eid, "stored", contact))
        elif existing[eid] == got["content_hash"]:
            items.append(Item(index, eid, "duplicate", contact, "already stored with the same content"))
        else:
            items.append(
                Item(
                    index,
                    eid,
                    "conflict",
                    contact,
                    f"event_id '{eid}' is already stored with different content; events are append-only: "
                    "send a new event with its own id",
                )
            )
    result = IngestResult(items, timings=timings)
    if decide:
        contacts = list(
            dict.fromkeys(i.contact_id for i in items if i.contact_id and i.status in ("stored", "duplicate"))
        )
        clock = time.perf_counter()
        result.decisions = decisions(ws, contacts[:max_decisions], now)
        result.undecided = contacts[max_decisions:]
        result.timings["decide"] = time.perf_counter() - clock
    return result


# ---- group commit -------------------------------------------------------------------------------


@dataclass
class _Pending(Waiting):
    """One request's staged events waiting for a commit, and what the commit found."""

    batch: Batch | None = None
    raw: pa.Table | None = None  # events not staged yet: the commit stages its group's at once
    ids: list[str] = field(default_factory=list)
    existing: dict[str, str] = field(default_factory=dict)  # id -> hash stored before this request
    staging: float = 0.0  # seconds the group's staging took


def _disjoint(group: list[_Pending], pending: _Pending) -> bool:
    """Requests whose event ids overlap never share a commit (the later one waits for the next), so
    every request's items read exactly as if the requests had committed one at a time."""
    return all(set(pending.ids).isdisjoint(other.ids) for other in group)


def _committer(ws: HostedWorkspace) -> GroupWriter[_Pending]:
    with _POOLS:
        found = ws.cache.get("committer")
        if found is None:
            found = ws.cache["committer"] = GroupWriter(
                lambda group: _commit_group(ws, group), fits=_disjoint
            )
    return found


def _stage_together(parts: list[_Pending]) -> None:
    """Stage several requests' events in one query and give each its own batch back.

    Only requests whose events all name distinct ids come here, and a group never holds two
    requests naming the same id, so the combined staging finds no repeat across requests: each
    request's rows and refusals are exactly what staging it alone would give, renumbered.
    """
    clock = time.perf_counter()
    tables = [p.raw for p in parts if p.raw is not None]
    batch = _stager().stage_typed("events", pa.concat_tables(tables), label="api")
    spent = time.perf_counter() - clock
    offset = 0
    for part, table in zip(parts, tables, strict=True):
        n = table.num_rows
        row = batch.rows["_row"]
        mine = batch.rows.filter(pc.and_(pc.greater(row, offset), pc.less_equal(row, offset + n)))
        at = mine.schema.get_field_index("_row")
        part.batch = Batch(
            kind="events",
            rows=mine.set_column(at, "_row", pc.subtract(mine["_row"], offset)),
            rejects=[Reject(r.row - offset, r.reason) for r in batch.rejects if offset < r.row <= offset + n],
            rows_read=n,
            file="api",
        )
        part.staging, part.raw = spent, None
        offset += n


def _commit_group(ws: Workspace, group: list[_Pending]) -> None:
    """Store what is new of every request in one transaction; tell each what was stored before."""
    unstaged = [p for p in group if p.batch is None]
    if unstaged:
        _stage_together(unstaged)
    rows: list[pa.Table] = []
    rejects: list[Reject] = []
    offset = 0
    for pending in group:  # row numbers stay distinct in the combined batch
        assert pending.batch is not None
        part = pending.batch.rows
        at = part.schema.get_field_index("_row")
        rows.append(part.set_column(at, "_row", pc.add(part["_row"], offset)))
        rejects += [Reject(r.row + offset, r.reason) for r in pending.batch.rejects]
        offset += pending.batch.rows_read
    batch = Batch(kind="events", rows=pa.concat_tables(rows), rejects=rejects, rows_read=offset, file="api")
    ids = [eid for pending in group for eid in pending.ids]
    with writing(ws), ws.ledger() as ledger:
        existing: dict[str, str] = {}
        if ids:  # an IN list is answered from the primary-key index, not by scanning events
            existing = dict(
                ledger.con.execute(
                    "SELECT event_id, content_hash FROM events WHERE event_id IN "
                    f"({', '.join('?' for _ in ids)})",
                    ids,
                ).fetchall()
            )
        fresh = [eid for eid in ids if eid not in existing]
        if fresh:  # all-duplicate requests write nothing, not even an import row
            stamp = datetime.now(UTC)
            import_id = f"api_{stamp:%Y%m%dT%H%M%S%f}"
            before = ledger.copy.generation
            ledger.commit(batch, import_id, stamp)
            after = ledger.copy.generation
            # With PostgreSQL another server may have stored some of these ids between the look-up
            # above and the commit (which reloads and skips them): what this commit wrote is the truth.
            found = fetch_rows(
                ledger.con,
                f"SELECT {EVENT_SELECT}, content_hash, import_id FROM events "
                f"WHERE event_id IN ({', '.join('?' for _ in fresh)})",
                fresh,
            )
            existing.update((r["event_id"], r["content_hash"]) for r in found if r["import_id"] != import_id)
            if isinstance(ws, HostedWorkspace):
                stored = [event_of(r) for r in found if r["import_id"] == import_id]
                pool = _pool(ws)
                pool.slices.appended(stored, before, after)
                pool.reps.appended([e.type for e in stored], before, after, pool.clock_types)
    for pending in group:
        pending.existing = {eid: existing[eid] for eid in pending.ids if eid in existing}


# ---- decisions ------------------------------------------------------------------------------------


class RepsCache:
    """The reps' loads a routing preview reads, kept across requests while nothing they count changed.

    They are counted from every contact's handoff and clock events and the derived Tier 1 queue: a
    whole-ledger read of ~20 ms that a busy server would otherwise repeat for every routed lead. The
    count is kept for one instant and one generation of the ledger; an ingest that stores no event of
    a type clocks or handoffs read carries it to the next generation, any other write drops it.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.key: tuple[int, int] | None = None  # (as_of, generation)
        self.value: dict[str, Any] | None = None

    def get(self, as_of: int, generation: int) -> dict[str, Any] | None:
        with self.lock:
            return self.value if self.key == (as_of, generation) else None

    def put(self, as_of: int, generation: int, value: dict[str, Any]) -> None:
        with self.lock:
            self.key, self.value = (as_of, generation), value

    def appended(self, types: Sequence[str], before: int, after: int, counted: frozenset[str]) -> None:
        """An ingest moved the ledger from ``before`` to ``after`` storing events of ``types``."""
        with self.lock:
            if self.key is not None and self.key[1] == before and counted.isdisjoint(types):
                self.key = (self.key[0], after)


class RealTimePool:
    """Compiled :class:`RealTime` instances, each on its own cursor: one request uses one at a time.

    Compiling costs seconds, so instances live as long as the spec version; the pool lets decisions for
    concurrent requests run side by side (DuckDB releases the GIL while it computes).
    """

    def __init__(self, ws: HostedWorkspace, size: int = 2) -> None:
        self.ws, self.size = ws, size
        self.slices = SliceCache()  # shared by the instances; ingest tells it what it stored
        self.reps = RepsCache()
        self.clock_types = frozenset(clock_types(ws.spec))
        self.free: list[tuple[Ledger, RealTime]] = []
        self.made = 0
        self.cond = threading.Condition()

    @contextmanager
    def acquire(self) -> Iterator[RealTime]:
        with self.cond:
            while not self.free and self.made >= self.size:
                self.cond.wait()
            pair = self.free.pop() if self.free else None
            if pair is None:
                self.made += 1
        if pair is None:
            ledger = self.ws.ledger()
            try:
                pair = (ledger, RealTime(ledger, self.ws.spec, self.slices))
            except BaseException:
                ledger.close()
                with self.cond:
                    self.made -= 1
                    self.cond.notify()
                raise
        try:
            yield pair[1]
        finally:
            with self.cond:
                self.free.append(pair)
                self.cond.notify()

    def close(self) -> None:
        with self.cond:
            for ledger, _ in self.free:
                ledger.close()
            self.free.clear()


def _pool(ws: HostedWorkspace) -> RealTimePool:
    with _POOLS:
        # the version of the spec the workspace holds now, hashed once per spec object (hashing
        # dumps the whole agreement: milliseconds, several times a request)
        held = ws.cache.get("spec_hash")
        if held is None or held[0] is not ws.spec:
            held = ws.cache["spec_hash"] = (ws.spec, spec_hash(ws.spec))
        key = f"realtime:{held[1]}"
        pool = ws.cache.get(key)
        if pool is None:
            pool = ws.cache[key] = RealTimePool(ws)
    return pool


@contextmanager
def realtime(ws: Workspace) -> Iterator[RealTime]:
    """A compiled real-time evaluator for the workspace's current spec."""
    if isinstance(ws, HostedWorkspace):
        with _pool(ws).acquire() as rt:
            yield rt
        return
    with ws.ledger() as ledger:
        yield RealTime(ledger, ws.spec)


def decisions(ws: Workspace, contacts: Sequence[str], now: datetime) -> list[dict[str, Any]]:
    """For each contact: its state from the real-time path, its route and its open SLA clocks."""
    if not contacts:
        return []
    moment = now.astimezone(UTC).replace(microsecond=0)
    states: dict[str, LeadState | AccordError] = {}
    with realtime(ws) as rt:
        for contact in contacts:
            try:
                states[contact] = rt.state(contact, moment)
            except AccordError as exc:
                states[contact] = exc
    out: list[dict[str, Any]] = []
    with ws.ledger(read_only=True) as ledger:
        # this request's contacts only: reading every contact's handoffs per request would grow
        # with the ledger; routing reads the whole picture (rep loads) only when it must assign
        view = HandoffView(ledger, ws.spec, int(moment.timestamp()), only=frozenset(contacts))
        router = _Routing(ws, ledger, view, _pool(ws).reps if isinstance(ws, HostedWorkspace) else None)
        for contact in contacts:
            state = states[contact]
            if isinstance(state, AccordError):
                out.append({"contact_id": contact, "error": state.message, "hint": state.hint})
                continue
            out.append(router.decision(state))
    return out


class _Routing:
    """Who owns a lead, or whom the tick would assign it to now, and the clocks that follow."""

    def __init__(
        self, ws: Workspace, ledger: Ledger, view: HandoffView, shared: RepsCache | None = None
    ) -> None:
        self.ws, self.ledger, self.view, self.shared = ws, ledger, view, shared
        self.spec = ws.spec
        self.human = [m for m, d in self.spec.motions.items() if d.human]
        self._reps: dict[str, Any] | None = None

    def decision(self, state: LeadState) -> dict[str, Any]:
        contact = state.contact_id
        route = self.route(state)
        happenings = list(self.view.happenings.get(contact, []))
        if route.get("status") == "would_assign" and route.get("owner"):
            happenings.append(Happening(self.view.as_of, "assigned", route["owner"], "api:preview"))
        clocks = Clocks(self.spec, self.view.calendar).for_contact(
            contact, happenings, self.view.as_of, stage_entries=self.view.stage_entries.get(contact, ())
        )
        live = [c for c in clocks if _is_open(c)]
        deadline = min((c.deadline for c in live), default=None)
        return {
            "contact_id": contact,
            "as_of": _iso(state.as_of),
            "score": state.score,
            "fit": state.fit,
            "intent": state.intent,
            "committee": state.committee,
            "tier": state.tier,
            "motion": state.motion,
            "stage": state.stage,
            "disposition": state.disposition,
            "drivers": [
                {"label": d["label"], "points": d["points"], "component": d["component"]}
                for d in state.drivers[:5]
            ],
            "route": route,
            "clocks": [clock_dict(c) for c in live],
            "sla_deadline": _iso(deadline),
            "spec_version": state.spec_version,
        }

    def route(self, state: LeadState) -> dict[str, Any]:
        owner, latest = self.view.owner(state.contact_id)
        if owner is not None and latest is not None and latest.type in ("assigned", "accepted"):
            return {"status": latest.type, "owner": owner, "since": _iso(latest.ts)}
        mql = self.spec.agreement.mql_stage
        if state.stage != mql or state.motion not in self.human:
            return {
                "status": "not_routed",
                "owner": None,
                "why": f"stage {state.stage or '(none)'}, motion {state.motion or '(none)'}: the tick routes "
                f"leads in {mql} with a human motion",
            }
        decision = self._router_decision(state)
        return {
            "status": "would_assign" if decision.owner else "unroutable",
            "owner": decision.owner,
            "team": decision.team,
            "rule": decision.rule,
            "method": decision.method,
            "why": decision.why,
        }

    def _router_decision(self, state: LeadState) -> Any:
        from accord.domain.routing import Router
        from accord.engine.inputs import profiles_sql

        spec, ledger = self.spec, self.ledger
        cursor = ledger.con.execute(
            f"SELECT p.*, a.owner_id AS _account_owner FROM ({profiles_sql(spec, self.view.as_of)}) p "
            "LEFT JOIN accounts a ON a.account_id = p.account_id WHERE p.contact_id = ?",
            [state.contact_id],
        )
        names = [d[0] for d in cursor.description]
        found = cursor.fetchall()
        row: dict[str, Any] = dict(zip(names, found[0], strict=True)) if found else {}
        derived = self._derived(state.contact_id)
        row.update({k: v for k, v in derived.items() if k not in row})
        row.update(
            fit=state.fit, intent=state.intent, committee=state.committee, score=state.score, tier=state.tier,
            motion=state.motion, disposition=state.disposition, assigned=state.assigned, stage=state.stage,
        )  # fmt: skip
        if self._reps is None:
            self._reps = self._rep_loads()
        on = datetime.fromtimestamp(self.view.as_of, UTC).date()
        router = Router(spec)
        return router.route(
            state.contact_id, row, on=on, reps=self._reps, account_owner=row.get("_account_owner")
        )

    def _rep_loads(self) -> dict[str, Any]:
        """Every rep's open Tier 1 leads, latest assignment and hours, as the tick counts them.

        The lead being routed adds nothing: a lead that reaches routing has no live assignment.
        """
        from accord.handoffs.tick import rep_states

        generation = self.ledger.copy.generation
        found = self.shared.get(self.view.as_of, generation) if self.shared is not None else None
        if found is None:
            whole = HandoffView(self.ledger, self.spec, self.view.as_of)
            found = dict(rep_states(whole, self._tier_one()))
            if self.shared is not None and self.ledger.copy.generation == generation:
                self.shared.put(self.view.as_of, generation, found)
        return found

    def _has_derived(self) -> bool:
        rows = self.ledger.con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'derived_leads'"
        ).fetchall()
        return bool(rows[0][0])

    def _derived(self, contact: str) -> dict[str, Any]:
        """Feature values as of the last derive: routing rules may read them."""
        if not self._has_derived():
            return {}
        cursor = self.ledger.con.execute("SELECT * FROM derived_leads WHERE contact_id = ?", [contact])
        names = [d[0] for d in cursor.description]
        found = cursor.fetchall()
        return dict(zip(names, found[0], strict=True)) if found else {}

    def _tier_one(self) -> set[str]:
        if not self._has_derived() or not self.human:
            return set()
        rows = self.ledger.con.execute(
            f"SELECT contact_id FROM derived_leads WHERE stage = ? AND motion IN "
            f"({', '.join('?' for _ in self.human)})",
            [self.spec.agreement.mql_stage, *self.human],
        ).fetchall()
        return {r[0] for r in rows}


def _is_open(c: Clock) -> bool:
    return c.status in OPEN and c.stopped_at is None and c.superseded_at is None


def clock_dict(c: Clock) -> dict[str, Any]:
    """A clock as JSON: instants as ISO text, with its status and escalations."""
    return {
        "clock_id": c.clock_id,
        "sla": c.sla,
        "owner": c.owner,
        "status": c.status,
        "started_at": _iso(c.started_at),
        "deadline": _iso(c.deadline),
        "at_risk_at": _iso(c.at_risk_at),
        "stopped_at": _iso(c.stopped_at),
        "stop_type": c.stop_type,
        "business": c.business,
        "attempts": c.attempts,
        "escalations": [
            {"level": e.level, "link": e.link, "to": e.to, "due": _iso(e.due)} for e in c.escalations
        ],
    }
