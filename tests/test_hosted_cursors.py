"""A held workspace keeps each thread's read cursors for its next read (service.hosted._kept_view):
reads must still see every commit, never share a cursor across threads or nested views, and closing
the workspace must still release the database file."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from accord import service
from accord.errors import WorkspaceError
from accord.service.hosted import HostedWorkspace


@pytest.fixture
def ws(tmp_path: Path) -> HostedWorkspace:
    service.init_workspace(tmp_path / "ws")
    return HostedWorkspace(tmp_path / "ws")


def _count(ws: HostedWorkspace) -> tuple[int, object]:
    with ws.ledger(read_only=True) as ledger:
        return int(ledger.con.execute("SELECT count(*) FROM audit_log").fetchall()[0][0]), ledger.con


def test_a_thread_reuses_its_read_cursor_and_sees_later_commits(ws: HostedWorkspace) -> None:
    try:
        before, first = _count(ws)
        with ws.ledger() as writer:
            assert writer.con is not first  # a write never runs on a kept read cursor
            writer.execute_write(
                "INSERT INTO audit_log VALUES (now(), NULL, NULL, NULL, 'POST', '/t', 201, '{}')"
            )
        after, second = _count(ws)
        assert second is first
        assert after == before + 1
    finally:
        ws.close()


def test_nested_reads_and_other_threads_get_their_own_cursors(ws: HostedWorkspace) -> None:
    try:
        with ws.ledger(read_only=True) as outer, ws.ledger(read_only=True) as inner:
            assert outer.con is not inner.con
            mine = {id(outer.con), id(inner.con)}
        seen: list[object] = []
        thread = threading.Thread(target=lambda: seen.append(_count(ws)[1]))
        thread.start()
        thread.join()
        assert id(seen[0]) not in mine
        assert id(_count(ws)[1]) in mine  # back on this thread: one of its own
    finally:
        ws.close()


def test_the_group_writers_kept_cursor_commits_and_is_reused(ws: HostedWorkspace) -> None:
    """The API's group commits and audit rows write on a kept cursor: what they write is committed
    (another thread reads it) and the thread's next read runs on the same cursor."""
    try:
        with ws.kept_ledger() as writer:
            writer.execute_write(
                "INSERT INTO audit_log VALUES (now(), NULL, NULL, NULL, 'POST', '/k', 201, '{}')"
            )
            used = writer.con
        seen: list[int] = []
        thread = threading.Thread(target=lambda: seen.append(_count(ws)[0]))
        thread.start()
        thread.join()
        assert seen == [1]
        assert _count(ws)[1] is used
    finally:
        ws.close()


def test_closing_the_workspace_releases_the_file_despite_kept_cursors(ws: HostedWorkspace) -> None:
    _count(ws)
    ws.close()
    with pytest.raises(WorkspaceError):
        ws.ledger(read_only=True)
    with pytest.raises(WorkspaceError):
        ws.kept_ledger()
    code = "import duckdb, sys; duckdb.connect(sys.argv[1]).execute('SELECT 1'); print('opened')"
    done = subprocess.run(
        [sys.executable, "-c", code, str(ws.ledger_path)], capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip() == "opened", done.stderr
