"""Derived tables in the workspace: replaced whole and atomically, each row stamped with its spec version."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import ibis.expr.types as ir

from accord.ledger.store import Ledger

DERIVED_TABLES = ("derived_scores", "derived_leads", "derived_drivers", "derived_stages")


def replace_derived(ledger: Ledger, backend: Any, tables: dict[str, ir.Table]) -> dict[str, int]:
    """Build every table under a staging name, then swap all in one transaction: readers never see a mix."""
    from accord.engine.backends import create_table

    counts: dict[str, int] = {}
    for name, expr in tables.items():
        create_table(backend, f"{name}__new", expr)
        rows = ledger.con.execute(f"SELECT count(*) FROM {name}__new").fetchall()[0]
        counts[name] = int(rows[0])
    with ledger.transaction():
        for name in tables:
            ledger.con.execute(f"DROP TABLE IF EXISTS {name}")
            ledger.con.execute(f"ALTER TABLE {name}__new RENAME TO {name}")
            ledger.replace_stored(name)  # PostgreSQL, when it is the store: in the same write
    return counts


def record_run(
    ledger: Ledger,
    *,
    run_id: str,
    spec_version: str,
    as_of: datetime,
    started: datetime,
    finished: datetime,
    engine: str,
    counts: dict[str, int],
    timings: list[tuple[str, float]],
) -> None:
    ledger.execute_write(
        "INSERT INTO derive_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            run_id,
            spec_version,
            as_of,
            started,
            finished,
            engine,
            json.dumps(counts),
            json.dumps([[name, round(secs, 3)] for name, secs in timings]),
        ],
    )


def latest_run(ledger: Ledger) -> dict[str, Any] | None:
    cursor = ledger.con.execute("SELECT * FROM derive_runs ORDER BY finished_at DESC LIMIT 1")
    names = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
    return dict(zip(names, rows[0], strict=True)) if rows else None


def has_derived(ledger: Ledger) -> bool:
    return ledger.has_table("derived_leads")
