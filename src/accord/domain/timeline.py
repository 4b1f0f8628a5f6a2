"""Time as docs/derive.md defines it: whole-second instants, hundredth rounding, local calendar days.

These four helpers are the only place the reference reads a clock rule, so the engine can be checked
against exactly one definition of "a day" and "rounded".
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

SECONDS_PER_DAY = 86400
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def round2(x: float) -> float:
    """Round to hundredths, halves up: ``floor(x * 100 + 0.5) / 100``.

    Python's ``round`` rounds halves to even and SQL engines differ; this formula is spelled out in
    the contract so every back end produces the same digits.
    """
    return math.floor(x * 100 + 0.5) / 100


@lru_cache(maxsize=64)
def _zone(tz: str) -> ZoneInfo:
    return ZoneInfo(tz)


def utc_offset(ts: int, tz: str) -> int:
    """Seconds to add to UTC to get local wall time in ``tz`` at instant ``ts`` (DST included)."""
    offset = datetime.fromtimestamp(ts, UTC).astimezone(_zone(tz)).utcoffset()
    assert offset is not None
    return int(offset.total_seconds())


def local_day(ts: int, tz: str) -> int:
    """The local calendar day of ``ts`` as days since 1970-01-01 (floor division, so pre-1970 works)."""
    return (ts + utc_offset(ts, tz)) // SECONDS_PER_DAY


def day_date(day: int) -> date:
    """The calendar date of a day number from :func:`local_day`."""
    return date.fromordinal(day + _EPOCH_ORDINAL)


def day_start(day: date, tz: str) -> int:
    """Epoch seconds of local midnight at the start of ``day`` in ``tz``.

    Midnight is read with zoneinfo's ``fold=0``: when midnight does not exist (clocks jump from 00:00
    to 01:00, as in America/Havana) it is read with the offset in force before the jump, which lands
    on the jump itself; when midnight happens twice (clocks fall back from 01:00 to 00:00) the first
    occurrence is taken. In both cases the result is the first instant whose local date is ``day``.
    """
    midnight = datetime(day.year, day.month, day.day, tzinfo=_zone(tz))
    return int(midnight.timestamp())


def whole_seconds_up(span: timedelta) -> int:
    """A duration as whole seconds, rounded up.

    Instants are whole seconds, so "blocked until t + 1.5s" first allows a move at t + 2s; rounding
    up keeps that meaning while giving an instant that can be an evaluation point.
    """
    return math.ceil(span.total_seconds())
