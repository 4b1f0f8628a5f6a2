"""What only a PostgreSQL-backed server allows: other processes writing while it serves.

The API suites run on both stores (tests/test_api.py, tests/test_api_permissions.py, ...). A DuckDB
file belongs to the one process that holds it, so these tests have no DuckDB twin: another process
writes keys and events the running server must see at once, the server's writes are read by another
process while it runs, and an id another writer stores in the middle of a request is answered as a
conflict, not as stored.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg
import pytest

from accord import service
from accord.ledger.imports import Stager
from accord.ledger.postgres import schema_name
from accord.ledger.schema import TABLES
from accord.service.ingestion import events_table
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


def test_an_id_another_writer_stores_mid_request_is_reported_as_its(
    served: tuple[Server, dict[str, str]],
) -> None:
    """Another writer commits the same id, other content, between the server's look-up and its commit.

    The test holds PostgreSQL's write lock (the change counter row) while the server's request looks
    the id up, finds nothing and queues for the lock; it then stores that id itself and lets go. The
    server's commit reloads and keeps the first-stored event, and its answer must say so.
    """
    server, keys = served
    mine, theirs = (
        _event("pg-mid-1", "page_view", topic="mine"),
        _event("pg-mid-1", "page_view", topic="theirs"),
    )
    assert server.store.url is not None
    answer: list[httpx.Response] = []
    with psycopg.connect(server.store.url, autocommit=True) as pg:
        pg.execute(f"SET search_path = {schema_name(str(server.store.schema))}")
        pg.execute("BEGIN")
        pg.execute("SELECT counter FROM accord_changes WHERE id = 1 FOR UPDATE")
        sender = threading.Thread(target=lambda: answer.append(_post(server, keys["admin"], mine)))
        sender.start()
        _until_waiting_for_a_lock(pg)
        _store_directly(pg, theirs)
        pg.execute("UPDATE accord_changes SET counter = counter + 1 WHERE id = 1")
        pg.execute("COMMIT")
        sender.join(timeout=60)
    (got,) = answer
    problem = is_problem(got, 409)
    assert problem["errors"][0]["event_id"] == "pg-mid-1"
    with client(keys["admin"], base_url=server.url) as admin:
        assert admin.post("/events", json=theirs, params={"decide": "false"}).json()["duplicates"] == 1


def _post(server: Server, key: str, event: dict[str, Any]) -> httpx.Response:
    with client(key, base_url=server.url) as c:
        return c.post("/events", json=event, params={"decide": "false"})


def _until_waiting_for_a_lock(pg: psycopg.Connection[Any]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        row = pg.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        ).fetchone()
        if row and row[0]:
            return
        time.sleep(0.05)
    raise AssertionError("the server's request never queued for the write lock")


def _store_directly(pg: psycopg.Connection[Any], event: dict[str, Any]) -> None:
    """Store one event as another Accord process would: staged (so its hash is Accord's), then inserted."""
    typed = {**event, "occurred_at": datetime.fromisoformat(event["occurred_at"])}
    stager = Stager("UTC")
    try:
        (row,) = stager.stage_typed("events", events_table([typed]), label="other").rows.to_pylist()
    finally:
        stager.close()
    columns = [c.name for c in TABLES["events"].columns] + ["properties", "content_hash"]
    pg.execute(
        f"INSERT INTO events ({', '.join(columns)}, import_id, ingested_at) "
        f"VALUES ({', '.join('%s' for _ in columns)}, 'other', now())",
        [row[c] for c in columns],
    )


def _event(event_id: str, kind: str, **extra: Any) -> dict[str, Any]:
    return {"event_id": event_id, "occurred_at": "2026-11-02T11:00:00Z", "type": kind,
            "contact_id": "con-000011", **extra}  # fmt: skip
