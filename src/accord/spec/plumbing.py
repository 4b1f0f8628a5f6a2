"""Notifications and saved import mappings: how Accord talks to other systems."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import (
    Field,
    StringConstraints,
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

ImportKind = Literal[
    "accounts", "contacts", "users", "opportunities", "products", "content", "campaigns", "events"
]


NotifiedEvent = Literal[
    "assigned", "sla_at_risk", "sla_breached", "escalated", "play_entered", "play_step_missed", "watch_fired"
]
NOTIFIED: tuple[NotifiedEvent, ...] = (
    "assigned",
    "sla_at_risk",
    "sla_breached",
    "escalated",
    "play_entered",
    "play_step_missed",
    "watch_fired",
)


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
    """Outbound webhooks for assignments, clocks, escalations, plays and watch rule firings."""

    webhooks: list[Webhook] = Field(default_factory=list, description="Endpoints.")


class ImportMapping(Model):
    """How one recurring export maps onto the ledger, so `accord import --mapping NAME` needs no flags."""

    kind: ImportKind = Field(description="Ledger table the file fills.")
    columns: dict[str, str] = Field(default_factory=dict, description="Ledger column -> column in the file.")
    constants: dict[str, str] = Field(default_factory=dict, description="Ledger column -> fixed value.")
    date_formats: list[str] = Field(default_factory=list, description="strptime formats tried for dates.")
    timezone: TimeZone | None = Field(None, description="Zone of naive timestamps; default the workspace's.")
    source: str | None = Field(None, description="Value of the source column.")
