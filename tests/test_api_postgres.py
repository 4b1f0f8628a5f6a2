"""What only a PostgreSQL-backed server allows: other processes writing while it serves.

The API suites run on both stores (tests/test_api.py, tests/test_api_permissions.py, ...). A DuckDB
file belongs to the one process that holds it, so these tests have no DuckDB twin: another process
writes keys and events the running server must see at once, and the server's writes are read by
another process while it runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from accord import service
from tests.api_server import AS_OF, Server, Store, client, copy_demo, is_problem, make_keys

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, pg_url: str) -> Iterator[tuple[Server, dict[str, str]]]:
    store = Store.postgres(pg_url)
    root = copy_demo(tmp_path_factory.mktemp("pgapi") / "ws", store)
    keys = make_keys(root, {"admin": "dana", "viewer": "grace"}, store)
    server = Server(root, store=store).start()
    try:
        yield server, keys
    finally:
        server.stop()


def test_writes_of_another_process_are_seen_at_once(served: tuple[Server, dict[str, str]]) -> None:
    server, keys = served
    store = server.store
    (late,) = make_keys(server.root, {"marketing": "lena"}, store).values()  # while the server runs
    with client(late, base_url=server.url) as lena:
        assert lena.get("/spec").status_code == 200
    assigned = {"event_id": "pg-other-1", "occurred_at": "2026-11-02T08:00:00Z", "type": "assigned",
                "contact_id": "con-000070", "actor_id": "sam"}  # fmt: skip
    typed = {**assigned, "occurred_at": datetime(2026, 11, 2, 8, tzinfo=UTC)}
    with store.active():
        done = service.ingest(service.locate(server.root), [typed], now=AS_OF, decide=False)
    assert [i.status for i in done.items] == ["stored"]
    with client(keys["admin"], base_url=server.url) as admin:
        queue = admin.get("/queue/sam").json()
        assert "con-000070" in {i["contact_id"] for i in queue["items"]}
        again = admin.post("/events", json=assigned, params={"decide": "false"})
        assert again.status_code == 200 and again.json()["duplicates"] == 1


def test_the_servers_writes_are_read_by_another_process(served: tuple[Server, dict[str, str]]) -> None:
    server, keys = served
    with (
        client(keys["admin"], base_url=server.url) as admin,
        client(keys["viewer"], base_url=server.url) as viewer,
    ):
        stored = admin.post("/events", json=_event("pg-api-1", "pricing_view"), params={"decide": "false"})
        assert stored.status_code == 201, stored.text
        is_problem(viewer.post("/events", json={"events": []}), 403)
        with server.store.active(), service.locate(server.root).ledger(read_only=True) as ledger:
            assert ledger.pg is not None
            rows = ledger.con.execute("SELECT type FROM events WHERE event_id = 'pg-api-1'").fetchall()
            assert rows == [("pricing_view",)]
            refused = ledger.con.execute(
                "SELECT person FROM audit_log WHERE status = 403 AND path = '/api/v1/events'"
            ).fetchall()
            assert ("grace",) in refused


def _event(event_id: str, kind: str, **extra: Any) -> dict[str, Any]:
    return {"event_id": event_id, "occurred_at": "2026-11-02T11:00:00Z", "type": kind,
            "contact_id": "con-000011", **extra}  # fmt: skip
