"""Time arithmetic for the demo world, on int64 microseconds since the epoch (UTC).

The world is generated with numpy, so local time and business time must be array lookups rather
than per-event ``datetime`` calls: offsets are tabulated per zone and day, business hours are laid
out once per calendar as UTC intervals with a running total (the same idea an SLA clock uses).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays as holiday_data
import numpy as np
import numpy.typing as npt

from accord.spec.model import Calendar

I64 = npt.NDArray[np.int64]
SEC = 1_000_000
MIN = 60 * SEC
HOUR = 60 * MIN
DAY = 24 * HOUR
_MON_FRI_NINE_TO_FIVE: tuple[tuple[tuple[int, int], ...], ...] = (((9 * 60, 17 * 60),),) * 5 + (
    (),
    (),
)


def to_us(moment: datetime) -> int:
    """Microseconds since the epoch of an aware datetime."""
    delta = moment.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * SEC + delta.microseconds


class Zones:
    """UTC offset of each zone on each day of the span: local<->UTC with one fancy index.

    Offsets are read at noon UTC; being an hour off on the night of a DST change does not matter for
    a simulation, while a per-event ``astimezone`` would cost seconds.
    """

    def __init__(self, names: list[str], first_day: int, n_days: int) -> None:
        self.names = names
        self.first_day = first_day
        self.offsets = np.zeros((len(names), n_days), dtype=np.int64)
        for i, name in enumerate(names):
            zone = ZoneInfo(name)
            for d in range(n_days):
                noon = datetime.fromtimestamp((first_day + d) * 86_400 + 43_200, tz=UTC)
                offset = noon.astimezone(zone).utcoffset() or timedelta(0)
                self.offsets[i, d] = int(offset.total_seconds()) * SEC

    def _offset(self, zone: npt.NDArray[np.intp], day: I64) -> I64:
        col = np.clip(day - self.first_day, 0, self.offsets.shape[1] - 1)
        result: I64 = self.offsets[zone, col]
        return result

    def to_utc(self, zone: npt.NDArray[np.intp], local_day: I64, minute_us: I64) -> I64:
        """UTC instant of a local wall-clock time (day since epoch + time of day)."""
        return local_day * DAY + minute_us - self._offset(zone, local_day)

    def local_day(self, zone: npt.NDArray[np.intp], utc: I64) -> I64:
        day = utc // DAY
        return (utc + self._offset(zone, day)) // DAY


def weekday(day: I64) -> I64:
    """Monday = 0 for days since the epoch (1970-01-01 was a Thursday)."""
    return (day + 3) % 7


class BusinessClock:
    """A calendar's working intervals in UTC with cumulative business time before each.

    ``add`` is what an SLA clock measures backwards: the instant after a given amount of business
    time, so first touches and dispositions land where the agreement will later look for them.
    """

    def __init__(self, calendar: Calendar | None, timezone: str, first: date, last: date) -> None:
        zone = ZoneInfo(calendar.timezone if calendar else timezone)
        weekly = calendar.weekly() if calendar else _MON_FRI_NINE_TO_FIVE
        if not any(weekly):
            weekly = _MON_FRI_NINE_TO_FIVE
        off = _holidays(calendar, first.year, last.year)
        starts: list[int] = []
        ends: list[int] = []
        day = first
        while day <= last:
            if day not in off:
                midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
                for begin, end in weekly[day.weekday()]:
                    starts.append(to_us(midnight + timedelta(minutes=begin)))
                    ends.append(to_us(midnight + timedelta(minutes=end)))
            day += timedelta(days=1)
        self.starts = np.array(starts, dtype=np.int64)
        self.lengths = np.array(ends, dtype=np.int64) - self.starts
        self.before = np.concatenate([[0], np.cumsum(self.lengths)[:-1]]).astype(np.int64)
        self.until = self.before + self.lengths
        self.per_day = int(self.lengths.sum() // max((last - first).days, 1))

    def position(self, t: I64) -> I64:
        """Business time elapsed from the clock's first interval up to ``t``."""
        i = np.searchsorted(self.starts, t, side="right") - 1
        j = np.clip(i, 0, None)
        inside = np.clip(t - self.starts[j], 0, self.lengths[j])
        return np.where(i < 0, 0, self.before[j] + inside)

    def at(self, position: I64) -> I64:
        j = np.clip(np.searchsorted(self.until, position, side="left"), 0, len(self.starts) - 1)
        result: I64 = self.starts[j] + (position - self.before[j])
        return result

    def back(self, t: I64, duration: I64) -> I64:
        """The instant ``duration`` of business time before ``t`` (never after ``t``)."""
        return np.minimum(self.at(np.maximum(self.position(t) - duration, 0)), t)

    def add(self, t: I64, duration: I64) -> I64:
        """The instant ``duration`` of business time after ``t`` (at least one second later)."""
        return np.maximum(self.at(self.position(t) + np.maximum(duration, SEC)), t + SEC)


def _holidays(calendar: Calendar | None, first_year: int, last_year: int) -> set[date]:
    if calendar is None or calendar.holidays is None:
        return set()
    spec = calendar.holidays
    days = set(spec.custom)
    if spec.country:
        found = holiday_data.country_holidays(
            spec.country,
            subdiv=spec.subdivision,
            years=range(first_year, last_year + 1),
            observed=spec.observed,
        )
        days.update(found.keys())
    return days
