"""Report sections as display tables, and the small formatting rules every page shares.

A report section is typed (money, share, days...); this module turns it into rows of display cells
with the one formatter the CLI and Markdown use (:func:`accord.reports.base.fmt`), so the dashboard
prints the same text for the same number. Status words ("met", "below target", "behind pace") become
pills that carry a symbol and the word as well as a colour.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from accord.reports.base import Kind, Section, fmt

GOOD = {"met", "ok", "ahead", "on pace", "on track", "signed", "sent", "yes", "accepted"}
BAD = {"below target", "not met", "problem", "behind", "missed", "overdue", "breached", "stalled",
       "not signed", "off the forecast", "rejected"}  # fmt: skip
WARN = {
    "behind pace",
    "at risk",
    "at_risk",
    "signed an earlier version",
    "maturing",
    "cannot tell",
    "recycled",
}
NEUTRAL = {
    "no target",
    "no data",
    "not started",
    "n/a",
    "open",
    "running",
    "assigned",
    "closed",
    "in progress",
}
STATUS_KEYS = {"status", "check", "state"}
"""Columns whose words are statuses, shown as pills."""
RATIO_KEYS = {"coverage", "lift", "lift_low", "lift_high"}
"""Columns holding a multiple (3.0 = three times): written with an x."""
ID_KEYS = {"deal", "content_id", "contact_id", "opportunity_id", "account_id", "deal_ids", "asset"}
"""Columns of record ids: kept on one line, in the monospace face."""

ROW_UNITS = ("share", "money", "ratio", "count")
"""Units a row may give for its plain numbers (the scorecard's `unit`, the plan's `kind`)."""


def status_class(word: Any) -> str | None:
    """The pill class of a status word; None when the word is not a status."""
    if not isinstance(word, str):
        return None
    text = word.strip().lower()
    if text in GOOD:
        return "met"
    if text in BAD or text.startswith("below"):
        return "below"
    if text in WARN:
        return "at_risk"
    if text in NEUTRAL:
        return "none"
    return None


@dataclass(frozen=True)
class Cell:
    text: str
    numeric: bool = False
    status: str | None = None
    href: str | None = None
    title: str | None = None
    cls: str | None = None


@dataclass
class TableView:
    """A section ready for the generic table template: headers, display rows, notes and flags."""

    key: str
    title: str
    headers: list[tuple[str, bool]]
    rows: list[list[Cell]]
    notes: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)


def _row_unit(section: Section, row: list[Any], currency: str) -> str | None:
    """A row that says its own unit ("unit": share, "kind": money, "USD") formats its plain numbers in it."""
    for i, c in enumerate(section.columns):
        value = row[i]
        if c.key not in ("unit", "kind") or not isinstance(value, str) or not value:
            continue
        if value in ROW_UNITS:
            return value
        if value == currency:
            return "money"
        if c.key == "unit":
            return "count"  # meetings, MQLs, opportunities: counted things
    return None


def cell_text(value: Any, kind: Kind, currency: str, unit: str | None = None) -> str:
    """One cell's text: the shared formatter, with a row's own unit applied to its plain numbers."""
    if (
        kind == "number"
        and unit is not None
        and isinstance(value, int | float)
        and not isinstance(value, bool)
    ):
        if unit in ("share", "money"):
            return fmt(value, "share" if unit == "share" else "money", currency)
        if unit == "ratio":
            return f"{value:.2f}x"
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
    return fmt(value, kind, currency)


def table(
    section: Section,
    currency: str,
    *,
    links: dict[str, str] | None = None,
    hide: set[str] | None = None,
) -> TableView:
    """A report section as display cells; ``links`` maps a column key to a URL pattern with ``{}``."""
    hide = set(hide or ())
    units = [_row_unit(section, row, currency) for row in section.rows]
    for i, c in enumerate(section.columns):
        # a unit column has done its work once the numbers carry their unit; free words (meetings) stay
        said = {row[i] for row in section.rows}
        if c.key in ("unit", "kind") and said and all(v in ROW_UNITS for v in said if v):
            hide.add(c.key)
    shown = [(i, c) for i, c in enumerate(section.columns) if c.key not in hide]
    headers = [(c.label, c.kind not in ("text", "date", "flag")) for _, c in shown]
    rows: list[list[Cell]] = []
    for row, unit in zip(section.rows, units, strict=True):
        cells: list[Cell] = []
        for i, c in shown:
            value = row[i]
            text = cell_text(value, c.kind, currency, unit)
            if c.key in RATIO_KEYS and isinstance(value, int | float) and not isinstance(value, bool):
                text = f"{value:.2f}x"
            status = status_class(value) if c.key in STATUS_KEYS else None
            href = links[c.key].format(value) if links and c.key in links and value else None
            cls = "id" if c.key in ID_KEYS else None
            cells.append(Cell(text, c.kind not in ("text", "date", "flag"), status, href, cls=cls))
        rows.append(cells)
    return TableView(section.key, section.title, headers, rows, list(section.notes), list(section.flags))


# ---- time ----------------------------------------------------------------------------------------


def instant(value: Any) -> datetime | None:
    """A UTC datetime from epoch seconds, ISO text (the API's records), a datetime or a date."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return datetime.fromtimestamp(int(value), UTC)


def when(value: Any, zone: str, *, with_day: bool = True) -> str:
    """An instant in the workspace's zone: 'Thu 15 Oct 2026, 11:00 EDT'."""
    moment = instant(value)
    if moment is None:
        return "n/a"
    local = moment.astimezone(ZoneInfo(zone))
    return local.strftime("%a %d %b %Y, %H:%M %Z" if with_day else "%H:%M %Z")


def day(value: Any, zone: str) -> str:
    moment = instant(value)
    return "n/a" if moment is None else moment.astimezone(ZoneInfo(zone)).strftime("%d %b %Y")


def span(seconds: float) -> str:
    """A duration as a person says it: '42 min', '3 h 10 min', '2 d 4 h'."""
    s = abs(int(seconds))
    if s < 60:
        return f"{s} s"
    minutes = s // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def relative(target: Any, now: datetime) -> str:
    """'in 42 min' or '3 h ago' from now."""
    moment = instant(target)
    if moment is None:
        return ""
    delta = (moment - now).total_seconds()
    return f"in {span(delta)}" if delta >= 0 else f"{span(delta)} ago"
