"""``POST /events``: events in, one decision per contact out."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from accord import service
from accord.api.deps import now, require, workspace
from accord.api.models import EventBatch, EventIn
from accord.api.permissions import Action, Principal, Role
from accord.api.problems import PROBLEM, TYPES, Problem
from accord.spec.catalog import STANDARD_EVENT_TYPES

router = APIRouter(tags=["events"])

ITEM_STATUS = {"stored": 201, "duplicate": 200, "conflict": 409, "rejected": 422}

ACCORD_WRITES = frozenset(
    t for t, category in STANDARD_EVENT_TYPES.items() if category in ("handoff", "play", "governance")
) | {"record_updated"}
"""Events Accord writes itself, each behind its own rule: an assignment by routing, a disposition by
the lead's owner or their manager, a breach by the clock. Posted as plain events, a marketing key
could accept a lead for its owner and fix the instant in its stage history."""
BACKFILL_ROLES = frozenset({Role.admin, Role.revops})
"""Who may still post them: moving a CRM's history in is an administrator's job."""


def _named_id(body: EventIn | EventBatch, index: int) -> str | None:
    """The event id a malformed batch item names, when it names one as text: its item says so."""
    raw: Any = body.events[index] if isinstance(body, EventBatch) else None
    found = raw.get("event_id") if isinstance(raw, dict) else None
    return found if isinstance(found, str) else None


def _item(item: Any) -> dict[str, Any]:
    out: dict[str, Any] = item.as_dict()
    code = ITEM_STATUS[item.status]
    if code >= 400:
        kind = "conflict" if code == 409 else "invalid-event"
        title = "Conflict" if code == 409 else "Invalid event"
        out["problem"] = {"type": TYPES + kind, "title": title, "status": code, "detail": item.reason}
    return out


@router.post(
    "/events",
    summary="Ingest one event or a batch; get each affected contact's decision",
    responses={
        200: {"description": "A batch (per-item results), or one event already stored (duplicate)"},
        201: {"description": "One new event stored"},
        409: {"description": "One event whose id is stored with other content", "content": {PROBLEM: {}}},
        422: {"description": "Invalid request or event", "content": {PROBLEM: {}}},
    },
)
def post_events(
    request: Request,
    body: Annotated[EventIn | EventBatch, Body(description="One event, or {'events': [...]} (up to 1000)")],
    decide: Annotated[
        bool, Query(description="Compute decisions for the contacts named (default true).")
    ] = True,
    ws: service.Workspace = Depends(workspace),
    clock: datetime = Depends(now),
    who: Principal = Depends(require(Action.ingest)),
) -> Response:
    single = isinstance(body, EventIn)
    checked = [body] if isinstance(body, EventIn) else body.checked()
    events = [(i, e) for i, e in enumerate(checked) if isinstance(e, EventIn)]
    refused = {
        i: (_named_id(body, i), "; ".join(f"{p['path']}: {p['message']}" for p in e))
        for i, e in enumerate(checked)
        if not isinstance(e, EventIn)
    }
    if who.role not in BACKFILL_ROLES:
        ours = [(i, e.type) for i, e in events if e.type in ACCORD_WRITES]
        if ours:
            raise Problem(
                403,
                f"role '{who.role}' may not post events Accord writes itself ({ours[0][1]})",
                hint="accept, reject or recycle with POST /contacts/{id}/accept, /reject or /recycle "
                "(the owner or their manager); routing assigns and the clocks breach; an admin or "
                "revops key may backfill such history",
                errors=[
                    {"path": f"events.{i}.type", "index": i, "message": f"'{t}' is written by Accord"}
                    for i, t in ours
                ],
            )
    rows = [e.model_dump() for _, e in events]
    result = service.ingest(ws, rows, now=clock, decide=decide, refused=refused)
    summary = {s: result.count(s) for s in ("stored", "duplicate", "conflict", "rejected")}
    request.state.audit = {"events": len(checked), **summary}
    payload = {
        "stored": summary["stored"],
        "duplicates": summary["duplicate"],
        "conflicts": summary["conflict"],
        "rejected": summary["rejected"],
        "items": [_item(i) for i in result.items],
        "decisions": result.decisions,
        "undecided": result.undecided,
        "timings_ms": {k: round(v * 1000, 1) for k, v in result.timings.items()},
    }
    if not single:
        return JSONResponse(payload)
    item = result.items[0]
    code = ITEM_STATUS[item.status]
    if code >= 400:
        problem = Problem(
            code,
            item.reason or item.status,
            kind="conflict" if code == 409 else "invalid-event",
            title="Conflict" if code == 409 else "Invalid event",
            errors=[{"path": "body", "index": 0, "event_id": item.event_id, "message": item.reason}],
        )
        return JSONResponse(problem.body(request.url.path), status_code=code, media_type=PROBLEM)
    return JSONResponse(payload, status_code=code)
