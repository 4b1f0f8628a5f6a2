"""The workspace's DuckDB file: open, migrate, and commit staged imports in one transaction.

Every write goes through :meth:`Ledger.commit` (its steps are in :mod:`accord.ledger.writes`), which
either applies a whole batch or nothing: a bad file, a failed statement or a crash midway leaves the
ledger exactly as it was (DuckDB discards an uncommitted transaction on the next open).

With ``ACCORD_DATABASE_URL`` the store of record is PostgreSQL (:mod:`accord.ledger.postgres`) and
``con`` is an in-memory DuckDB working copy of it: every write runs in DuckDB inside a transaction,
the rows it touched are copied to PostgreSQL in one PostgreSQL transaction, and DuckDB commits only
after PostgreSQL did. Readers never know which store is behind ``con``.
"""

from __future__ import annotations

import re
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from accord.errors import LedgerError
from accord.ledger import writes
from accord.ledger.postgres import PostgresStore, duck_type
from accord.ledger.schema import MIGRATIONS, MIGRATIONS_DDL, SCHEMA_VERSION, TABLES
from accord.ledger.writes import _fault, _lit, _now

LEDGER_FILE = "accord.duckdb"


def connect(path: str | Path = ":memory:", *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection that never tries to download extensions (there is no network here)."""
    config: dict[str, str | bool | int | float | list[str]] = {
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": True,
    }
    con = duckdb.connect(str(path), read_only=read_only, config=config)
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    return con


@dataclass
class WorkingCopy:
    """What every :class:`Ledger` on one DuckDB working copy of PostgreSQL shares.

    A server keeps one copy and gives each request a Ledger of its own (a DuckDB cursor, a PostgreSQL
    connection) on it; they must agree on which change counter the copy holds, or each would reload
    the whole ledger after the others' writes. The lock makes a reload and a write one step each.
    """

    seen: int = -1  # the PostgreSQL change counter the copy was loaded at (or last written)
    declared: set[str] = field(default_factory=set)  # tables the migrations create, not derived ones
    lock: threading.RLock = field(default_factory=threading.RLock)
    generation: int = 0  # committed transactions on this database by this process, reloads included
    _bump: threading.Lock = field(default_factory=threading.Lock)

    def committed(self) -> None:
        """One more transaction landed: what was read before it may be stale (see engine.realtime)."""
        with self._bump:
            self.generation += 1


def lock_holder(message: str) -> str | None:
    """Who holds a DuckDB file, from DuckDB's lock error: "PID 5189, accord serve -w acme --port 8741"
    where /proc tells the command line. None when the error is not a lock conflict."""
    found = re.search(r"Conflicting lock is held in .*?\(PID (\d+)\)", message)
    if found is None:
        return None
    pid = found.group(1)
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return f"PID {pid}"
    words = [a.decode(errors="replace") for a in argv if a]
    # "python .venv/bin/accord serve ..." reads best from the program's name on
    start = next((i for i, w in enumerate(words) if Path(w).name == "accord"), 0)
    shown = " ".join([Path(words[start]).name, *words[start + 1 :]]) if words else ""
    return f"PID {pid}, {shown}" if shown else f"PID {pid}"


class Ledger:
    """One workspace's store. Use as a context manager so the file is always closed."""

    def __init__(
        self,
        path: Path,
        con: duckdb.DuckDBPyConnection,
        pg: PostgresStore | None = None,
        copy: WorkingCopy | None = None,
    ) -> None:
        self.path = path
        self.con = con
        self.pg = pg
        self.copy = copy or WorkingCopy()

    @classmethod
    def create(cls, path: Path) -> Ledger:
        if path.exists():
            raise LedgerError(f"{path} already exists", hint="open it instead, or choose another folder")
        path.parent.mkdir(parents=True, exist_ok=True)
        ledger = cls(path, connect(path))
        ledger.migrate()
        return ledger

    @classmethod
    def open(cls, path: Path, *, read_only: bool = False) -> Ledger:
        if not path.exists():
            raise LedgerError(
                f"no ledger at {path}", hint="create a workspace with `accord init DIR` or `accord demo DIR`"
            )
        try:
            con = connect(path, read_only=read_only)
        except duckdb.Error as exc:
            holder = lock_holder(str(exc))
            if holder is not None:
                raise LedgerError(
                    f"cannot open {path}: another process holds it ({holder})",
                    hint="DuckDB lets one process open a workspace at a time: if that is `accord serve`, "
                    "stop it first or do this through its API (docs/api.md); with several users, keep the "
                    "workspace in PostgreSQL (ACCORD_DATABASE_URL, docs/ledger.md)",
                ) from None
            raise LedgerError(
                f"cannot open {path}: {exc}",
                hint="is another Accord process writing to it? DuckDB allows one writer",
            ) from None
        ledger = cls(path, con)
        if not read_only:
            ledger.migrate()
        else:
            ledger._check_version()
        return ledger

    @classmethod
    def open_postgres(
        cls, url: str, workspace_key: str, *, read_only: bool = False, create: bool = False
    ) -> Ledger:
        """The workspace's PostgreSQL schema behind an in-memory DuckDB working copy of all its tables.

        ``create`` makes the schema (``accord init``); otherwise a missing one is refused, so a typo
        in a workspace name never starts an empty ledger. ``read_only`` skips migrations.
        """
        pg = PostgresStore(url, workspace_key)
        ledger = cls(Path(pg.label), connect(":memory:"), pg)
        try:
            if not create and not pg.exists():
                raise LedgerError(
                    f"no ledger in {pg.label}",
                    hint="create the workspace with `accord init DIR` (with ACCORD_DATABASE_URL set)",
                )
            if create and pg.exists():
                raise LedgerError(f"{pg.label} already exists", hint="pass --force to start over")
            if read_only:
                ledger._check_version()
                ledger._load()
            else:
                ledger.migrate()
        except BaseException:
            ledger.close()
            raise
        return ledger

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()
        if self.pg is not None:
            self.pg.close()

    # ---- schema ---------------------------------------------------------------------------------

    def has_table(self, name: str) -> bool:
        """Whether the working copy holds this table (derived tables exist once derive has run).

        duckdb_tables() rather than information_schema: the same answer for tables at half the cost,
        and decisions ask on every request."""
        rows = self.con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [name]
        ).fetchall()
        return bool(rows[0][0])

    def schema_version(self) -> int:
        if self.pg is not None:
            return self.pg.version()
        if not self.has_table("accord_migrations"):
            return 0
        row = self.con.execute("SELECT coalesce(max(version), 0) FROM accord_migrations").fetchall()[0]
        return int(row[0]) if row else 0

    def _check_version(self) -> int:
        version = self.schema_version()
        if version > SCHEMA_VERSION:
            raise LedgerError(
                f"{self.path} has schema version {version}, newer than this Accord ({SCHEMA_VERSION})",
                hint="upgrade Accord before opening this workspace",
            )
        return version

    def migrate(self) -> list[int]:
        """Apply pending migrations, each in its own transaction; returns the versions applied."""
        version = self._check_version()
        if self.pg is not None:
            applied = self.pg.migrate(MIGRATIONS, MIGRATIONS_DDL)
            self._load()
            return applied
        return self._migrate_duckdb(version)

    def _migrate_duckdb(self, version: int) -> list[int]:
        applied: list[int] = []
        self.con.execute(MIGRATIONS_DDL)
        for migration in MIGRATIONS:
            if migration.version <= version:
                continue
            with self._duckdb_transaction():
                for statement in migration.statements:
                    self.con.execute(statement)
                self.con.execute(
                    "INSERT INTO accord_migrations VALUES (?, ?, ?)",
                    [migration.version, migration.description, _now()],
                )
            applied.append(migration.version)
        return applied

    @contextmanager
    def transaction(self, *, facts: bool = True) -> Iterator[None]:
        """One write: DuckDB and, when PostgreSQL is the store, PostgreSQL too, committed first.

        With PostgreSQL the change counter is locked first, so writers take turns, and a working copy
        another writer has made stale is reloaded before this write computes anything from it.
        ``facts=False`` promises the write leaves events, contacts and accounts alone, so caches of
        them (engine.realtime) stay valid: the audit log is written on every API request.
        """
        if self.pg is None:
            with self._duckdb_transaction(facts=facts):
                yield
            return
        with self.copy.lock:
            counter = self.pg.begin()
            try:
                if counter != self.copy.seen:
                    self._load()
                with self._duckdb_transaction(facts=facts):
                    yield
                    _fault("before_postgres_commit")
                    self.copy.seen = self.pg.commit()
            except BaseException:
                self.pg.rollback()
                raise

    @contextmanager
    def _duckdb_transaction(self, *, facts: bool = True) -> Iterator[None]:
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")
        if facts:
            self.copy.committed()

    # ---- PostgreSQL: the working copy and replication ----------------------------------------

    def refresh(self) -> bool:
        """Reload the working copy when another process wrote to PostgreSQL; True when it did.

        The first look takes no lock, so readers never wait behind a write of this process; a
        counter that moved is checked again under the lock, since the mover may be that write.
        """
        if self.pg is None or self.pg.counter() == self.copy.seen:
            return False
        with self.copy.lock:
            if self.pg.counter() == self.copy.seen:
                return False
            self._load()
        return True

    def _load(self) -> None:
        """Fill the DuckDB working copy from one consistent PostgreSQL snapshot, in one DuckDB transaction.

        One transaction, so readers on other cursors of the copy see the old ledger or the new one,
        never a table emptied halfway through the reload.
        """
        assert self.pg is not None
        if not self.copy.declared:
            self._migrate_duckdb(0)
            self.copy.declared.update(
                str(r[0])
                for r in self.con.execute("SELECT table_name FROM information_schema.tables").fetchall()
            )
        with (
            self.pg.snapshot() as counter,
            tempfile.TemporaryDirectory(prefix="accord-pg-") as tmp,
            self._duckdb_transaction(),
        ):
            for name, columns in self.pg.tables().items():
                names = [c for c, _ in columns]
                path = Path(tmp) / f"{name}.csv"
                size = self.pg.dump(name, names, path)
                types = "{" + ", ".join(f"{_lit(c)}: {_lit(duck_type(t))}" for c, t in columns) + "}"
                source = (
                    f"read_csv({_lit(str(path))}, columns = {types}, header = false, auto_detect = false, "
                    "allow_quoted_nulls = false, quote = '\"', escape = '\"', delim = ',')"
                    if size
                    else f"(SELECT {', '.join(f'NULL::{duck_type(t)} AS {c}' for c, t in columns)} LIMIT 0)"
                )
                cols = ", ".join(f'"{c}"' for c in names)
                if name in self.copy.declared:
                    self.con.execute(f"DELETE FROM {name}")
                    self.con.execute(f"INSERT INTO {name} ({cols}) SELECT {cols} FROM {source}")
                else:
                    self.con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT {cols} FROM {source}")
            self.copy.seen = counter

    def replicate(self, table: str, where: str = "true", *, upsert: bool = True) -> None:
        """Copy the rows of a DuckDB table that match ``where`` to PostgreSQL, inside ``transaction()``.

        Call it after the DuckDB statement that wrote them: rows whose primary key PostgreSQL already
        holds are replaced (``upsert``) or refused (an append-only table). No-op without PostgreSQL.
        """
        if self.pg is None:
            return
        columns = [str(r[0]) for r in self.con.execute(f"DESCRIBE {table}").fetchall()]
        key: list[str] = []
        if upsert:
            found = self.con.execute(
                "SELECT constraint_column_names FROM duckdb_constraints() "
                "WHERE table_name = ? AND constraint_type = 'PRIMARY KEY'",
                [table],
            ).fetchall()
            key = [str(c) for c in found[0][0]] if found else []
        with tempfile.TemporaryDirectory(prefix="accord-pg-") as tmp:
            path = Path(tmp) / "rows.csv"
            cols = ", ".join(f'"{c}"' for c in columns)
            self.con.execute(
                f"COPY (SELECT {cols} FROM {table} WHERE {where}) "
                f"TO {_lit(str(path))} (FORMAT csv, HEADER false)"
            )
            self.pg.load(table, columns, path, upsert_key=key)

    def replace_stored(self, table: str) -> None:
        """Re-create a whole table (a derived one) in PostgreSQL from the working copy's version."""
        if self.pg is None:
            return
        described = self.con.execute(f"DESCRIBE {table}").fetchall()
        columns = [(str(r[0]), str(r[1])) for r in described]
        with tempfile.TemporaryDirectory(prefix="accord-pg-") as tmp:
            path = Path(tmp) / "rows.csv"
            self.con.execute(f"COPY (SELECT * FROM {table}) TO {_lit(str(path))} (FORMAT csv, HEADER false)")
            self.pg.replace_table(table, columns, path)

    def execute_write(
        self, statement: str, params: list[Any] | None = None, *, pg_statement: str | None = None
    ) -> None:
        """Run one INSERT/UPDATE/DELETE on the working copy and on PostgreSQL, in one write.

        The same SQL runs on both; DuckDB's ``?`` placeholders become psycopg's ``%s`` unless
        ``pg_statement`` gives PostgreSQL its own text (for SQL the two dialects spell differently).
        """
        facts = _FACT_TABLES.search(statement) is not None
        if self.pg is None:
            # One statement commits by itself: BEGIN and COMMIT around it cost two more calls, each
            # a wait for the interpreter lock on a busy server (the audit row of every write).
            self.con.execute(statement, params or [])
            if facts:
                self.copy.committed()
            return
        with self.transaction(facts=facts):
            self.con.execute(statement, params or [])
            self.pg.execute(pg_statement or statement.replace("?", "%s"), params or [])

    # ---- reading --------------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for kind, table in TABLES.items():
            row = self.con.execute(f"SELECT count(*) FROM {table.name}").fetchall()[0]
            out[kind] = int(row[0]) if row else 0
        return out

    def fingerprint(self) -> dict[str, tuple[int, str]]:
        """Row count and an order-independent content digest per table: equal means unchanged."""
        out: dict[str, tuple[int, str]] = {}
        for kind, table in TABLES.items():
            row = self.con.execute(
                f"SELECT count(*), coalesce(bit_xor(hash(content_hash, {table.key})), 0)::VARCHAR "
                f"FROM {table.name}"
            ).fetchall()[0]
            out[kind] = (int(row[0]), str(row[1])) if row else (0, "0")
        return out

    def written(self) -> tuple[Any, ...]:
        """A mark that changes with every write and nothing else: each commit (events, records,
        Accord's own notices, dispositions, touches) logs one row in ``imports``."""
        row = self.con.execute("SELECT count(*), max(finished_at) FROM imports").fetchone()
        return tuple(row or ())

    def imports(self) -> list[dict[str, Any]]:
        cursor = self.con.execute("SELECT * FROM imports ORDER BY started_at")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]

    def known_ids(self, kind: str) -> set[str]:
        table = TABLES[kind]
        return {r[0] for r in self.con.execute(f"SELECT {table.key} FROM {table.name}").fetchall()}

    # ---- writing --------------------------------------------------------------------------------

    commit = writes.commit
    """Apply a staged batch atomically (:func:`accord.ledger.writes.commit`, where the steps live)."""

    def stored_hashes(self, ids: list[str]) -> dict[str, str]:
        """The content hash of each of these event ids the ledger holds (an index look-up)."""
        if not ids:
            return {}
        found = self.con.execute(
            f"SELECT event_id, content_hash FROM events WHERE event_id IN ({', '.join('?' for _ in ids)})",
            ids,
        ).fetchall()
        return {str(eid): str(h) for eid, h in found}


_FACT_TABLES = re.compile(r"\b(events|contacts|accounts)\b", re.IGNORECASE)
"""What a write must name to make cached account slices stale (see WorkingCopy.generation)."""
