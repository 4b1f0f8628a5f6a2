"""The period a review pack covers, and the one it is compared with.

A revenue council reviews whole calendar months (the agreement's review cadence) and whole calendar
quarters (its recalibration cadence), cut at midnight in the workspace's time zone, the same way
`--from`/`--to` are read. "Now" is the report's instant (the last derive), like every report, so a
pack made twice from the same derive is the same pack.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from accord.errors import ReportError

Kind = Literal["month", "quarter", "days"]


def local_midnight(day: date, zone: ZoneInfo) -> int:
    """UTC seconds of the start of a calendar day in the workspace's zone."""
    return int(datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC).timestamp())


def local_day(at: int, zone: ZoneInfo) -> date:
    return datetime.fromtimestamp(at, UTC).astimezone(zone).date()


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    """Whole days [first, last] in the workspace's zone; ``since``/``until`` are [start, end) in UTC."""

    kind: Kind
    first: date
    last: date
    since: int
    until: int

    @property
    def label(self) -> str:
        """The period as typed on the command line: 2026-09, 2026-Q3, or its two days."""
        if self.kind == "month":
            return self.first.strftime("%Y-%m")
        if self.kind == "quarter":
            return f"{self.first.year}-Q{(self.first.month - 1) // 3 + 1}"
        return f"{self.first.isoformat()} to {self.last.isoformat()}"

    @property
    def name(self) -> str:
        """The period as a person says it: September 2026, Q3 2026."""
        if self.kind == "month":
            return self.first.strftime("%B %Y")
        if self.kind == "quarter":
            return f"Q{(self.first.month - 1) // 3 + 1} {self.first.year}"
        return self.label

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def previous(self, zone: ZoneInfo) -> Period:
        """The period before: the previous calendar month or quarter, else as many days just before."""
        if self.kind == "month":
            return month_of(_add_months(self.first, -1), zone)
        if self.kind == "quarter":
            return quarter_of(_add_months(self.first, -3), zone)
        return days_period(self.first - timedelta(days=self.days), self.first - timedelta(days=1), zone)

    def describe(self) -> dict[str, str]:
        return {
            "label": self.label,
            "name": self.name,
            "from": self.first.isoformat(),
            "to": self.last.isoformat(),
        }


def days_period(first: date, last: date, zone: ZoneInfo) -> Period:
    return Period(
        "days", first, last, local_midnight(first, zone), local_midnight(last + timedelta(days=1), zone)
    )


def month_of(day: date, zone: ZoneInfo) -> Period:
    first = date(day.year, day.month, 1)
    after = _add_months(first, 1)
    return Period(
        "month", first, after - timedelta(days=1), local_midnight(first, zone), local_midnight(after, zone)
    )


def quarter_of(day: date, zone: ZoneInfo) -> Period:
    first = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    after = _add_months(first, 3)
    return Period(
        "quarter", first, after - timedelta(days=1), local_midnight(first, zone), local_midnight(after, zone)
    )


def last_complete(kind: Literal["month", "quarter"], as_of: int, zone: ZoneInfo) -> Period:
    """The latest whole month or quarter that had ended by the report's instant."""
    today = local_day(as_of, zone)
    current = month_of(today, zone) if kind == "month" else quarter_of(today, zone)
    if current.until <= as_of:  # the instant is exactly the next period's first midnight
        return current
    return current.previous(zone)


def parse_month(text: str) -> date:
    match = re.fullmatch(r"(\d{4})-(\d{1,2})", text.strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ReportError(f"--month '{text}' is not a month", hint="write it as YYYY-MM, e.g. 2026-09")
    return date(int(match.group(1)), int(match.group(2)), 1)


def parse_quarter(text: str) -> date:
    match = re.fullmatch(r"(\d{4})-?[Qq]([1-4])", text.strip())
    if not match:
        raise ReportError(f"--quarter '{text}' is not a quarter", hint="write it as YYYY-Qn, e.g. 2026-Q3")
    return date(int(match.group(1)), 3 * int(match.group(2)) - 2, 1)


def choose(month: str | None, quarter: str | None, as_of: int, zone: ZoneInfo) -> Period:
    """The pack's period from --month/--quarter: an empty value means the last complete one.

    Neither given: the last complete month, the agreement's review cadence. A period that starts
    after the report's instant has no data at all and is refused rather than printed empty.
    """
    if month is not None and quarter is not None:
        raise ReportError("give --month or --quarter, not both", hint="a pack covers one period")
    if quarter is not None:
        period = (
            quarter_of(parse_quarter(quarter), zone) if quarter else last_complete("quarter", as_of, zone)
        )
    elif month:
        period = month_of(parse_month(month), zone)
    else:
        period = last_complete("month", as_of, zone)
    if period.since > as_of:
        when = datetime.fromtimestamp(as_of, UTC).strftime("%Y-%m-%d %H:%M UTC")
        raise ReportError(
            f"{period.label} starts after the report's instant ({when})",
            hint="reports read the last derive: run `accord derive` first, or pick an earlier period",
        )
    return period
