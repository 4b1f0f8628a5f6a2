"""A commit looks small batches up in the primary-key index and joins large ones; one query stages
typed records. Both commit paths must store and report the same, whatever the batch holds."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accord.ledger import store
from accord.ledger.imports import Stager
from accord.ledger.store import Ledger
from accord.service.ingest import events_table

BASE = datetime(2026, 11, 2, 9, tzinfo=UTC)

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
        small = Ledger.create(Path(tmp) / "small.duckdb")
        large = Ledger.create(Path(tmp) / "large.duckdb")
        try:
            for n, rows in enumerate(batches):
                by_index = _commit(small, rows, n)
                with mock.patch.object(store, "SMALL_BATCH", 0):
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
