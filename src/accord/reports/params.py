"""The names and bounds of report parameters, shared by the CLI, the API and the dashboard.

Each adapter spells a parameter its own way (``--from-stage`` on the command line, ``from_stage`` in a
query string), but the bounds and the set of names must be one, or the three interfaces drift apart:
the API once advertised ``horizon_days`` while it read ``horizon``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from accord.errors import ReportError

FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2200, 12, 31)
"""The days a period may name. Far enough for any CRM history and plan; near enough that a period,
the one before it and a horizon after it stay inside what datetimes and the ledger can hold (a day
at year 9999 or year 1 overflowed when the next midnight or the previous period was taken)."""

DAY_RANGE = f"from {FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}"

FILTERS = ("from", "to", "segment", "team", "source")

KWARGS = {"horizon": "horizon_days", "window": "window_days"}
"""Public option name -> the report builder's keyword, where they differ (the builders say the unit)."""

ALIASES = {kwarg: name for name, kwarg in KWARGS.items()}
"""Old spellings still read: the report list and the dashboard docs once named these."""

POSITIVE = {"horizon", "window"}
"""Options that count days forward or back: zero or fewer days would make every rate 0% silently."""


def public(kwarg: str) -> str:
    """The name a person types for a builder keyword (``horizon_days`` -> ``horizon``)."""
    return ALIASES.get(kwarg, kwarg)


def kwarg(name: str) -> str:
    """The builder keyword for a public option name (``horizon`` -> ``horizon_days``)."""
    return KWARGS.get(name, name)


def check_day(day: date, name: str) -> date:
    """Refuse a day outside the supported range, naming the parameter as the caller spells it."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ReportError(f"{name} {day.isoformat()} is out of range", hint=f"give a day {DAY_RANGE}")
    return day


def check_positive(name: str, value: float | None) -> None:
    """Refuse a non-positive number of days for ``name`` (a public option name)."""
    if value is not None and name in POSITIVE and not value > 0:
        raise ReportError(
            f"--{name} {value:g} is not a number of days", hint="give a positive number of days"
        )


_FLAG = re.compile(r"--([a-z][a-z-]*)")


def reworded_flags(text: str, say: Callable[[str], str]) -> str:
    """Every CLI flag in ``text`` (``--from-stage``) as ``say`` words its parameter (``from_stage``).

    Report code raises its errors once, in the CLI's words (``--by``, ``--horizon``); the API and the
    dashboard translate at their edge, both through this one reading of the flags."""
    return _FLAG.sub(lambda m: say(m.group(1).replace("-", "_")), text)


def query_wording(text: str) -> str:
    """A report error as the API should say it: the query parameter a caller can send (``by``,
    ``from_stage``), not the CLI flag."""
    text = text.replace("--answers FILE", "answers (q1:2,q2:1,...)")
    return reworded_flags(text, lambda name: name)


def refuse_unknown(given: list[str], accepted: list[str], what: str, also: tuple[str, ...] = ()) -> None:
    """Refuse names a caller sent that nothing reads, naming the ones that are read.

    ``also`` are read but not advertised (old spellings), so the hint does not teach them.
    """
    unknown = sorted(set(given) - set(accepted) - set(also))
    if unknown:
        raise ReportError(
            f"unknown {what}: {', '.join(unknown)}", hint=f"accepted: {', '.join(accepted) or 'none'}"
        )
