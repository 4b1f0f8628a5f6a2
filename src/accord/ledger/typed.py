"""Small batches of typed events staged in Python, exactly as :meth:`Stager.stage_typed` stages them.

An API request carries a few to a few hundred events that are already typed (strings and an instant),
so there is nothing to parse: staging is a content hash, a derived id, three rules and the picking of
the first row of each id. DuckDB does that in one query, but the query's fixed cost (planning, Arrow
in and out, ~5 ms) was the largest part of staging a 20-event request and a sixth of the request.
Both paths follow the same table definition (columns, required columns, the hash formula of
:func:`accord.ledger.merge.content_hash_sql`); the one rule outside it, an event's subject, is spelled
in both. tests/test_typed_staging.py holds the two equal on random batches, and anything this path
does not know how to read goes to DuckDB instead.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from accord.ledger.imports import Stager, first_of_each, pick_first
from accord.ledger.schema import EARLIEST_EVENT, EVENT_TIME_PROBLEM, LATEST_EVENT, TABLES
from accord.ledger.writes import Batch
from accord.spec.catalog import GOVERNANCE_EVENT_TYPES

PYTHON_MAX = 500
"""Up to this many events Python stages them; above it DuckDB's per-row speed wins."""

_TABLE = TABLES["events"]
_SUBJECTS = ("contact_id", "account_id", "opportunity_id")
_GOVERNANCE = frozenset(GOVERNANCE_EVENT_TYPES)
_US = pa.timestamp("us", tz="UTC")
_EARLIEST, _LATEST = (int(t.timestamp()) * 1_000_000 for t in (EARLIEST_EVENT, LATEST_EVENT))
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_STRINGS = tuple(c.name for c in _TABLE.columns if c.type == "string")
_STAMPS = tuple(c.name for c in _TABLE.columns if c.type == "timestamp")


def stage_events(data: pa.Table, *, label: str, stager: Stager) -> Batch:
    """The batch ``stager.stage_typed("events", data, label=label)`` gives, computed in Python when
    the batch is small and shaped as the events table (strings, instants in UTC microseconds)."""
    if not _readable(data):
        return stager.stage_typed("events", data, label=label)
    return pick_first(_TABLE, _checked(data), data.num_rows, label)


def _readable(data: pa.Table) -> bool:
    if data.num_rows > PYTHON_MAX:
        return False
    for column in _TABLE.columns:
        if column.name not in data.column_names:
            return False
        kind = data.schema.field(column.name).type
        if column.type == "timestamp" and kind != _US:
            return False
        if column.type == "string" and kind != pa.string():
            return False
        if column.type not in ("string", "timestamp"):
            return False
    extra = _TABLE.extra
    return extra in data.column_names and data.schema.field(extra).type == pa.string()


def _checked(data: pa.Table) -> pa.Table:
    """The rows of the staging query: ``_row``, the columns, the hash, the reasons (''), in order."""
    n = data.num_rows
    values = {c.name: data.column(c.name).to_pylist() for c in _TABLE.columns if c.type == "string"}
    micros = {
        c.name: pc.cast(data.column(c.name), pa.int64()).to_pylist()
        for c in _TABLE.columns
        if c.type == "timestamp"
    }
    extra = [text if text is not None else "{}" for text in data.column(_TABLE.extra).to_pylist()]
    ids, hashes, reasons = _assess(n, values, micros, extra)
    arrays: dict[str, pa.Array] = {"_row": pa.array(range(1, n + 1), pa.int64())}
    for column in _TABLE.columns:
        arrays[column.name] = pa.array(ids, pa.string()) if column.name == "event_id" else data[column.name]
    arrays[_TABLE.extra] = pa.array(extra, pa.string())
    arrays["content_hash"] = pa.array(hashes, pa.string())
    arrays["_reason"] = pa.array(reasons, pa.string())
    return pa.table(arrays)


