"""Business time: what an SLA clock counts, computed with interval arithmetic, never minute by minute.

A business calendar is a time zone, working hours per weekday (split shifts and lunch breaks are just
several intervals), and days off (public holidays from the ``holidays`` package plus the company's
own dates). An instant is business time when its local wall-clock time falls in that weekday's hours
on a day that is not off. Around daylight-saving changes this is taken literally: hours that do not
exist locally are not worked, and hours that happen twice are worked twice.

Each local day's working hours are turned into UTC intervals once (a day has at most two UTC offsets,
and the exact instant of a change is found by bisection), so adding a duration or measuring elapsed
business time walks whole days and intervals: O(days), never O(minutes).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays as holiday_data

from accord.spec.model import Calendar

DAY = 86400
Interval = tuple[int, int]  # [start, end) in epoch seconds


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _offset(zone: ZoneInfo, ts: int) -> int:
    moment = datetime.fromtimestamp(ts, UTC).astimezone(zone)
    offset = moment.utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def _changes(zone: ZoneInfo, start: int, end: int) -> list[int]:
    """Instants in [start, end] where the UTC offset changes, exact to the second (bisection)."""
    out: list[int] = []
    step = 3 * 3600
    t = start
    before = _offset(zone, t)
    while t < end:
        nxt = min(t + step, end)
        after = _offset(zone, nxt)
        if after != before:
            lo, hi = t, nxt  # offset(lo) == before, offset(hi) == after
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if _offset(zone, mid) == before:
                    lo = mid
                else:
                    hi = mid
            out.append(hi)
            before = after
        t = nxt
    return out


def _local_window(zone: ZoneInfo, local_start: int, local_end: int) -> list[Interval]:
    """UTC intervals of the instants whose local wall-clock time lies in [local_start, local_end).

    ``local_*`` are wall-clock seconds (local date and time read as if they were UTC). Within a span of
    constant offset o, local time is utc + o; the span of interest is covered by trying each offset
    that occurs nearby and keeping the part of [local_start - o, local_end - o) where o really holds.
    """
    lo, hi = local_start - 2 * DAY, local_end + 2 * DAY
    cuts = [lo, *_changes(zone, lo, hi), hi]
    pieces: list[Interval] = []
    for a, b in itertools.pairwise(cuts):
        o = _offset(zone, a)
        s, e = max(a, local_start - o), min(b, local_end - o)
        if s < e:
            pieces.append((s, e))
    pieces.sort()
    merged: list[Interval] = []
    for s, e in pieces:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


@dataclass(frozen=True)
class BusinessCalendar:
    """Working hours in a zone, minus days off; all arithmetic in whole epoch seconds."""

    zone_name: str
    weekly: tuple[tuple[tuple[int, int], ...], ...]  # Monday first; (start_minute, end_minute)
    days_off: frozenset[date] = frozenset()
    _days: dict[date, tuple[Interval, ...]] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_spec(cls, calendar: Calendar, years: Iterable[int] | None = None) -> BusinessCalendar:
        """The spec's calendar with its public holidays for ``years`` (default: 2000-2100)."""
        span = list(years) if years is not None else list(range(2000, 2101))
        off: set[date] = set()
        if calendar.holidays is not None:
            off.update(calendar.holidays.custom)
            if calendar.holidays.country:
                found = holiday_data.country_holidays(
                    calendar.holidays.country,
                    subdiv=calendar.holidays.subdivision,
                    years=span,
                    observed=calendar.holidays.observed,
                )
                off.update(found.keys())
        return cls(calendar.timezone, calendar.weekly(), frozenset(off))

    @classmethod
    def shared(cls, calendar: Calendar, years: range) -> BusinessCalendar:
        """:meth:`from_spec`, built once per calendar definition and span and then shared.

        Building the holiday table takes milliseconds, which a real-time decision cannot spend on
        every request; a calendar never changes once built (its day cache only fills in).
        """
        key = (calendar.model_dump_json(), years.start, years.stop)
        with _SHARED_LOCK:
            found = _SHARED.get(key)
        if found is None:
            found = cls.from_spec(calendar, years=years)
            with _SHARED_LOCK:
                _SHARED[key] = found
                while len(_SHARED) > 32:
                    _SHARED.pop(next(iter(_SHARED)))
        return found

    @property
    def zone(self) -> ZoneInfo:
        return _zone(self.zone_name)

    def working(self, day: date) -> tuple[Interval, ...]:
        """The UTC intervals worked on a local date (empty on weekends without hours and days off)."""
        cached = self._days.get(day)
        if cached is not None:
            return cached
        result: tuple[Interval, ...] = ()
        if day not in self.days_off:
            base = (day - date(1970, 1, 1)).days * DAY
            parts: list[Interval] = []
            for start, end in self.weekly[day.weekday()]:
                parts.extend(_local_window(self.zone, base + start * 60, base + end * 60))
            result = tuple(sorted(parts))
        self._days[day] = result
        return result

    def local_date(self, ts: int) -> date:
        return datetime.fromtimestamp(ts, UTC).astimezone(self.zone).date()

    def _days_from(self, ts: int) -> Iterable[date]:
        """Local dates from the one before ``ts`` onwards (intervals of a day may start the day before
        in UTC, and split shifts may cross midnight in UTC)."""
        day = self.local_date(ts) - timedelta(days=1)
        while True:
            yield day
            day += timedelta(days=1)

    def _has_hours(self) -> bool:
        return any(self.weekly)

    def working_day(self) -> int:
        """Seconds in an average working day: what "1 business day" means on this calendar."""
        days = [sum(e - s for s, e in hours) * 60 for hours in self.weekly if hours]
        return sum(days) // len(days) if days else 0

    def is_open(self, ts: int) -> bool:
        day = self.local_date(ts)
        for d in (day - timedelta(days=1), day, day + timedelta(days=1)):
            if any(s <= ts < e for s, e in self.working(d)):
                return True
        return False

    def add(self, start: int, seconds: int) -> int:
        """The instant when ``seconds`` of business time have passed after ``start``."""
        if seconds <= 0:
            return start
        if not self._has_hours():
            raise ValueError("this calendar has no working hours: a business-time deadline never comes")
        left = seconds
        idle = 0
        for day in self._days_from(start):
            hours = self.working(day)
            idle = 0 if hours else idle + 1
            if idle > 3660:  # ten years without a working day: only days off remain
                raise ValueError("no working time left in this calendar (every day is a day off)")
            for s, e in hours:
                if e <= start:
                    continue
                s = max(s, start)
                if e - s >= left:
                    return s + left
                left -= e - s
        raise AssertionError("unreachable")  # pragma: no cover

    def between(self, start: int, end: int) -> int:
        """Business seconds in [start, end); negative when end is before start."""
        if end < start:
            return -self.between(end, start)
        total = 0
        last = self.local_date(end) + timedelta(days=1)
        for day in self._days_from(start):
            if day > last:
                break
            for s, e in self.working(day):
                s, e = max(s, start), min(e, end)
                if s < e:
                    total += e - s
        return total


_SHARED: dict[tuple[str, int, int], BusinessCalendar] = {}
_SHARED_LOCK = threading.Lock()
