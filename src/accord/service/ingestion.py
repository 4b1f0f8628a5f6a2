"""Events in, decisions out: the API's ingest as a use case.

Events are checked exactly as imports check them (:meth:`Stager.stage_typed`, or its Python twin
:func:`accord.ledger.typed.stage_events` for a small batch) and committed in one
transaction (:meth:`Ledger.commit`), so the ledger's idempotency holds: an ``event_id`` already stored
with the same content is a duplicate and changes nothing; with other content it is a conflict and is
refused, item by item. Then, for each contact the events name, the decision a rep or a webhook acts on
(:mod:`accord.service.decide`).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from accord.engine.realtime import EVENT_SELECT, event_of, fetch_rows, staged_events
from accord.errors import AccordError
from accord.ledger.imports import Stager
from accord.ledger.schema import TABLES
from accord.ledger.typed import stage_events
from accord.ledger.writes import Batch, Reject
from accord.service.decide import MAX_DECISIONS, _pool, decisions
from accord.service.grouped import GroupWriter, Waiting
from accord.service.hosted import HostedWorkspace, writing
from accord.service.workspace import Workspace

MAX_BATCH = 1000


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
        pending = _Pending(raw=table, ids=[i for i in named if i is not None])
        _committer(ws).run(pending)
        timings = {"stage": pending.staging}
    else:
        alone = stage_events(table, label="api", stager=_stager())
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
    return ws.kept("committer", lambda: GroupWriter(lambda group: _commit_group(ws, group), fits=_disjoint))


def _stage_together(parts: list[_Pending]) -> None:
    """Stage several requests' events at once and give each its own batch back.

    Only requests whose events all name distinct ids come here, and a group never holds two
    requests naming the same id, so the combined staging finds no repeat across requests: each
    request's rows and refusals are exactly what staging it alone would give, renumbered.
    """
    clock = time.perf_counter()
    tables = [p.raw for p in parts if p.raw is not None]
    batch = stage_events(pa.concat_tables(tables), label="api", stager=_stager())
    spent = time.perf_counter() - clock
    offset = 0
    row = batch.rows["_row"]
    for part, table in zip(parts, tables, strict=True):
        n = table.num_rows
        mine = batch.rows.filter(pc.and_(pc.greater(row, offset), pc.less_equal(row, offset + n)))
        refused = [r for r in batch.rejects if offset < r.row <= offset + n]
        rows, rejects = _shifted(mine, refused, -offset)
        part.batch = Batch(kind="events", rows=rows, rejects=rejects, rows_read=n, file="api")
        part.staging, part.raw = spent, None
        offset += n


def _shifted(rows: pa.Table, rejects: list[Reject], by: int) -> tuple[pa.Table, list[Reject]]:
    """Staged rows and refusals with their row numbers moved ``by``: into or out of a group's batch."""
    at = rows.schema.get_field_index("_row")
    moved = rows.set_column(at, "_row", pc.add(rows["_row"], by))
    return moved, [Reject(r.row + by, r.reason) for r in rejects]


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
        moved, refused = _shifted(pending.batch.rows, pending.batch.rejects, offset)
        rows.append(moved)
        rejects += refused
        offset += pending.batch.rows_read
    batch = Batch(kind="events", rows=pa.concat_tables(rows), rejects=rejects, rows_read=offset, file="api")
    ids = [eid for pending in group for eid in pending.ids]
    with writing(ws), ws.ledger() as ledger:
        existing = ledger.stored_hashes(ids)
        fresh = [eid for eid in ids if eid not in existing]
        if fresh:  # all-duplicate requests write nothing, not even an import row
            stamp = datetime.now(UTC)
            import_id = f"api_{stamp:%Y%m%dT%H%M%S%f}"
            before = ledger.copy.generation
            pool = _pool(ws) if isinstance(ws, HostedWorkspace) else None
            if pool is not None:  # readers between the commit and appended() must not empty the cache
                pool.slices.expect(before)
            try:
                done = ledger.commit(batch, import_id, stamp, known=existing)
                after = ledger.copy.generation
                # With PostgreSQL another server may have stored some of these ids between the look-up
                # above and the commit (which reloads and skips them): what this commit wrote is the truth.
                if done.stored is not None and done.written is not None:  # the commit says what it found
                    existing.update(done.stored)
                    stored = staged_events(batch.rows, set(done.written))
                else:
                    found = fetch_rows(
                        ledger.con,
                        f"SELECT {EVENT_SELECT}, content_hash, import_id FROM events "
                        f"WHERE event_id IN ({', '.join('?' for _ in fresh)})",
                        fresh,
                    )
                    existing.update(
                        (r["event_id"], r["content_hash"]) for r in found if r["import_id"] != import_id
                    )
                    stored = [event_of(r) for r in found if r["import_id"] == import_id]
                if pool is not None:
                    pool.slices.appended(stored, before, after)
                    pool.reps.appended([e.type for e in stored], before, after, pool.clock_types)
            finally:
                if pool is not None:
                    pool.slices.expect(None)
    for pending in group:
        pending.existing = {eid: existing[eid] for eid in pending.ids if eid in existing}
