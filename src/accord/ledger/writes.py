"""How a staged batch becomes stored rows: one transaction that applies all of it or nothing.

:meth:`accord.ledger.store.Ledger.commit` calls :func:`commit`. Records are upserted (a changed record
keeps its old values as a ``record_updated`` event), events are appended (an id stored with other
content is refused: events are append-only), and the import is logged, all under one transaction;
with PostgreSQL the rows the commit wrote are replicated before DuckDB commits.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from accord.errors import LedgerError
from accord.ledger.merge import merged_sql
from accord.ledger.schema import TABLES, Table

if TYPE_CHECKING:
    from accord.ledger.store import Ledger

FAULT_ENV = "ACCORD_TEST_FAULT"
"""Test-only hook: names a point in commit where the process dies, to prove crashes lose nothing."""


@dataclass
class Reject:
    """A source row that was not stored, and why."""

    row: int
    reason: str


SMALL_BATCH = 2000
"""Up to this many staged events, a commit looks their ids up in the primary-key index; above it, one
join over the events table is cheaper than that many look-ups. Both give the same result."""

VALUES_ROWS = 16
"""Up to this many staged events, a commit passes the new ones as statement parameters; above it, as
an Arrow table registered on the connection. Registering (and unregistering) costs about 2 ms however
small the table; parameters cost about 0.1 ms a row. Single events from the API take this path."""


def _as_values(rows: pa.Table) -> bool:
    """Whether staged events go in as parameters: the one test both the registration and the insert
    read, so a table is registered exactly when the insert reads it."""
    return bool(rows.num_rows <= min(VALUES_ROWS, SMALL_BATCH))


def _by_values(batch: Batch) -> bool:
    return batch.kind == "events" and _as_values(batch.rows)


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
    # The kept rows as dicts, in order, when they were staged from Python values (the API's events,
    # :func:`accord.ledger.typed.stage_plain`): a small commit then reads them without Arrow.
    plain: list[dict[str, Any]] | None = None


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


def commit(
    ledger: Ledger,
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
    if ledger.pg is not None:
        known = None
    table = TABLES[batch.kind]
    registered = not _by_values(batch)
    if registered:
        ledger.con.register("staged_rows", batch.rows)
    if batch.events is not None:
        ledger.con.register("staged_events", batch.events)
    try:
        with ledger.transaction():
            if batch.kind == "events":
                _append_events(
                    ledger,
                    "staged_rows",
                    batch.rows,
                    import_id,
                    result,
                    count_as_rows=True,
                    known=known,
                    plain=batch.plain,
                )
            else:
                staged = "staged_rows"
                if batch.provided is not None:
                    staged = "staged_merged"
                    ledger.con.execute(
                        f"CREATE OR REPLACE TEMP TABLE {staged} AS "
                        + merged_sql(table, "staged_rows", batch.provided)
                    )
                _upsert(ledger, table, import_id, result, staged)
                if batch.events is not None:
                    _append_events(
                        ledger, "staged_events", batch.events, import_id, result, count_as_rows=False
                    )
            _fault("before_commit")
            _log(ledger, batch, result, started_at, rejects_file)
            # Everything this commit wrote carries its import id: exactly those rows go to PostgreSQL.
            where = f"import_id = {_lit(import_id)}"
            if batch.kind != "events":
                ledger.replicate(table.name, where)
            ledger.replicate("events", where, upsert=False)
            ledger.replicate("imports", where, upsert=False)
    except (duckdb.Error, LedgerError) as exc:
        raise LedgerError(
            f"import of {batch.file or batch.kind} failed and was rolled back: {exc}",
            hint="nothing was stored; fix the cause and import again",
        ) from None
    finally:
        if registered:
            ledger.con.unregister("staged_rows")
        if batch.events is not None:
            ledger.con.unregister("staged_events")
    return result


def _upsert(ledger: Ledger, table: Table, import_id: str, result: CommitResult, staged: str) -> None:
    key, name = table.key, table.name
    cols = [c.name for c in table.columns] + [table.extra]
    now = _now()
    dup = ledger.con.execute(
        f"SELECT count(*) FROM {staged} s JOIN {name} t USING ({key}) WHERE t.content_hash = s.content_hash"
    ).fetchall()[0]
    result.duplicates += int(dup[0]) if dup else 0
    changed = ledger.con.execute(
        f"SELECT count(*) FROM {staged} s JOIN {name} t USING ({key}) WHERE t.content_hash <> s.content_hash"
    ).fetchall()[0]
    n_changed = int(changed[0]) if changed else 0
    if n_changed:
        _record_updates(ledger, table, import_id, now, staged)
        sets = ", ".join(f"{c} = s.{c}" for c in [*cols, "content_hash"] if c != key)
        ledger.con.execute(
            f"UPDATE {name} SET {sets}, import_id = ?, updated_at = ? FROM {staged} s "
            f"WHERE {name}.{key} = s.{key} AND {name}.content_hash <> s.content_hash",
            [import_id, now],
        )
        result.updated += n_changed
    _fault("after_update")
    inserted = ledger.con.execute(
        f"INSERT INTO {name} ({', '.join(cols)}, content_hash, import_id, updated_at) "
        f"SELECT {', '.join('s.' + c for c in cols)}, s.content_hash, ?, ? FROM {staged} s "
        f"ANTI JOIN {name} t USING ({key})",
        [import_id, now],
    ).fetchall()[0]
    result.imported += int(inserted[0]) if inserted else 0


def _record_updates(ledger: Ledger, table: Table, import_id: str, now: datetime, staged: str) -> None:
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
    ledger.con.execute(
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
    ledger: Ledger,
    staged: str,
    rows: pa.Table,
    import_id: str,
    result: CommitResult,
    *,
    count_as_rows: bool,
    known: Mapping[str, str] | None = None,
    plain: list[dict[str, Any]] | None = None,
) -> None:
    small = rows.num_rows <= SMALL_BATCH
    if small:  # look the ids up in the primary-key index instead of joining all events
        mine = staged_keys(rows, plain)
        if known is None:
            stored = ledger.stored_hashes([eid for _, eid, _ in mine])
        else:
            stored = {eid: known[eid] for _, eid, _ in mine if eid in known}
        conflicts = [(row, eid) for row, eid, h in mine if eid in stored and stored[eid] != h]
        conflicts.sort()
    else:
        conflicts = ledger.con.execute(
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
        if _as_values(rows):
            given = rows.to_pylist() if plain is None else plain
            n_new = _insert_values(ledger, given, set(fresh), cols, import_id)
        else:
            inserted = ledger.con.execute(
                insert + "WHERE list_contains(?, s.event_id)", [import_id, _now(), fresh]
            ).fetchall()[0]
            n_new = int(inserted[0]) if inserted else 0
    else:
        dup = ledger.con.execute(
            f"SELECT count(*) FROM {staged} s JOIN events e USING (event_id) "
            "WHERE e.content_hash = s.content_hash"
        ).fetchall()[0]
        n_dup = int(dup[0]) if dup else 0
        _fault("before_events")
        inserted = ledger.con.execute(
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


def staged_keys(rows: pa.Table, plain: list[dict[str, Any]] | None) -> list[tuple[int, str, str]]:
    """Each staged event row's (row number, event id, content hash): from the dicts when the rows
    were staged from Python values (``Batch.plain``), else from the Arrow columns."""
    if plain is not None:
        return [(int(r["_row"]), str(r["event_id"]), str(r["content_hash"])) for r in plain]
    columns = (rows[c].to_pylist() for c in ("_row", "event_id", "content_hash"))
    return [(int(row), str(eid), str(digest)) for row, eid, digest in zip(*columns, strict=True)]


def _insert_values(
    ledger: Ledger, rows: list[dict[str, Any]], fresh: set[str], cols: list[str], import_id: str
) -> int:
    """Insert the staged rows whose ids are ``fresh`` as parameters (see VALUES_ROWS); how many."""
    new = [r for r in rows if r["event_id"] in fresh]
    if not new:
        return 0
    now = _now()
    one = "(" + ", ".join("?" for _ in range(len(cols) + 3)) + ")"
    ledger.con.execute(
        f"INSERT INTO events ({', '.join(cols)}, content_hash, import_id, ingested_at) VALUES "
        + ", ".join(one for _ in new),
        [v for r in new for v in (*(r[c] for c in cols), r["content_hash"], import_id, now)],
    )
    return len(new)


def _log(
    ledger: Ledger, batch: Batch, result: CommitResult, started_at: datetime, rejects_file: str | None
) -> None:
    ledger.con.execute(
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


def _lit(value: str) -> str:
    """A SQL string literal (quotes doubled): for DuckDB statements that take no parameters (COPY)."""
    return "'" + value.replace("'", "''") + "'"


def _now() -> datetime:
    return datetime.now(UTC)


def _fault(point: str) -> None:
    if os.environ.get(FAULT_ENV) == point:
        os._exit(86)
