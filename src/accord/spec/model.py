"""The agreement between Marketing and Sales as typed data.

Each class is one part of the agreement a RevOps lead writes in YAML. Shapes and single-field rules
are checked here by pydantic; references between parts (a team naming an unknown person, a rule using
an unknown feature) are checked in ``accord.spec.checks`` so that every mistake is reported at once.
Field descriptions double as the generated reference in docs/spec-reference.md.
"""

from __future__ import annotations

import itertools
import re
import zoneinfo
from datetime import date, timedelta
from functools import lru_cache
from typing import Annotated, Any, Literal

import holidays as holiday_data
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    field_validator,
    model_validator,
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
_TIME_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


class Model(BaseModel):
    """Every spec object: unknown keys are errors (typos must not pass silently), values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# ---- workspace, calendars, people, teams ----------------------------------------------------------


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

FieldType = Literal["string", "number", "boolean", "timestamp", "date"]


class CustomFields(Model):
    """Extra attributes a rule may use, read from the ``attributes`` / ``properties`` of records."""

    contact: dict[Id, FieldType] = Field(default_factory=dict, description="Custom contact attributes.")
    account: dict[Id, FieldType] = Field(default_factory=dict, description="Custom account attributes.")
    event: dict[Id, FieldType] = Field(default_factory=dict, description="Custom event properties.")


EventCategory = Literal["engagement", "rep_activity", "handoff", "opportunity", "content", "other"]


class EventType(Model):
    """A company's own event type, so rules can name it and typos are caught."""

    category: EventCategory = Field("other", description="What kind of activity it is.")
    label: Label | None = Field(None, description="Readable name.")
    marketing_touch: bool = Field(False, description="Counts as a marketing touch for attribution.")


FeatureAgg = Literal["count", "sum", "min", "max", "count_distinct", "days_since"]


class Feature(Model):
    """A named aggregate over a contact's (or its account's) events within a window, as of any time.

    Shorthands: ``{count: "<rule>"}``, ``{sum: amount}``, ``{count_distinct: topic}``,
    ``{days_since: "<rule>"}``.
    """

    agg: FeatureAgg = Field(description="count, sum, min, max, count_distinct or days_since.")
    where: RuleText = Field("true", description="Which events count (rule over event fields).")
    of: str | None = Field(
        None, description="Event field aggregated (sum/min/max/count_distinct); 'day' counts distinct days."
    )
    window: Window = Field(None, description="How far back to look, e.g. 30d; 'all' for ever.")
    scope: Literal["contact", "account"] = Field(
        "contact", description="Events of the contact, or of its whole account."
    )
    label: Label | None = Field(None, description="Readable name for explanations.")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "agg" in data:
            return data
        found = [k for k in ("count", "sum", "min", "max", "count_distinct", "days_since") if k in data]
        if len(found) > 1:
            raise ValueError(f"give one aggregate, not {', '.join(found)}")
        if not found:
            return data
        key = found[0]
        out = {k: v for k, v in data.items() if k != key}
        out["agg"] = key
        if key in ("count", "days_since"):
            if "where" in data:
                raise ValueError(f"'{key}' already holds the condition; drop 'where'")
            out["where"] = data[key]
        else:
            out["of"] = data[key]
        return out

    @model_validator(mode="after")
    def _needs_of(self) -> Feature:
        if self.agg in ("sum", "min", "max", "count_distinct") and not self.of:
            raise ValueError(f"'{self.agg}' needs 'of': the event field to aggregate")
        if self.agg in ("count", "days_since") and self.of:
            raise ValueError(f"'{self.agg}' takes no 'of'")
        return self


# ---- scoring, tiers, motions ------------------------------------------------------------------


class FitRule(Model):
    """Points for who the lead is (industry, size, seniority, region)."""

    when: RuleText = Field(description="Condition over contact and account attributes.")
    points: float = Field(description="Points added when it holds (negative to penalise).")
    label: Label = Field(description="What a rep reads in the drivers, e.g. 'mid-market size'.")


class Fit(Model):
    """The fit part of the score."""

    rules: list[FitRule] = Field(description="Fit rules; every rule that holds adds its points.")
    cap: float | None = Field(None, description="Most fit points a lead can have.")


