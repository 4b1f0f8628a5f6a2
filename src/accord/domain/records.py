"""Ledger records as rules see them: events and profiles as rows keyed by their scope's column names.

Rules are evaluated by ``accord.domain.rule_eval`` on plain dicts; this module decides what goes in
those dicts. Every value is read as the type its field declares (a ``recycle_on`` of '2027-02-01'
becomes a date, an ``amount`` of '12.5' a number), and a value that does not read as that type is
NULL, so a rule never compares text with a date.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from accord.spec.rule_ast import Scope, Type


@dataclass(frozen=True)
class Event:
    """One ledger event: its columns, and its properties (url, amount, reason_code, stage, ...)."""

    event_id: str
    ts: int
    type: str
    contact_id: str | None = None
    account_id: str | None = None
    opportunity_id: str | None = None
    actor_id: str | None = None
    campaign_id: str | None = None
    content_id: str | None = None
    topic: str | None = None
    source: str | None = None
    props: Mapping[str, Any] = field(default_factory=dict)
    us: int | None = None  # the instant in epoch microseconds, when read from the ledger: what orders
    # events inside one second, as handoffs and clocks order them (scores work in whole seconds)


EVENT_COLUMNS: tuple[str, ...] = (
    "event_id",
    "type",
    "contact_id",
    "account_id",
    "opportunity_id",
    "actor_id",
    "campaign_id",
    "content_id",
    "topic",
    "source",
)
"""Event fields read from the event itself; every other event-scope name is read from ``props``."""


def coerce(value: Any, kind: Type) -> Any:
    """``value`` as a Python value of ``kind``, or None when it is missing or does not read as one.

    Numbers become floats (so 5 and 5.0 are one value); timestamps become UTC datetimes (naive ones
    are read as UTC, numbers as epoch seconds); dates and timestamps may be ISO text.
    """
    if value is None:
        return None
    if kind == Type.NUMBER:
        if isinstance(value, bool):
            return None
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                return None
        return None
    if kind == Type.STRING:
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
        return None
    if kind == Type.BOOLEAN:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        return None
    if kind == Type.TIMESTAMP:
        return _timestamp(value)
    if kind == Type.DATE:
        return read_date(value)
    return None


def _timestamp(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def read_date(value: Any) -> date | None:
    """A calendar date from a date or ISO text ('YYYY-MM-DD'); None otherwise."""
    if isinstance(value, datetime):
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def event_row(event: Event, scope: Scope) -> dict[str, Any]:
    """The event as a rule row: its columns, ``occurred_at`` from ``ts``, properties for the rest."""
    columns: dict[str, Any] = {name: getattr(event, name) for name in EVENT_COLUMNS}
    columns["occurred_at"] = event.ts
    row: dict[str, Any] = {}
    for spec_field in scope.fields.values():
        name = spec_field.column
        raw = columns[name] if name in columns else event.props.get(name)
        row[name] = coerce(raw, spec_field.type)
    return row


def attributes(record: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """A record's custom attributes (a mapping, or JSON text as the ledger stores it)."""
    raw = record.get("attributes") if record is not None else None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return {}
    return raw if isinstance(raw, Mapping) else {}


def profile_row(
    contact_id: str,
    contact: Mapping[str, Any] | None,
    account_id: str | None,
    account: Mapping[str, Any] | None,
    scope: Scope,
    custom_contact: set[str],
    custom_account: set[str],
) -> dict[str, Any]:
    """Who the lead is: the contact's row joined with its account's row, keyed by profile columns.

    Account fields are ``account__<name>``; they are all NULL when the account has no row (a left
    join). The contact's ``account_id`` is its resolved account (see ``reference.resolve_account``).
    Custom fields come from ``attributes``, standard ones from the record's columns.
    """
    contact_record: dict[str, Any] = {k: v for k, v in (contact or {}).items() if k not in custom_contact}
    contact_record.update({k: v for k, v in attributes(contact).items() if k in custom_contact})
    contact_record["contact_id"] = contact_id
    contact_record["account_id"] = account_id
    account_record: dict[str, Any] = {}
    if account is not None:
        account_record = {k: v for k, v in account.items() if k not in custom_account}
        account_record.update({k: v for k, v in attributes(account).items() if k in custom_account})
        account_record["account_id"] = account_id
    row: dict[str, Any] = {}
    for spec_field in scope.fields.values():
        column = spec_field.column
        if column.startswith("account__"):
            raw = account_record.get(column.removeprefix("account__"))
        else:
            raw = contact_record.get(column)
        row[column] = coerce(raw, spec_field.type)
    return row
