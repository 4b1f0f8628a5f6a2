"""How a file's columns fill a ledger table: the mapping plan, and the SQL quoting it is written in.

:func:`plan_columns` matches a file's columns to a table's (by name, by an explicit ``--map``, by a
preset's expressions or constants) and refuses a file that lacks a required column, naming it and
the columns the file has. :class:`accord.ledger.imports.Stager` then types the values by the plan.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from accord.errors import ImportFileError
from accord.ledger.schema import Table
from accord.spec.rules import suggest


@dataclass
class Plan:
    """How each ledger column is filled from the file."""

    kind: str
    columns: dict[str, str] = field(default_factory=dict)  # target -> source column
    constants: dict[str, str] = field(default_factory=dict)
    expressions: dict[str, str] = field(default_factory=dict)  # target -> trusted SQL (presets)
    date_formats: list[str] = field(default_factory=list)
    timezone: str = "UTC"
    source: str | None = None
    extras: list[str] = field(default_factory=list)  # file columns kept in attributes/properties
    extra_targets: dict[str, str] = field(default_factory=dict)  # json key -> source column
    handled: set[str] = field(default_factory=set)  # file columns a preset repairs and reports itself


def q(name: str) -> str:
    """Quote an identifier for DuckDB."""
    return '"' + name.replace('"', '""') + '"'


def lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


_SENTINELS = "|~^`#"


def try_strptime(expr: str, formats: Iterable[str]) -> str:
    """``TRY_STRPTIME`` over a list of formats that never reads past the end of a value.

    DuckDB 1.5's strptime matches a format's literal characters without checking the value's length:
    a date-only cell tried against a date-and-time format reads the bytes after the string. Mostly
    harmless, it crashed the process when a string ended a memory page (seen in CI, importing the
    Olist files). The same sentinel character appended to the value and to every format makes each
    comparison stop inside the string; trimming keeps trailing blanks, which strptime skips, from
    standing between the value and its sentinel. Results are otherwise unchanged.
    """
    fmts = list(formats)
    sentinel = next(c for c in _SENTINELS if not any(c in f for f in fmts))
    fmt_list = "[" + ", ".join(lit(f + sentinel) for f in fmts) + "]"
    return f"TRY_STRPTIME(trim({expr}) || {lit(sentinel)}, {fmt_list})"


def normalise(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def plan_columns(
    table: Table,
    file_columns: list[str],
    mapping: Mapping[str, str],
    constants: Mapping[str, str],
    expressions: Mapping[str, str],
    *,
    file: str,
    strict: set[str] | None = None,
    notes: list[str] | None = None,
) -> Plan:
    """Resolve which file column feeds each ledger column; refuse a mapping that cannot work.

    Targets in ``strict`` (typed on the command line) must name a file column; a saved mapping or
    preset may name columns a particular export lacks, which leaves those targets empty (and says so).
    """
    plan = Plan(table.kind, constants=dict(constants), expressions=dict(expressions))
    targets = table.importable()
    by_norm = {normalise(c): c for c in file_columns}
    used: set[str] = set()
    for target, src in mapping.items():
        json_key = target.split(".", 1)[1] if target.startswith(("properties.", "attributes.")) else None
        if target not in targets and json_key is None and target not in (table.extra,):
            close = suggest(target, targets)
            raise ImportFileError(
                f"{file}: '{target}' is not a column of {table.kind}",
                hint=(f"did you mean '{close}'? " if close else "")
                + f"columns: {', '.join(targets)}; or properties.NAME / attributes.NAME",
            )
        if (
            src not in file_columns
            and strict is not None
            and target not in strict
            and target not in table.required()
        ):
            if notes is not None:
                notes.append(f"no column '{src}' in this file: {target} left empty")
            continue
        if src not in file_columns:
            close = suggest(src, file_columns)
            raise ImportFileError(
                f"{file}: no column '{src}' in the file (mapped to {target})",
                hint=(f"did you mean '{close}'? " if close else "")
                + f"columns in the file: {', '.join(file_columns)}",
            )
        if json_key is not None:
            plan.extra_targets[json_key] = src
        else:
            plan.columns[target] = src
        used.add(src)
    for target in [*targets, table.extra]:
        if target in plan.columns or target in plan.constants or target in plan.expressions:
            continue
        same_name = by_norm.get(normalise(target))
        if same_name is not None and same_name not in used:
            plan.columns[target] = same_name
            used.add(same_name)
    used.update(_referenced(expressions.values(), file_columns))
    missing = [
        c
        for c in table.required()
        if c not in plan.columns
        and c not in plan.constants
        and c not in plan.expressions
        and not (table.kind == "events" and c == "event_id")
    ]
    if missing:
        raise ImportFileError(
            f"{file}: no column for {', '.join(missing)} (required for {table.kind})",
            hint=" ".join(f"map one with --map {m}=COLUMN" for m in missing)
            + f"; columns in the file: {', '.join(file_columns)}",
        )
    plan.extras = [c for c in file_columns if c not in used]
    return plan


def _referenced(expressions: Iterable[str], columns: list[str]) -> set[str]:
    """File columns a preset's expressions read, so they are not also kept as extras."""
    text = " ".join(expressions)

    def read(c: str) -> bool:
        if q(c) in text:
            return True
        # Unquoted, only a plain identifier can be a column reference; a name with spaces inside a
        # longer quoted name ("Deal Stage" in "Deal Stage (closed)") is not a use of it.
        plain = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", c) is not None
        return plain and re.search(r"(?<![\w.'\"])" + re.escape(c) + r"(?![\w'\"])", text) is not None

    return {c for c in columns if read(c)}
