"""What the data means and how leads are scored: fields, event types, features, scoring, motions, tiers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from pydantic import (
    Field,
    model_validator,
)

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

FieldType = Literal["string", "number", "boolean", "timestamp", "date"]


class CustomFields(Model):
    """Extra attributes a rule may use, read from the ``attributes`` / ``properties`` of records."""

    contact: dict[Id, FieldType] = Field(default_factory=dict, description="Custom contact attributes.")
    account: dict[Id, FieldType] = Field(default_factory=dict, description="Custom account attributes.")
    event: dict[Id, FieldType] = Field(default_factory=dict, description="Custom event properties.")


EventCategory = Literal[
    "engagement", "rep_activity", "handoff", "opportunity", "content", "governance", "other"
]


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
