"""The journey: stages with entry rules and owners, and the declared ways back."""

from __future__ import annotations

from pydantic import (
    Field,
    field_validator,
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
