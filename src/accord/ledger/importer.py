"""One import, end to end: resolve the mapping, read, stage, commit, and write the rejects file."""

from __future__ import annotations

import csv
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from accord.errors import ImportFileError
from accord.files import check_writable
from accord.ledger import reader
from accord.ledger.imports import Stager, file_digest
from accord.ledger.mapping import plan_columns
from accord.ledger.presets import PRESETS, Preset
from accord.ledger.schema import TABLES
from accord.ledger.store import Ledger
from accord.ledger.writes import Batch, Reject
from accord.spec import catalog
from accord.spec.model import Spec, _timezone
from accord.spec.rules import suggest

Progress = Callable[[str], None]


@dataclass
class ImportRequest:
    """What the user asked for: a file, and how to read it."""

    file: Path
    kind: str | None = None
    preset: str | None = None
    mapping_name: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)
    date_formats: list[str] = field(default_factory=list)
    timezone: str | None = None
    source: str | None = None
    format: str | None = None
    encoding: str = "utf-8"
    delimiter: str | None = None
    rejects_path: Path | None = None
    dry_run: bool = False


@dataclass
class ImportReport:
    """What happened, in the numbers a user checks: nothing is unaccounted for."""

    kind: str
    file: str
    rows_read: int
    imported: int
    updated: int
    duplicates: int
    rejected: int
    events_written: int
    notes: list[str]
    mapping: dict[str, Any]
    import_id: str | None
    rejects_file: str | None
    rejects: list[Reject]
    dry_run: bool = False


def _resolve(spec: Spec, req: ImportRequest) -> tuple[str, Preset | None, dict[str, Any]]:
    preset = None
    settings: dict[str, Any] = {
        "columns": {},
        "constants": {},
        "date_formats": [],
        "timezone": None,
        "source": None,
    }
    kind = req.kind
    if req.preset:
        preset = PRESETS.get(req.preset)
        if preset is None:
            close = suggest(req.preset, list(PRESETS))
            raise ImportFileError(
                f"unknown preset '{req.preset}'",
                hint=(f"did you mean '{close}'? " if close else "")
                + f"presets: {', '.join(PRESETS)} (see `accord import --help`)",
            )
        settings["columns"] = dict(preset.columns)
        settings["date_formats"] = list(preset.date_formats)
        settings["source"] = preset.source
        if kind and kind != preset.kind:
            raise ImportFileError(
                f"preset '{preset.name}' imports {preset.kind}, not {kind}",
                hint=f"use `accord import {preset.kind} FILE --preset {preset.name}`",
            )
        kind = preset.kind
    if req.mapping_name:
        mapping = spec.imports.get(req.mapping_name)
        if mapping is None:
            close = suggest(req.mapping_name, list(spec.imports))
            raise ImportFileError(
                f"no mapping '{req.mapping_name}' under imports: in the spec",
                hint=f"did you mean '{close}'?"
                if close
                else "declare it under imports: or pass --map TARGET=COLUMN",
            )
        if kind and kind != mapping.kind:
            raise ImportFileError(f"mapping '{req.mapping_name}' imports {mapping.kind}, not {kind}")
        kind = mapping.kind
        settings["columns"].update(mapping.columns)
        settings["constants"].update(mapping.constants)
        settings["date_formats"] = list(mapping.date_formats) or settings["date_formats"]
        settings["timezone"] = mapping.timezone
        settings["source"] = mapping.source or settings["source"]
    if kind is None:
        raise ImportFileError("say what the file holds", hint=f"one of: {', '.join(TABLES)}")
    if kind not in TABLES:
        close = suggest(kind, list(TABLES))
        raise ImportFileError(
            f"unknown kind '{kind}'",
            hint=(f"did you mean '{close}'? " if close else "") + f"kinds: {', '.join(TABLES)}",
        )
    settings["columns"].update(req.columns)
    settings["constants"].update(req.constants)
    if req.date_formats:
        settings["date_formats"] = list(req.date_formats)
    settings["timezone"] = req.timezone or settings["timezone"] or spec.workspace.timezone
    try:
        _timezone(settings["timezone"])
    except ValueError as exc:
        raise ImportFileError(str(exc), hint="pass an IANA zone with --timezone") from None
    settings["source"] = req.source or settings["source"] or "import"
    origin = f"mapping '{req.mapping_name}'" if req.mapping_name else f"preset '{req.preset}'"
    flag = "--date-format" if req.date_formats else f"{origin}: date format"
    _check_date_formats(settings["date_formats"], flag)
    return kind, preset, settings


