"""Updating a record from a file that carries only some of its columns.

A CRM import file (Accord's own write-back, a HubSpot update, a partial export) often has a few
columns. Decision: a column the file does not provide keeps its stored value, and custom attributes
merge (the file's keys over the stored ones); a column the file provides, even empty, is taken as
given. So importing a narrow file never erases what other files brought, and re-importing it
changes nothing. The content hash is recomputed over the merged record, the same way the stager
computes it, so "already stored" is still an exact comparison.
"""

from __future__ import annotations

from collections.abc import Iterable

from accord.ledger.schema import Table


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def content_hash_sql(table: Table, alias: str = "") -> str:
    """The md5 over a record's values that identifies its content (``source`` is not content)."""
    prefix = f"{alias}." if alias else ""
    parts = []
    for column in table.columns:
        if column.name == "source" or (table.kind == "events" and column.name == "event_id"):
            continue
        ref = prefix + _q(column.name)
        value = f"epoch_us({ref})::VARCHAR" if column.type == "timestamp" else f"{ref}::VARCHAR"
        parts.append(f"coalesce({value}, chr(0))")
    parts.append(f"coalesce({prefix}{table.extra}::VARCHAR, chr(0))")
    return f"md5(concat_ws(chr(31), {', '.join(parts)}))"


def merged_sql(table: Table, staged: str, provided: Iterable[str]) -> str:
    """SELECT of the staged rows completed from the stored records for the columns not provided."""
    given = set(provided) | {table.key}
    stored = f"t.{table.key} IS NOT NULL"
    cols = [
        f"s.{_q(c.name)}"
        if c.name in given
        else f"CASE WHEN {stored} THEN t.{_q(c.name)} ELSE s.{_q(c.name)} END"
        for c in table.columns
    ]
    extra = (
        f"CASE WHEN {stored} THEN json_merge_patch(coalesce(t.{table.extra}, '{{}}')::JSON, "
        f"coalesce(s.{table.extra}, '{{}}')::JSON) ELSE s.{table.extra} END"
    )
    names = [_q(c.name) for c in table.columns]
    inner = (
        f"SELECT s._row, {', '.join(f'{e} AS {n}' for e, n in zip(cols, names, strict=True))}, "
        f"{extra} AS {table.extra} FROM {staged} s LEFT JOIN {table.name} t USING ({table.key})"
    )
    return f"SELECT *, {content_hash_sql(table)} AS content_hash FROM ({inner})"
