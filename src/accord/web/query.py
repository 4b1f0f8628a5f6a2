"""The dashboard's filters: read from GET parameters, turned into report filters, carried in every link.

Every page takes the same four filters as `accord report` (--from/--to, --segment, --team, --source)
with the same meaning: calendar days in the workspace time zone, both included. A filter that cannot
be read (a malformed date, a day outside 1900-2200, a period that ends before it starts) is dropped
and named on the page, so a bad link shows the whole picture with a note rather than an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from starlette.datastructures import QueryParams

from accord.errors import ReportError
from accord.reports.base import Filters
from accord.reports.params import DAY_RANGE, check_day

KEYS = ("from", "to", "segment", "team", "source")


def _day_start(day: date, zone: ZoneInfo) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC).timestamp())


@dataclass(frozen=True)
class PageQuery:
    """The filter values as the person typed them, and what they mean for the reports."""

    values: dict[str, str]
    filters: Filters
    problems: list[str] = field(default_factory=list)
    typed: dict[str, str] = field(default_factory=dict)
    """The dates as typed, ignored ones too: the form shows them back to be corrected, not retyped."""

    @property
    def qs(self) -> str:
        """The filters as a query string (no leading '?'), empty when none is set."""
        return urlencode([(k, self.values[k]) for k in KEYS if self.values.get(k)])

    def link(self, path: str, **extra: str) -> str:
        """``path`` with the current filters (and any extra parameters) attached."""
        pairs = [(k, self.values[k]) for k in KEYS if self.values.get(k)]
        pairs += [(k, v) for k, v in extra.items() if v]
        return f"{path}?{urlencode(pairs)}" if pairs else path

    @property
    def active(self) -> bool:
        return any(self.values.get(k) for k in KEYS)

    def describe(self) -> str:
        """One line naming the filters in force, for headings and printouts."""
        v = self.values
        parts = []
        if v.get("from") or v.get("to"):
            parts.append(f"{v.get('from') or 'the beginning'} to {v.get('to') or 'now'}")
        for key in ("segment", "team", "source"):
            if v.get(key):
                parts.append(f"{key} {v[key]}")
        return ", ".join(parts) if parts else "all data"


def parse(params: QueryParams, timezone: str) -> PageQuery:
    """Read the filters from a request's query string; unreadable ones are dropped with a reason."""
    zone = ZoneInfo(timezone)
    values = {k: (params.get(k) or "").strip() for k in KEYS}
    values = {k: v for k, v in values.items() if v}
    typed = {k: v for k, v in values.items() if k in ("from", "to")}
    problems: list[str] = []
    days: dict[str, date] = {}
    for key in ("from", "to"):
        text = values.get(key)
        if not text:
            continue
        try:
            days[key] = check_day(date.fromisoformat(text), key)
        except ValueError:
            problems.append(f"'{text}' is not a date (write YYYY-MM-DD); the {key} filter was ignored")
            values.pop(key)
        except ReportError:
            problems.append(f"{text} is out of range (give a day {DAY_RANGE}); the {key} filter was ignored")
            values.pop(key)
    if "from" in days and "to" in days and days["to"] < days["from"]:
        problems.append(f"the period ends ({days['to']}) before it starts ({days['from']}); it was ignored")
        values.pop("from")
        values.pop("to")
        days.clear()
    since = _day_start(days["from"], zone) if "from" in days else None
    until = _day_start(days["to"] + timedelta(days=1), zone) if "to" in days else None
    filters = Filters(
        since=since,
        until=until,
        segment=values.get("segment"),
        team=values.get("team"),
        source=values.get("source"),
    )
    return PageQuery(values, filters, problems, typed)


def drop_unknown(q: PageQuery, unknown: dict[str, ReportError]) -> PageQuery:
    """``q`` without the segment, team or source values the workspace does not know, each named.

    Reports refuse such a value (it would match nothing and read as "no data"); a page, like for a
    malformed date, shows the whole picture with a note instead of an error.
    """
    if not unknown:
        return q
    values = {k: v for k, v in q.values.items() if k not in unknown}
    problems = list(q.problems)
    for key, error in unknown.items():
        problems.append(f"{error.message} ({error.hint}); the {key} filter was ignored")
    filters = replace(q.filters, **dict.fromkeys(unknown))
    return PageQuery(values, filters, problems, q.typed)