def _check_date_formats(formats: list[str], flag: str) -> None:
    """DuckDB refuses a bad format only when a query first uses it, deep inside staging: ask it here."""
    con = duckdb.connect()
    try:
        for fmt in formats:
            try:
                con.execute("SELECT try_strptime('2000-01-01', ?)", [fmt])
            except duckdb.Error as exc:
                why = str(exc).split(f"specifier {fmt}: ", 1)[-1]
                raise ImportFileError(
                    f"{flag} '{fmt}' cannot be read: {why}",
                    hint="use strptime codes, e.g. --date-format '%d/%m/%Y %H:%M' "
                    "(%d day, %m month, %Y year, %H hour, %M minute, %S second, %z offset)",
                ) from None
    finally:
        con.close()


def _references(ledger: Ledger) -> dict[str, pa.Table]:
    def ids(sql: str) -> pa.Table:
        return ledger.con.sql(sql).to_arrow_table()

    return {
        "ref_products": ids("SELECT product_id, name FROM products"),
        "ref_accounts": ids("SELECT account_id FROM accounts"),
        "ref_contacts": ids("SELECT contact_id FROM contacts"),
        "ref_users": ids("SELECT user_id FROM users"),
    }


def run_import(
    ledger: Ledger, spec: Spec, req: ImportRequest, workspace: Path, progress: Progress | None = None
) -> ImportReport:
    """Import one file into the ledger; atomic, idempotent, with every refused row accounted for."""
    say = progress or (lambda _: None)
    started = datetime.now(UTC)
    import_id = f"imp_{started:%Y%m%dT%H%M%S}_{secrets.token_hex(3)}"
    kind, preset, settings = _resolve(spec, req)
    rejects_path = req.rejects_path or (workspace / "rejects" / f"{req.file.stem}.{import_id}.rejects.csv")
    if not req.dry_run:  # refused rows are part of the import: unwritable after the commit, they'd be lost
        check_writable(rejects_path, "--rejects", example=f"{req.file.stem}.rejects.csv", make_folders=True)
    fmt = reader.detect_format(req.file, req.format)
    say(f"reading {req.file.name}")
    raw = reader.read(req.file, fmt, encoding=req.encoding, delimiter=req.delimiter)
    table = TABLES[kind]
    file_label = str(req.file)
    say(f"checking {raw.rows_read} rows")
    stager = Stager(settings["timezone"], _references(ledger))
    try:
        columns = stager.prepare(raw, preset.prepare if preset else None)
        mapping_notes: list[str] = []
        plan = plan_columns(
            table,
            columns,
            settings["columns"],
            settings["constants"],
            preset.expressions if preset else {},
            file=file_label,
            strict=set(req.columns),
            notes=mapping_notes,
        )
        plan.date_formats = settings["date_formats"]
        plan.timezone = settings["timezone"]
        plan.source = settings["source"]
        plan.handled = set(preset.handled) if preset else set()
        batch = stager.stage(raw, plan, events_sql=preset.events if preset else None, file=file_label)
        batch.notes = mapping_notes + batch.notes
        if preset:
            batch.notes += _preset_notes(stager.con, preset)
        batch.notes += _event_type_notes(spec, batch)
    finally:
        stager.close()
    batch.file_sha256 = file_digest(req.file)
    batch.preset = preset.name if preset else None
    batch.mapping = {
        "columns": plan.columns,
        "constants": plan.constants,
        "date_formats": plan.date_formats,
        "timezone": plan.timezone,
        "source": plan.source,
        "kept_in_" + table.extra: plan.extras,
    }
    if req.dry_run:
        return _report(batch, None, import_id, None, dry_run=True)
    say("writing to the ledger")
    result = ledger.commit(batch, import_id, started, str(rejects_path))
    all_rejects = sorted(batch.rejects + result.rejects, key=lambda r: r.row)
    written = None
    if all_rejects:
        try:
            _write_rejects(rejects_path, raw, all_rejects)
        except OSError as exc:  # checked above, so only a disk that filled or changed in between
            raise ImportFileError(
                f"import {import_id} was stored, but its {len(all_rejects)} refused rows could not be "
                f"written to {rejects_path}: {exc.strerror or exc}",
                hint="import the same file again with --rejects PATH: the stored rows count as "
                "duplicates and the refused ones are written",
            ) from None
        written = str(rejects_path)
    return _report(batch, result, import_id, written)


