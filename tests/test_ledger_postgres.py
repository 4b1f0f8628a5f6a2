"""PostgreSQL as the store of record: what only a shared server adds to the ledger's guarantees.

``tests/test_ledger.py`` already runs every import guarantee on both stores; here: migrations in a
PostgreSQL schema, failures PostgreSQL itself raises, other writers, and a demo derived and reported
identically on both stores.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from accord import service
from accord.cli.main import app
from accord.errors import LedgerError, WorkspaceError
from accord.ledger.importer import ImportRequest, run_import
from accord.ledger.postgres import schema_name
from accord.ledger.schema import MIGRATIONS, MIGRATIONS_DDL, SCHEMA_VERSION, TABLES
from accord.ledger.store import Ledger
from accord.ledger.writes import FAULT_ENV

EVENTS = (
    "event_id,occurred_at,type,contact_id\n"
    "e1,2026-07-01T09:00:00Z,page_view,c1\ne2,2026-07-02T09:00:00Z,demo_request,c1\n"
)
CONTACTS = "contact_id,title,email\nc1,Manager,a@x.io\nc2,,b@x.io\n"
CONTACTS_CHANGED = "contact_id,title,email\nc1,Director,a@x.io\nc2,,b@x.io\nc3,CTO,\n"
AS_OF = "2026-06-30T00:00:00Z"


def pg_rows(url: str, key: str, query: str) -> list[tuple[Any, ...]]:
    """Read PostgreSQL itself, not the working copy: proves what is really stored."""
    with psycopg.connect(url, options=f"-c search_path={schema_name(key)}") as conn:
        return conn.execute(query).fetchall()


def imp(ws: service.Workspace, kind: str, file: Path) -> Any:
    return service.import_file(ws, ImportRequest(file=file, kind=kind))


def test_init_creates_a_schema_at_the_current_version(tmp_path: Path, on_postgres: str, pg_url: str) -> None:
    ws = service.init_workspace(tmp_path / "ws")
    assert not ws.ledger_path.exists()  # nothing on disk but the agreement
    assert service.locate(ws.root) == ws
    with ws.ledger() as ledger:
        assert ledger.schema_version() == SCHEMA_VERSION
        assert ledger.migrate() == []
        assert set(ledger.counts()) == set(TABLES)
    versions = pg_rows(pg_url, on_postgres, "SELECT version FROM accord_migrations ORDER BY 1")
    assert [v for (v,) in versions] == [m.version for m in MIGRATIONS]
    with pytest.raises(WorkspaceError, match="already holds"):
        service.init_workspace(tmp_path / "ws")


def test_missing_schema_and_newer_schema_are_refused(pg_url: str, on_postgres: str) -> None:
    with pytest.raises(LedgerError, match="no ledger in postgresql schema"):
        Ledger.open_postgres(pg_url, on_postgres)
    Ledger.open_postgres(pg_url, on_postgres, create=True).close()
    with psycopg.connect(pg_url, options=f"-c search_path={schema_name(on_postgres)}") as conn:
        conn.execute("INSERT INTO accord_migrations VALUES (99, 'future', now())")
    with pytest.raises(LedgerError, match="newer than this Accord"):
        Ledger.open_postgres(pg_url, on_postgres)


def test_an_old_schema_is_migrated_on_open(pg_url: str, on_postgres: str) -> None:
    """A schema left at version 1 (as an older Accord wrote it) gets the rest, in PostgreSQL too."""
    from accord.ledger.postgres import PostgresStore

    store = PostgresStore(pg_url, on_postgres)
    assert store.migrate(MIGRATIONS[:1], MIGRATIONS_DDL) == [1]
    store.close()
    with Ledger.open_postgres(pg_url, on_postgres) as ledger:
        assert ledger.schema_version() == SCHEMA_VERSION
    tables = {
        t
        for (t,) in pg_rows(
            pg_url, on_postgres, "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        )
    }
    assert {"derive_runs", "webhook_deliveries", "api_keys"} <= tables


def test_fingerprint_equals_the_duckdb_workspace_after_the_same_imports(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    files: dict[str, Path] = {}
    for name, text in {"e.csv": EVENTS, "c1.csv": CONTACTS, "c2.csv": CONTACTS_CHANGED}.items():
        files[name] = tmp_path / name
        files[name].write_text(text, encoding="utf-8")
    plan = [("events", "e.csv"), ("contacts", "c1.csv"), ("contacts", "c2.csv"), ("events", "e.csv")]
    duck = service.init_workspace(tmp_path / "duck")
    monkeypatch.setenv("ACCORD_DATABASE_URL", pg_url)
    monkeypatch.setenv("ACCORD_DATABASE_SCHEMA", "fingerprint")
    pg = service.init_workspace(tmp_path / "pg")
    counts: dict[str, list[tuple[int, ...]]] = {}
    prints: dict[str, dict[str, tuple[int, str]]] = {}
    for ws in (pg, duck):
        if ws is duck:
            monkeypatch.delenv("ACCORD_DATABASE_URL")
        done = [imp(ws, kind, files[name]) for kind, name in plan]
        counts[ws.root.name] = [(r.imported, r.updated, r.duplicates, r.rejected) for r in done]
        with ws.ledger(read_only=True) as ledger:
            prints[ws.root.name] = ledger.fingerprint()
    assert counts["pg"] == counts["duck"]
    assert prints["pg"] == prints["duck"]
    stored = pg_rows(pg_url, "fingerprint", "SELECT title FROM contacts WHERE contact_id = 'c1'")
    assert stored == [("Director",)]
    updates = pg_rows(pg_url, "fingerprint", "SELECT count(*) FROM events WHERE type = 'record_updated'")
    assert updates == [(1,)]


def test_a_failure_in_postgresql_rolls_back_both_stores(
    tmp_path: Path, pg_url: str, on_postgres: str
) -> None:
    ws = service.init_workspace(tmp_path / "ws")
    (tmp_path / "c.csv").write_text(CONTACTS, encoding="utf-8")
    (tmp_path / "e.csv").write_text(EVENTS, encoding="utf-8")
    imp(ws, "contacts", tmp_path / "c.csv")
    # A rule only PostgreSQL knows: the DuckDB copy accepts the rows, PostgreSQL refuses the last write.
    with psycopg.connect(pg_url, options=f"-c search_path={schema_name(on_postgres)}") as conn:
        conn.execute("ALTER TABLE events ADD CONSTRAINT no_demos CHECK (type <> 'demo_request')")
    before = pg_rows(pg_url, on_postgres, "SELECT count(*), max(counter) FROM events, accord_changes")
    with ws.ledger() as ledger:
        fp = ledger.fingerprint()
        with pytest.raises(LedgerError, match="no_demos") as caught:
            run_import(ledger, ws.spec, ImportRequest(file=tmp_path / "e.csv", kind="events"), ws.root, None)
        assert "rolled back" in caught.value.message
        assert ledger.fingerprint() == fp  # the working copy too
    assert pg_rows(pg_url, on_postgres, "SELECT count(*), max(counter) FROM events, accord_changes") == before
    assert pg_rows(pg_url, on_postgres, "SELECT count(*) FROM imports") == [(1,)]


def test_a_crash_before_postgresql_commits_stores_nothing(
    tmp_path: Path, pg_url: str, on_postgres: str
) -> None:
    ws = service.init_workspace(tmp_path / "ws")
    file = tmp_path / "e.csv"
    file.write_text(EVENTS, encoding="utf-8")
    env = {**os.environ, FAULT_ENV: "before_postgres_commit"}
    proc = subprocess.run(
        [sys.executable, "-m", "accord.cli", "import", "events", str(file), "-w", str(ws.root)],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 86, proc.stderr
    assert pg_rows(pg_url, on_postgres, "SELECT count(*) FROM events") == [(0,)]
    assert pg_rows(pg_url, on_postgres, "SELECT count(*) FROM imports") == [(0,)]


def test_other_writers_are_noticed_and_never_overwritten(tmp_path: Path, on_postgres: str) -> None:
    """Two long-lived processes: each sees the other's writes, on refresh or before its own write."""
    ws = service.init_workspace(tmp_path / "ws")
    (tmp_path / "e.csv").write_text(EVENTS, encoding="utf-8")
    (tmp_path / "c.csv").write_text(CONTACTS, encoding="utf-8")

    with ws.ledger() as first, ws.ledger() as second:
        assert not second.refresh()
        run_import(first, ws.spec, ImportRequest(file=tmp_path / "e.csv", kind="events"), ws.root, None)
        assert second.counts()["events"] == 0  # stale until it looks
        assert second.refresh()
        assert second.counts()["events"] == 2
        run_import(first, ws.spec, ImportRequest(file=tmp_path / "c.csv", kind="contacts"), ws.root, None)
        # second writes without refreshing: it reloads first, so the same events are duplicates, not conflicts
        again = run_import(
            second, ws.spec, ImportRequest(file=tmp_path / "e.csv", kind="events"), ws.root, None
        )
        assert (again.imported, again.duplicates) == (0, 2)
        assert second.counts()["contacts"] == 2
        assert first.refresh()
        assert second.fingerprint() == first.fingerprint()


