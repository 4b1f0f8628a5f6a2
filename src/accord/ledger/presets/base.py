"""The preset record and the registry every preset module adds itself to."""

from __future__ import annotations

from dataclasses import dataclass, field

INDUSTRIES = (
    "technology", "software", "retail", "finance", "medical", "healthcare", "services", "marketing",
    "telecommunications", "entertainment", "employment", "manufacturing", "education", "energy",
    "logistics", "media", "government", "insurance", "real_estate", "hospitality",
)  # fmt: skip


@dataclass(frozen=True)
class Preset:
    name: str
    kind: str
    description: str
    columns: dict[str, str]
    expressions: dict[str, str] = field(default_factory=dict)
    source: str = "import"
    prepare: str | None = None
    events: str | None = None
    notes: tuple[str, ...] = ()
    handled: tuple[str, ...] = ()
    date_formats: tuple[str, ...] = ()


def _event(
    *,
    event_id: str,
    occurred_at: str,
    type_: str,
    source: str,
    contact: str = "NULL",
    account: str = "NULL",
    opportunity: str = "NULL",
    actor: str = "NULL",
    properties: str = "'{}'",
    where: str = "true",
) -> str:
    """One SELECT producing canonical event rows from ``staged``."""
    return (
        f"SELECT _row, {event_id} AS event_id, {occurred_at} AS occurred_at, {type_} AS type, "
        f"{contact}::VARCHAR AS contact_id, {account}::VARCHAR AS account_id, "
        f"{opportunity}::VARCHAR AS opportunity_id, {actor}::VARCHAR AS actor_id, "
        "NULL::VARCHAR AS campaign_id, NULL::VARCHAR AS content_id, NULL::VARCHAR AS topic, "
        f"'{source}' AS source, json_merge_patch('{{}}', {properties}::JSON) AS properties "
        f"FROM staged WHERE {where}"
    )


PRESETS: dict[str, Preset] = {}


def _add(preset: Preset) -> None:
    PRESETS[preset.name] = preset
