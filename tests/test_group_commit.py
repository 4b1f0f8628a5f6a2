"""Concurrent ingests into a held workspace share staging and commits (service.ingest, GroupWriter);
whatever the interleaving, every request must read as if the requests had run one at a time."""

from __future__ import annotations

import random
import re
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from accord import service
from accord.ledger.imports import Stager
from accord.service.hosted import HostedWorkspace
from accord.service.ingestion import IngestResult, events_table, ingest

NOW = datetime(2026, 11, 2, 12, tzinfo=UTC)


def _event(rng: random.Random, eid: str | None) -> dict[str, Any]:
    return {
        "event_id": eid,
        "occurred_at": NOW - timedelta(minutes=rng.randint(0, 3)),
        "type": rng.choice(["page_view", "pricing_view"]),
        "contact_id": rng.choice(["c1", "c2", None]),  # None: refused, no subject
        "source": "web",
        "properties": {"url": rng.choice(["/a", "/b"])},
    }


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_concurrent_requests_read_as_if_one_at_a_time(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    service.init_workspace(tmp_path / "ws")
    ws = HostedWorkspace(tmp_path / "ws")
    ids = [f"e{i}" for i in range(12)]
    requests = []
    for _ in range(24):
        size = rng.randint(1, 3)
        if rng.random() < 0.2:  # a request without ids or repeating one: staged alone
            requests.append([_event(rng, rng.choice([None, "e0"])) for _ in range(size)])
        else:
            requests.append([_event(rng, eid) for eid in rng.sample(ids, size)])
    results: dict[int, IngestResult] = {}

    def send(k: int) -> None:
        results[k] = ingest(ws, requests[k], now=NOW, decide=False)

    try:
        threads = [threading.Thread(target=send, args=(k,)) for k in range(len(requests))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        with ws.ledger(read_only=True) as ledger:
            stored = dict(ledger.con.execute("SELECT event_id, content_hash FROM events").fetchall())
            commits = ledger.con.execute("SELECT count(*) FROM imports").fetchall()[0][0]
    finally:
        ws.close()
    stager = Stager("UTC")
    try:
        alone = [stager.stage_typed("events", events_table(r), label="api") for r in requests]
    finally:
        stager.close()
    stored_by: dict[str, int] = {}
    for k, staged in enumerate(alone):
        result = results[k]
        # refusals are exactly those of staging the request alone
        refused = {r.row: r.reason for r in staged.rejects}
        mine = {
            int(r["_row"]): r for r in staged.rows.select(["_row", "event_id", "content_hash"]).to_pylist()
        }
        for item in result.items:
            row = item.index + 1
            if row in refused:
                # the ledger's "row N" among the staged rows is the client's "item N-1" (no malformed
                # items here, so the two numberings differ only by one)
                said = re.sub(
                    r"repeats row (\d+)", lambda m: f"repeats item {int(m.group(1)) - 1}", refused[row]
                )
                assert item.status == "rejected" and item.reason == said
                continue
            if row not in mine:
                assert item.status == "duplicate"  # repeats an item of the same request
                continue
            eid, digest = mine[row]["event_id"], mine[row]["content_hash"]
            if item.status == "stored":
                assert stored[eid] == digest
                assert eid not in stored_by, f"{eid} stored by requests {stored_by.get(eid)} and {k}"
                stored_by[eid] = k
            elif item.status == "duplicate":
                assert stored[eid] == digest
            else:
                assert item.status == "conflict" and stored[eid] != digest
    assert set(stored_by) == set(stored)  # every stored event was reported stored exactly once
    assert commits < len(set(stored_by.values()))  # requests did share commits
