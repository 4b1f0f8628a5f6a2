"""The spec's shared building blocks: the base model and the value types people write in YAML."""

from __future__ import annotations

import zoneinfo
from datetime import timedelta
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    StringConstraints,
)

from accord.spec.durations import format_duration, parse_duration, parse_share
from accord.spec.rules import suggest


def _duration(value: object) -> object:
    if isinstance(value, str):
        return parse_duration(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(f"{value} has no unit; write e.g. {value}d, {value}h or {value}m")
    return value


@lru_cache(maxsize=1)
def _zones() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones()))


def _timezone(value: str) -> str:
    if value in _zones():
        return value
    close = suggest(value, _zones())
    raise ValueError(
        f"'{value}' is not an IANA time zone"
        + (f"; did you mean '{close}'?" if close else "; write e.g. America/New_York or Europe/London")
    )


def _window(value: object) -> object:
    if isinstance(value, str) and value.strip().lower() in {"all", "all_time", "ever"}:
        return None
    return _duration(value)


Duration = Annotated[timedelta, BeforeValidator(_duration), PlainSerializer(format_duration, return_type=str)]
Window = Annotated[
    timedelta | None,
    BeforeValidator(_window),
    PlainSerializer(lambda v: "all" if v is None else format_duration(v), return_type=str),
]
Share = Annotated[float, BeforeValidator(parse_share)]
TimeZone = Annotated[str, AfterValidator(_timezone)]
Id = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
Label = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class _Marker:
    """Tags an annotated type for the generated reference (pydantic ignores it)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<{self.name}>"


RuleText = Annotated[str, StringConstraints(min_length=1, max_length=2000), _Marker("rule")]
"""A condition in SQL syntax; checked against its scope in accord.spec.checks."""

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Model(BaseModel):
    """Every spec object: unknown keys are errors (typos must not pass silently), values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# ---- workspace, calendars, people, teams ----------------------------------------------------------
