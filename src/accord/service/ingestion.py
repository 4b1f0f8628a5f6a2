"""Events in, decisions out: the API's ingest as a use case.

Events are checked exactly as imports check them (:meth:`Stager.stage_typed`, or its twin from the
events' Python values, :func:`accord.ledger.typed.stage_plain`, up to PYTHON_MAX) and committed in one
transaction (:meth:`Ledger.commit`), so the ledger's idempotency holds: an ``event_id`` already stored
with the same content is a duplicate and changes nothing; with other content it is a conflict and is
refused, item by item. Then, for each contact the events name, the decision a rep or a webhook acts on
(:mod:`accord.service.decide`).
"""

from __future__ import annotations

import re
import threading
import time
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import accumulate
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from accord.engine.realtime import EVENT_SELECT, event_of, fetch_rows, plain_events, staged_events
from accord.errors import AccordError
from accord.ledger.imports import Stager
from accord.ledger.schema import TABLES
from accord.ledger.store import Ledger
from accord.ledger.typed import PYTHON_MAX, plain_columns, stage_events, stage_plain
from accord.ledger.writes import Batch, Reject, staged_keys
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


def events_table(events: Sequence[Mapping[str, Any]]) -> pa.Table:
    """Plain event dicts (instants already zone-aware) as the typed Arrow shape imports stage."""
    texts, stamps, extra = plain_columns(events)
    data: dict[str, Any] = {}
    for c in TABLES["events"].columns:
        if c.type == "timestamp":
            data[c.name] = pa.array(stamps[c.name], type=pa.timestamp("us", tz="UTC"))
        else:
            data[c.name] = pa.array(texts[c.name], type=pa.string())
    data["properties"] = pa.array(extra, type=pa.string())
    return pa.table(data)


_THREAD = threading.local()


def _stager() -> Stager:
    """One staging database per thread, kept: opening one costs more than staging a small batch."""
    stager: Stager | None = getattr(_THREAD, "stager", None)
    if stager is None:
        stager = _THREAD.stager = Stager("UTC")
        stager.con.execute("SET threads = 1")  # tiny batches; many request threads share two cores
    return stager


_ROW = re.compile(r"repeats row (\d+)")


def ingest(
    ws: Workspace,
    events: Sequence[Mapping[str, Any]],
    *,
    now: datetime,
    decide: bool = True,
    max_decisions: int = MAX_DECISIONS,
    refused: Mapping[int, tuple[str | None, str]] | None = None,
) -> IngestResult:
    """Store what is new, report every item, and decide for the contacts the events name.

    ``refused``: items of the request the caller could not read as events (its index -> the id
    it named, if any, and why); ``events`` are the request's other items, in order. Each refused
    item is reported ``rejected`` in its place, and the others are stored as if it were not there.
    """
    refused = dict(refused or {})
    if len(events) + len(refused) > MAX_BATCH:
        raise AccordError(
            f"{len(events) + len(refused)} events in one request; at most {MAX_BATCH}", hint="split the batch"
        )
    place = [i for i in range(len(events) + len(refused)) if i not in refused]  # each event's index
    kept = [Item(i, eid, "rejected", None, why) for i, (eid, why) in refused.items()]
    if not events:
        return IngestResult(sorted(kept, key=lambda item: item.index))
    clock = time.perf_counter()
    named = [None if e.get("event_id") is None else str(e.get("event_id")) for e in events]
    if isinstance(ws, HostedWorkspace) and None not in named and len(set(named)) == len(named):
        # every event names its own id: the committing request stages the whole group at once
        pending = _Pending(events=list(events), ids=[i for i in named if i is not None])
        _committer(ws).run(pending)
        timings = {"stage": pending.staging}
    else:
        alone = _stage(events)
        triples = staged_keys(alone.rows, alone.plain)
        pending = _Pending(
            batch=alone, ids=[eid for _, eid, _ in triples], staged=triples, rejects=alone.rejects
        )
        timings = {"stage": time.perf_counter() - clock}
        if isinstance(ws, HostedWorkspace):
            _committer(ws).run(pending)
        else:
            _commit_group(ws, [pending])
    rejected = {r.row: r.reason for r in pending.rejects}
    existing = pending.existing
    timings["commit"] = time.perf_counter() - clock - timings["stage"]
    by_row = {row: (eid, digest) for row, eid, digest in pending.staged}
    first_of: dict[str, int] = {}
    items: list[Item] = []
    for row, event in enumerate(events, start=1):
        index = place[row - 1]
        contact = event.get("contact_id")
        if row in rejected:
            # the ledger numbers the rows it staged (the request's well-formed events, from 1); the
            # client numbers its items, malformed ones included, from 0
            reason = _ROW.sub(lambda m: f"repeats item {place[int(m.group(1)) - 1]}", rejected[row])
            items.append(Item(index, event.get("event_id"), "rejected", contact, reason))
            continue
        got = by_row.get(row)
        if got is None:  # the same event repeated inside the request: the first copy counts
            eid = event.get("event_id")
            items.append(
                Item(index, eid, "duplicate", contact, f"repeats item {first_of.get(str(eid), '?')}")
            )
            continue
        eid, digest = got
        first_of[eid] = index
        if eid not in existing:
            items.append(Item(index, eid, "stored", contact))
        elif existing[eid] == digest:
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
    if kept:
        items = sorted(items + kept, key=lambda item: item.index)
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
    """One request's events waiting for a commit, and what the commit found."""

    batch: Batch | None = None  # staged already (the request's own rows, numbered from 1)
    events: list[Mapping[str, Any]] | None = None  # not staged yet: the commit stages its group's at once
    ids: list[str] = field(default_factory=list)
    staged: list[tuple[int, str, str]] = field(default_factory=list)  # kept rows: (row, id, hash)
    rejects: list[Reject] = field(default_factory=list)  # refused rows, numbered as the request's
    existing: dict[str, str] = field(default_factory=dict)  # id -> hash stored before this request
    staging: float = 0.0  # seconds the group's staging took


