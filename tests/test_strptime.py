"""The importer's strptime guard reads dates exactly as DuckDB's TRY_STRPTIME does, within the value.

DuckDB's own TRY_STRPTIME is the reference only for values of at most 12 bytes: those are stored
inside the string header, so its read past their end (the bug the guard avoids) stays in memory it
owns. Longer values are checked against the instant they were written from.
"""

from __future__ import annotations

from datetime import datetime

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from accord.ledger.imports import DATE_GROUPS
from accord.ledger.mapping import lit, try_strptime

FORMATS = [f for group in DATE_GROUPS.values() for f in group]
INLINE = 12


def _guarded(con: duckdb.DuckDBPyConnection, value: str | None, formats: list[str]) -> object:
    shown = "NULL" if value is None else lit(value)
    return con.execute(f"SELECT {try_strptime(shown, formats)}").fetchall()[0][0]


def _plain(con: duckdb.DuckDBPyConnection, value: str, formats: list[str]) -> object:
    assert len(value.strip().encode()) <= INLINE
    plain = "[" + ", ".join(lit(f) for f in formats) + "]"
    return con.execute(f"SELECT TRY_STRPTIME(trim({lit(value)}), {plain})").fetchall()[0][0]


@settings(max_examples=200, deadline=None)
@given(
    moment=st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2040, 12, 31)),
    group=st.sampled_from(list(DATE_GROUPS)),
    pick=st.integers(min_value=0, max_value=3),
    pad=st.sampled_from(["", " ", "  "]),
)
def test_a_written_date_reads_back_as_its_instant(moment: datetime, group: str, pick: int, pad: str) -> None:
    formats = list(DATE_GROUPS[group])
    written = formats[pick % len(formats)]
    text = moment.strftime(written)
    expected = datetime.strptime(text, written)
    assert _guarded(duckdb.connect(), pad + text + pad, formats) == expected


@settings(max_examples=300, deadline=None)
@given(
    moment=st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2040, 12, 31)),
    written=st.sampled_from(FORMATS),
    group=st.sampled_from(list(DATE_GROUPS)),
    pad=st.sampled_from(["", " "]),
    cut=st.integers(min_value=0, max_value=12),
)
def test_short_and_cut_values_read_as_duckdb_reads_them(
    moment: datetime, written: str, group: str, pad: str, cut: int
) -> None:
    """A value cut short (shorter than the formats tried) gives what plain TRY_STRPTIME gives."""
    text = moment.strftime(written)
    value = pad + text[: min(len(text), INLINE) - cut] + pad
    con = duckdb.connect()
    assert _guarded(con, value, list(DATE_GROUPS[group])) == _plain(con, value, list(DATE_GROUPS[group]))


def test_guard_handles_empty_null_and_formats_holding_the_sentinel() -> None:
    con = duckdb.connect()
    assert _guarded(con, None, ["%d-%m-%Y"]) is None
    assert _guarded(con, "", ["%d-%m-%Y"]) is None
    assert _guarded(con, "   ", ["%d-%m-%Y"]) is None
    # a format that already uses '|' gets another end marker and still reads its own '|'
    sql = try_strptime("'01|02|2018'", ["%d|%m|%Y"])
    assert "|'" not in sql.split("[")[0]
    assert con.execute(f"SELECT {sql}").fetchall()[0][0] == datetime(2018, 2, 1)
