"""A commit looks small batches up in the primary-key index and joins large ones; one query stages
typed records. Both commit paths must store and report the same, whatever the batch holds, and what
a commit reports having written must be what reading the ledger back gives."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accord.engine.realtime import EVENT_SELECT, event_of, fetch_rows, staged_events
from accord.ledger import writes
from accord.ledger.imports import Stager
from accord.ledger.store import Ledger
from accord.service.ingestion import events_table

BASE = datetime(2026, 11, 2, 9, tzinfo=UTC)
_EMPTY = Path(tempfile.mkdtemp(prefix="accord-empty-ledger-")) / "ledger.duckdb"
atexit.register(shutil.rmtree, _EMPTY.parent, True)


def _new_ledger(path: Path) -> Ledger:
    """An empty ledger at ``path``: a copy of one created once per process. Creating one runs every
    migration (~0.2 s), and each example here needs two: copying keeps the examples many."""
    if not _EMPTY.exists():
        Ledger.create(_EMPTY).close()
    shutil.copyfile(_EMPTY, path)
    return Ledger.open(path)


event = st.fixed_dictionaries(
    {
        "event_id": st.one_of(st.none(), st.sampled_from(["e1", "e2", "e3", "e4"])),
        "occurred_at": st.integers(0, 3).map(lambda h: BASE + timedelta(hours=h)),
        "type": st.sampled_from(["page_view", "email_click", "pricing_view"]),
        "contact_id": st.one_of(st.none(), st.sampled_from(["c1", "c2"])),
        "properties": st.sampled_from([{}, {"url": "/pricing"}, {"url": "/docs"}]),
    }
)


def _commit(ledger: Ledger, rows: list[dict[str, Any]], n: int) -> tuple[Any, ...]:
    stager = Stager("UTC")
    try:
        batch = stager.stage_typed("events", events_table(rows), label="test")
    finally:
        stager.close()
    result = ledger.commit(batch, f"imp{n}", BASE)
    return (
        result.imported,
        result.duplicates,
        [(r.row, r.reason) for r in result.rejects],
        [(r.row, r.reason) for r in batch.rejects],
        batch.rows.column("_row").to_pylist(),
    )


def _stored(ledger: Ledger) -> list[tuple[Any, ...]]:
    return ledger.con.execute(
        "SELECT event_id, content_hash, import_id, type, contact_id, properties::VARCHAR FROM events "
        "ORDER BY event_id"
    ).fetchall()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches=st.lists(st.lists(event, min_size=1, max_size=8), min_size=1, max_size=3))
def test_index_and_join_commits_store_and_report_the_same(batches: list[list[dict[str, Any]]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        small = _new_ledger(Path(tmp) / "small.duckdb")
        large = _new_ledger(Path(tmp) / "large.duckdb")
        try:
            for n, rows in enumerate(batches):
                by_index = _commit(small, rows, n)
                with mock.patch.object(writes, "SMALL_BATCH", 0):
                    by_join = _commit(large, rows, n)
                assert by_index == by_join
                imported, duplicates, conflicts, refused, kept = by_index
                # every row is kept, refused, or repeats a kept row of the same id
                assert len(kept) + len(refused) <= len(rows)
                assert imported + duplicates + len(conflicts) == len(kept)
                assert all(r[0] not in kept for r in refused)
            assert _stored(small) == _stored(large)
        finally:
            small.close()
            large.close()


instant = st.one_of(
    st.integers(0, 3).map(lambda h: BASE + timedelta(hours=h)),
    # between seconds, and either side of the earliest instant an event may have (1990)
    st.integers(-(10**12), 10**12).map(
        lambda us: datetime(1990, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)
    ),
)
typed_event = st.fixed_dictionaries(
    {
        "event_id": st.sampled_from(["e1", "e2", "e3", "e4", "e5"]),
        "occurred_at": instant,
        "type": st.sampled_from(["page_view", "pricing_view"]),
        "contact_id": st.one_of(st.none(), st.sampled_from(["c1", "c2"])),
        "account_id": st.one_of(st.none(), st.just("a1")),
        "topic": st.one_of(st.none(), st.just("pricing")),
        "properties": st.sampled_from([{}, {"url": "/pricing", "n": 2}, {"nested": {"a": [1, 2]}}]),
    }
)


def _stage(rows: list[dict[str, Any]]) -> Any:
    stager = Stager("UTC")
    try:
        return stager.stage_typed("events", events_table(rows), label="test")
    finally:
        stager.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches=st.lists(st.lists(typed_event, min_size=1, max_size=6), min_size=1, max_size=3))
def test_a_commit_reports_what_it_wrote_as_reading_the_ledger_back_would(
    batches: list[list[dict[str, Any]]],
) -> None:
    """The API's group commit trusts the commit's report (ids found, ids written) and builds the
    written events from the staged rows instead of reading them back: both must equal the ledger."""
    with tempfile.TemporaryDirectory() as tmp:
        told = _new_ledger(Path(tmp) / "told.duckdb")
        looked = _new_ledger(Path(tmp) / "looked.duckdb")
        try:
            for n, rows in enumerate(batches):
                batch = _stage(rows)
                ids = batch.rows.column("event_id").to_pylist()
                before = {
                    r[0]: r[1]
                    for r in told.con.execute("SELECT event_id, content_hash FROM events").fetchall()
                }
                known = told.stored_hashes(ids)
                got = told.commit(batch, f"imp{n}", BASE, known=known)
                plain = looked.commit(_stage(rows), f"imp{n}", BASE)
                # a known look-up changes nothing the commit stores or reports
                assert (got.imported, got.duplicates, got.rejects) == (
                    plain.imported,
                    plain.duplicates,
                    plain.rejects,
                )
                assert got.stored == {i: before[i] for i in ids if i in before} == plain.stored
                assert got.written == [i for i in ids if i not in before] == plain.written
                assert len(got.written) == got.imported
                back = fetch_rows(
                    told.con,
                    f"SELECT {EVENT_SELECT} FROM events WHERE import_id = ? ORDER BY event_id",
                    [f"imp{n}"],
                )
                built = staged_events(batch.rows, set(got.written))
                assert sorted(built, key=lambda e: e.event_id) == [event_of(r) for r in back]
            assert _stored(told) == _stored(looked)
        finally:
            told.close()
            looked.close()


def _every_column(ledger: Ledger) -> list[tuple[Any, ...]]:
    """Every stored column but the moment of storing, which differs between any two commits."""
    return ledger.con.execute(
        "SELECT * EXCLUDE (ingested_at, properties), properties::VARCHAR FROM events ORDER BY event_id"
    ).fetchall()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches=st.lists(st.lists(typed_event, min_size=1, max_size=6), min_size=1, max_size=3))
def test_events_passed_as_parameters_store_what_a_registered_table_stores(
    batches: list[list[dict[str, Any]]],
) -> None:
    """Small batches reach the ledger as statement parameters, larger ones as an Arrow table: the same
    rows, to the microsecond and the JSON text, and the same report."""
    with tempfile.TemporaryDirectory() as tmp:
        params = _new_ledger(Path(tmp) / "params.duckdb")
        arrow = _new_ledger(Path(tmp) / "arrow.duckdb")
        try:
            imported = 0
            for n, rows in enumerate(batches):
                assert writes._by_values(_stage(rows))
                by_params = params.commit(_stage(rows), f"imp{n}", BASE)
                with mock.patch.object(writes, "VALUES_ROWS", 0):
                    by_arrow = arrow.commit(_stage(rows), f"imp{n}", BASE)
                assert (by_params.imported, by_params.duplicates, by_params.rejects, by_params.written) == (
                    by_arrow.imported,
                    by_arrow.duplicates,
                    by_arrow.rejects,
                    by_arrow.written,
                )
                imported += by_params.imported
            assert _every_column(params) == _every_column(arrow)
            assert params.con.execute("SELECT count(*) FROM events").fetchone() == (imported,)
        finally:
            params.close()
            arrow.close()
