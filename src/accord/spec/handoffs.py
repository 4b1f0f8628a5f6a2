"""Handoffs: routing rules, SLA clocks and reason codes."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    Field,
    field_validator,
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
    false_positive: bool = Field(
        False,
        description="The lead should never have been an MQL (not a fit, bad data): a false positive in the "
        "review pack; reasons about timing or budget are not.",
    )
