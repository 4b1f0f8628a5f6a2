"""One record at a time, as the API and the dashboard show it: a lead, an account, a deal; and touches.

A lead is read from the latest derive (score, tier, drivers, stage history, as `accord explain` shows
it) with its owner and clocks as of now, since ownership and clocks move between derives. A touch is a
rep's call, email or meeting, written as an event by the caller, allowed only to the lead's owner or
their manager: it is what stops a first-touch clock.
"""

from __future__ import annotations

import math
import secrets
from datetime import UTC, date, datetime
from typing import Any

from accord.errors import AccordError
from accord.handoffs.view import HandoffView
from accord.ledger.schema import event_time_problem
from accord.reports.base import utc_text
from accord.service.access import NotFound, require_owner_or_manager
from accord.service.decide import clock_dict
from accord.service.derive import explain
from accord.service.workspace import Workspace

TOUCH_TYPES = (
    "call_attempt",
    "call_connected",
    "email_sent",
    "email_reply",
    "meeting_booked",
    "meeting_held",
)


def plain(value: Any) -> Any:
    """A value JSON can carry: instants as ISO text, decimals as floats."""
    if isinstance(value, datetime):
        return utc_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, str | int | float | bool):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def as_record(value: dict[str, Any]) -> dict[str, Any]:
    """A mapping made JSON-safe with :func:`plain`."""
    return {k: plain(v) for k, v in value.items()}


def _rows(cursor: Any) -> list[dict[str, Any]]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def contact_view(ws: Workspace, contact_id: str, now: datetime) -> dict[str, Any]:
    """The lead as derived (same numbers as `accord explain`) plus its owner and clocks now."""
    from accord.plays.context import contexts

    found = explain(ws, contact_id)
    moment = int(now.astimezone(UTC).timestamp())
    with ws.ledger(read_only=True) as ledger:
        view = HandoffView(ledger, ws.spec, moment)
        owner, latest = view.owner(contact_id)
        clocks = view.clocks([contact_id])
        context = contexts(ledger, ws.spec, [contact_id], moment)[contact_id].as_dict()
    return as_record(
        {
            "contact": found.contact,
            "lead": found.lead,
            "drivers": found.drivers,
            "stages": found.stages,
            "owner": owner,
            "handoff": None
            if latest is None
            else {"type": latest.type, "by": latest.actor, "at": datetime.fromtimestamp(latest.ts, UTC)},
            "clocks": [clock_dict(c) for c in clocks],
            "context": context,  # what a rep needs to act: why now, content engaged, the play's next step
            "derived": {
                "run_id": found.run.get("run_id"),
                "as_of": found.run.get("as_of"),
                "stale": found.stale,
            },
        }
    )


def account_view(ws: Workspace, account_id: str) -> dict[str, Any]:
    with ws.ledger(read_only=True) as ledger:
        account = _rows(ledger.con.execute("SELECT * FROM accounts WHERE account_id = ?", [account_id]))
        if not account:
            raise NotFound(f"no account '{account_id}'", hint="account ids come from imports or events")
        has = ledger.has_table("derived_leads")
        lead_cols = ", l.score, l.tier, l.motion, l.stage" if has else ""
        lead_join = "LEFT JOIN derived_leads l USING (contact_id) " if has else ""
        contacts = _rows(
            ledger.con.execute(
                f"SELECT c.contact_id, trim(concat_ws(' ', c.first_name, c.last_name)) AS name, c.title, "
                f"c.committee_role, c.owner_id{lead_cols} FROM contacts c {lead_join}"
                "WHERE c.account_id = ? ORDER BY c.contact_id",
                [account_id],
            )
        )
        deals = _rows(
            ledger.con.execute(
                "SELECT opportunity_id, name, stage, amount, currency, is_closed, is_won, close_date, "
                "owner_id "
                "FROM opportunities WHERE account_id = ? ORDER BY created_at",
                [account_id],
            )
        )
    return as_record({"account": account[0], "contacts": contacts, "opportunities": deals})


