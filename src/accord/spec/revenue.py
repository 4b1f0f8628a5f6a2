"""Pipeline, content, campaigns, the revenue plan, the signed agreement and its governance."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Literal

from pydantic import (
    Field,
    StringConstraints,
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


KrMeasure = Literal["pipeline_created", "bookings", "mqls", "meetings_held", "opportunities_created"]


class KeyResult(Model):
    """A measurable result an objective is judged by."""

    metric: Label = Field(description="What is measured.")
    target: float = Field(description="Target value.")
    owner: Id | None = Field(None, description="Person who owns it.")
    measure: KrMeasure | None = Field(
        None,
        description="How the campaigns report measures it; unset = shown with its target only.",
    )


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
    ledger_ids: list[Id] = Field(
        default_factory=list,
        description="Ledger campaign ids whose touches count for this charter; empty = the charter's own id.",
    )

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
