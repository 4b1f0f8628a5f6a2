"""A review pack: the council's agenda, each item with its time box, what to discuss, and its tables.

The tables are the reports' own :class:`Section` objects, so a share reads the same here as in
`accord report`; the pack adds what a meeting needs on top: order, minutes and one line per item
saying what the figures ask the council to decide. It renders to Markdown, a standalone HTML page
(inline CSS, no scripts, printable), plain text and JSON, and flattens to a :class:`Report` for the
registry, the API and the dashboard.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from typing import Any

from accord.reports.base import Column, Filters, Report, Section, fmt, html_table, markdown_table, utc_text
from accord.reports.review.period import Period

MONTH_MINUTES = {"rejections": 10, "false_positives": 10, "tiers": 10, "sla": 10, "stalled": 10,
                 "definitions": 5, "decisions": 5}  # fmt: skip
"""A monthly council in 60 minutes: the handoff boundary first, governance and commitments last."""

QUARTER_MINUTES = {"rejections": 15, "false_positives": 15, "tiers": 15, "sla": 10, "stalled": 15,
                   "definitions": 10, "decisions": 10}  # fmt: skip
"""A quarterly council in 90 minutes: more time for tiers and definitions, it recalibrates them."""


@dataclass
class AgendaItem:
    key: str
    title: str
    minutes: int
    discuss: list[str]
    sections: list[Section]
    actions: list[tuple[str, str]] = field(default_factory=list)
    """(what to decide, who owns it): collected into the closing item of the meeting."""


@dataclass
class ReviewPack:
    period: Period
    previous: Period
    as_of: int
    currency: str
    items: list[AgendaItem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    filters: Filters = field(default_factory=Filters)

    @property
    def title(self) -> str:
        return f"Revenue council review: {self.period.name}"

    @property
    def minutes(self) -> int:
        return sum(i.minutes for i in self.items)

    def item(self, key: str) -> AgendaItem:
        for i in self.items:
            if i.key == key:
                return i
        raise KeyError(key)

    def _as_of_text(self) -> str:
        return utc_text(self.as_of)

    def _intro(self) -> list[str]:
        p, q = self.period, self.previous
        return [
            f"Period: {p.name} ({p.first} to {p.last}), compared with {q.name} ({q.first} to {q.last}).",
            f"Figures as of {self._as_of_text()} (the last derive). Meeting: {self.minutes} minutes.",
            *self.notes,
        ]

    # ---- flattened, for the registry -------------------------------------------------------------

    def to_report(self) -> Report:
        """One Report whose sections carry the agenda: numbered titles with minutes, discussion first."""
        sections: list[Section] = []
        for n, item in enumerate(self.items, 1):
            for i, s in enumerate(item.sections):
                title = f"{n}. {item.title} ({item.minutes} min)" if i == 0 else f"{n}. {s.title}"
                notes = [f"To discuss: {line}" for line in item.discuss] if i == 0 else []
                sections.append(Section(s.key, title, s.columns, s.rows, notes + s.notes, s.flags))
        if sections:
            sections[0].notes[:0] = self._intro()[:1] + self.notes
        return Report("review", self.title, self.as_of, self.filters, sections, self.currency)

    # ---- renderings ----------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        def sections(item: AgendaItem) -> list[dict[str, Any]]:
            found: list[dict[str, Any]] = Report("", "", self.as_of, self.filters, item.sections).to_dict()[
                "sections"
            ]
            return found

        return {
            "review": self.period.kind,
            "title": self.title,
            "as_of": self._as_of_text(),
            "period": self.period.describe(),
            "previous": self.previous.describe(),
            "currency": self.currency,
            "minutes": self.minutes,
            "notes": self.notes,
            "agenda": [
                {
                    "key": i.key,
                    "title": i.title,
                    "minutes": i.minutes,
                    "discuss": i.discuss,
                    "sections": sections(i),
                }
                for i in self.items
            ],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    def cell(self, value: Any, column: Column) -> str:
        """A cell as the reports write it; changes carry their sign so a fall never reads as a rise, and
        a change of a share reads in percentage points."""
        if column.key.endswith("_change") and isinstance(value, int | float):
            if column.kind == "share":
                return f"{'+' if value > 0 else ''}{100 * value:.1f} pts"
            text = fmt(value, column.kind, self.currency)
            return "+" + text if value > 0 else text
        return fmt(value, column.kind, self.currency)

    def to_markdown(self) -> str:
        lines = [f"# {self.title}", ""]
        lines += [f"{line}  " for line in self._intro()]
        lines += ["", "## Agenda", "", "| # | Item | Minutes | To discuss |", "|---:|---|---:|---|"]
        for n, item in enumerate(self.items, 1):
            about = " ".join(item.discuss).replace("|", "\\|")
            lines.append(f"| {n} | {item.title} | {item.minutes} | {about} |")
        for n, item in enumerate(self.items, 1):
            lines += ["", f"## {n}. {item.title} ({item.minutes} min)", ""]
            lines += [f"**To discuss:** {line}  " for line in item.discuss]
            for s in item.sections:
                lines += ["", f"### {s.title}", ""]
                if s.rows:
                    lines += markdown_table(s, self.cell)
                else:
                    lines.append("(none)")
                for flag in s.flags:
                    lines += ["", f"**Flag:** {flag}"]
                for note in s.notes:
                    lines += ["", f"_{note}_"]
        return "\n".join(lines) + "\n"

    def to_text(self) -> str:
        """Plain text for a terminal or an e-mail body: aligned columns, no markup."""
        rule = "=" * min(100, max(len(self.title), 40))
        lines = [self.title, rule, *self._intro(), "", "Agenda"]
        for n, item in enumerate(self.items, 1):
            lines.append(f"  {n}. {item.title:<40} {item.minutes:>3} min")
        for n, item in enumerate(self.items, 1):
            lines += ["", f"{n}. {item.title} ({item.minutes} min)", "-" * 60]
            lines += [f"To discuss: {line}" for line in item.discuss]
            for s in item.sections:
                lines += ["", f"  {s.title}"]
                if not s.rows:
                    lines.append("    (none)")
                else:
                    grid = [[c.label for c in s.columns]] + [
                        [self.cell(v, c) for c, v in zip(s.columns, row, strict=True)] for row in s.rows
                    ]
                    widths = [max(len(r[i]) for r in grid) for i in range(len(s.columns))]
                    right = [c.kind not in ("text", "date", "flag") for c in s.columns]
                    for r in grid:
                        cells = [
                            v.rjust(w) if rt else v.ljust(w)
                            for v, w, rt in zip(r, widths, right, strict=True)
                        ]
                        lines.append("    " + "  ".join(cells).rstrip())
                lines += [f"    flag: {flag}" for flag in s.flags]
                lines += [f"    note: {note}" for note in s.notes]
        return "\n".join(lines) + "\n"

    def to_html(self) -> str:
        """A standalone page: inline CSS, no scripts or external assets; prints one item per block."""
        e = html.escape
        parts = [
            "<!doctype html>",
            f'<html lang="en"><head><meta charset="utf-8"><title>{e(self.title)}</title>',
            f"<style>{CSS}</style></head><body>",
            f"<header><h1>{e(self.title)}</h1>",
            *(f"<p>{e(line)}</p>" for line in self._intro()),
            "</header>",
            '<section id="agenda"><h2>Agenda</h2><table class="agenda"><thead><tr><th>#</th><th>Item</th>'
            "<th>Minutes</th><th>To discuss</th></tr></thead><tbody>",
        ]
        for n, item in enumerate(self.items, 1):
            parts.append(
                f'<tr><td class="n">{n}</td><td><a href="#{e(item.key)}">{e(item.title)}</a></td>'
                f'<td class="n">{item.minutes}</td><td>{e(" ".join(item.discuss))}</td></tr>'
            )
        parts.append(
            f'</tbody><tfoot><tr><td></td><td>Total</td><td class="n">{self.minutes}</td><td></td></tr>'
            "</tfoot></table></section>"
        )
        for n, item in enumerate(self.items, 1):
            parts.append(f'<section class="item" id="{e(item.key)}">')
            parts.append(f'<h2>{n}. {e(item.title)} <span class="box">{item.minutes} min</span></h2>')
            parts += [
                f'<p class="discuss"><strong>To discuss:</strong> {e(line)}</p>' for line in item.discuss
            ]
            for s in item.sections:
                parts.append(f'<h3 id="{e(item.key)}-{e(s.key)}">{e(s.title)}</h3>')
                if s.rows:
                    parts.append(html_table(s, self.cell))
                else:
                    parts.append('<p class="note">(none)</p>')
                parts += [f'<p class="flag">Flag: {e(flag)}</p>' for flag in s.flags]
                parts += [f'<p class="note">{e(note)}</p>' for note in s.notes]
            parts.append("</section>")
        parts.append("</body></html>")
        return "\n".join(parts) + "\n"


CSS = (
    "body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1f2933;"
    "line-height:1.4}h1{margin-bottom:.25rem}h2{border-bottom:2px solid #1f2933;padding-bottom:.2rem;"
    "margin-top:2rem}h3{margin:1rem 0 .25rem;font-size:1rem}"
    ".box{font-size:.8rem;font-weight:600;border:1px solid #1f2933;border-radius:.3rem;padding:.05rem .4rem;"
    "vertical-align:middle}.discuss{background:#f0f4f8;border-left:4px solid #334e68;padding:.4rem .6rem}"
    "table{border-collapse:collapse;margin:.25rem 0 .75rem;font-size:.9rem}"
    "th,td{border:1px solid #9aa5b1;padding:.25rem .5rem;text-align:left;vertical-align:top}"
    "td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#e4e7eb}"
    ".flag{color:#b42318;font-weight:600;margin:.2rem 0}.note{color:#52606d;margin:.2rem 0}"
    "a{color:inherit}"
    "@media print{body{margin:0;max-width:none;font-size:10pt}.item{break-before:page}"
    "table,.discuss{break-inside:avoid}th{background:none;border-bottom:2px solid #000}"
    ".discuss{background:none;border-left:3px solid #000}a{text-decoration:none}}"
)
"""Readable on screen and on paper: each agenda item starts a page, tables do not split."""
