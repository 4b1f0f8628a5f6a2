"""The shape every report shares, so one renderer serves the CLI, the API and the dashboard.

A report is a title, the filters it ran with, and sections; a section is a table (typed columns,
rows) with notes and flags. Typed columns let each adapter format a share as a percentage and money
in the workspace currency while JSON and CSV keep the exact numbers.
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal

Kind = Literal["text", "int", "number", "share", "money", "days", "minutes", "date", "flag"]


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: Kind = "text"


@dataclass
class Section:
    """One table of a report, with the sentences a reader needs to act on it."""

    key: str
    title: str
    columns: list[Column]
    rows: list[list[Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip((c.key for c in self.columns), row, strict=True)) for row in self.rows]


def utc_text(value: datetime | float) -> str:
    """An instant (or epoch seconds) as every JSON answer writes it: UTC, ISO, ending in Z."""
    moment = value.astimezone(UTC) if isinstance(value, datetime) else datetime.fromtimestamp(value, UTC)
    return moment.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Filters:
    """What every report can be narrowed by; a period is [since, until) in UTC seconds."""

    since: int | None = None
    until: int | None = None
    segment: str | None = None
    team: str | None = None
    source: str | None = None

    @property
    def named(self) -> bool:
        """Whether a segment, team or source is asked for (values the workspace must know)."""
        return any(v is not None for v in (self.segment, self.team, self.source))

    def describe(self) -> dict[str, Any]:
        def day(ts: int | None) -> str | None:
            return None if ts is None else datetime.fromtimestamp(ts, UTC).date().isoformat()

        return {
            "from": day(self.since),
            "to": day(self.until),
            "segment": self.segment,
            "team": self.team,
            "source": self.source,
        }

    def in_period(self, ts: int | None) -> bool:
        if ts is None:
            return False
        return (self.since is None or ts >= self.since) and (self.until is None or ts < self.until)


@dataclass
class Report:
    name: str
    title: str
    as_of: int
    filters: Filters
    sections: list[Section] = field(default_factory=list)
    currency: str = "USD"

    def section(self, key: str) -> Section:
        for s in self.sections:
            if s.key == key:
                return s
        raise KeyError(key)

    # ---- renderings that need no terminal -----------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "report": self.name,
            "title": self.title,
            "as_of": utc_text(self.as_of),
            "filters": self.filters.describe(),
            "currency": self.currency,
            "sections": [
                {
                    "key": s.key,
                    "title": s.title,
                    "columns": [{"key": c.key, "label": c.label, "kind": c.kind} for c in s.columns],
                    "rows": [
                        {c.key: plain(v) for c, v in zip(s.columns, row, strict=True)} for row in s.rows
                    ],
                    "notes": s.notes,
                    "flags": s.flags,
                }
                for s in self.sections
            ],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    def to_csv(self) -> str:
        """One CSV for the whole report: a `section` column first, then each section's own columns."""
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        for s in self.sections:
            writer.writerow(["section", *(c.key for c in s.columns)])
            for row in s.rows:
                writer.writerow([s.key, *("" if v is None else plain(v) for v in row)])
        return buf.getvalue()

    def to_markdown(self) -> str:
        lines = [f"# {self.title}", "", f"As of {self.to_dict()['as_of']}."]
        active = {k: v for k, v in self.filters.describe().items() if v is not None}
        if active:
            lines.append("Filters: " + ", ".join(f"{k} {v}" for k, v in active.items()) + ".")
        for s in self.sections:
            lines += ["", f"## {s.title}", ""]
            if s.rows:
                lines += markdown_table(s, lambda v, c: fmt(v, c.kind, self.currency))
            else:
                lines.append("(none)")
            for flag in s.flags:
                lines += ["", f"**Flag:** {flag}"]
            for note in s.notes:
                lines += ["", f"_{note}_"]
        return "\n".join(lines) + "\n"

    def to_html(self) -> str:
        """A standalone page (no scripts, no external assets): printable, mailable, archivable."""
        e = html.escape
        parts = [
            "<!doctype html>",
            f'<html lang="en"><head><meta charset="utf-8"><title>{e(self.title)}</title>',
            "<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:72rem;color:#1f2933}"
            "table{border-collapse:collapse;margin:.5rem 0 1rem}th,td{border:1px solid #cbd2d9;"
            "padding:.3rem .6rem;text-align:left}td.n{text-align:right}th{background:#f0f4f8}"
            ".flag{color:#b42318;font-weight:600}.note{color:#52606d}</style></head><body>",
            f"<h1>{e(self.title)}</h1>",
            f"<p>As of {e(self.to_dict()['as_of'])}.</p>",
        ]
        active = {k: v for k, v in self.filters.describe().items() if v is not None}
        if active:
            parts.append("<p>Filters: " + e(", ".join(f"{k} {v}" for k, v in active.items())) + ".</p>")
        for s in self.sections:
            parts.append(f'<section id="{e(s.key)}"><h2>{e(s.title)}</h2>')
            if s.rows:
                parts.append(html_table(s, lambda v, c: fmt(v, c.kind, self.currency)))
            else:
                parts.append("<p>(none)</p>")
            parts += [f'<p class="flag">Flag: {e(flag)}</p>' for flag in s.flags]
            parts += [f'<p class="note">{e(note)}</p>' for note in s.notes]
            parts.append("</section>")
        parts.append("</body></html>")
        return "\n".join(parts) + "\n"


def markdown_table(section: Section, cell: Callable[[Any, Column], str]) -> list[str]:
    """A section's rows as Markdown table lines, numbers right-aligned; ``cell`` writes each value."""
    lines = ["| " + " | ".join(c.label for c in section.columns) + " |"]
    lines.append(
        "|" + "|".join("---" if c.kind in ("text", "date", "flag") else "---:" for c in section.columns) + "|"
    )
    for row in section.rows:
        cells = [cell(v, c).replace("|", "\\|") for c, v in zip(section.columns, row, strict=True)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def html_table(section: Section, cell: Callable[[Any, Column], str]) -> str:
    """A section's rows as an HTML table, numbers right-aligned; ``cell`` writes each value."""
    e = html.escape
    head = "".join(f"<th>{e(c.label)}</th>" for c in section.columns)
    rows = [
        "<tr>"
        + "".join(
            ("<td>" if c.kind in ("text", "date", "flag") else '<td class="n">') + e(cell(v, c)) + "</td>"
            for c, v in zip(section.columns, row, strict=True)
        )
        + "</tr>"
        for row in section.rows
    ]
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def plain(value: Any) -> Any:
    """JSON-safe value: dates as ISO text, NaN as null, numbers kept exact."""
    if isinstance(value, datetime):
        return utc_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def fmt(value: Any, kind: Kind, currency: str = "USD") -> str:
    """Human text for one cell: the same in the terminal, Markdown and the dashboard."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a" if kind not in ("text", "flag") else ""
    if kind == "share":
        return f"{100 * value:.1f}%"
    if kind == "money":
        return f"{currency} {value:,.0f}"
    if kind == "int":
        return f"{int(value):,}"
    if kind == "number":
        return f"{value:,.2f}"
    if kind == "days":
        return f"{value:,.1f} d"
    if kind == "minutes":
        return f"{value:,.1f} min"
    if kind == "flag":
        return "yes" if value is True else "no" if value is False else str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    return str(value)
