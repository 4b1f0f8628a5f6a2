"""Plays: what Marketing and Sales do together once a lead fits an audience.

A play bundles an audience (a rule over the lead's stage, tier, segment and drivers), the message and
talk track, the content and channels it uses, dated steps (marketing touches and SDR/AE tasks, each
due a business-time offset after the lead enters), a follow-up cadence, and the criteria that end it.
The tick enrols leads, dates their steps in the owner's business calendar, and records every step
done or missed and every exit as events (docs/plays.md).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, model_validator

from accord.spec.types import Duration, Id, Label, Model, RuleText

StepKind = Literal["marketing_touch", "sdr_task", "ae_task"]
STEP_KINDS: tuple[StepKind, ...] = ("marketing_touch", "sdr_task", "ae_task")

LEAD_OWNER = "lead_owner"
ACCOUNT_OWNER = "account_owner"
MQL_STAGE_OWNER = "stage_owner"
OWNER_WORDS: tuple[str, ...] = (LEAD_OWNER, ACCOUNT_OWNER, MQL_STAGE_OWNER)
"""Owners a step may name besides a person or team id: resolved when the lead enters the play."""

DEFAULT_OWNER: dict[StepKind, str] = {
    "marketing_touch": MQL_STAGE_OWNER,
    "sdr_task": LEAD_OWNER,
    "ae_task": ACCOUNT_OWNER,
}
DEFAULT_DONE_ON: dict[StepKind, tuple[str, ...]] = {
    "marketing_touch": ("email_sent", "content_shared"),
    "sdr_task": ("call_attempt", "email_sent", "meeting_booked"),
    "ae_task": ("meeting_booked", "meeting_held"),
}


def _one_or_many(value: object) -> object:
    return [value] if isinstance(value, str) else value


Names = Annotated[list[str], BeforeValidator(_one_or_many)]
"""A list a person may write as one bare name."""


class PlayStep(Model):
    """One dated task or touch: who does what, by when after the lead enters the play."""

    id: Id = Field(description="Step id, unique in its play; recorded on every step event.")
    kind: StepKind = Field(description="marketing_touch, sdr_task or ae_task.")
    action: Label = Field(description="What to do, in the words the owner reads.")
    due: Duration = Field(description="Business time after entering the play, in the owner's calendar.")
    owner: str | None = Field(
        None,
        description="lead_owner, account_owner, stage_owner (the MQL stage's owning team), a person or "
        "a team id; default by kind: marketing_touch stage_owner, sdr_task lead_owner, ae_task "
        "account_owner (the lead's owner when the account has none).",
    )
    done_on: Names = Field(
        default_factory=list,
        description="Event types that complete the step; default by kind (calls, emails, meetings).",
    )
    by: Literal["owner", "anyone"] | None = Field(
        None,
        description="Only the step's owner (or the lead's owner then) counts, or anyone; "
        "default owner for tasks, anyone for marketing touches.",
    )
    channel: str | None = Field(None, description="Channel of the touch (phone, email, linkedin...).")
    content: Names = Field(default_factory=list, description="Content ids the step uses.")
    talk_track: str | None = Field(None, description="What to say; overrides the play's talk track.")

    def owner_word(self) -> str:
        return self.owner or DEFAULT_OWNER[self.kind]

    def done_types(self) -> tuple[str, ...]:
        return tuple(self.done_on) or DEFAULT_DONE_ON[self.kind]

    def done_by(self) -> str:
        return self.by or ("anyone" if self.kind == "marketing_touch" else "owner")


class FollowUp(Model):
    """The follow-up cadence after the last step: one more task every so often, a set number of times."""

    every: Duration = Field(description="Business time between follow-ups, e.g. 2d.")
    times: int = Field(ge=1, le=20, description="How many follow-ups.")
    action: Label = Field("Follow up", description="What each follow-up is.")
    kind: StepKind = Field("sdr_task", description="Who does it, as a step kind.")
    owner: str | None = Field(None, description="As a step's owner; default by kind.")
    done_on: Names = Field(default_factory=list, description="As a step's done_on.")

    def steps(self, after: timedelta) -> list[PlayStep]:
        """The follow-ups as ordinary steps, due ``every`` apart after ``after``."""
        return [
            PlayStep(
                id=f"follow_up_{i}",
                kind=self.kind,
                action=self.action,
                due=after + i * self.every,
                owner=self.owner,
                done_on=list(self.done_on),
            )
            for i in range(1, self.times + 1)
        ]


class PlayExit(Model):
    """A criterion that ends the play, with the outcome it records."""

    outcome: Id = Field(description="Outcome recorded on play_exited, e.g. meeting, disqualified.")
    on: Names = Field(
        default_factory=list, description="Event types on the lead after it entered that end the play."
    )
    when: RuleText | None = Field(
        None, description="Or a condition over the lead (audience names), checked at every tick."
    )

    @model_validator(mode="after")
    def _something(self) -> PlayExit:
        if not self.on and self.when is None:
            raise ValueError("give 'on' (event types) or 'when' (a condition)")
        return self


class Play(Model):
    """A shared play: audience, message, content, channels, dated steps, follow-up and exit criteria."""

    id: Id = Field(description="Play id, recorded on every play event.")
    name: Label = Field(description="Readable name.")
    audience: RuleText = Field(
        description="Who enters: a condition over the lead's stage, tier, segment, top drivers, fields."
    )
    message: str = Field(description="The one message the play carries.")
    talk_track: str | None = Field(None, description="What a rep says; shown with the next step.")
    content: Names = Field(default_factory=list, description="Content ids the play leans on.")
    channels: Names = Field(default_factory=list, description="Channels it runs in.")
    steps: list[PlayStep] = Field(min_length=1, description="Steps, each due after entering.")
    follow_up: FollowUp | None = Field(None, description="Follow-ups after the last step.")
    enrol_within: Duration = Field(
        timedelta(days=14),
        description="How long after a lead qualifies (enters its stage, rises to a better tier or is "
        "assigned) it may still enter, in calendar time: a play starts when the lead does, so leads "
        "that qualified months ago are not given tasks due today when plays are turned on.",
    )
    exits: list[PlayExit] = Field(
        default_factory=list,
        description="What ends the play early; it also ends, as completed, when every step is done or "
        "missed.",
    )

    def schedule(self) -> list[PlayStep]:
        """Every step, follow-ups included, in due order (ties keep the written order)."""
        steps = list(self.steps)
        if self.follow_up is not None:
            steps += self.follow_up.steps(max(s.due for s in self.steps))
        return sorted(steps, key=lambda s: s.due)


EXIT_COMPLETED = "completed"
"""Outcome of a play whose every step was done or missed before any exit criterion held."""