def _demo_outputs(root: Path) -> dict[str, Any]:
    runner = CliRunner()
    made = runner.invoke(
        app, ["demo", str(root), "--contacts", "150", "--seed", "5", "--as-of", AS_OF, "--force"]
    )
    assert made.exit_code == 0, made.output
    report = runner.invoke(app, ["report", "scorecard", "-w", str(root), "-f", "json"])
    assert report.exit_code == 0, report.output
    ws = service.locate(root)
    out: dict[str, Any] = {"report": json.loads(report.output)}
    with ws.ledger(read_only=True) as ledger:
        for table in ("derived_leads", "derived_scores", "derived_drivers", "derived_stages"):
            out[table] = ledger.con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
            out[table + ":types"] = ledger.con.execute(f"DESCRIBE {table}").fetchall()
        out["fingerprint"] = ledger.fingerprint()
    return out


@pytest.mark.slow
def test_a_demo_on_postgresql_derives_and_reports_exactly_like_duckdb(
    tmp_path: Path, on_postgres: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_pg = _demo_outputs(tmp_path / "pg")
    monkeypatch.delenv("ACCORD_DATABASE_URL")
    on_duck = _demo_outputs(tmp_path / "duck")
    assert on_pg["derived_leads"], "the demo derived nothing"
    for key in on_duck:
        assert on_pg[key] == on_duck[key], key