def opportunity_view(ws: Workspace, opportunity_id: str) -> dict[str, Any]:
    with ws.ledger(read_only=True) as ledger:
        deal = _rows(
            ledger.con.execute("SELECT * FROM opportunities WHERE opportunity_id = ?", [opportunity_id])
        )
        if not deal:
            raise NotFound(f"no opportunity '{opportunity_id}'", hint="opportunity ids come from imports")
        events = _rows(
            ledger.con.execute(
                "SELECT event_id, occurred_at, type, actor_id, properties FROM events "
                "WHERE opportunity_id = ? ORDER BY occurred_at, event_id",
                [opportunity_id],
            )
        )
        has = ledger.has_table("derived_stages")
        stages = (
            _rows(
                ledger.con.execute(
                    "SELECT * FROM derived_stages WHERE entity_type = 'opportunity' AND entity_id = ? "
                    "ORDER BY entered_at, seq",
                    [opportunity_id],
                )
            )
            if has
            else []
        )
    return as_record({"opportunity": deal[0], "events": events, "stages": stages})


def touch(
    ws: Workspace,
    contact: str,
    by: str,
    kind: str,
    *,
    now: datetime,
    at: datetime | None = None,
    note: str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """Log a call, email or meeting on a lead by its owner or their manager; idempotent by event_id."""
    from accord.handoffs.tick import append, event_row
    from accord.service.hosted import writing

    if kind not in TOUCH_TYPES:
        raise AccordError(f"unknown touch type '{kind}'", hint="use one of: " + ", ".join(TOUCH_TYPES))
    problem = event_time_problem(at) if at is not None else None
    if problem is not None:
        raise AccordError(problem.replace("occurred_at", "the touch's time"), hint="pick a real past instant")
    when = (at or now).astimezone(UTC).replace(microsecond=0)
    if when > now.astimezone(UTC):
        raise AccordError(
            "a touch cannot be logged in the future", hint="leave out `at`, or pick a past instant"
        )
    require_owner_or_manager(ws, by, contact, now, "log a touch on")
    moment = int(when.timestamp())
    eid = event_id or f"touch:{contact}:{moment}:{secrets.token_hex(4)}"
    row = event_row(eid, moment, kind, contact, by, {"note": note} if note else {})
    row["source"] = "api"
    with writing(ws), ws.ledger() as ledger:
        existing = ledger.con.execute(
            "SELECT actor_id, type, occurred_at FROM events WHERE event_id = ?", [eid]
        ).fetchall()
        if existing and (existing[0][0] != by or existing[0][1] != kind):
            from accord.service.access import Conflict

            raise Conflict(f"event_id '{eid}' is already stored with different content", hint="use a new id")
        new = append(ledger, [row], "touch")
    # a retry answers with the touch as stored, not the retry's own instant
    stored = existing[0][2] if existing and not new else when
    return {
        "event_id": eid,
        "contact_id": contact,
        "type": kind,
        "by": by,
        "at": plain(stored),
        "new": bool(new),
    }


def dispose(
    ws: Workspace,
    contact: str,
    kind: str,
    by: str,
    *,
    now: datetime,
    reason: str | None = None,
    recycle_on: date | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """Accept, reject or recycle as the caller: the owner-or-manager rule first (403), then the domain's."""
    from accord.service.handoffs import disposition
    from accord.service.hosted import writing

    verb = {"accept": "accept", "reject": "reject", "recycle": "recycle"}.get(kind, kind)
    require_owner_or_manager(ws, by, contact, now, verb)
    with writing(ws):
        done = disposition(ws, contact, kind, by, at=now, reason=reason, recycle_on=recycle_on, note=note)
    return {
        "event_id": done.event_id,
        "contact_id": done.contact_id,
        "type": done.type,
        "by": done.by,
        "at": plain(datetime.fromtimestamp(done.at, UTC)),
        "reason_code": done.reason_code,
        "recycle_on": plain(done.recycle_on),
    }
