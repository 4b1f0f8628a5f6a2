"""Stage a file for the ledger: type every value by the mapping plan, and say exactly what was refused.

Staging runs in a private in-memory DuckDB whose session time zone is the workspace's, so naive
timestamps are read as local time there and stored as UTC instants. Nothing touches the ledger until
:meth:`accord.ledger.store.Ledger.commit` applies the whole batch in one transaction.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from accord.ledger.mapping import Plan, lit, q, try_strptime
from accord.ledger.merge import content_hash_sql
from accord.ledger.reader import RawFile
from accord.ledger.schema import EARLIEST_EVENT, EVENT_TIME_PROBLEM, LATEST_EVENT, TABLES, Column, Table
from accord.ledger.store import connect
from accord.ledger.writes import Batch, Reject
from accord.spec.catalog import GOVERNANCE_EVENT_TYPES

_MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
SPREADSHEET_DATE = re.compile(rf"^(?:(?:0?[1-9]|[12]\d|3[01])-(?:{_MONTHS})|(?:{_MONTHS})-\d{{2}})$")
"""Values like '01-May' or 'May-20': ranges such as 1-5 that a spreadsheet turned into dates."""

DATE_GROUPS: dict[str, tuple[str, ...]] = {
    "DD-MM-YYYY": ("%d-%m-%Y %H:%M:%S", "%d-%m-%Y %H:%M", "%d-%m-%Y"),
    "MM-DD-YYYY": ("%m-%d-%Y %H:%M:%S", "%m-%d-%Y %H:%M", "%m-%d-%Y"),
    "DD/MM/YYYY": ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y"),
    "MM/DD/YYYY": ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M %p", "%m/%d/%Y"),
    "DD.MM.YYYY": ("%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y"),
    "YYYY/MM/DD": ("%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d"),
}
"""Date spellings recognised when a column is not ISO 8601; the first that reads every value wins."""

_DAY_MONTH_TWINS = {"DD-MM-YYYY": "MM-DD-YYYY", "MM-DD-YYYY": "DD-MM-YYYY",
                    "DD/MM/YYYY": "MM/DD/YYYY", "MM/DD/YYYY": "DD/MM/YYYY"}  # fmt: skip


class Stager:
    """Turns a raw file into a typed Batch, using a private in-memory DuckDB."""

    def __init__(self, timezone: str, references: Mapping[str, pa.Table] | None = None) -> None:
        self.con: duckdb.DuckDBPyConnection = connect()
        self.con.execute(f"SET TimeZone = {lit(timezone)}")
        self.timezone = timezone
        for name, ref in (references or {}).items():
            self.con.register(name, ref)

    def close(self) -> None:
        self.con.close()

    def prepare(self, raw: RawFile, prepare_sql: str | None = None) -> list[str]:
        """Load the file as table ``raw`` (reshaped by a preset if it says so); return its columns."""
        self.con.register("raw_file", raw.table)  # stays readable for presets' notes
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE raw AS {prepare_sql or 'SELECT * FROM raw_file'}")
        return [d[0] for d in self.con.execute("SELECT * FROM raw LIMIT 0").description if d[0] != "_row"]

    def stage(self, raw: RawFile, plan: Plan, *, events_sql: str | None = None, file: str = "") -> Batch:
        """Type, check and de-duplicate table ``raw`` (see :meth:`prepare`) into a Batch."""
        table = TABLES[plan.kind]
        notes: list[str] = []
        select, reasons = [], []
        for column in table.columns:
            expr, reason = self._typed(column, plan, notes)
            select.append(f"{expr} AS {q(column.name)}")
            if reason:
                reasons.append(reason)
        extra_expr, extra_reason = self._extra(table, plan)
        select.append(f"{extra_expr} AS {table.extra}")
        if extra_reason:
            reasons.append(extra_reason)
        reason_list = (
            "list_filter([" + ", ".join(reasons) + "], lambda x: x IS NOT NULL)" if reasons else "[]"
        )
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE typed AS SELECT _row, {', '.join(select)}, "
            f"{reason_list}::VARCHAR[] AS _reasons FROM raw"
        )
        self._content_hash(table)
        rejects = list(raw.rejects)
        rejects += self._rule_rejects(table)
        good, in_file_dups = self._dedupe(table, rejects)
        events = None
        if events_sql:
            events = self._derived_events(events_sql)
        notes += self._notes(raw, plan, table)
        if in_file_dups:
            notes.append(
                f"{in_file_dups} rows repeat an earlier row of this file exactly: counted as duplicates"
            )
        rejects.sort(key=lambda r: r.row)
        provided = tuple(c.name for c in table.columns if self._source(c, plan) is not None)
        return Batch(
            kind=plan.kind,
            rows=good,
            provided=None if plan.kind == "events" else provided,
            events=events,
            rejects=rejects,
            notes=notes,
            rows_read=raw.rows_read,
            file=file,
            repeats=in_file_dups,
        )

    def stage_typed(self, kind: str, data: pa.Table, *, label: str) -> Batch:
        """Stage records that are already typed (the demo world, the API): same checks, same hashes.

        Typed records cannot fail to parse, so the file path's steps (hash, id, rule checks) fold into
        one query, and the first row of each key is picked while reading its answer: an API request
        stages in one statement instead of ten, which was most of what staging a small batch cost.
        """
        table = TABLES[kind]
        extra = table.extra
        named = (
            "* REPLACE (coalesce(event_id, 'h:' || content_hash) AS event_id)" if kind == "events" else "*"
        )
        digest = content_hash_sql(table)
        checks = _rule_checks(table, parsed=False)  # '' when every rule holds
        reasons = f"concat_ws('; ', {', '.join(checks)})" if checks else "''"
        self.con.register("typed_in", data)
        try:
            checked = self.con.sql(f"""
                WITH typed AS (
                    SELECT row_number() OVER () AS _row, * EXCLUDE ({extra}),
                           coalesce({extra}, '{{}}')::JSON AS {extra}
                    FROM typed_in),
                hashed AS (SELECT {named} FROM (SELECT *, {digest} AS content_hash FROM typed))
                SELECT *, {reasons} AS _reason FROM hashed ORDER BY _row""").to_arrow_table()
        finally:
            self.con.unregister("typed_in")
        return pick_first(table, checked, data.num_rows, label)

    # ---- typing ---------------------------------------------------------------------------------

    def _source(self, column: Column, plan: Plan) -> str | None:
        if column.name in plan.expressions:
            return f"({plan.expressions[column.name]})"
        if column.name in plan.columns:
            return f"NULLIF(trim(raw.{q(plan.columns[column.name])}), '')"
        if column.name in plan.constants:
            return lit(plan.constants[column.name])
        if column.name == "source" and plan.source:
            return lit(plan.source)
        return None

    def _typed(self, column: Column, plan: Plan, notes: list[str]) -> tuple[str, str | None]:
        src = self._source(column, plan)
        label = column.name
        if src is None:
            return "NULL::" + _sql_type(column), None
        shown = f"'{label} ''' || {src} || ''''"
        if column.type == "string":
            return src, None
        if column.type == "integer":
            expr = f"TRY_CAST(TRY_CAST({src} AS DOUBLE) AS BIGINT)"
            return (
                expr,
                f"CASE WHEN {src} IS NOT NULL AND {expr} IS NULL "
                f"THEN {shown} || ' is not a whole number' END",
            )
        if column.type == "number":
            expr = f"TRY_CAST({src} AS DOUBLE)"
            return (
                expr,
                f"CASE WHEN {src} IS NOT NULL AND {expr} IS NULL THEN {shown} || ' is not a number' END",
            )
        if column.type == "boolean":
            expr = (
                f"CASE WHEN lower({src}) IN ('true','t','yes','y','1') THEN true "
                f"WHEN lower({src}) IN ('false','f','no','n','0') THEN false END"
            )
            return expr, (
                f"CASE WHEN {src} IS NOT NULL AND ({expr}) IS NULL THEN {shown} "
                "|| ' is not yes/no (use true/false, yes/no or 1/0)' END"
            )
        if column.type in ("timestamp", "date"):
            expr, spelled = self._time(src, column, plan, notes)
            hint = f" (read as {spelled})" if spelled != "ISO 8601" else ""
            return expr, (
                f"CASE WHEN {src} IS NOT NULL AND {expr} IS NULL THEN {shown} || "
                f"' is not a valid {column.type}{hint}; fix the value or pass --date-format' END"
            )
        return src, None

    @staticmethod
    def _iso(value: str, column: Column) -> str:
        if column.type == "timestamp":
            return f"TRY_CAST({value} AS TIMESTAMPTZ)"
        return f"coalesce(TRY_CAST({value} AS DATE), TRY_CAST(TRY_CAST({value} AS TIMESTAMPTZ) AS DATE))"

    def _time(self, src: str, column: Column, plan: Plan, notes: list[str]) -> tuple[str, str]:
        iso = self._iso(src, column)
        if plan.date_formats:
            return self._formatted(src, column, tuple(plan.date_formats)), ", ".join(plan.date_formats)
        values = self.con.execute(
            f"SELECT DISTINCT {src} AS v FROM raw WHERE {src} IS NOT NULL LIMIT 20000"
        ).fetchall()
        if not values:
            return iso, "ISO 8601"
        self.con.execute(
            "CREATE OR REPLACE TEMP TABLE probe AS SELECT * FROM (VALUES "
            + ", ".join(f"({lit(str(v[0]))})" for v in values)
            + ") t(v)"
        )
        counts = {"ISO 8601": self._count_parsed(self._iso("v", column))}
        if counts["ISO 8601"] == len(values):
            return iso, "ISO 8601"
        for name, formats in DATE_GROUPS.items():
            counts[name] = self._count_parsed(self._formatted("v", column, formats))
        best = max(counts, key=lambda k: counts[k])
        if counts[best] == 0:
            return iso, "ISO 8601"
        twin = _DAY_MONTH_TWINS.get(best)
        if best == "ISO 8601":
            return iso, best
        if twin and counts.get(twin) == counts[best]:
            notes.append(
                f"{column.name}: dates such as '{values[0][0]}' read day-first ({best}); "
                f"they could be month-first too: pass --date-format if that is wrong"
            )
        else:
            notes.append(f"{column.name}: dates read as {best} (detected)")
        return self._formatted(src, column, DATE_GROUPS[best]), best

    def _formatted(self, src: str, column: Column, formats: tuple[str, ...]) -> str:
        zoned = any("%z" in f or "%Z" in f for f in formats)
        parsed = try_strptime(src, formats)
        if column.type == "date":
            return f"TRY_CAST({parsed} AS DATE)"
        if zoned:
            return parsed
        return f"timezone({lit(self.timezone)}, {parsed})"

    def _count_parsed(self, expr: str) -> int:
        row = self.con.execute(f"SELECT count(*) FROM probe WHERE ({expr}) IS NOT NULL").fetchall()[0]
        return int(row[0]) if row else 0

    def _extra(self, table: Table, plan: Plan) -> tuple[str, str | None]:
        """Unmapped file columns (and mapped properties.X / attributes.X) go to the JSON column."""
        pairs: list[str] = []
        for name in plan.extras:
            if name == "_row":
                continue
            pairs += [lit(name), f"NULLIF(trim(raw.{q(name)}), '')"]
        for key, src in plan.extra_targets.items():
            pairs += [lit(key), f"NULLIF(trim(raw.{q(src)}), '')"]
        merged = "json_object(" + ", ".join(pairs) + ")" if pairs else "'{}'::JSON"
        base_src = plan.columns.get(table.extra)
        if base_src is None:
            return f"json_merge_patch('{{}}', {merged})", None
        base = f"NULLIF(trim(raw.{q(base_src)}), '')"
        valid = f"(json_valid({base}) AND json_type({base}::JSON) = 'OBJECT')"
        expr = (
            f"json_merge_patch(CASE WHEN {base} IS NOT NULL AND {valid} THEN {base}::JSON "
            f"ELSE '{{}}'::JSON END, {merged})"
        )
        reason = f"CASE WHEN {base} IS NOT NULL AND NOT {valid} THEN '{table.extra} is not a JSON object' END"
        return expr, reason

    def _content_hash(self, table: Table) -> None:
        self.con.execute("ALTER TABLE typed ADD COLUMN content_hash VARCHAR")
        self.con.execute(f"UPDATE typed SET content_hash = {content_hash_sql(table)}")
        if table.kind == "events":
            self.con.execute(
                "UPDATE typed SET event_id = 'h:' || content_hash WHERE event_id IS NULL "
                "AND len(_reasons) = 0"
            )

    def _rule_rejects(self, table: Table) -> list[Reject]:
        self.con.execute(f"UPDATE typed SET _reasons = {_reasons_sql(table)}")
        rows = self.con.execute(
            "SELECT _row, array_to_string(_reasons, '; ') FROM typed WHERE len(_reasons) > 0 ORDER BY _row"
        ).fetchall()
        return [Reject(int(r), str(reason)) for r, reason in rows]

    def _dedupe(self, table: Table, rejects: list[Reject]) -> tuple[pa.Table, int]:
        key = q(table.key)
        self.con.execute(f"""CREATE OR REPLACE TEMP TABLE ranked AS
            SELECT *, row_number() OVER w AS _rn, first_value(content_hash) OVER w AS _first_hash,
                   first_value(_row) OVER w AS _first_row
            FROM typed WHERE len(_reasons) = 0 WINDOW w AS (PARTITION BY {key} ORDER BY _row)""")
        clashes = self.con.execute(
            f"SELECT _row, {key}, _first_row FROM ranked WHERE _rn > 1 AND content_hash <> _first_hash "
            "ORDER BY _row"
        ).fetchall()
        for row, ident, first in clashes:
            rejects.append(
                Reject(
                    int(row),
                    f"{table.key} '{ident}' repeats row {first} with different values; keep one row per id",
                )
            )
        dup = self.con.execute(
            "SELECT count(*) FROM ranked WHERE _rn > 1 AND content_hash = _first_hash"
        ).fetchall()[0]
        cols = ["_row"] + [q(c.name) for c in table.columns] + [table.extra, "content_hash"]
        good = self.con.sql(
            f"SELECT {', '.join(cols)} FROM ranked WHERE _rn = 1 ORDER BY _row"
        ).to_arrow_table()
        self.con.execute("CREATE OR REPLACE TEMP TABLE staged AS SELECT * FROM ranked WHERE _rn = 1")
        return good, int(dup[0]) if dup else 0

    def _derived_events(self, events_sql: str) -> pa.Table:
        """Events a preset derives from staged records (e.g. closed_won at a deal's close date)."""
        events = TABLES["events"]
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE derived AS {events_sql}")
        parts = []
        for column in events.columns:
            if column.name in ("source", "event_id"):
                continue
            value = (
                f"epoch_us({q(column.name)})::VARCHAR"
                if column.type == "timestamp"
                else f"{q(column.name)}::VARCHAR"
            )
            parts.append(f"coalesce({value}, chr(0))")
        parts.append("coalesce(properties::VARCHAR, chr(0))")
        cols = ["_row"] + [q(c.name) for c in events.columns] + ["properties"]
        return self.con.sql(
            f"SELECT {', '.join(cols)}, md5(concat_ws(chr(31), {', '.join(parts)})) AS content_hash "
            "FROM derived WHERE occurred_at IS NOT NULL QUALIFY row_number() OVER "
            "(PARTITION BY event_id ORDER BY _row) = 1 ORDER BY _row"
        ).to_arrow_table()

    # ---- quirks worth telling -------------------------------------------------------------------

    def _notes(self, raw: RawFile, plan: Plan, table: Table) -> list[str]:
        notes: list[str] = []
        kept = [c for c in plan.extras if c != "_row"]
        if kept:
            notes.append(f"kept in {table.extra} (no ledger column): {', '.join(kept)}")
        for target, src in plan.columns.items():
            # only rows taken: a refused row's empty cell is already told as its reason
            row = self.con.execute(
                f"SELECT count(*) FROM raw WHERE NULLIF(trim({q(src)}), '') IS NULL "
                "AND _row IN (SELECT _row FROM staged)"
            ).fetchall()[0]
            empty = int(row[0]) if row else 0
            if empty and target != table.key:
                notes.append(f"{src} -> {target}: empty in {empty} rows (stored as empty)")
        for name in raw.columns:
            rows = self.con.execute(
                f"SELECT {q(name)}, count(*) FROM raw WHERE regexp_matches({q(name)}, "
                f"{lit(SPREADSHEET_DATE.pattern)}) GROUP BY 1 ORDER BY 2 DESC"
            ).fetchall()
            if rows and name not in plan.handled:
                shown = ", ".join(f"'{v}' x{n}" for v, n in rows[:4])
                notes.append(
                    f"{name}: {sum(n for _, n in rows)} values look like ranges a spreadsheet "
                    f"turned into dates ({shown}); kept as written"
                )
        return notes


def pick_first(table: Table, checked: pa.Table, rows_read: int, label: str) -> Batch:
    """From staged rows (``_row``, columns, ``content_hash``, ``_reason``), the batch to commit: rows with a
    reason are refused, and of the rows sharing a key the first is kept (a later one with other content
    is refused as a clash)."""
    columns = ("_row", table.key, "content_hash", "_reason")
    keep, refused = first_of_each(table, *(checked[c].to_pylist() for c in columns))
    cols = ["_row"] + [c.name for c in table.columns] + [table.extra, "content_hash"]
    good = checked.filter(pa.array(keep, type=pa.bool_())).select(cols)
    return Batch(kind=table.kind, rows=good, rejects=refused, rows_read=rows_read, file=label)


def first_of_each(
    table: Table, rows: list[Any], keys: list[Any], digests: list[Any], reasons: list[Any]
) -> tuple[list[bool], list[Reject]]:
    """Which staged rows to keep, and the refusals: rows with a reason first, then clashes."""
    rejects: list[Reject] = []
    clashes: list[Reject] = []
    keep: list[bool] = []
    first: dict[Any, tuple[int, str]] = {}  # key -> (its first row, that row's content hash)
    for row, ident, digest_value, reason in zip(rows, keys, digests, reasons, strict=True):
        if reason:
            rejects.append(Reject(int(row), reason))
            keep.append(False)
            continue
        seen = first.setdefault(ident, (int(row), digest_value))
        keep.append(seen[0] == row)
        if seen[0] != row and seen[1] != digest_value:
            message = (
                f"{table.key} '{ident}' repeats row {seen[0]} with different values; keep one row per id"
            )
            clashes.append(Reject(int(row), message))
    return keep, rejects + clashes


def _sql_type(column: Column) -> str:
    from accord.ledger.schema import SQL_TYPES

    return SQL_TYPES[column.type]


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _rule_checks(table: Table, *, parsed: bool) -> list[str]:
    """The record rules as SQL, each a complaint or NULL: required values, an event's subject.

    ``parsed``: the values came from text, so a blank one may already be explained by a failed
    parse in ``_reasons`` (then "empty" would be a second, wrong complaint); typed records never are.
    """
    checks = []
    for c in table.required():
        if table.kind == "events" and c == "event_id":
            continue
        # a value that failed to parse is already explained; "empty" is only for blank cells
        unexplained = f" AND len(list_filter(_reasons, lambda r: starts_with(r, '{c} '''))) = 0"
        checks.append(f"CASE WHEN {q(c)} IS NULL{unexplained if parsed else ''} THEN '{c} is empty' END")
    if table.kind == "events":
        checks.append(
            "CASE WHEN contact_id IS NULL AND account_id IS NULL AND opportunity_id IS NULL "
            f"AND type NOT IN ({', '.join(repr(t) for t in GOVERNANCE_EVENT_TYPES)}) "
            "THEN 'needs contact_id, account_id or opportunity_id' END"
        )
        checks.append(
            f"CASE WHEN occurred_at < '{EARLIEST_EVENT.isoformat()}'::TIMESTAMPTZ "
            f"OR occurred_at >= '{LATEST_EVENT.isoformat()}'::TIMESTAMPTZ THEN {lit(EVENT_TIME_PROBLEM)} END"
        )
    return checks


def _reasons_sql(table: Table) -> str:
    """``_reasons`` with the record rules' complaints added."""
    checks = _rule_checks(table, parsed=True)
    if not checks:
        return "_reasons"
    return "list_concat(_reasons, list_filter([" + ", ".join(checks) + "], lambda x: x IS NOT NULL))"