def _report(
    batch: Batch, result: Any, import_id: str, rejects_file: str | None, dry_run: bool = False
) -> ImportReport:
    rejects = sorted(batch.rejects + (result.rejects if result else []), key=lambda r: r.row)
    return ImportReport(
        kind=batch.kind,
        file=batch.file or "",
        rows_read=batch.rows_read,
        imported=result.imported if result else batch.rows.num_rows,
        updated=result.updated if result else 0,
        duplicates=(result.duplicates if result else 0) + batch.repeats,
        rejected=len(rejects),
        events_written=result.events_written
        if result
        else (batch.events.num_rows if batch.events is not None else 0),
        notes=batch.notes + (result.notes if result else []),
        mapping=batch.mapping,
        import_id=None if dry_run else import_id,
        rejects_file=rejects_file,
        rejects=rejects,
        dry_run=dry_run,
    )


def _preset_notes(con: duckdb.DuckDBPyConnection, preset: Preset) -> list[str]:
    notes: list[str] = []
    for sql in preset.notes:
        notes += [str(r[0]) for r in con.execute(sql).fetchall() if r[0]]
    return notes


def _event_type_notes(spec: Spec, batch: Batch) -> list[str]:
    tables = [batch.rows] if batch.kind == "events" else []
    if batch.events is not None:
        tables.append(batch.events)
    known = set(catalog.STANDARD_EVENT_TYPES) | set(spec.event_types)
    counts: dict[str, int] = {}
    for t in tables:
        if t.num_rows == 0:
            continue
        for row in pc.value_counts(t.column("type")).to_pylist():
            if row["values"] not in known:
                counts[row["values"]] = counts.get(row["values"], 0) + int(row["counts"])
    if not counts:
        return []
    listed = ", ".join(f"'{k}' x{v}" for k, v in sorted(counts.items()))
    return [
        f"event types not declared in the spec: {listed}; stored as given, but rules can name "
        "them only once they are declared under event_types"
    ]


def _write_rejects(path: Path, raw: reader.RawFile, rejects: list[Reject]) -> None:
    """Each refused row with its number, reason and original values, ready to fix and re-import."""
    path.parent.mkdir(parents=True, exist_ok=True)
    wanted = pa.array(sorted({r.row for r in rejects}), type=pa.int64())
    subset = raw.table.filter(pc.is_in(raw.table.column("_row"), value_set=wanted))
    originals: dict[int, dict[str, Any]] = {row["_row"]: row for row in subset.to_pylist()}
    tmp = path.with_name(path.name + ".tmp")  # not with_suffix: x.tmp beside x.csv may be the user's
    try:
        with tmp.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            has_broken = bool(raw.broken)
            writer.writerow(["row", "reason", *raw.columns, *(["unreadable_row"] if has_broken else [])])
            for reject in rejects:
                values = originals.get(reject.row, {})
                line = [reject.row, reject.reason, *(values.get(c) for c in raw.columns)]
                if has_broken:
                    line.append(raw.broken.get(reject.row))
                writer.writerow(line)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
