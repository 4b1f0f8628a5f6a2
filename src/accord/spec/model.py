"""The agreement between Marketing and Sales as typed data.

Each class is one part of the agreement a RevOps lead writes in YAML; the parts live in modules by
topic (org, scoring, journey, handoffs, revenue, plumbing) and are all importable from here. Shapes
and single-field rules are checked by pydantic; references between parts are checked in
``accord.spec.checks`` so that every mistake is reported at once. Field descriptions double as the
generated reference in docs/spec-reference.md.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from accord.spec.handoffs import (
    ESCALATION_CHAIN,
    Cadence,
    Escalation,
    ReasonCode,
    Routing,
    RoutingMethod,
    RoutingRule,
    Sla,
    SlaStart,
    SlaStop,
)
from accord.spec.journey import (
    Journey,
    Regression,
    Stage,
)
from accord.spec.org import (
    Absence,
    Calendar,
    Holidays,
    Person,
    PersonRole,
    Team,
    Workspace,
    expand_days,
    parse_ranges,
)
from accord.spec.plays import FollowUp, Play, PlayExit, PlayStep
from accord.spec.plumbing import (
    NOTIFIED,
    ImportKind,
    ImportMapping,
    Notifications,
    NotifiedEvent,
    Webhook,
)
from accord.spec.revenue import (
    Agreement,
    Campaign,
    CommitteeRole,
    ContentPolicy,
    Forecast,
    Governance,
    JointCommitments,
    KeyResult,
    LossPattern,
    LossReason,
    MarketingCommitments,
    Okr,
    Pipeline,
    PipelineStage,
    Raci,
    RevenuePlan,
    SalesCommitments,
)
from accord.spec.scoring import (
    Committee,
    CustomFields,
    EventCategory,
    EventType,
    Feature,
    FeatureAgg,
    FieldType,
    Fit,
    FitRule,
    Intent,
    IntentSignal,
    Motion,
    Pattern,
    Scoring,
    Tier,
)
from accord.spec.types import (
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
from accord.spec.watch import WatchRule


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
    plays: list[Play] = Field(
        default_factory=list,
        description="Shared plays in order; a lead enters the first whose audience holds.",
    )
    watch: list[WatchRule] = Field(
        default_factory=list, description="Red flags checked on every tick, each sent to a named owner."
    )
    imports: dict[Id, ImportMapping] = Field(
        default_factory=dict, description="Saved column mappings for recurring imports."
    )

    def stage_ids(self) -> list[str]:
        return [s.id for s in self.journey.stages]

    def tier_names(self) -> list[str]:
        return [t.name for t in self.tiers]


SECTIONS: dict[str, Any] = {name: info.annotation for name, info in Spec.model_fields.items()}
"""Top-level sections and their types; validated one by one so one broken part hides nothing else."""

__all__ = [
    "ESCALATION_CHAIN",
    "NOTIFIED",
    "SECTIONS",
    "WEEKDAYS",
    "Absence",
    "Agreement",
    "Cadence",
    "Calendar",
    "Campaign",
    "Committee",
    "CommitteeRole",
    "ContentPolicy",
    "CustomFields",
    "Duration",
    "Escalation",
    "EventCategory",
    "EventType",
    "Feature",
    "FeatureAgg",
    "FieldType",
    "Fit",
    "FitRule",
    "FollowUp",
    "Forecast",
    "Governance",
    "Holidays",
    "Id",
    "ImportKind",
    "ImportMapping",
    "Intent",
    "IntentSignal",
    "JointCommitments",
    "Journey",
    "KeyResult",
    "Label",
    "LossPattern",
    "LossReason",
    "MarketingCommitments",
    "Model",
    "Motion",
    "Notifications",
    "NotifiedEvent",
    "Okr",
    "Pattern",
    "Person",
    "PersonRole",
    "Pipeline",
    "PipelineStage",
    "Play",
    "PlayExit",
    "PlayStep",
    "Raci",
    "ReasonCode",
    "Regression",
    "RevenuePlan",
    "Routing",
    "RoutingMethod",
    "RoutingRule",
    "RuleText",
    "SalesCommitments",
    "Scoring",
    "Share",
    "Sla",
    "SlaStart",
    "SlaStop",
    "Spec",
    "Stage",
    "Team",
    "Tier",
    "TimeZone",
    "WatchRule",
    "Webhook",
    "Weekday",
    "Window",
    "Workspace",
    "_timezone",
    "expand_days",
    "parse_ranges",
]
