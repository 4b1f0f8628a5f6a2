"""Small typed event batches are staged in Python (accord.ledger.typed) instead of a DuckDB query;
both must give the same batch: rows, hashes, derived ids, refusals and their reasons, in order. The
API's events are staged from their Python values (stage_plain) without Arrow: the same batch again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accord.ledger.imports import Stager
from accord.ledger.typed import PYTHON_MAX, stage_events, stage_plain
from accord.service.ingestion import events_table
from accord.spec.catalog import GOVERNANCE_EVENT_TYPES

EPOCH = datetime(1990, 1, 1, tzinfo=UTC)  # instants either side of the earliest an event may have
text = st.text(alphabet=st.sampled_from("ab é€\u001f\x00'\""), max_size=4)
maybe = st.one_of(st.none(), st.sampled_from(["c1", "c2"]), text)
event = st.fixed_dictionaries(
    {
        "event_id": st.one_of(st.none(), st.sampled_from(["e1", "e2", "e3"]), text),
        "occurred_at": st.one_of(
            st.none(),
            st.builds(
                lambda us, minutes: (EPOCH + timedelta(microseconds=us)).astimezone(
                    timezone(timedelta(minutes=minutes))
                ),
                st.integers(-(10**13), 10**13),
                st.sampled_from([0, 330, -300, 840]),
            ),
        ),
        "type": st.one_of(
            st.none(), st.sampled_from(["page_view", "pricing_view", *GOVERNANCE_EVENT_TYPES[:2]])
        ),
        "contact_id": maybe,
        "account_id": st.one_of(st.none(), st.just("a1")),
        "opportunity_id": st.one_of(st.none(), st.just("o1")),
        "actor_id": maybe,
        "topic": st.one_of(st.none(), text),
        "source": st.one_of(st.none(), st.sampled_from(["web", "crm"])),
        "properties": st.one_of(
            st.none(),
            st.dictionaries(
                st.sampled_from(["url", "n", "é", "nested"]),
                st.one_of(
                    st.integers(),
                    st.floats(allow_nan=False, allow_infinity=False),
                    text,
                    st.lists(st.integers(), max_size=2),
                ),
                max_size=3,
            ),
        ),
    }
)


def _both(rows: list[dict[str, Any]]) -> tuple[Any, Any]:
    table = events_table(rows)
    stager = Stager("UTC")
    try:
        in_duckdb = stager.stage_typed("events", table, label="t")
        in_python = stage_events(table, label="t", stager=stager)
    finally:
        stager.close()
    if len(rows) <= PYTHON_MAX:
        _same_as_plain(rows, in_python)
    return in_duckdb, in_python


def _same_as_plain(rows: list[dict[str, Any]], staged: Any) -> None:
    """stage_plain gives the batch staging gives, and its dicts are those rows with their microseconds."""
    plain = stage_plain(rows, label="t")
    assert plain.rows.schema == staged.rows.schema
    assert plain.rows.to_pylist() == staged.rows.to_pylist()
    assert [(r.row, r.reason) for r in plain.rejects] == [(r.row, r.reason) for r in staged.rejects]
    assert (plain.rows_read, plain.kind, plain.file) == (staged.rows_read, staged.kind, staged.file)
    assert plain.plain is not None
    micros = staged.rows["occurred_at"].cast(pa.int64()).to_pylist()
    assert plain.plain == [{**r, "_us": us} for r, us in zip(staged.rows.to_pylist(), micros, strict=True)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(event, min_size=1, max_size=8))
def test_python_staging_equals_the_staging_query(rows: list[dict[str, Any]]) -> None:
    in_duckdb, in_python = _both(rows)
    assert in_python.rows.schema == in_duckdb.rows.schema
    assert in_python.rows.to_pylist() == in_duckdb.rows.to_pylist()
    assert [(r.row, r.reason) for r in in_python.rejects] == [(r.row, r.reason) for r in in_duckdb.rejects]
    assert (in_python.rows_read, in_python.kind, in_python.file) == (
        in_duckdb.rows_read,
        in_duckdb.kind,
        in_duckdb.file,
    )


def test_the_rules_and_the_derived_id_are_exercised() -> None:
    """Hand-made cases the property must cover: every refusal reason and a derived id."""
    at = datetime(2026, 11, 2, 9, tzinfo=UTC)
    rows: list[dict[str, Any]] = [
        {"event_id": None, "occurred_at": at, "type": "page_view", "contact_id": "c1"},
        {"event_id": "x", "occurred_at": None, "type": None, "contact_id": "c1"},
        {"event_id": "y", "occurred_at": at, "type": "page_view"},
        {"event_id": "z", "occurred_at": at, "type": GOVERNANCE_EVENT_TYPES[0]},
        {"event_id": "z", "occurred_at": at + timedelta(seconds=1), "type": GOVERNANCE_EVENT_TYPES[0]},
    ]
    in_duckdb, in_python = _both(rows)
    assert [(r.row, r.reason) for r in in_python.rejects] == [
        (2, "occurred_at is empty; type is empty"),
        (3, "needs contact_id, account_id or opportunity_id"),
        (5, "event_id 'z' repeats row 4 with different values; keep one row per id"),
    ]
    assert in_python.rows.column("event_id").to_pylist()[0].startswith("h:")
    assert in_python.rows.to_pylist() == in_duckdb.rows.to_pylist()


def test_what_python_cannot_read_goes_to_duckdb() -> None:
    """Too many rows, or a column typed otherwise than the events table: the query stages them."""
    at = datetime(2026, 11, 2, 9, tzinfo=UTC)
    many = [
        {"event_id": f"m{i}", "occurred_at": at, "type": "page_view", "contact_id": "c1"}
        for i in range(PYTHON_MAX + 1)
    ]
    in_duckdb, in_python = _both(many)
    assert in_python.rows.equals(in_duckdb.rows)
    table = events_table(many[:3])
    seconds = table.set_column(
        table.schema.get_field_index("occurred_at"),
        "occurred_at",
        table["occurred_at"].cast(pa.timestamp("s", tz="UTC")),
    )
    stager = Stager("UTC")
    try:
        assert stage_events(seconds, label="t", stager=stager).rows.equals(
            stager.stage_typed("events", seconds, label="t").rows
        )
    finally:
        stager.close()


def test_events_without_properties_hash_as_an_empty_object() -> None:
    """A typed table may carry null properties (events_table never does): both read them as {}."""
    at = datetime(2026, 11, 2, 9, tzinfo=UTC)
    table = events_table([{"event_id": "p", "occurred_at": at, "type": "page_view", "contact_id": "c1"}])
    at_props = table.schema.get_field_index("properties")
    bare = table.set_column(at_props, "properties", pa.array([None], pa.string()))
    stager = Stager("UTC")
    try:
        in_python = stage_events(bare, label="t", stager=stager)
        assert in_python.rows.to_pylist() == stager.stage_typed("events", bare, label="t").rows.to_pylist()
        assert in_python.rows.to_pylist() == stage_events(table, label="t", stager=stager).rows.to_pylist()
    finally:
        stager.close()
