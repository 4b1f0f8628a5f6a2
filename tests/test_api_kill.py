"""Kill the server mid-stream; the retrying client loses nothing and nothing is stored twice.

The ledger commits each request in one transaction and ``event_id`` makes a repeat a no-op, so a
client that retries every batch until it is answered gets exactly-once storage across crashes: a
batch cut off before its commit is stored by the retry, a batch committed just before the crash is
answered "duplicate" on the retry. Two crashes are exercised: one inside a commit (the test fault
hook exits the process between inserting the events and committing), one by SIGKILL at an arbitrary
point of the stream. Both run on each store: the DuckDB file, and PostgreSQL, where what a crash
cuts off is the PostgreSQL transaction.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from accord import service
from tests.api_kill_client import events
from tests.api_server import Server, Store, copy_demo, make_keys

pytestmark = pytest.mark.slow
COUNT, BATCH = 600, 10
REPO = Path(__file__).resolve().parent.parent


def test_sigkill_mid_stream_loses_nothing_and_duplicates_nothing(tmp_path: Path, api_store: Store) -> None:
    root = copy_demo(tmp_path / "ws", api_store)
    key = make_keys(root, {"marketing": "lena"}, api_store)["marketing"]
    # dies inside its first commit (on PostgreSQL: before PostgreSQL commits, so it rolls back)
    server = Server(root, env={"ACCORD_TEST_FAULT": "after_events"}, store=api_store).start()
    command = [sys.executable, "-m", "tests.api_kill_client", server.url, key, str(COUNT), str(BATCH)]
    client = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert server.proc is not None
        assert server.proc.wait(timeout=60) == 86  # the fault hook's exit: mid-transaction
        server.proc = None
        server.env = {}
        server.start()
        assert client.stdout is not None
        answered: list[str] = []
        while len(answered) < 15:  # let the stream run, then pull the plug without warning
            line = client.stdout.readline()
            assert line, "the client stopped early"
            answered.append(line)
        server.kill()
        time.sleep(0.5)  # the client retries against a closed port meanwhile
        server.start()
        rest, _ = client.communicate(timeout=150)
        assert client.returncode == 0, rest[-500:]
        lines = answered + rest.splitlines()
    finally:
        if client.poll() is None:
            client.kill()
        server.stop()
    assert lines[-1] == "done bad 0"
    batches = [line.split() for line in lines if line.startswith("batch ")]
    assert [int(b[1]) for b in batches] == list(range(COUNT // BATCH))
    stored = sum(int(b[3]) for b in batches)
    assert stored <= COUNT  # what the client saw as new: never more than it sent
    with api_store.active(), service.locate(root).ledger(read_only=True) as ledger:
        rows = ledger.con.execute(
            "SELECT event_id, occurred_at, type, contact_id, json_extract(properties, '$.seq')::INT "
            "FROM events WHERE event_id LIKE 'kill-%' ORDER BY event_id"
        ).fetchall()
    sent = events(COUNT)
    assert len(rows) == COUNT  # every event once: none lost, none twice (event_id is the key)
    for row, event in zip(rows, sent, strict=True):
        assert row[0] == event["event_id"] and row[2] == event["type"] and row[3] == event["contact_id"]
        assert row[1].isoformat() == event["occurred_at"] and row[4] == event["properties"]["seq"]
