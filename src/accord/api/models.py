"""Request bodies, strict (unknown fields refused): a typo is a 422 naming the field, not a silent no-op."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    SkipValidation,
    StringConstraints,
    ValidationError,
    model_validator,
)

from accord.ledger.schema import event_time_problem
from accord.service.ingestion import MAX_BATCH


def _plausible(when: datetime) -> datetime:
    """Refused here, before anything is stored: a year-1 instant at +14:00 cannot even be put in UTC,
    and a placeholder date (1970, 1900) would score and route as real history."""
    problem = event_time_problem(when)
    if problem is not None:
        raise ValueError(problem.replace("occurred_at ", "", 1))
    return when


EventTime = Annotated[AwareDatetime, AfterValidator(_plausible)]


def _printable(text: str | None) -> str | None:
    """Ids without control characters: 'con-000120' followed by a NUL once made a second contact
    that no screen could tell from the first."""
    if text is not None and any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise ValueError("contains a control character (a NUL, a tab or a line break); ids are plain text")
    if text is not None and text != text.strip():
        # ' con-000017' would be a second contact beside 'con-000017', scored on this event alone
        raise ValueError("starts or ends with a space; send the id without it")
    return text


IdText = Annotated[str | None, AfterValidator(_printable)]
Id = Field(default=None, min_length=1, max_length=200)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EventIn(Strict):
    """One event as the ledger stores it; ``occurred_at`` must carry its zone (stored in UTC)."""

    event_id: IdText = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Unique id; sending it again with the same content is a no-op. Derived from the "
        "content when absent (then only an identical event counts as a repeat).",
    )
    occurred_at: EventTime = Field(description="When it happened, with a zone: 2026-11-02T09:15:00-05:00.")
    type: str = Field(min_length=1, max_length=100, description="Event type: page_view, pricing_view, ...")
    contact_id: IdText = Id
    account_id: IdText = Id
    opportunity_id: IdText = Id
    actor_id: IdText = Id
    campaign_id: IdText = Id
    content_id: IdText = Id
    topic: str | None = Field(default=None, max_length=200)
    source: str | None = Field(default="api", max_length=100, description="The sending system.")
    properties: dict[str, Any] | None = Field(
        default=None, description="Free JSON: url, reason_code, amount..."
    )


class EventBatch(Strict):
    """Up to 1000 events, each checked on its own: a malformed event is answered as a rejected item
    in its place, with the fields at fault, and the batch's other events are stored."""

    events: SkipValidation[list[EventIn]] = Field(min_length=1, max_length=MAX_BATCH)

    @model_validator(mode="after")
    def _a_list(self) -> EventBatch:
        # SkipValidation leaves the items as sent (checked one by one later), and the list's own
        # bounds with them: those are checked here, for the whole request.
        events: Any = self.events
        if not isinstance(events, list):
            raise ValueError("events must be a list of event objects")
        if not 1 <= len(events) <= MAX_BATCH:
            raise ValueError(f"events must hold 1 to {MAX_BATCH} events, not {len(events)}")
        return self

    def checked(self) -> list[EventIn | list[dict[str, str]]]:
        """Each item as an event, or the problems that kept it from being one (path and message)."""
        out: list[EventIn | list[dict[str, str]]] = []
        for index, item in enumerate(self.events):
            if isinstance(item, EventIn):
                out.append(item)
                continue
            try:
                out.append(EventIn.model_validate(item))
            except ValidationError as exc:
                out.append(
                    [
                        {
                            "path": ".".join(["events", str(index), *(str(p) for p in e["loc"])]),
                            "message": e["msg"],
                        }
                        for e in exc.errors()
                    ]
                )
        return out


class Reject(Strict):
    reason_code: str = Field(min_length=1, max_length=100, description="One of the spec's reason codes.")
    note: str | None = Field(default=None, max_length=2000)


class Recycle(Strict):
    until: date = Field(description="The day the lead becomes eligible again (in the future).")
    note: str | None = Field(default=None, max_length=2000)


class Accept(Strict):
    note: str | None = Field(default=None, max_length=2000)


class Touch(Strict):
    type: Literal[
        "call_attempt", "call_connected", "email_sent", "email_reply", "meeting_booked", "meeting_held"
    ] = Field(description="What the rep did.")
    at: EventTime | None = Field(default=None, description="When (default: now); never in the future.")
    note: str | None = Field(default=None, max_length=2000)
    event_id: IdText = Field(default=None, min_length=1, max_length=200, description="For safe retries.")


class KeyIn(Strict):
    person: str = Field(min_length=1, max_length=200)
    role: Literal["admin", "revops", "marketing", "sales_manager", "rep", "viewer"]
    label: str | None = Field(default=None, max_length=200)


class SpecJson(Strict):
    text: str = Field(max_length=2_000_000, description="The whole YAML text of the spec.")


Said = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
"""A reason in words: blank (or only spaces) is refused as missing."""


class ProposalIn(Strict):
    """A proposed agreement: the whole YAML text, why it should change, and whether to backtest it."""

    text: str = Field(min_length=1, max_length=2_000_000, description="The whole YAML text proposed.")
    why: Said = Field(description="Why the agreement should change (shown to the owners and in the log).")
    backtest: bool = Field(
        default=True,
        description="Derive history under both versions (seconds to minutes on a large ledger; the "
        "server's writes wait meanwhile). false records the proposal without it.",
    )


class ProposalReject(Strict):
    reason: Said = Field(description="Why the owner says no; the proposal stays closed.")
