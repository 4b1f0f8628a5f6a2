"""Read CSV, Parquet and JSON-lines files into text columns, numbering every row.

Rows are numbered from 1 (the first data row; a CSV header is not a row), and a row that cannot be
read at all (wrong number of fields, a line that is not JSON) is returned as a reject with its number,
never skipped silently.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from accord.errors import ImportFileError
from accord.ledger.writes import Reject

FORMATS = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet",
           ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}  # fmt: skip


@dataclass
class RawFile:
    """A file's rows as text, plus the rows that could not even be split into fields."""

    columns: list[str]
    table: pa.Table  # one string column per file column, plus _row (int64)
    rejects: list[Reject] = field(default_factory=list)
    broken: dict[int, str] = field(default_factory=dict)  # row -> raw text of unreadable rows
    rows_read: int = 0


def detect_format(path: Path, given: str | None) -> str:
    if given:
        if given not in {"csv", "parquet", "jsonl"}:
            raise ImportFileError(f"unknown format '{given}'", hint="use csv, parquet or jsonl")
        return given
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ImportFileError(
            f"{path}: cannot tell the format from '{path.suffix}'",
            hint="name it .csv, .parquet or .jsonl, or pass --format",
        )
    return fmt


def read(path: Path, fmt: str, *, encoding: str = "utf-8", delimiter: str | None = None) -> RawFile:
    if not path.exists():
        raise ImportFileError(f"{path}: file not found")
    if path.is_dir():
        raise ImportFileError(f"{path} is a folder", hint="pass one file per import")
    if fmt == "csv":
        return _read_csv(path, encoding, None if delimiter is None else _delimiter(delimiter))
    if fmt == "jsonl":
        return _read_jsonl(path, encoding)
    return _read_parquet(path)


def _delimiter(given: str) -> str:
    """One character, as Python's csv reader needs; ``\\t`` is a tab, as a shell makes typing one hard."""
    if given in ("\\t", "tab"):
        return "\t"
    if len(given) != 1 or given in ('"', "\r", "\n"):
        raise ImportFileError(
            f"--delimiter '{given}' cannot separate columns: give exactly one character, not a quote "
            "or a line break",
            hint="e.g. --delimiter ';' or --delimiter '\\t' (tab); leave it out to detect it",
        )
    return given


def _text(path: Path, encoding: str) -> str:
    try:
        return path.read_text(encoding="utf-8-sig" if encoding.lower() in {"utf-8", "utf8"} else encoding)
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"{path}: not {encoding} text (byte {exc.start} cannot be decoded)",
            hint="pass the file's encoding, e.g. --encoding latin-1",
        ) from None
    except LookupError:
        raise ImportFileError(f"unknown encoding '{encoding}'", hint="e.g. utf-8, latin-1, cp1252") from None


def _read_csv(path: Path, encoding: str, delimiter: str | None) -> RawFile:
    text = _text(path, encoding)
    if not text.strip():
        raise ImportFileError(f"{path}: the file is empty", hint="export it again with a header row")
    if delimiter is None:
        sample = text[:65536]
        try:
            delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except csv.Error as exc:
        raise ImportFileError(f"{path}: cannot read the header: {exc}") from None
    columns = _header(path, header)
    width = len(columns)
    values: list[list[str | None]] = [[] for _ in columns]
    numbers: list[int] = []
    raw = RawFile(columns, pa.table({}))
    row = 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            row += 1
            raw.rejects.append(Reject(row, f"cannot read this row: {exc}"))
            continue
        if not fields or (len(fields) == 1 and not fields[0].strip() and width > 1):
            continue  # blank line: not a row
        row += 1
        if len(fields) != width:
            raw.rejects.append(
                Reject(
                    row,
                    f"row has {len(fields)} fields, the header has {width}; "
                    "check quoting and delimiters on this line",
                )
            )
            raw.broken[row] = delimiter.join(fields)
            continue
        numbers.append(row)
        for i, value in enumerate(fields):
            values[i].append(value if value != "" else None)
    raw.rows_read = row
    raw.table = _assemble(columns, values, numbers)
    return raw


def _header(path: Path, header: list[str]) -> list[str]:
    columns = [h.strip() for h in header]
    if not any(columns):
        raise ImportFileError(f"{path}: the first line has no column names", hint="add a header row")
    seen: set[str] = set()
    for i, name in enumerate(columns):
        if not name:
            columns[i] = name = f"column_{i + 1}"
        if name in seen:
            raise ImportFileError(
                f"{path}: column '{name}' appears twice in the header", hint="rename one of them"
            )
        seen.add(name)
    return columns


def _assemble(columns: list[str], values: list[list[str | None]], numbers: list[int]) -> pa.Table:
    arrays = {name: pa.array(col, type=pa.string()) for name, col in zip(columns, values, strict=True)}
    arrays["_row"] = pa.array(numbers, type=pa.int64())
    return pa.table(arrays)


def _read_jsonl(path: Path, encoding: str) -> RawFile:
    text = _text(path, encoding)
    records: list[tuple[int, dict[str, Any]]] = []
    rejects: list[Reject] = []
    broken: dict[int, str] = {}
    row = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        row += 1
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            rejects.append(Reject(row, f"not valid JSON: {exc.msg} at character {exc.pos + 1}"))
            broken[row] = line
            continue
        if not isinstance(record, dict):
            rejects.append(Reject(row, "each line must be a JSON object {...}"))
            broken[row] = line
            continue
        records.append((row, record))
    if row == 0:
        raise ImportFileError(f"{path}: the file is empty")
    columns: list[str] = []
    seen: set[str] = set()
    for _, record in records:
        for key in record:
            if key not in seen:
                seen.add(key)
                columns.append(key)
    values: list[list[str | None]] = [[] for _ in columns]
    for _, record in records:
        for i, name in enumerate(columns):
            values[i].append(_as_text(record.get(name)))
    return RawFile(columns, _assemble(columns, values, [n for n, _ in records]), rejects, broken, row)


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value if value != "" else None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    return json.dumps(value, sort_keys=True)


def _read_parquet(path: Path) -> RawFile:
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ImportFileError(f"{path}: not a readable Parquet file: {exc}") from None
    columns = [str(c) for c in table.column_names]
    values: list[list[str | None]] = []
    for name in table.column_names:
        column = table.column(name)
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            values.append([v if v != "" else None for v in column.to_pylist()])
        elif pa.types.is_timestamp(column.type):
            values.append([None if v is None else v.isoformat() for v in column.to_pylist()])
        else:
            values.append(
                [_as_text(v.isoformat() if hasattr(v, "isoformat") else v) for v in column.to_pylist()]
            )
    n = table.num_rows
    return RawFile(columns, _assemble(columns, values, list(range(1, n + 1))), rows_read=n)