def _stage(events: Sequence[Mapping[str, Any]]) -> Batch:
    """Events staged as an import stages them: in Python up to PYTHON_MAX, by DuckDB above it."""
    if len(events) <= PYTHON_MAX:
        return stage_plain(events, label="api")
    return stage_events(events_table(events), label="api", stager=_stager())


def _writer(ws: Workspace) -> Ledger:
    """The group commit's view: on a held workspace, a cursor its thread keeps (a commit of events
    leaves nothing on it), so a group pays no cursor open and close; elsewhere a plain view."""
    return ws.kept_ledger() if isinstance(ws, HostedWorkspace) else ws.ledger()


def _disjoint(group: list[_Pending], pending: _Pending) -> bool:
    """Requests whose event ids overlap never share a commit (the later one waits for the next), so
    every request's items read exactly as if the requests had committed one at a time."""
    return all(set(pending.ids).isdisjoint(other.ids) for other in group)


def _committer(ws: HostedWorkspace) -> GroupWriter[_Pending]:
    return ws.kept("committer", lambda: GroupWriter(lambda group: _commit_group(ws, group), fits=_disjoint))


def _stage_together(parts: list[_Pending]) -> Batch:
    """Stage several requests' events as one batch; give each request its own rows and refusals.

    Only requests whose events all name distinct ids come here, and a group never holds two
    requests naming the same id, so the combined staging finds no repeat across requests: each
    request's rows and refusals are exactly what staging it alone would give, renumbered.
    """
    clock = time.perf_counter()
    events = [e for p in parts for e in p.events or ()]
    batch = _stage(events)
    spent = time.perf_counter() - clock
    ends = list(accumulate(len(p.events or ()) for p in parts))  # a part's rows: (its start, its end]
    for part in parts:
        part.staged, part.rejects, part.staging, part.events = [], [], spent, None
    for row, eid, digest in staged_keys(batch.rows, batch.plain):
        k = bisect_left(ends, row)
        parts[k].staged.append((row - (ends[k - 1] if k else 0), eid, digest))
    for reject in batch.rejects:
        k = bisect_left(ends, reject.row)
        parts[k].rejects.append(Reject(reject.row - (ends[k - 1] if k else 0), reject.reason))
    return batch


def _combined(batches: list[Batch]) -> Batch:
    """Batches staged apart as one, their row numbers kept distinct (a group that mixes requests
    staged alone with requests staged together)."""
    rows: list[pa.Table] = []
    rejects: list[Reject] = []
    plain: list[dict[str, Any]] | None = []
    offset = 0
    for batch in batches:
        moved, refused = _shifted(batch.rows, batch.rejects, offset)
        rows.append(moved)
        rejects += refused
        if plain is not None and batch.plain is not None:
            plain += [{**r, "_row": r["_row"] + offset} for r in batch.plain]
        else:
            plain = None
        offset += batch.rows_read
    return Batch(
        kind="events", rows=pa.concat_tables(rows), rejects=rejects, rows_read=offset, file="api", plain=plain
    )


def _shifted(rows: pa.Table, rejects: list[Reject], by: int) -> tuple[pa.Table, list[Reject]]:
    """Staged rows and refusals with their row numbers moved ``by``."""
    at = rows.schema.get_field_index("_row")
    moved = rows.set_column(at, "_row", pc.add(rows["_row"], by))
    return moved, [Reject(r.row + by, r.reason) for r in rejects]


def _commit_group(ws: Workspace, group: list[_Pending]) -> None:
    """Store what is new of every request in one transaction; tell each what was stored before."""
    batches = [p.batch for p in group if p.batch is not None]
    unstaged = [p for p in group if p.batch is None]
    if unstaged:
        batches.append(_stage_together(unstaged))
    batch = batches[0] if len(batches) == 1 else _combined(batches)
    ids = [eid for pending in group for eid in pending.ids]
    with writing(ws), _writer(ws) as ledger:
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
                    written = set(done.written)
                    if batch.plain is not None:
                        stored = plain_events(batch.plain, written)
                    else:
                        stored = staged_events(batch.rows, written)
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
