"""Who the agreement is for: workspace, business calendars, people, teams."""

from __future__ import annotations

import itertools
import re
from datetime import date
from typing import Annotated, Literal

import holidays as holiday_data
from pydantic import (
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from accord.spec.rules import suggest
from accord.spec.types import (  # noqa: F401 - unused ones removed by the linter
    WEEKDAYS,
    Duration,
    Id,
    Label,
    Model,
    RuleText,
    Share,
    TimeZone,
    Weekday,
    Window,
    _timezone,
)

_TIME_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


class Workspace(Model):
    """Who this agreement is for and the defaults every other part falls back to."""

    name: Label = Field(description="Company or business unit the agreement covers.")
    timezone: TimeZone = Field(
        "UTC", description="IANA time zone; naive timestamps in imports are read in it."
    )
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = Field(
        "USD", description="ISO 4217 code used for amounts."
    )
    calendar: Id | None = Field(None, description="Default business calendar for people without one.")
    fiscal_year_start: int = Field(1, ge=1, le=12, description="Month the fiscal year starts (1-12).")


class Holidays(Model):
    """Days off: a country's (and subdivision's) public holidays plus the company's own dates."""

    country: str | None = Field(
        None, description="ISO country code known to the `holidays` package, e.g. US."
    )
    subdivision: str | None = Field(None, description="State/province code, e.g. NY.")
    custom: list[date] = Field(default_factory=list, description="Extra company days off (YYYY-MM-DD).")
    observed: bool = Field(True, description="Move holidays falling on a weekend to the observed weekday.")

    @model_validator(mode="after")
    def _known(self) -> Holidays:
        if self.country is None:
            if self.subdivision is not None:
                raise ValueError("'subdivision' needs a 'country'")
            return self
        supported = holiday_data.list_supported_countries()
        if self.country not in supported:
            close = suggest(self.country, list(supported))
            raise ValueError(
                f"no public holidays known for country '{self.country}'"
                + (f"; did you mean '{close}'?" if close else "; use an ISO code such as US")
            )
        subdivisions = supported[self.country]
        if self.subdivision is not None and self.subdivision not in subdivisions:
            close = suggest(self.subdivision, subdivisions)
            raise ValueError(
                f"'{self.subdivision}' is not a subdivision of {self.country}"
                + (f"; did you mean '{close}'?" if close else "")
            )
        return self


class Calendar(Model):
    """Business hours of a person or team: what SLA clocks count."""

    name: Label | None = Field(None, description="Readable name.")
    timezone: TimeZone = Field(description="IANA time zone the hours are in.")
    hours: dict[str, list[str]] = Field(
        description='Working hours per weekday or range: {"mon-fri": ["09:00-12:00", "13:00-17:30"]}. '
        "Days not listed are off."
    )
    holidays: Holidays | None = Field(None, description="Public and company holidays.")

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        seen: set[str] = set()
        for key, ranges in value.items():
            days = expand_days(key)
            twice = seen.intersection(days)
            if twice:
                raise ValueError(f"'{key}' repeats {', '.join(sorted(twice))}; give each day once")
            seen.update(days)
            parse_ranges(ranges, key)
        return value

    def weekly(self) -> tuple[tuple[tuple[int, int], ...], ...]:
        """Working intervals in minutes since midnight, Monday first."""
        table: dict[str, tuple[tuple[int, int], ...]] = dict.fromkeys(WEEKDAYS, ())
        for key, ranges in self.hours.items():
            for day in expand_days(key):
                table[day] = parse_ranges(ranges, key)
        return tuple(table[d] for d in WEEKDAYS)


def expand_days(key: str) -> list[str]:
    """``'mon-fri'`` -> [mon, tue, wed, thu, fri]; single days as themselves."""
    text = key.strip().lower()
    if "-" in text:
        start, end = (p.strip() for p in text.split("-", 1))
        if start not in WEEKDAYS or end not in WEEKDAYS:
            raise ValueError(f"'{key}' is not a day range; use e.g. mon-fri")
        i, j = WEEKDAYS.index(start), WEEKDAYS.index(end)
        if j < i:
            raise ValueError(f"'{key}' runs backwards; write the earlier day first")
        return list(WEEKDAYS[i : j + 1])
    if text not in WEEKDAYS:
        raise ValueError(f"'{key}' is not a weekday; use mon, tue, wed, thu, fri, sat, sun or a range")
    return [text]


def parse_ranges(ranges: list[str], day: str) -> tuple[tuple[int, int], ...]:
    """``["09:00-12:00", "13:00-17:30"]`` -> minute intervals, sorted and checked for overlap."""
    out: list[tuple[int, int]] = []
    for text in ranges:
        match = _TIME_RANGE.match(text)
        if not match:
            raise ValueError(f"{day}: '{text}' is not a time range; write HH:MM-HH:MM")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or end > 24 * 60:
            raise ValueError(f"{day}: '{text}' is not a valid time of day")
        if end <= start:
            raise ValueError(f"{day}: '{text}' ends before it starts")
        out.append((start, end))
    out.sort()
    for (_, end1), (start2, _) in itertools.pairwise(out):
        if start2 < end1:
            raise ValueError(f"{day}: time ranges overlap; keep them apart")
    return tuple(out)


class Absence(Model):
    """A stretch a person is out of office; routing skips them and their clocks move to the team."""

    start: date = Field(alias="from", description="First day out (inclusive).")
    end: date = Field(alias="to", description="Last day out (inclusive).")
    note: str | None = Field(None, description="Why, for whoever covers.")

    @model_validator(mode="after")
    def _order(self) -> Absence:
        if self.end < self.start:
            raise ValueError("'to' is before 'from'")
        return self


PersonRole = Literal[
    "cro",
    "cmo",
    "ceo",
    "marketing_leader",
    "sales_leader",
    "revops",
    "marketing_ops",
    "sales_ops",
    "marketer",
    "sdr",
    "sdr_manager",
    "ae",
    "ae_manager",
    "cs",
    "cs_manager",
    "enablement",
]


class Person(Model):
    """Someone the agreement names: a rep who gets leads, a manager who is escalated to, an owner."""

    name: Label = Field(description="Full name.")
    email: str | None = Field(None, description="Work email.")
    role: PersonRole = Field(description="What they do in the revenue team.")
    manager: Id | None = Field(None, description="Person id of their manager (escalation goes there).")
    calendar: Id | None = Field(
        None, description="Calendar id; defaults to their team's, then the workspace's."
    )
    active: bool = Field(True, description="Inactive people are never routed to.")
    out_of_office: list[Absence] = Field(default_factory=list, description="Absences; routing skips them.")
    capacity: int | None = Field(
        None, ge=0, description="Most open Tier 1 leads at once; overrides the team's."
    )


class Team(Model):
    """A group that owns stages and receives routed leads."""

    name: Label | None = Field(None, description="Readable name.")
    function: Literal["marketing", "sales", "customer_success", "revops"] = Field(
        description="Which side of the house the team is on."
    )
    manager: Id | None = Field(None, description="Person id of the team's manager.")
    calendar: Id | None = Field(None, description="Default calendar of members.")
    members: list[Id] = Field(default_factory=list, description="Person ids.")
    routing: Literal["round_robin", "load_balanced", "account_owner"] = Field(
        "round_robin", description="How leads routed to this team pick a member."
    )
    capacity: int | None = Field(None, ge=0, description="Most open Tier 1 leads per member.")


# ---- data the rules can see -------------------------------------------------------------------
