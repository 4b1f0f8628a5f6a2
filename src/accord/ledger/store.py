"""The workspace's DuckDB file: open, migrate, and commit staged imports in one transaction.

Every write goes through :meth:`Ledger.commit`, which either applies a whole batch or nothing: a bad
file, a failed statement or a crash midway leaves the ledger exactly as it was (DuckDB discards an
uncommitted transaction on the next open).

With ``ACCORD_DATABASE_URL`` the store of record is PostgreSQL (:mod:`accord.ledger.postgres`) and
``con`` is an in-memory DuckDB working copy of it: every write runs in DuckDB inside a transaction,
the rows it touched are copied to PostgreSQL in one PostgreSQL transaction, and DuckDB commits only
after PostgreSQL did. Readers never know which store is behind ``con``.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from accord.errors import LedgerError
from accord.ledger.merge import merged_sql
from accord.ledger.postgres import PostgresStore, duck_type
from accord.ledger.schema import MIGRATIONS, MIGRATIONS_DDL, SCHEMA_VERSION, TABLES, Table

LEDGER_FILE = "accord.duckdb"
FAULT_ENV = "ACCORD_TEST_FAULT"
"""Test-only hook: names a point in commit where the process dies, to prove crashes lose nothing."""


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
class Reject:
    """A source row that was not stored, and why."""

    row: int
    reason: str


SMALL_BATCH = 2000
"""Up to this many staged events, a commit looks their ids up in the primary-key index; above it, one
join over the events table is cheaper than that many look-ups. Both give the same result."""


@dataclass
class Batch:
    """Rows staged from one file, already typed and checked, ready to commit."""

    kind: str
    rows: pa.Table
    events: pa.Table | None = None
    rejects: list[Reject] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rows_read: int = 0
    file: str | None = None
    file_sha256: str | None = None
    preset: str | None = None
    mapping: dict[str, Any] = field(default_factory=dict)
    repeats: int = 0  # rows that repeat an earlier row of the same file exactly: duplicates too
    provided: tuple[str, ...] | None = None  # columns the file carries (None: whole records)


@dataclass
class CommitResult:
    import_id: str
    imported: int = 0
    updated: int = 0
    duplicates: int = 0
    events_written: int = 0
    rejects: list[Reject] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # For a small batch of events (looked up by id, see SMALL_BATCH): the batch's ids the ledger held
    # before, with their content hashes, and the ids this commit wrote. A caller that must know what it
    # stored (the API's decisions) then needs no second read; None when the batch took the join path.
    stored: dict[str, str] | None = None
    written: list[str] | None = None


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
        with self.transaction(facts=_FACT_TABLES.search(statement) is not None):
            self.con.execute(statement, params or [])
            if self.pg is not None:
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

    def imports(self) -> list[dict[str, Any]]:
        cursor = self.con.execute("SELECT * FROM imports ORDER BY started_at")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]

    def known_ids(self, kind: str) -> set[str]:
        table = TABLES[kind]
        return {r[0] for r in self.con.execute(f"SELECT {table.key} FROM {table.name}").fetchall()}

    # ---- writing --------------------------------------------------------------------------------

    def commit(
        self,
        batch: Batch,
        import_id: str,
        started_at: datetime,
        rejects_file: str | None = None,
        *,
        known: Mapping[str, str] | None = None,
    ) -> CommitResult:
        """Apply a staged batch atomically; report what was new, changed, already there or refused.

        ``known``: the stored content hash of each of an events batch's ids the ledger holds, as the
        caller just looked them up while holding the write lock, so the commit need not look again.
        Ignored with PostgreSQL: another server may write in between, and the transaction reloads.
        """
        result = CommitResult(import_id)
        if self.pg is not None:
            known = None
        table = TABLES[batch.kind]
        self.con.register("staged_rows", batch.rows)
        if batch.events is not None:
            self.con.register("staged_events", batch.events)
        try:
            with self.transaction():
                if batch.kind == "events":
                    self._append_events(
                        "staged_rows", batch.rows, import_id, result, count_as_rows=True, known=known
                    )
                else:
                    staged = "staged_rows"
                    if batch.provided is not None:
                        staged = "staged_merged"
                        self.con.execute(
                            f"CREATE OR REPLACE TEMP TABLE {staged} AS "
                            + merged_sql(table, "staged_rows", batch.provided)
                        )
                    self._upsert(table, import_id, result, staged)
                    if batch.events is not None:
                        self._append_events(
                            "staged_events", batch.events, import_id, result, count_as_rows=False
                        )
                _fault("before_commit")
                self._log(batch, result, started_at, rejects_file)
                # Everything this commit wrote carries its import id: exactly those rows go to PostgreSQL.
                where = f"import_id = {_lit(import_id)}"
                if batch.kind != "events":
                    self.replicate(table.name, where)
                self.replicate("events", where, upsert=False)
                self.replicate("imports", where, upsert=False)
        except (duckdb.Error, LedgerError) as exc:
            raise LedgerError(
                f"import of {batch.file or batch.kind} failed and was rolled back: {exc}",
                hint="nothing was stored; fix the cause and import again",
            ) from None
        finally:
            self.con.unregister("staged_rows")
            if batch.events is not None:
                self.con.unregister("staged_events")
        return result

    def _upsert(self, table: Table, import_id: str, result: CommitResult, staged: str) -> None:
        key, name = table.key, table.name
        cols = [c.name for c in table.columns] + [table.extra]
        now = _now()
        dup = self.con.execute(
            f"SELECT count(*) FROM {staged} s JOIN {name} t USING ({key}) "
            "WHERE t.content_hash = s.content_hash"
        ).fetchall()[0]
        result.duplicates += int(dup[0]) if dup else 0
        changed = self.con.execute(
            f"SELECT count(*) FROM {staged} s JOIN {name} t USING ({key}) "
            "WHERE t.content_hash <> s.content_hash"
        ).fetchall()[0]
        n_changed = int(changed[0]) if changed else 0
        if n_changed:
            self._record_updates(table, import_id, now, staged)
            sets = ", ".join(f"{c} = s.{c}" for c in [*cols, "content_hash"] if c != key)
            self.con.execute(
                f"UPDATE {name} SET {sets}, import_id = ?, updated_at = ? FROM {staged} s "
                f"WHERE {name}.{key} = s.{key} AND {name}.content_hash <> s.content_hash",
                [import_id, now],
            )
            result.updated += n_changed
        _fault("after_update")
        inserted = self.con.execute(
            f"INSERT INTO {name} ({', '.join(cols)}, content_hash, import_id, updated_at) "
            f"SELECT {', '.join('s.' + c for c in cols)}, s.content_hash, ?, ? FROM {staged} s "
            f"ANTI JOIN {name} t USING ({key})",
            [import_id, now],
        ).fetchall()[0]
        result.imported += int(inserted[0]) if inserted else 0

    def _record_updates(self, table: Table, import_id: str, now: datetime, staged: str) -> None:
        """Keep the old values of changed records as record_updated events: nothing is lost."""
        key, name = table.key, table.name
        compared = [c.name for c in table.columns if c.name != key] + [table.extra]
        pairs = ", ".join(
            f"'{c}', CASE WHEN t.{c} IS DISTINCT FROM s.{c} THEN json_object('from', t.{c}, 'to', s.{c}) END"
            for c in compared
        )
        entity = table.entity_column
        entity_cols = {
            "contact_id": "NULL",
            "account_id": "NULL",
            "opportunity_id": "NULL",
            "actor_id": "NULL",
            "campaign_id": "NULL",
            "content_id": "NULL",
        }
        if entity:
            entity_cols[entity] = f"s.{key}"
        self.con.execute(
            f"""
            INSERT INTO events (event_id, occurred_at, type, contact_id, account_id, opportunity_id,
                                actor_id, campaign_id, content_id, topic, source, properties,
                                content_hash, import_id, ingested_at)
            SELECT 'upd:' || md5('{name}' || chr(31) || s.{key} || chr(31) || t.content_hash
                                 || chr(31) || s.content_hash),
                   ?, 'record_updated', {entity_cols["contact_id"]}, {entity_cols["account_id"]},
                   {entity_cols["opportunity_id"]}, {entity_cols["actor_id"]},
                   {entity_cols["campaign_id"]}, {entity_cols["content_id"]}, NULL, 'accord',
                   json_object('table', '{name}', 'id', s.{key},
                               'changes', json_merge_patch('{{}}', json_object({pairs}))),
                   md5(t.content_hash || s.content_hash), ?, ?
            FROM {staged} s JOIN {name} t USING ({key})
            WHERE t.content_hash <> s.content_hash
            ON CONFLICT DO NOTHING""",
            [now, import_id, now],
        )

    def _append_events(
        self,
        staged: str,
        rows: pa.Table,
        import_id: str,
        result: CommitResult,
        *,
        count_as_rows: bool,
        known: Mapping[str, str] | None = None,
    ) -> None:
        small = rows.num_rows <= SMALL_BATCH
        if small:  # look the ids up in the primary-key index instead of joining all events
            mine = list(
                zip(*(rows[c].to_pylist() for c in ("_row", "event_id", "content_hash")), strict=True)
            )
            if known is None:
                stored = self.stored_hashes([eid for _, eid, _ in mine])
            else:
                stored = {eid: known[eid] for _, eid, _ in mine if eid in known}
            conflicts = [(row, eid) for row, eid, h in mine if eid in stored and stored[eid] != h]
            conflicts.sort()
        else:
            conflicts = self.con.execute(
                f"SELECT s._row, s.event_id FROM {staged} s JOIN events e USING (event_id) "
                "WHERE e.content_hash <> s.content_hash ORDER BY s._row"
            ).fetchall()
        if count_as_rows:
            for row, event_id in conflicts:
                result.rejects.append(
                    Reject(
                        int(row),
                        (
                            f"event_id '{event_id}' is already stored with different content; "
                            "events are append-only: send a new event with its own id"
                        ),
                    )
                )
        elif conflicts:  # events a record implies: the record itself was taken, so its row is not refused
            shown = ", ".join(str(e) for _, e in conflicts[:3]) + (", ..." if len(conflicts) > 3 else "")
            result.notes.append(
                f"{len(conflicts)} events these rows imply are already stored with other content and were "
                f"kept as first stored (events are append-only): {shown}"
            )
        cols = [c.name for c in TABLES["events"].columns] + ["properties"]
        insert = (
            f"INSERT INTO events ({', '.join(cols)}, content_hash, import_id, ingested_at) "
            f"SELECT {', '.join('s.' + c for c in cols)}, s.content_hash, ?, ? FROM {staged} s "
        )
        if small:
            n_dup = sum(1 for _, eid, h in mine if stored.get(eid) == h)
            fresh = [eid for _, eid, _ in mine if eid not in stored]
            _fault("before_events")
            inserted = self.con.execute(
                insert + "WHERE list_contains(?, s.event_id)", [import_id, _now(), fresh]
            ).fetchall()[0]
        else:
            dup = self.con.execute(
                f"SELECT count(*) FROM {staged} s JOIN events e USING (event_id) "
                "WHERE e.content_hash = s.content_hash"
            ).fetchall()[0]
            n_dup = int(dup[0]) if dup else 0
            _fault("before_events")
            inserted = self.con.execute(
                insert + "ANTI JOIN events e USING (event_id)", [import_id, _now()]
            ).fetchall()[0]
        n_new = int(inserted[0]) if inserted else 0
        _fault("after_events")
        if small and count_as_rows:
            result.stored, result.written = stored, fresh
        if count_as_rows:
            result.imported += n_new
            result.duplicates += n_dup
        else:
            result.events_written += n_new

    def stored_hashes(self, ids: list[str]) -> dict[str, str]:
        """The content hash of each of these event ids the ledger holds (an index look-up)."""
        if not ids:
            return {}
        found = self.con.execute(
            f"SELECT event_id, content_hash FROM events WHERE event_id IN ({', '.join('?' for _ in ids)})",
            ids,
        ).fetchall()
        return {str(eid): str(h) for eid, h in found}

    def _log(
        self, batch: Batch, result: CommitResult, started_at: datetime, rejects_file: str | None
    ) -> None:
        self.con.execute(
            "INSERT INTO imports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                result.import_id,
                batch.kind,
                batch.file,
                batch.file_sha256,
                batch.preset,
                json.dumps(batch.mapping),
                started_at,
                _now(),
                batch.rows_read,
                result.imported,
                result.updated,
                result.duplicates + batch.repeats,
                len(batch.rejects) + len(result.rejects),
                result.events_written,
                rejects_file if (batch.rejects or result.rejects) else None,
                json.dumps(batch.notes + result.notes),
            ],
        )


_FACT_TABLES = re.compile(r"\b(events|contacts|accounts)\b", re.IGNORECASE)
"""What a write must name to make cached account slices stale (see WorkingCopy.generation)."""


def _lit(value: str) -> str:
    """A SQL string literal (quotes doubled): for DuckDB statements that take no parameters (COPY)."""
    return "'" + value.replace("'", "''") + "'"


def _now() -> datetime:
    return datetime.now(UTC)


def _fault(point: str) -> None:
    if os.environ.get(FAULT_ENV) == point:
        os._exit(86)
