"""PostgreSQL as the store of record for a multi-user deployment (``ACCORD_DATABASE_URL``).

DuckDB stays the compute engine: :class:`~accord.ledger.store.Ledger` loads every table of the
workspace's PostgreSQL schema into an in-memory DuckDB working copy, so every reader, derive and
report keeps its DuckDB SQL. Writes go to PostgreSQL first and to the copy only once PostgreSQL has
committed. This module only speaks to PostgreSQL: it moves rows as CSV (``COPY``), the one format
both engines read and write fast and losslessly for the ledger's types.

A one-row table ``accord_changes`` holds a counter every write bumps. Writers lock that row for the
whole write, which serialises them, and a process whose copy was loaded at another counter value
knows another writer came by and reloads before writing (or on ``Ledger.refresh()``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from accord.errors import LedgerError
from accord.ledger.schema import Migration

DATABASE_URL_ENV = "ACCORD_DATABASE_URL"
DATABASE_SCHEMA_ENV = "ACCORD_DATABASE_SCHEMA"
COUNTER_TABLE = "accord_changes"

# DuckDB column types as information_schema names them -> PostgreSQL, and back.
_TO_PG = {
    "VARCHAR": "text", "DOUBLE": "double precision", "FLOAT": "real", "BIGINT": "bigint",
    "INTEGER": "integer", "SMALLINT": "smallint", "BOOLEAN": "boolean", "DATE": "date",
    "TIMESTAMP WITH TIME ZONE": "timestamptz", "TIMESTAMP": "timestamp", "JSON": "json",
}  # fmt: skip
_TO_DUCK = {
    "text": "VARCHAR", "character varying": "VARCHAR", "double precision": "DOUBLE", "real": "FLOAT",
    "bigint": "BIGINT", "integer": "INTEGER", "smallint": "SMALLINT", "boolean": "BOOLEAN",
    "date": "DATE", "timestamp with time zone": "TIMESTAMPTZ", "timestamp without time zone": "TIMESTAMP",
    "json": "JSON", "jsonb": "JSON", "numeric": "DOUBLE",
}  # fmt: skip


def schema_name(workspace_key: str) -> str:
    """One PostgreSQL schema per workspace: ``accord_<key>``, lower case, safe as an identifier."""
    slug = re.sub(r"[^a-z0-9_]+", "_", workspace_key.lower()).strip("_") or "default"
    return f"accord_{slug}"[:63]


def pg_type(duck_type: str) -> str:
    """The PostgreSQL type that holds a DuckDB column without loss (derived tables are made this way)."""
    upper = duck_type.upper()
    if upper.startswith("DECIMAL"):
        return "numeric"
    if upper not in _TO_PG:
        raise LedgerError(
            f"a DuckDB column of type {duck_type} cannot be stored in PostgreSQL yet",
            hint="store it as VARCHAR or JSON, or add the type to accord.ledger.postgres",
        )
    return _TO_PG[upper]


def duck_type(pg_data_type: str) -> str:
    return _TO_DUCK.get(pg_data_type, "VARCHAR")


def translate_ddl(statement: str) -> str:
    """A migration written for DuckDB, in PostgreSQL: only the type names differ for our DDL."""
    out = re.sub(r"\bDOUBLE\b(?! PRECISION)", "DOUBLE PRECISION", statement)
    return re.sub(r"\bJSON\b", "json", out)  # json keeps the text exactly as written (jsonb reorders keys)


class PostgresStore:
    """One workspace's schema in PostgreSQL, over one connection (not shared between threads)."""

    def __init__(self, url: str, workspace_key: str) -> None:
        self.schema = schema_name(workspace_key)
        self.in_transaction = False
        try:
            self.conn = psycopg.connect(
                url, autocommit=True, options=f"-c search_path={self.schema} -c TimeZone=UTC"
            )
        except psycopg.Error as exc:
            raise LedgerError(
                f"cannot connect to PostgreSQL ({_safe(url)}): {_first_line(exc)}",
                hint=f"check {DATABASE_URL_ENV} and that the server is running",
            ) from None

    def close(self) -> None:
        self.conn.close()

    @property
    def label(self) -> str:
        return f"postgresql schema {self.schema}"

    # ---- schema --------------------------------------------------------------------------------

    def exists(self) -> bool:
        row = self.conn.execute(
            "SELECT count(*) FROM information_schema.schemata WHERE schema_name = %s", [self.schema]
        ).fetchone()
        return bool(row and row[0])

    def drop(self) -> None:
        with self._errors("dropping the schema"):
            self.conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(self.schema)))

    def version(self) -> int:
        row = self.conn.execute(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_schema = %s AND table_name = 'accord_migrations'",
            [self.schema],
        ).fetchone()
        if not row or not row[0]:
            return 0
        found = self.conn.execute("SELECT coalesce(max(version), 0) FROM accord_migrations").fetchone()
        return int(found[0]) if found else 0

    def migrate(self, migrations: Sequence[Migration], migrations_ddl: str) -> list[int]:
        """Create the schema if needed and apply pending migrations, each in its own transaction."""
        with self._errors("migrating the schema"):
            self.conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema)))
            self.conn.execute(translate_ddl(migrations_ddl))
            self.conn.execute(
                f"CREATE TABLE IF NOT EXISTS {COUNTER_TABLE} "
                "(id INTEGER PRIMARY KEY, counter BIGINT NOT NULL)"
            )
            self.conn.execute(f"INSERT INTO {COUNTER_TABLE} VALUES (1, 0) ON CONFLICT DO NOTHING")
        applied: list[int] = []
        for migration in migrations:
            with self.transaction():
                if migration.version <= self.version():  # another process may have just applied it
                    continue
                with self._errors(f"applying migration {migration.version}"):
                    for statement in migration.statements:
                        self.conn.execute(translate_ddl(statement))
                    self.conn.execute(
                        "INSERT INTO accord_migrations VALUES (%s, %s, now())",
                        [migration.version, migration.description],
                    )
            applied.append(migration.version)
        return applied

    # ---- transactions and the change counter ---------------------------------------------------

    def counter(self) -> int:
        row = self.conn.execute(f"SELECT counter FROM {COUNTER_TABLE} WHERE id = 1").fetchone()
        return int(row[0]) if row else 0

    def begin(self) -> int:
        """Open a write transaction and lock the counter row: writers queue here, one at a time."""
        with self._errors("starting a write"):
            self.conn.execute("BEGIN")
            self.in_transaction = True
            row = self.conn.execute(f"SELECT counter FROM {COUNTER_TABLE} WHERE id = 1 FOR UPDATE").fetchone()
        return int(row[0]) if row else 0

    def commit(self) -> int:
        """Bump the counter and commit; returns the counter value this write produced."""
        with self._errors("committing"):
            row = self.conn.execute(
                f"UPDATE {COUNTER_TABLE} SET counter = counter + 1 WHERE id = 1 RETURNING counter"
            ).fetchone()
            self.conn.execute("COMMIT")
            self.in_transaction = False
        return int(row[0]) if row else 0

    def rollback(self) -> None:
        if self.in_transaction:
            self.in_transaction = False
            self.conn.execute("ROLLBACK")

    @contextmanager
    def transaction(self) -> Iterator[int]:
        counter = self.begin()
        try:
            yield counter
        except BaseException:
            self.rollback()
            raise
        self.commit()

    @contextmanager
    def snapshot(self) -> Iterator[int]:
        """A read-only repeatable-read transaction (or the write already open): one consistent view."""
        if self.in_transaction:
            yield self.counter()
            return
        self.conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try:
            yield self.counter()
        finally:
            self.conn.execute("ROLLBACK")

    # ---- moving rows ---------------------------------------------------------------------------

    def tables(self) -> dict[str, list[tuple[str, str]]]:
        """Every table of the schema but the counter, with its columns and PostgreSQL types in order."""
        rows = self.conn.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name <> %s ORDER BY table_name, ordinal_position",
            [self.schema, COUNTER_TABLE],
        ).fetchall()
        out: dict[str, list[tuple[str, str]]] = {}
        for table, column, data_type in rows:
            out.setdefault(str(table), []).append((str(column), str(data_type)))
        return out

    def dump(self, table: str, columns: Sequence[str], path: Path) -> int:
        """Write a table as CSV (NULL unquoted and empty, an empty string as ""); returns its bytes."""
        select = sql.SQL("COPY (SELECT {} FROM {}) TO STDOUT (FORMAT csv)").format(
            sql.SQL(", ").join(_as_text(c) for c in columns), sql.Identifier(table)
        )
        size = 0
        with self._errors(f"reading {table}"), path.open("wb") as handle:
            cur = self.conn.cursor()
            with cur.copy(select) as copy:
                for chunk in copy:
                    handle.write(chunk)
                    size += len(chunk)
        return size

    def load(self, table: str, columns: Sequence[str], path: Path, *, upsert_key: Sequence[str] = ()) -> None:
        """Append CSV rows to a table; with ``upsert_key``, rows whose key exists replace the stored ones."""
        idents = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
        with self._errors(f"writing {table}"):
            if not upsert_key:
                self._copy_in(sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
                    sql.Identifier(table), idents), path)  # fmt: skip
                return
            stage = sql.Identifier(f"_stage_{table}")
            self.conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(stage))
            self.conn.execute(
                sql.SQL("CREATE TEMP TABLE {} (LIKE {}) ON COMMIT DROP").format(stage, sql.Identifier(table))
            )
            self._copy_in(sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(stage, idents), path)
            updates = [c for c in columns if c not in upsert_key]
            self.conn.execute(
                sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} ON CONFLICT ({}) DO UPDATE SET {}").format(
                    sql.Identifier(table),
                    idents,
                    idents,
                    stage,
                    sql.SQL(", ").join(sql.Identifier(c) for c in upsert_key),
                    sql.SQL(", ").join(
                        sql.SQL("{} = EXCLUDED.{}").format(sql.Identifier(c), sql.Identifier(c))
                        for c in updates
                    ),
                )
            )

    def replace_table(self, table: str, columns: Sequence[tuple[str, str]], path: Path) -> None:
        """Drop and re-create a table (a derived one) from DuckDB column types, then fill it from CSV."""
        with self._errors(f"replacing {table}"):
            self.conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))
            self.conn.execute(
                sql.SQL("CREATE TABLE {} ({})").format(
                    sql.Identifier(table),
                    sql.SQL(", ").join(
                        sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(pg_type(t))) for c, t in columns
                    ),
                )
            )
        self.load(table, [c for c, _ in columns], path)

    def execute(self, statement: str, params: Sequence[Any] | None = None) -> None:
        with self._errors("writing"):
            self.conn.execute(statement, params)

    def _copy_in(self, statement: sql.Composed, path: Path) -> None:
        cur = self.conn.cursor()
        with cur.copy(statement) as copy, path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                copy.write(chunk)

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        """psycopg errors become LedgerError naming the step and PostgreSQL's own message."""
        try:
            yield
        except psycopg.Error as exc:
            raise LedgerError(
                f"PostgreSQL refused {doing} in {self.schema}: {_first_line(exc)}",
                hint="nothing was stored; fix the cause and try again",
            ) from None


def _as_text(column: str) -> sql.Composable:
    """Every column as its text form, which DuckDB's CSV reader types back exactly (``true``, not ``t``)."""
    return sql.SQL("{}::text").format(sql.Identifier(column))


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)