class IntentSignal(Model):
    """Points for what the lead does; each occurrence decays with the half-life."""

    when: RuleText = Field(description="Which events are this signal (rule over event fields).")
    points: float = Field(gt=0, description="Points per occurrence, at the moment it happens.")
    cap: float | None = Field(
        None,
        gt=0,
        description="Most points this signal can hold at once (stops one noisy signal dominating).",
    )
    label: Label = Field(description="What a rep reads, e.g. 'pricing page'.")


class Pattern(Model):
    """What it takes before intent counts at all: one click is never a hot lead."""

    distinct_days: int = Field(1, ge=1, description="Intent signals on at least this many different days...")
    distinct_topics: int = Field(1, ge=1, description="...and on at least this many topics...")
    window: Duration = Field(timedelta(days=30), description="...within this window.")


class Intent(Model):
    """The intent part of the score: decayed, capped, patterned."""

    half_life: Duration = Field(description="Time for a signal's points to halve, e.g. 14d.")
    signals: list[IntentSignal] = Field(description="Intent signals.")
    cap: float | None = Field(None, description="Most intent points in total.")
    require: Pattern | None = Field(None, description="Pattern required before intent counts.")


class Committee(Model):
    """Breadth of the buying committee engaged at the account."""

    window: Duration = Field(description="Engagement counted within this window, e.g. 60d.")
    points_per_role: float = Field(gt=0, description="Points per distinct committee role engaged.")
    cap: float | None = Field(None, description="Most committee points.")
    roles: list[Id] | None = Field(None, description="Roles that count; default all in buying_committee.")


class Scoring(Model):
    """Score = fit + intent + committee, each explainable by its drivers."""

    fit: Fit = Field(description="Who the lead is.")
    intent: Intent = Field(description="What the lead does, decayed over time.")
    committee: Committee | None = Field(None, description="How much of the buying committee engages.")


class Motion(Model):
    """What must happen to a lead in a tier."""

    name: Label = Field(description="Readable name, e.g. 'Human follow-up'.")
    description: str | None = Field(None, description="What the motion means in practice.")
    human: bool = Field(False, description="A person must work the lead (routing and SLAs apply).")
    slas: list[Id] = Field(default_factory=list, description="SLA ids that start for leads in this motion.")
    suppress: bool = Field(False, description="Stop marketing sends while in this motion.")


class Tier(Model):
    """A band of leads with a mandatory motion; the first tier whose rule holds wins."""

    name: Label = Field(description="Name used in rules, e.g. 'Tier 1'.")
    when: RuleText = Field(description="Condition over fit, intent, committee, score, features, attributes.")
    motion: Id = Field(description="Motion id.")
    description: str | None = Field(None, description="What the tier means.")


# ---- journey ----------------------------------------------------------------------------------


class Stage(Model):
    """One state of the buyer's journey, with the data rule to enter it and who owns it."""

    id: Id = Field(description="Stable id used in rules and reports.")
    name: Label = Field(description="Readable name ('Evaluation (MQL)'); names are data, not code.")
    signal: str | None = Field(None, description="What the buyer is doing in this stage.")
    entry: RuleText = Field(description="Data rule: the contact enters when it first holds.")
    exit: str | None = Field(None, description="The outcome that moves the buyer on.")
    owner: Id = Field(description="Team id of the primary owner.")
    co_owner: Id | None = Field(None, description="Team id responsible with the owner for the transition.")
    tie_breaker: Id | None = Field(None, description="Person who decides disputes at this stage.")
    kpi: Id = Field(description="Primary KPI id (see docs/spec.md for the catalogue).")
    optional: bool = Field(False, description="Not every buyer passes through; never recorded as skipped.")


