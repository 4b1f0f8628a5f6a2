"""How fast `accord import` loads an events CSV, against DuckDB loading the same file raw.

Run: .venv/bin/python bench/import_events.py [ROWS]   (default 500,000)
The floor is DuckDB's own read_csv + INSERT into a table with a primary key; the ratio says what
Accord's checks (typing, rejects, de-duplication, content hashes, the transaction) cost on top.
"""

from __future__ import annotations

import platform
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from accord import service
from accord.ledger.importer import ImportRequest
from accord.ledger.store import connect


def make_csv(path: Path, rows: int) -> None:
    rng = np.random.default_rng(1)
    start = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())
    times = np.sort(rng.integers(start, start + 300 * 86400, rows))
    types = np.array(["page_view", "pricing_view", "email_click", "webinar_attended", "demo_request"])
    table = pa.table({
        "event_id": [f"b{i:09d}" for i in range(rows)],
        "occurred_at": pa.array(times * 1_000_000, type=pa.timestamp("us", tz="UTC")),
        "type": types[rng.integers(0, len(types), rows)],
        "contact_id": [f"c{i}" for i in rng.integers(0, rows // 50 + 1, rows)],
        "topic": np.array(["pricing", "security", "product"])[rng.integers(0, 3, rows)],
        "url": np.array(["/pricing", "/security", "/docs"])[rng.integers(0, 3, rows)],
    })  # fmt: skip
    pacsv.write_csv(table, path)


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 500_000
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        csv = root / "events.csv"
        make_csv(csv, rows)
        con = connect(root / "raw.duckdb")
        t0 = time.perf_counter()
        con.execute(
            "CREATE TABLE e (event_id VARCHAR PRIMARY KEY, occurred_at TIMESTAMPTZ, type VARCHAR, "
            "contact_id VARCHAR, topic VARCHAR, url VARCHAR)"
        )
        con.execute(f"INSERT INTO e SELECT * FROM read_csv('{csv}')")
        floor = time.perf_counter() - t0
        con.close()
        ws = service.init_workspace(root / "ws")
        t0 = time.perf_counter()
        report = service.import_file(ws, ImportRequest(file=csv, kind="events"))
        accord = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = service.import_file(ws, ImportRequest(file=csv, kind="events"))
        repeat = time.perf_counter() - t0
    assert report.imported == rows and again.duplicates == rows
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"machine: {platform.machine()}, {platform.python_version()}, date {datetime.now(UTC):%Y-%m-%d}")
    print(f"rows: {rows:,}")
    print(f"raw DuckDB read_csv + insert: {floor:6.2f} s  ({rows / floor:,.0f} rows/s)")
    print(
        f"accord import (first):        {accord:6.2f} s  ({rows / accord:,.0f} rows/s)  "
        f"ratio to floor {accord / floor:.1f}x"
    )
    print(f"accord import (repeat, no-op):{repeat:6.2f} s  ratio to floor {repeat / floor:.1f}x")
    print(f"peak RSS: {peak:,.0f} MB")


if __name__ == "__main__":
    main()
