"""Plays and watch rules as use cases: a lead's handoff context, the open alerts, acknowledging one."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from accord.service.workspace import Workspace


def _moment(now: datetime | None) -> int:
    return int((now or datetime.now(UTC)).astimezone(UTC).timestamp())


def handoff_context(ws: Workspace, contact_ids: list[str], *, now: datetime | None = None) -> dict[str, Any]:
    """contact -> its handoff context (why-now drivers, content engaged, next play step) as of now."""
    from accord.ledger.derived import has_derived
    from accord.plays.context import contexts

    with ws.ledger(read_only=True) as ledger:
        if not has_derived(ledger):
            return {}
        return contexts(ledger, ws.spec, contact_ids, _moment(now))


def list_alerts(ws: Workspace, *, open_only: bool = False, now: datetime | None = None) -> list[Any]:
    """Watch rule firings, newest first, with their acknowledgements."""
    from accord.watch.alerts import alerts

    with ws.ledger(read_only=True) as ledger:
        return alerts(ledger, open_only=open_only, as_of=None if now is None else _moment(now))


def may_acknowledge_alert(ws: Workspace, person: str, owner: str) -> bool:
    """Whether ``acknowledge_alert`` would accept ``person`` on an alert of ``owner`` (roles aside), so
    an adapter offers the form only to those it would not refuse."""
    from accord.watch.alerts import may_acknowledge

    return may_acknowledge(ws.spec, person, owner)


def acknowledge_alert(
    ws: Workspace, alert_id: str, by: str, note: str, *, now: datetime | None = None
) -> Any:
    """Acknowledge a firing with a note, as ``by``; refused with a reason when it does not hold."""
    from accord.service.hosted import writing
    from accord.watch.alerts import acknowledge

    with writing(ws), ws.ledger() as ledger:
        return acknowledge(ledger, ws.spec, alert_id, by, note, _moment(now))
