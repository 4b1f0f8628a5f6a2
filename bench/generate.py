"""Write a large ledger as Parquet for the derive benchmark: 1M, 10M or 100M events.

The world is the demo world (accord.demo), generated in chunks of contacts with their own seeds and
id prefixes, so the data has the demo's realistic shape at any size while memory stays bounded.
Output, under bench/data/<label>/:

- ledger/{events,contacts,accounts}-<chunk>.parquet: ledger-shaped tables;
- ev.parquet, profiles.parquet: the engine's inputs (accord.engine.inputs), what bench/derive.py reads.

Run: .venv/bin/python bench/generate.py 10M   (or 1M, 100M, or a number of events)
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

import accord
from accord.demo.world import generate
from accord.engine.inputs import events_sql, profiles_sql
from accord.ledger.store import connect
from accord.spec.load import load_spec

AS_OF = datetime(2026, 11, 2, 12, tzinfo=UTC)
EVENTS_PER_CONTACT = 96  # what the demo world produces on average
CHUNK_CONTACTS = 20_000
ROOT = Path(__file__).resolve().parent / "data"


def parse_size(text: str) -> int:
    units = {"k": 1_000, "m": 1_000_000, "g": 1_000_000_000}
    text = text.strip().lower()
    return int(float(text[:-1]) * units[text[-1]]) if text[-1] in units else int(text)


def _prefix(table: pa.Table, columns: list[str], prefix: str) -> pa.Table:
    for name in columns:
        if name in table.column_names:
            col = table.column(name)
            fixed = pc.if_else(pc.is_null(col), col, pc.binary_join_element_wise(prefix, col, ""))
            table = table.set_column(table.column_names.index(name), name, fixed)
    return table


def main() -> None:
    label = sys.argv[1] if len(sys.argv) > 1 else "1M"
    target = parse_size(label)
    folder = ROOT / label
    ledger = folder / "ledger"
    ledger.mkdir(parents=True, exist_ok=True)
    spec = load_spec(Path(accord.__file__).parent / "starter" / "accord.yaml")
    chunks = max(1, round(target / (EVENTS_PER_CONTACT * CHUNK_CONTACTS)))
    per_chunk = max(100, target // (EVENTS_PER_CONTACT * chunks))
    started = time.perf_counter()
    written = 0
    for k in range(chunks):
        world = generate(spec, contacts=per_chunk, seed=1000 + k, as_of=AS_OF)
        prefix = f"k{k}-"
        ids = ["event_id", "contact_id", "account_id", "opportunity_id"]
        pq.write_table(_prefix(world.events, ids, prefix), ledger / f"events-{k:04d}.parquet")
        pq.write_table(
            _prefix(world.contacts, ["contact_id", "account_id"], prefix),
            ledger / f"contacts-{k:04d}.parquet",
        )
        pq.write_table(
            _prefix(world.accounts, ["account_id", "parent_account_id"], prefix),
            ledger / f"accounts-{k:04d}.parquet",
        )
        written += world.events.num_rows
        print(
            f"chunk {k + 1}/{chunks}: {written:,} events, {time.perf_counter() - started:.0f} s", flush=True
        )
    con = connect()
    for kind in ("events", "contacts", "accounts"):
        con.execute(f"CREATE VIEW {kind} AS SELECT * FROM read_parquet('{ledger}/{kind}-*.parquet')")
    as_of = int(AS_OF.timestamp())
    con.execute(f"COPY ({events_sql(spec)}) TO '{folder / 'ev.parquet'}' (FORMAT parquet)")
    con.execute(f"COPY ({profiles_sql(spec, as_of)}) TO '{folder / 'profiles.parquet'}' (FORMAT parquet)")
    print(f"{written:,} events in {folder} ({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
