"""Tiny worlds for report tests: a real workspace whose derived tables are written by hand.

Report definitions read stage histories, leads and score points; writing those directly lets a
test state exactly the situation whose answer it computed by hand, without depending on the
scoring model (the engine's own tests prove derive; these prove the metrics).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from accord import service
from accord.domain.reference import Event
from accord.ledger.derived import record_run
from accord.ledger.schema import TABLES
from accord.ledger.store import Ledger
from accord.reports.base import Filters, Report
from accord.reports.data import ReportData
from accord.reports.registry import run_report
from tests.harness import _arrow, fill

DAY = 86400
T0 = int(datetime(2026, 1, 5, 12, tzinfo=UTC).timestamp())  # a Monday, noon UTC


def at(days: float) -> datetime:
    """T0 plus some days, as an aware UTC instant."""
    return datetime.fromtimestamp(T0 + round(days * DAY), UTC)


def new_workspace(tmp_path: Path, edits: Sequence[tuple[str, str]] = ()) -> service.Workspace:
    """A workspace with the starter spec, each (old, new) edit applied (old must occur)."""
    text = service.STARTER_SPEC.read_text()
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new)
    return service.init_workspace(tmp_path / "ws", spec_text=text)


def insert(ledger: Ledger, kind: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """Rows into a dimension table (opportunities, content, users, campaigns...) as an import would."""
    table = TABLES[kind]
    ledger.con.register("incoming", _arrow(kind, rows))
    cols = [c.name for c in table.columns] + [table.extra]
    ledger.con.execute(
        f"INSERT INTO {table.name} ({', '.join(cols)}, content_hash, updated_at) "
        f"SELECT {', '.join(cols[:-1])}, {table.extra}::JSON, md5(random()::VARCHAR), now() FROM incoming"
    )
    ledger.con.unregister("incoming")


def _version(ledger: Ledger) -> str:
    """The hash of the spec beside the ledger, as derive stamps it (so reports see a fresh derive)."""
    from accord.spec.load import load_spec, spec_hash

    return spec_hash(load_spec(ledger.path.parent / "accord.yaml"))


def write_derived(
    ledger: Ledger,
    as_of: datetime,
    *,
    stages: Sequence[tuple[Any, ...]] = (),
    leads: Sequence[Mapping[str, Any]] = (),
    scores: Sequence[Mapping[str, Any]] = (),
) -> None:
    """Derived tables as derive would leave them, with exactly these rows.

    stages: (entity_type, entity_id, stage, entered_at, exited_at, exit_to, skipped), seq numbered in
    the given order per entity. leads: dicts with contact_id and any derived_leads column.
    scores: dicts with contact_id, at and any derived_scores column.
    """
    con = ledger.con
    con.execute("DROP TABLE IF EXISTS derived_stages")
    con.execute(
        """CREATE TABLE derived_stages (entity_type VARCHAR, entity_id VARCHAR, stage VARCHAR, seq BIGINT,
        entered_at  TIMESTAMPTZ, exited_at TIMESTAMPTZ, exit_to VARCHAR, skipped BOOLEAN,
        spec_version VARCHAR)"""
    )
    seq: dict[tuple[str, str], int] = {}
    for row in stages:
        kind, entity, stage, entered, exited, exit_to, skipped = row[:7]
        n = seq[(kind, entity)] = seq.get((kind, entity), 0) + 1
        if len(row) > 7:  # an explicit seq: the engine's are not in time order after a move back
            n = int(row[7])
        con.execute(
            "INSERT INTO derived_stages VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'test')",
            [kind, entity, stage, n, entered, exited, exit_to, skipped],
        )
    con.execute("DROP TABLE IF EXISTS derived_leads")
    con.execute(
        """CREATE TABLE derived_leads (contact_id VARCHAR, account_id VARCHAR, fit DOUBLE, intent DOUBLE,
        committee DOUBLE, score DOUBLE, tier VARCHAR, motion VARCHAR, disposition VARCHAR,
        assigned BOOLEAN, stage VARCHAR, stage_since TIMESTAMPTZ, top_driver VARCHAR,
        top_driver_points DOUBLE, as_of TIMESTAMPTZ, spec_version VARCHAR)"""
    )
    for lead in leads:
        con.execute(
            "INSERT INTO derived_leads (contact_id, account_id, score, tier, stage, as_of, spec_version) "
            "VALUES (?, ?, ?, ?, ?, ?, 'test')",
            [lead["contact_id"], lead.get("account_id"), lead.get("score"), lead.get("tier"),
             lead.get("stage"), as_of],
        )  # fmt: skip
    con.execute("DROP TABLE IF EXISTS derived_scores")
    con.execute(
        """CREATE TABLE derived_scores (contact_id VARCHAR, "at" TIMESTAMPTZ, trigger VARCHAR, fit DOUBLE,
        intent DOUBLE, committee DOUBLE, score DOUBLE, tier VARCHAR, motion VARCHAR,
        disposition VARCHAR, assigned BOOLEAN, stage VARCHAR, spec_version VARCHAR)"""
    )
    for s in scores:
        con.execute(
            "INSERT INTO derived_scores (contact_id, \"at\", trigger, fit, intent, score, tier, stage, "
            "spec_version) "
            "VALUES (?, ?, 'event', ?, ?, ?, ?, ?, 'test')",
            [s["contact_id"], s["at"], s.get("fit"), s.get("intent"), s.get("score"), s.get("tier"),
             s.get("stage")],
        )  # fmt: skip
    con.execute("DROP TABLE IF EXISTS derived_drivers")
    con.execute(
        """CREATE TABLE derived_drivers (contact_id VARCHAR, rank BIGINT, component VARCHAR, key VARCHAR,
        label VARCHAR, points DOUBLE, count BIGINT, last_at TIMESTAMPTZ, detail VARCHAR,
        spec_version VARCHAR)"""
    )
    record_run(ledger, run_id=f"test-{uuid.uuid4().hex}", spec_version=_version(ledger), as_of=as_of,
               started=as_of, finished=datetime.now(UTC), engine="test", counts={}, timings=[])  # fmt: skip


def build(ws: service.Workspace, name: str, filters: Filters | None = None, **options: Any) -> Report:
    """One report on the workspace, in-process."""
    with ws.ledger(read_only=True) as ledger:
        return run_report(name, ReportData(ledger, ws.spec, filters or Filters()), options)


def rows(report: Report, section: str) -> list[dict[str, Any]]:
    return report.section(section).records()


__all__ = [
    "DAY",
    "T0",
    "Event",
    "at",
    "build",
    "fill",
    "insert",
    "json",
    "new_workspace",
    "rows",
    "write_derived",
]
