"""Durations and shares as people write them in an agreement: ``30d``, ``1h``, ``90m``, ``2w``, ``25%``."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_WORDS = {
    "sec": "s", "second": "s", "seconds": "s",
    "min": "m", "mins": "m", "minute": "m", "minutes": "m",
    "hour": "h", "hours": "h", "hr": "h", "hrs": "h",
    "day": "d", "days": "d",
    "week": "w", "weeks": "w",
}  # fmt: skip
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$")


def parse_duration(text: str) -> timedelta:
    """Parse ``'14d'`` or ``'1 hour'``; raise ValueError with the accepted forms otherwise."""
    match = _DURATION.match(text.lower())
    if not match:
        raise ValueError(f"'{text}' is not a duration; write a number and a unit, e.g. 30d, 1h, 90m, 2w")
    number, unit = match.groups()
    unit = _WORDS.get(unit, unit)
    if unit not in _UNITS:
        raise ValueError(f"'{text}': unknown unit '{unit}'; use s, m, h, d or w")
    seconds = float(number) * _UNITS[unit]
    if seconds <= 0:
        raise ValueError(f"'{text}' must be longer than zero")
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """The shortest exact spelling, so a spec written back reads as a person would write it."""
    seconds = int(value.total_seconds())
    for unit in ("w", "d", "h", "m"):
        size = _UNITS[unit]
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def parse_share(value: object) -> float:
    """``'75%'`` -> 0.75; a number must already be a fraction between 0 and 1."""
    if isinstance(value, bool):
        raise ValueError("expected a share such as 75% or 0.75")
    if isinstance(value, int | float):
        share = float(value)
    elif isinstance(value, str) and value.strip().endswith("%"):
        try:
            share = float(value.strip()[:-1]) / 100
        except ValueError:
            raise ValueError(f"'{value}' is not a percentage such as 75%") from None
    else:
        raise ValueError(f"'{value}' is not a share; write 75% or 0.75")
    if not 0 <= share <= 1:
        raise ValueError(f"{value} is outside 0%..100%")
    return share
