"""A workspace held open by a long-running process (``accord serve``): one DuckDB connection, many cursors.

DuckDB lets one process write a database file, and inside that process every connection to the file must
share one configuration: a read-only open next to a read-write one is refused. A server therefore opens
the ledger once, read-write, and hands each use case a *cursor* of that connection (a cursor is its own
connection to the same database: its own transaction, its own registered Arrow tables, safe to use from
its own thread). Reads then run concurrently under DuckDB's MVCC; writes are serialized by
:attr:`HostedWorkspace.write_lock`, so two writers never race for the same rows.

Measured on the 2-core reference machine: opening the file costs about 25 ms (plus the migration check),
a cursor about 0.6 ms; a per-request open would cost more than the whole real-time decision.

With PostgreSQL (``ACCORD_DATABASE_URL``) the server holds one DuckDB working copy the same way, and
each use case gets a cursor of it plus a PostgreSQL connection from a small pool: loading the copy
costs about 0.6 s on the 300-contact demo, so it is loaded once and reloaded only when another process
wrote (the change counter moved), never per request.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from accord.ledger.postgres import PostgresStore
from accord.ledger.store import Ledger, WorkingCopy
from accord.service.workspace import Workspace, database_url, locate

_HELD: dict[Path, HostedWorkspace] = {}
_HELD_LOCK = threading.Lock()
T = TypeVar("T")
POOL_SIZE = 8
"""Idle PostgreSQL connections kept for reuse (a new one costs about 6 ms); more may be open at once."""


class _PooledView(Ledger):
    """A cursor of the held working copy with a pooled PostgreSQL connection, given back on close."""

    def __init__(self, held: HostedWorkspace, main: Ledger, pg: PostgresStore) -> None:
        super().__init__(main.path, main.con.cursor(), pg, main.copy)
        self._held = held

    def close(self) -> None:
        self.con.close()
        assert self.pg is not None
        self._held._give_back(self.pg)


class _KeptView(Ledger):
    """A view whose cursor goes back to its thread's idle list instead of closing (kept_ledger)."""

    def __init__(
        self, path: Path, con: duckdb.DuckDBPyConnection, *, copy: WorkingCopy, free: list[Any]
    ) -> None:
        super().__init__(path, con, copy=copy)
        self._free = free

    def close(self) -> None:
        self._free.append(self.con)


class HostedWorkspace(Workspace):
    """A :class:`Workspace` whose ledger stays open; ``ledger()`` returns a cursor-backed view of it."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.write_lock = threading.RLock()
        self._cursor_lock = threading.Lock()
        self._main = super().ledger()  # migrates once (and with PostgreSQL, loads the working copy)
        self._idle: list[PostgresStore] = []
        self._closed = False
        self.cache: dict[str, Any] = {}  # per-spec-version objects (the compiled real-time queries)
        self._cache_lock = threading.Lock()
        self._local = threading.local()  # each thread's idle cursors, see kept_ledger

    def ledger(self, *, read_only: bool = False) -> Ledger:
        """A cursor of the held connection; closing it leaves the database open for the others."""
        with self._cursor_lock:
            self._refuse_closed()
            if self._main.pg is None:
                # one WorkingCopy for every cursor: its generation tells caches about each write
                if read_only:
                    return self._kept_view()
                return Ledger(self.ledger_path, self._main.con.cursor(), copy=self._main.copy)
            pg = self._idle.pop() if self._idle else None
        if pg is None:
            pg = self._connect()
        view = _PooledView(self, self._main, pg)
        try:
            view.refresh()  # another process (a CLI import, another server) may have written
        except BaseException:
            view.close()
            raise
        return view

    def kept_ledger(self) -> Ledger:
        """A view on a cursor this thread used before, given back when the view closes: for reads,
        and for writes that leave nothing on their cursor (the API's group commits of events).

        Opening and closing a cursor each let go of the interpreter lock, and under load each
        wait to take it back behind the request threads: closing the cursor of a decision's
        handoff view was a seventh of a loaded server's samples. A read leaves nothing on its
        cursor (what it registers it unregisters), so the thread's next read can use it again. A
        write that makes temporary tables (derive, imports) must not: they would live on with it.
        """
        if self._main.pg is not None:
            return self.ledger()
        with self._cursor_lock:
            self._refuse_closed()
            return self._kept_view()

    def _refuse_closed(self) -> None:
        if self._closed:
            from accord.errors import WorkspaceError

            raise WorkspaceError(f"{self.root} was closed", hint="restart `accord serve`")

    def _kept_view(self) -> Ledger:
        free: list[duckdb.DuckDBPyConnection] | None = getattr(self._local, "free", None)
        if free is None:
            free = self._local.free = []
        con = free.pop() if free else self._main.con.cursor()
        return _KeptView(self.ledger_path, con, copy=self._main.copy, free=free)

    def _connect(self) -> PostgresStore:
        url = database_url()
        assert url is not None, "a PostgreSQL workspace was held without ACCORD_DATABASE_URL"
        return PostgresStore(url, self.store_key)

    def _give_back(self, pg: PostgresStore) -> None:
        """Keep a healthy idle connection for the next use case; close a spare or broken one."""
        with self._cursor_lock:
            if (
                not self._closed
                and not pg.in_transaction
                and not pg.conn.broken
                and len(self._idle) < POOL_SIZE
            ):
                self._idle.append(pg)
                return
        pg.close()

    @property
    def closed(self) -> bool:
        return self._closed

    def kept(self, key: str, make: Callable[[], T]) -> T:
        """What ``make`` builds, once per key for as long as the spec stays (see :meth:`reload_spec`):
        compiled evaluators, and the writers that group this workspace's commits."""
        with self._cache_lock:
            if key not in self.cache:
                self.cache[key] = make()
            found: T = self.cache[key]
            return found

    @property
    def local(self) -> bool:
        """The store is this workspace's own DuckDB file, which no other process can write while this
        one holds it: what this process has read of it stays true until this process writes."""
        return self._main.pg is None

    def reload_spec(self) -> None:
        """Forget the parsed spec (after the file changed) and everything compiled against it."""
        self.__dict__.pop("spec", None)
        self.cache.clear()

    def close(self) -> None:
        with self._cursor_lock:
            if not self._closed:
                self._closed = True
                self._main.close()
                for pg in self._idle:
                    pg.close()
                self._idle.clear()
        with _HELD_LOCK:
            if _HELD.get(self.root.resolve()) is self:
                del _HELD[self.root.resolve()]


def hold(root: Path) -> HostedWorkspace:
    """Open a workspace for the life of a server; later calls for the same folder share it."""
    key = Path(root).resolve()
    with _HELD_LOCK:
        held = _HELD.get(key)
        if held is not None and not held._closed:
            return held
        locate(root)  # refuses an incomplete folder with the usual message
        held = HostedWorkspace(Path(root))
        _HELD[key] = held
        return held


def held(root: Path) -> HostedWorkspace | None:
    """The workspace this process holds for ``root``, if any (so other code never opens it twice)."""
    with _HELD_LOCK:
        found = _HELD.get(Path(root).resolve())
        return found if found is not None and not found._closed else None


def writing(ws: Workspace) -> AbstractContextManager[Any]:
    """The write lock of a held workspace; nothing for a plain one (its process is the only writer)."""
    return ws.write_lock if isinstance(ws, HostedWorkspace) else nullcontext()
