"""The API on a PostgreSQL-backed workspace: a real server process, a real PostgreSQL server.

The API tests proper run on the embedded DuckDB workspace; this proves the same server, pointed at
PostgreSQL with `ACCORD_DATABASE_URL`, answers the same numbers, keeps its keys and audit there, and
stores what it ingests where another process sees it.
"""

from __future__ import annotations

from pathlib import Path

from accord import service
from accord.reports.base import Filters
from tests.api_server import AS_OF, Server, client, is_problem, make_keys
from tests.pg import on_postgres, pg_url  # noqa: F401 - fixtures


def test_the_api_serves_a_postgresql_workspace(on_postgres: str, tmp_path: Path) -> None:  # noqa: F811
    root = tmp_path / "demo"
    ws = service.build_demo(root, contacts=150, seed=5, as_of=AS_OF).workspace
    keys = make_keys(root, {"admin": "dana", "viewer": "grace"})
    expected = service.report(ws, "scorecard", Filters()).to_dict()
    server = Server(root).start()
    try:
        with (
            client(keys["admin"], base_url=server.url) as admin,
            client(keys["viewer"], base_url=server.url) as viewer,
        ):
            got = admin.get("/reports/scorecard")
            assert got.status_code == 200, got.text
            assert got.json() == expected
            stored = admin.post(
                "/events",
                json={"event_id": "pg-api-1", "occurred_at": "2026-11-02T11:00:00Z", "type": "pricing_view",
                      "contact_id": "con-000011"},
                params={"decide": "false"},
            )  # fmt: skip
            assert stored.status_code == 201, stored.text
            is_problem(viewer.post("/events", json={"events": []}), 403)
            audit = admin.get("/audit").json()
            assert any(row["path"].endswith("/events") and row["status"] == 201 for row in audit["audit"])
    finally:
        server.stop()
    # another process (this one) opening the workspace reads what the server stored in PostgreSQL
    with service.locate(root).ledger(read_only=True) as ledger:
        assert ledger.pg is not None
        rows = ledger.con.execute("SELECT type FROM events WHERE event_id = 'pg-api-1'").fetchall()
        assert rows == [("pricing_view",)]
        audited = ledger.con.execute("SELECT count(*) FROM audit_log WHERE status = 403").fetchall()[0][0]
        assert audited >= 1