def _assess(
    n: int, values: _Values, micros: _Micros, extra: list[str]
) -> tuple[list[str], list[str], list[str]]:
    """Each row's id (derived from the hash when none is given), content hash and refusal reasons."""
    hashed = [c.name for c in _TABLE.columns if c.name not in ("source", "event_id")]
    required = [c for c in _TABLE.required() if c != "event_id"]
    hashes: list[str] = []
    reasons: list[str] = []
    for i in range(n):
        parts = [_text(values, micros, name, i) for name in hashed]
        parts.append(extra[i])
        hashes.append(hashlib.md5(chr(31).join(parts).encode("utf-8")).hexdigest())
        complaints = [f"{name} is empty" for name in required if _value(values, micros, name, i) is None]
        kind = values["type"][i]
        if all(values[s][i] is None for s in _SUBJECTS) and kind is not None and kind not in _GOVERNANCE:
            complaints.append("needs contact_id, account_id or opportunity_id")
        when = micros["occurred_at"][i]
        if when is not None and not _EARLIEST <= when < _LATEST:
            complaints.append(EVENT_TIME_PROBLEM)
        reasons.append("; ".join(complaints))
    ids = [e if e is not None else "h:" + h for e, h in zip(values["event_id"], hashes, strict=True)]
    return ids, hashes, reasons


def plain_columns(
    events: Sequence[Mapping[str, Any]],
) -> tuple[dict[str, list[str | None]], dict[str, list[datetime | None]], list[str]]:
    """Events as given to the API (instants zone-aware) as the columns the events table stages:
    text for text columns, instants in UTC, properties as sorted JSON. The one reading of an API
    event, whether it then goes to Arrow (:func:`accord.service.ingestion.events_table`) or not."""
    texts = {name: [None if e.get(name) is None else str(e.get(name)) for e in events] for name in _STRINGS}
    stamps: dict[str, list[datetime | None]] = {}
    for name in _STAMPS:
        values = [e.get(name) for e in events]
        stamps[name] = [v.astimezone(UTC) if isinstance(v, datetime) else None for v in values]
    extra = [json.dumps(e.get("properties") or {}, sort_keys=True, default=_json_default) for e in events]
    return texts, stamps, extra


def _json_default(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else str(value)


def stage_plain(events: Sequence[Mapping[str, Any]], *, label: str) -> Batch:
    """The batch ``stage_events(events_table(events))`` gives, staged from the Python values.

    A server commits the single events of requests that arrive together as one group, and
    everything in that commit holds up every request of the group. Arrow's compute functions each
    let go of the interpreter lock and must wait to take it back behind the request threads: a
    group of ten staged through Arrow took ~60 such waits. This path reads the values as given
    and builds the Arrow rows the commit needs without computing on them; the batch also carries
    the kept rows as dicts (``Batch.plain``), so the commit and the cache read them as they are.
    """
    n = len(events)
    texts, stamps, extra = plain_columns(events)
    micros = {
        name: [None if t is None else (t - _EPOCH) // _MICROSECOND for t in ts] for name, ts in stamps.items()
    }
    ids, hashes, reasons = _assess(n, texts, micros, extra)
    keep, rejects = first_of_each(_TABLE, list(range(1, n + 1)), ids, hashes, reasons)
    plain: list[dict[str, Any]] = []
    for i in (i for i in range(n) if keep[i]):
        row: dict[str, Any] = {"_row": i + 1}
        for column in _TABLE.columns:  # in the table's order, as staging gives its columns
            name = column.name
            row[name] = (
                ids[i] if name == "event_id" else stamps[name][i] if name in _STAMPS else texts[name][i]
            )
        row[_TABLE.extra], row["content_hash"], row["_us"] = extra[i], hashes[i], micros["occurred_at"][i]
        plain.append(row)
    kinds = {
        "_row": pa.int64(),
        **{c.name: _US if c.name in _STAMPS else pa.string() for c in _TABLE.columns},
    }
    kinds.update({_TABLE.extra: pa.string(), "content_hash": pa.string()})
    arrays = {name: pa.array([r[name] for r in plain], kind) for name, kind in kinds.items()}
    return Batch(
        kind=_TABLE.kind, rows=pa.table(arrays), rejects=rejects, rows_read=n, file=label, plain=plain
    )


_Values = dict[str, list[str | None]]
_Micros = dict[str, list[int | None]]


def _value(values: _Values, micros: _Micros, name: str, i: int) -> object:
    return micros[name][i] if name in micros else values[name][i]


def _text(values: _Values, micros: _Micros, name: str, i: int) -> str:
    """A value as the hash reads it: ``epoch_us(x)::VARCHAR`` or ``x::VARCHAR``, NUL for none."""
    value = _value(values, micros, name, i)
    return chr(0) if value is None else str(value)
