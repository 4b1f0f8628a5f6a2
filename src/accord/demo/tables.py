"""Columnar buffers for the demo world and their conversion to ledger-shaped Arrow tables.

Events are collected as chunks of integer codes (entity indexes, interned strings) so half a million
rows never become Python objects; strings appear only once per distinct value, at the very end.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from accord.demo.clock import I64
from accord.ledger.schema import TABLES

ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "date": pa.date32(),
    "number": pa.float64(),
    "integer": pa.int64(),
    "boolean": pa.bool_(),
    "json": pa.string(),
}


def dumps(value: Mapping[str, Any]) -> str:
    """Compact, key-ordered JSON: identical worlds must produce identical text."""
    return json.dumps(value, separators=(",", ":"))


@dataclass(frozen=True)
class Cat:
    """A categorical column chunk: a small vocabulary and one code per row (-1 = null)."""

    vocab: Sequence[str | None]
    codes: npt.NDArray[np.intp]


class Interner:
    """Distinct strings in first-seen order, so codes (and the output) are deterministic."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.values: list[str] = []

    def code(self, value: str | None) -> int:
        if value is None:
            return -1
        found = self.index.get(value)
        if found is None:
            found = self.index[value] = len(self.values)
            self.values.append(value)
        return found

    def codes(self, value: str | Cat | Sequence[str | None] | None, n: int) -> I64:
        if value is None or isinstance(value, str):
            return np.full(n, self.code(value), dtype=np.int64)
        if isinstance(value, Cat):
            lookup = np.array([self.code(v) for v in value.vocab] + [-1], dtype=np.int64)
            return lookup[np.where(value.codes < 0, len(value.vocab), value.codes)]
        return np.array([self.code(v) for v in value], dtype=np.int64)

    def array(self, codes: I64) -> pa.Array:
        return take(self.values, codes)


def take(values: Sequence[str | None], index: npt.NDArray[np.integer[Any]]) -> pa.Array:
    """Strings by index, null where the index is negative."""
    base = pa.array(list(values), type=pa.string())
    return base.take(pa.array(index, type=pa.int64(), mask=index < 0))


Ids = int | npt.NDArray[np.integer[Any]] | None
Text = str | None | Cat | Sequence[str | None]
_ENTITIES = ("contact", "account", "opportunity", "actor", "campaign", "content")


class EventLog:
    """Append-only buffer of events; rows are only materialised by :meth:`table`."""

    def __init__(self) -> None:
        self.chunks: list[dict[str, I64]] = []
        self.types = Interner()
        self.topics = Interner()
        self.props = Interner()

    def add(
        self,
        at: I64,
        type_: Text,
        *,
        contact: Ids = None,
        account: Ids = None,
        opportunity: Ids = None,
        actor: Ids = None,
        campaign: Ids = None,
        content: Ids = None,
        topic: Text = None,
        props: Text = "{}",
    ) -> None:
        at = np.asarray(at, dtype=np.int64).reshape(-1)
        n = len(at)
        if n == 0:
            return
        chunk: dict[str, I64] = {"at": at}
        given = (contact, account, opportunity, actor, campaign, content)
        for name, ids in zip(_ENTITIES, given, strict=True):
            chunk[name] = np.broadcast_to(np.asarray(-1 if ids is None else ids, dtype=np.int64), (n,)).copy()
        chunk["type"] = self.types.codes(type_, n)
        chunk["topic"] = self.topics.codes(topic, n)
        chunk["props"] = self.props.codes(props, n)
        self.chunks.append(chunk)

    def column(self, name: str) -> I64:
        if not self.chunks:
            return np.zeros(0, dtype=np.int64)
        return np.concatenate([c[name] for c in self.chunks])

    def count(self, type_: str) -> int:
        code = self.types.index.get(type_)
        return 0 if code is None else int((self.column("type") == code).sum())

    def table(self, ids: Mapping[str, Sequence[str]], *, before: int, source: str) -> pa.Table:
        """Sorted by time, cut at ``before``, numbered ``demo-00000001``... in time order."""
        at = self.column("at")
        order = np.argsort(at, kind="stable")
        order = order[at[order] < before]
        n = len(order)
        numbers = pc.cast(pa.array(np.arange(1, n + 1, dtype=np.int64)), pa.string())
        event_id = pc.binary_join_element_wise("demo-", pc.utf8_lpad(numbers, 8, "0"), "")
        cols: dict[str, pa.Array] = {
            "event_id": event_id,
            "occurred_at": pa.array(at[order], type=ARROW_TYPES["timestamp"]),
            "type": self.types.array(self.column("type")[order]),
        }
        for name in _ENTITIES:
            key = "actor_id" if name == "actor" else f"{name}_id"
            cols[key] = take(ids[name], self.column(name)[order])
        cols["topic"] = self.topics.array(self.column("topic")[order])
        cols["source"] = pa.array([source] * n, type=pa.string()) if n else pa.array([], pa.string())
        cols["properties"] = self.props.array(self.column("props")[order])
        return build("events", cols, n)


def build(kind: str, columns: Mapping[str, Any], n: int) -> pa.Table:
    """An Arrow table with exactly the ledger's columns for ``kind``, in order, plus its extra."""
    table = TABLES[kind]
    names = [c.name for c in table.columns] + [table.extra]
    unknown = set(columns) - set(names)
    if unknown:
        raise ValueError(f"{kind}: no such columns {sorted(unknown)}")
    arrays: list[pa.Array] = []
    fields: list[pa.Field] = []
    for name, type_name in [(c.name, c.type) for c in table.columns] + [(table.extra, "json")]:
        arrow_type = ARROW_TYPES[type_name]
        value = columns.get(name)
        if value is None:
            array = pa.nulls(n, type=arrow_type)
        elif isinstance(value, pa.Array | pa.ChunkedArray):
            array = value if value.type == arrow_type else value.cast(arrow_type)
        else:
            array = pa.array(value, type=arrow_type)
        if len(array) != n:
            raise ValueError(f"{kind}.{name}: {len(array)} values for {n} rows")
        arrays.append(array)
        fields.append(pa.field(name, arrow_type))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def timestamps(us: npt.ArrayLike, null: npt.NDArray[np.bool_] | None = None) -> pa.Array:
    values = np.asarray(us, dtype=np.int64)
    return pa.array(values, type=ARROW_TYPES["timestamp"], mask=null)


def dates(days: npt.ArrayLike, null: npt.NDArray[np.bool_] | None = None) -> pa.Array:
    values = np.asarray(days, dtype=np.int32)
    return pa.array(values, type=pa.date32(), mask=null)