class Regression(Model):
    """A declared way back: the only moves against the journey's order."""

    from_: list[Id] = Field(alias="from", description="Stage ids it applies to.")
    to: Id = Field(description="Stage id the contact returns to.")
    on: list[str] = Field(description="Event types that trigger it, e.g. rejected, closed_lost.")
    recycle_after: Duration | None = Field(None, description="When the contact is eligible again.")

    @field_validator("on", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value


class Journey(Model):
    """The one journey model both teams use."""

    stages: list[Stage] = Field(min_length=1, description="Stages in journey order.")
    regressions: list[Regression] = Field(default_factory=list, description="Declared ways back.")
    track_accounts: bool = Field(
        True, description="Also keep an account-level stage: the furthest any contact reached."
    )


# ---- routing and SLAs -------------------------------------------------------------------------

RoutingMethod = Literal["round_robin", "load_balanced", "account_owner"]


class RoutingRule(Model):
    """Where a lead goes: the first rule that holds picks the team."""

    id: Id = Field(description="Recorded on every assignment it makes.")
    when: RuleText = Field(description="Condition over the lead.")
    team: Id = Field(description="Team id.")
    method: RoutingMethod | None = Field(None, description="Overrides the team's routing method.")
    fallback: RoutingMethod | None = Field(
        None, description="For account_owner: method when the account has no active owner."
    )


class Routing(Model):
    """Routing rules, in order."""

    rules: list[RoutingRule] = Field(
        default_factory=list, description="Rules in order; the first that holds routes the lead."
    )
    capacity: int | None = Field(None, ge=0, description="Default most open Tier 1 leads per rep.")
    working_hours_only: bool = Field(True, description="Prefer reps inside their working hours.")


class SlaStart(Model):
    """What starts an SLA clock: an event type, or entering a stage."""

    event: str | None = Field(None, description="Event type, e.g. assigned.")
    stage: Id | None = Field(None, description="Stage id, e.g. evaluation.")

    @model_validator(mode="after")
    def _one(self) -> SlaStart:
        if (self.event is None) == (self.stage is None):
            raise ValueError("give exactly one of 'event' or 'stage'")
        return self


class SlaStop(Model):
    """What stops the clock."""

    events: list[str] = Field(min_length=1, description="Event types, e.g. call_attempt, email_sent.")
    by: Literal["owner", "anyone"] = Field("owner", description="Only the lead's owner counts, or anyone.")

    @field_validator("events", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value


class Cadence(Model):
    """Attempt cadence: k attempts within d business days."""

    attempts: int = Field(ge=1, description="Attempts required.")
    within: Duration = Field(description="Business time they must fall within, e.g. 3d.")
    events: list[str] = Field(
        default_factory=lambda: ["call_attempt", "email_sent"], description="What counts as an attempt."
    )


Escalation = Literal["owner", "manager", "tie_breaker"]
ESCALATION_CHAIN: tuple[Escalation, ...] = ("owner", "manager", "tie_breaker")


class Sla(Model):
    """A clock with an owner and a consequence."""

    name: Label = Field(description="Readable name.")
    start: SlaStart = Field(description="What starts the clock.")
    stop: SlaStop = Field(description="What stops it.")
    target: Duration = Field(description="Time allowed, e.g. 1h.")
    clock: Literal["business", "calendar"] = Field(
        "business", description="Count business hours of the owner's calendar, or wall-clock time."
    )
    at_risk: Share = Field(0.25, description="At risk when less than this share of the target is left.")
    cadence: Cadence | None = Field(None, description="Attempts required while the clock runs.")
    escalate: list[Escalation] = Field(
        default_factory=lambda: list(ESCALATION_CHAIN),
        description="Who hears about a breach, in order.",
    )


class ReasonCode(Model):
    """Why Sales turned a lead down; required on every rejection."""

    id: Id = Field(description="Code a rep picks when rejecting.")
    label: Label = Field(description="Readable name.")
    description: str | None = Field(None, description="When to use it.")
    recycle_after: Duration | None = Field(None, description="Overrides the regression's recycle time.")


LossPattern = Literal[
    "icp", "qualification", "content", "pricing", "sales_motion", "product", "timing", "other"
]


class LossReason(Model):
    """Why a deal was lost, and which structural area it points at."""

    id: Id = Field(description="Code recorded on closed_lost.")
    label: Label = Field(description="Readable name.")
    pattern: LossPattern = Field(description="Area a structural change would touch.")


class PipelineStage(Model):
    """A CRM opportunity stage."""

    id: Id = Field(description="Stage id as opportunity events name it.")
    name: Label = Field(description="Readable name.")
    probability: Share | None = Field(None, description="Default win probability in this stage.")
    outcome: Literal["open", "won", "lost"] = Field(
        "open", description="Open, or the closed outcome it records."
    )


class Pipeline(Model):
    """Opportunity stages and the weekly pipeline review's thresholds."""

    stages: list[PipelineStage] = Field(min_length=2, description="Opportunity stages in order.")
    deal_threshold: float = Field(ge=0, description="Deals at or above this amount are walked in the review.")
    stalled_after: Duration = Field(timedelta(days=21), description="No stage movement this long = stalled.")
    pattern_min_deals: int = Field(3, ge=2, description="Same stall reason in this many deals = structural.")
    review_day: Weekday = Field("mon", description="Weekday of the review.")
    review_minutes: int = Field(45, ge=15, description="Length of the review meeting.")
    track_history: bool = Field(True, description="Keep each opportunity's stage history.")


class CommitteeRole(Model):
    """A buying-committee role content and scoring refer to."""

    id: Id = Field(description="Id used by contacts' committee_role and content.")
    label: Label = Field(description="Readable name.")


class ContentPolicy(Model):
    """How content is mapped, measured and retired."""

    retire_after: Duration = Field(timedelta(days=90), description="Unused in deals this long = retire.")
    stages: list[Id] | None = Field(
        None, description="Stages that need mapped content; default all but optional."
    )
    rebuilds_per_month: int = Field(
        1, ge=0, description="Decks rebuilt from scratch more often than this = a gap."
    )


class Raci(Model):
    """Who does what for one campaign activity; exactly one Accountable."""

    activity: Label = Field(description="Activity or workstream.")
    responsible: list[Id] = Field(min_length=1, description="People or teams doing the work.")
    accountable: Id = Field(description="The one person accountable.")
    consulted: list[Id] = Field(default_factory=list, description="People or teams asked before decisions.")
    informed: list[Id] = Field(default_factory=list, description="People or teams kept up to date.")

    @field_validator("accountable", mode="before")
    @classmethod
    def _exactly_one(cls, value: object) -> object:
        if isinstance(value, list):
            if len(value) == 1:
                return value[0]
            raise ValueError(f"exactly one Accountable per activity, got {len(value)}: pick one")
        return value

    @field_validator("responsible", "consulted", "informed", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value


class KeyResult(Model):
    """A measurable result an objective is judged by."""

    metric: Label = Field(description="What is measured.")
    target: float = Field(description="Target value.")
    owner: Id | None = Field(None, description="Person who owns it.")


class Okr(Model):
    """A shared objective cascading from the charter."""

    objective: Label = Field(description="The objective.")
    key_results: list[KeyResult] = Field(min_length=1, description="Its key results.")


class Campaign(Model):
    """A campaign charter: one primary outcome, shared OKRs, explicit RACI."""

    name: Label = Field(description="Readable name.")
    primary_outcome: Literal["pipeline", "bookings", "retention", "expansion"] = Field(
        description="The one outcome the campaign is judged on."
    )
    goal: float = Field(gt=0, description="Target for the primary outcome, in currency.")
    owner: Id = Field(description="Campaign owner (person), accountable for the outcome.")
    problem: str | None = Field(None, description="The business problem it addresses.")
    segments: list[str] = Field(default_factory=list, description="Target segments.")
    offers: list[str] = Field(default_factory=list, description="Offers.")
    channels: list[str] = Field(default_factory=list, description="Channels.")
    start: date = Field(description="First day.")
    end: date = Field(description="Last day.")
    okrs: list[Okr] = Field(default_factory=list, description="Shared OKRs.")
    raci: list[Raci] = Field(default_factory=list, description="Who does what, per activity.")

    @model_validator(mode="after")
    def _dates(self) -> Campaign:
        if self.end < self.start:
            raise ValueError("'end' is before 'start'")
        return self


class Forecast(Model):
    """Each team's forecast for a quarter, taken at quarter start."""

    quarter: Annotated[str, StringConstraints(pattern=r"^\d{4}-Q[1-4]$")] = Field(description="e.g. 2027-Q1.")
    marketing: float = Field(ge=0, description="Marketing's forecast of closed-won.")
    sales: float = Field(ge=0, description="Sales' forecast of closed-won.")


class RevenuePlan(Model):
    """One plan for both teams, worked backward from the revenue target."""

    start: date = Field(description="First day of the plan.")
    end: date = Field(description="Last day of the plan.")
    target: float = Field(gt=0, description="Revenue target for the period.")
    coverage: float = Field(3.0, gt=0, description="Pipeline coverage ratio the plan requires.")
    sourced_share: Share | None = Field(None, description="Share of closed-won Marketing aims to source.")
    influenced_share: Share | None = Field(
        None, description="Share of closed-won Marketing aims to influence."
    )
    assumptions: dict[Id, float] = Field(
        default_factory=dict,
        description="Overrides of measured rates: win_rate, avg_deal_size, cycle_days, cost_per_mql...",
    )
    forecasts: list[Forecast] = Field(default_factory=list, description="Both teams' forecasts per quarter.")


class MarketingCommitments(Model):
    """What Marketing owes Sales at the boundary."""

    mql_volume_per_week: int | None = Field(None, ge=0, description="MQLs promised per week.")
    tolerance: Share = Field(0.15, description="Accepted deviation from the weekly volume.")
    acceptance_rate: Share = Field(0.75, description="Target share of dispositioned MQLs Sales accepts.")
    routing_minutes: int = Field(5, ge=0, description="Most minutes from trigger to assignment.")


class SalesCommitments(Model):
    """What Sales owes Marketing at the boundary."""

    first_touch_sla: Id = Field("first_touch", description="SLA id for the first touch.")
    disposition_sla: Id = Field("disposition", description="SLA id for disposition feedback.")
    first_touch_compliance: Share = Field(0.90, description="Target share of first-touch clocks met.")
    rejection_reason_required: bool = Field(True, description="Every rejection carries a reason code.")


class JointCommitments(Model):
    """What both teams owe each other."""

    review: Literal["weekly", "monthly", "quarterly"] = Field(
        "monthly", description="Review of rejection reasons."
    )
    recalibrate: Literal["monthly", "quarterly", "yearly"] = Field(
        "quarterly", description="Recalibration of the criteria."
    )
    disputes_to: Id | None = Field(None, description="Person disputes escalate to.")
    acceptance_alert_weeks: int = Field(
        2, ge=1, description="Acceptance below target this many weeks in a row = revisit criteria."
    )


class Agreement(Model):
    """The signed service-level agreement: the boundary, both sides' commitments."""

    effective: date | None = Field(None, description="Date the agreement takes effect.")
    mql_stage: Id = Field("evaluation", description="Stage whose entry is the MQL handoff.")
    accepted_stage: Id = Field("sales_accepted", description="Stage entered on acceptance.")
    marketing: MarketingCommitments = Field(
        default_factory=MarketingCommitments, description="Marketing's side."
    )
    sales: SalesCommitments = Field(default_factory=SalesCommitments, description="Sales' side.")
    joint: JointCommitments = Field(default_factory=JointCommitments, description="Shared commitments.")


class Governance(Model):
    """Who must approve changes, who breaks ties, and on what cadence the agreement is revisited."""

    owners: list[Id] = Field(
        min_length=2,
        description="People who must all approve a change (Marketing and Sales leaders at least).",
    )
    tie_breaker: Id = Field(description="Named person who decides disputes.")
    escalation: Id | None = Field(None, description="Last resort after the tie-breaker (often the CRO).")
    sla_owner: Id | None = Field(None, description="Keeps the SLA document current.")
    dashboard_owner: Id | None = Field(None, description="Owns the one revenue dashboard.")
    review: Literal["weekly", "monthly", "quarterly"] = Field(
        "monthly", description="Cadence of the revenue council review."
    )
    recalibrate: Literal["monthly", "quarterly", "yearly"] = Field(
        "quarterly", description="Cadence of scoring recalibration."
    )


ImportKind = Literal[
    "accounts", "contacts", "users", "opportunities", "products", "content", "campaigns", "events"
]


NotifiedEvent = Literal["assigned", "sla_at_risk", "sla_breached", "escalated"]
NOTIFIED: tuple[NotifiedEvent, ...] = ("assigned", "sla_at_risk", "sla_breached", "escalated")


class Webhook(Model):
    """An endpoint told about Accord's decisions, with a signature it can check."""

    id: Id = Field(description="Name of the endpoint, recorded with each delivery.")
    url: Annotated[str, StringConstraints(pattern=r"^https?://")] = Field(description="Where to POST.")
    events: list[NotifiedEvent] = Field(
        default_factory=lambda: list(NOTIFIED),
        description="Which decisions to send.",
    )
    secret_env: Annotated[str, StringConstraints(pattern=r"^[A-Z_][A-Z0-9_]*$")] = Field(
        "ACCORD_WEBHOOK_SECRET",
        description="Environment variable holding the HMAC-SHA256 key (never the key itself).",
    )
    max_attempts: int = Field(6, ge=1, le=20, description="Attempts per event before it is given up on.")
    backoff: Duration = Field(
        timedelta(seconds=1), description="Wait before the first retry; doubles each time."
    )
    timeout: Duration = Field(timedelta(seconds=5), description="How long one attempt may take.")


class Notifications(Model):
    """Outbound webhooks for assignments, at-risk and breached clocks, and escalations."""

    webhooks: list[Webhook] = Field(default_factory=list, description="Endpoints.")


class ImportMapping(Model):
    """How one recurring export maps onto the ledger, so `accord import --mapping NAME` needs no flags."""

    kind: ImportKind = Field(description="Ledger table the file fills.")
    columns: dict[str, str] = Field(default_factory=dict, description="Ledger column -> column in the file.")
    constants: dict[str, str] = Field(default_factory=dict, description="Ledger column -> fixed value.")
    date_formats: list[str] = Field(default_factory=list, description="strptime formats tried for dates.")
    timezone: TimeZone | None = Field(None, description="Zone of naive timestamps; default the workspace's.")
    source: str | None = Field(None, description="Value of the source column.")


class Spec(Model):
    """The whole agreement."""

    accord: Literal[1] = Field(1, description="Spec format version.")
    version: str | None = Field(None, description="The agreement's own version label.")
    workspace: Workspace = Field(description="Company, time zone, currency, defaults.")
    calendars: dict[Id, Calendar] = Field(min_length=1, description="Business calendars by id.")
    people: dict[Id, Person] = Field(min_length=1, description="Everyone the agreement names, by id.")
    teams: dict[Id, Team] = Field(min_length=1, description="Teams by id; stages and routing name them.")
    fields: CustomFields = Field(default_factory=CustomFields, description="Custom attributes rules may use.")
    event_types: dict[Id, EventType] = Field(
        default_factory=dict, description="Your own event types, beyond the standard set."
    )
    buying_committee: list[CommitteeRole] = Field(min_length=1, description="Roles in a buying committee.")
    features: dict[Id, Feature] = Field(
        default_factory=dict, description="Named aggregates over events, by id."
    )
    scoring: Scoring = Field(description="Fit, intent and committee scoring.")
    motions: dict[Id, Motion] = Field(min_length=1, description="What each tier triggers, by id.")
    tiers: list[Tier] = Field(min_length=1, description="Tiers in order; the first whose rule holds wins.")
    journey: Journey = Field(description="Stages and regressions.")
    routing: Routing = Field(default_factory=Routing, description="Who gets which lead.")
    slas: dict[Id, Sla] = Field(default_factory=dict, description="Clocks at handoffs, by id.")
    reason_codes: list[ReasonCode] = Field(min_length=1, description="Allowed rejection reasons.")
    loss_reasons: list[LossReason] = Field(default_factory=list, description="Allowed loss reasons.")
    pipeline: Pipeline = Field(description="Opportunity stages and pipeline review settings.")
    content: ContentPolicy = Field(default_factory=ContentPolicy, description="Content map and retirement.")
    campaigns: dict[Id, Campaign] = Field(
        default_factory=dict, description="Campaign charters by campaign id."
    )
    revenue_plan: RevenuePlan | None = Field(None, description="The one revenue plan.")
    agreement: Agreement = Field(default_factory=Agreement, description="The signed SLA's commitments.")
    governance: Governance = Field(description="Approvers, tie-breaker, cadence.")
    notifications: Notifications = Field(default_factory=Notifications, description="Outbound webhooks.")
    imports: dict[Id, ImportMapping] = Field(
        default_factory=dict, description="Saved column mappings for recurring imports."
    )

    def stage_ids(self) -> list[str]:
        return [s.id for s in self.journey.stages]

    def tier_names(self) -> list[str]:
        return [t.name for t in self.tiers]


SECTIONS: dict[str, Any] = {name: info.annotation for name, info in Spec.model_fields.items()}
"""Top-level sections and their types; validated one by one so one broken part hides nothing else."""
