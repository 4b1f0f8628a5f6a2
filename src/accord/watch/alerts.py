"""Alerts: watch rule firings as people see them, open until acknowledged with a note.

An acknowledgement is a ``watch_acknowledged`` event (id ``acc:ack:<alert id>``, so an alert is
acknowledged once) by a person with the right to: the alert's owner, anyone above them in the
manager chain, a governance owner, or the tie-breaker. The note says what was decided; the alert
keeps its evidence, so the history of red flags and answers stays in the ledger.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from accord.errors import AccordError
from accord.ledger.store import Ledger
from accord.reports.base import utc_text
from accord.spec.model import Spec
from accord.spec.rules import suggest
from accord.watch.rules import PREFIX, Firing


class Forbidden(AccordError):
    """The person may not acknowledge this alert (API: 403, typed ``forbidden`` like every refusal)."""

    http_status = 403


@dataclass(frozen=True)
class Alert(Firing):
    """A firing as the ledger holds it, with its acknowledgement once someone answered it."""

    acknowledged_by: str | None = None
    acknowledged_at: int | None = None
    note: str | None = None

    @property
    def open(self) -> bool:
        return self.acknowledged_at is None

    def as_dict(self) -> dict[str, Any]:
        def iso(ts: int | None) -> str | None:
            return None if ts is None else utc_text(ts)

        return {
            "alert_id": self.alert_id,
            "rule": self.rule,
            "check": self.check,
            "owner": self.owner,
            "fired_at": iso(self.at),
            "period": self.period,
            "message": self.message,
            "evidence": self.evidence,
            "open": self.open,
            "acknowledged_by": self.acknowledged_by,
            "acknowledged_at": iso(self.acknowledged_at),
            "note": self.note,
        }


def alerts(ledger: Ledger, *, open_only: bool = False, as_of: int | None = None) -> list[Alert]:
    """Every firing, newest first, with its acknowledgement if any."""
    where = "" if as_of is None else " AND occurred_at <= to_timestamp(?)"
    params = [] if as_of is None else [as_of]
    rows = ledger.con.execute(
        "SELECT event_id, type, CAST(floor(epoch(occurred_at)) AS BIGINT), actor_id, properties FROM events "
        f"WHERE type IN ('watch_fired', 'watch_acknowledged'){where} ORDER BY occurred_at, event_id",
        params,
    ).fetchall()
    acks: dict[str, tuple[str | None, int, str | None]] = {}
    fired = []
    for event_id, kind, ts, actor, raw in rows:
        props = json.loads(raw or "{}")
        if kind == "watch_acknowledged":
            acks[str(props.get("alert"))] = (actor, int(ts), props.get("note"))
        else:
            fired.append((event_id, int(ts), actor, props))
    out = []
    for event_id, ts, actor, props in fired:
        by, at, note = acks.get(event_id, (None, None, None))
        alert = Alert(
            alert_id=event_id,
            rule=str(props.get("rule")),
            check=str(props.get("check")),
            owner=str(props.get("owner") or actor),
            at=ts,
            period=str(props.get("period")),
            message=str(props.get("message")),
            evidence=props.get("evidence") or {},
            acknowledged_by=by,
            acknowledged_at=at,
            note=note,
        )
        if alert.open or not open_only:
            out.append(alert)
    out.sort(key=lambda a: (-a.at, a.alert_id))
    return out


def may_acknowledge(spec: Spec, person: str, owner: str) -> bool:
    """The owner, their managers up the chain, a governance owner or the tie-breaker."""
    gov = spec.governance
    if person == owner or person in gov.owners or person in (gov.tie_breaker, gov.escalation):
        return True
    seen: set[str] = set()
    current = spec.people[owner].manager if owner in spec.people else None
    while current and current not in seen:
        if current == person:
            return True
        seen.add(current)
        current = spec.people[current].manager if current in spec.people else None
    return False


def find(ledger: Ledger, alert_id: str) -> Alert:
    """An alert by its id, with or without the ``acc:watch:`` prefix; a close match is suggested."""
    every = alerts(ledger)
    wanted = alert_id if alert_id.startswith(PREFIX) else PREFIX + alert_id
    found = next((a for a in every if a.alert_id == wanted), None)
    if found is None:
        short = [a.alert_id.removeprefix(PREFIX) for a in every]
        close = suggest(alert_id.removeprefix(PREFIX), short)
        raise AccordError(
            f"no alert '{alert_id}'",
            hint=f"did you mean '{close}'?" if close else "list them with `accord alerts`",
        )
    return found


def acknowledge(ledger: Ledger, spec: Spec, alert_id: str, by: str, note: str, at: int) -> Alert:
    """Record that ``by`` read the alert and what was decided; refused with a reason when not allowed."""
    from accord.handoffs.tick import append

    if by not in spec.people:
        close = suggest(by, list(spec.people))
        raise AccordError(f"unknown person '{by}'", hint=f"did you mean '{close}'?" if close else None)
    if not note or not note.strip():
        raise AccordError("an acknowledgement needs a note", hint='say what was decided: --note "..."')
    alert = find(ledger, alert_id)
    if not alert.open:
        raise AccordError(
            f"alert '{alert.alert_id}' was already acknowledged by {alert.acknowledged_by}",
            hint=f"their note: {alert.note}",
        )
    if not may_acknowledge(spec, by, alert.owner):
        raise Forbidden(
            f"{by} may not acknowledge an alert owned by {alert.owner}",
            hint="its owner, a manager above them, a governance owner or the tie-breaker can",
        )
    row = {
        "event_id": f"acc:ack:{alert.alert_id}",
        "occurred_at": datetime.fromtimestamp(at, UTC),
        "type": "watch_acknowledged",
        "contact_id": None,
        "account_id": None,
        "actor_id": by,
        "source": "accord",
        "properties": {"alert": alert.alert_id, "rule": alert.rule, "note": note.strip()},
    }
    append(ledger, [row], "ack")
    return find(ledger, alert.alert_id)
