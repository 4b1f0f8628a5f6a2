"""Leads, accounts, deals, queues; dispositions and touches by the lead's owner or their manager."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from accord import service
from accord.api.deps import now, require, workspace
from accord.api.models import Accept, Recycle, Reject, Touch
from accord.api.permissions import Action, Principal
from accord.service.records import as_record, plain

router = APIRouter(tags=["leads"])

IdPath = Annotated[str, Path(min_length=1, max_length=200)]
reader = require(Action.read)


@router.get("/contacts/{contact_id}", summary="A lead: score, tier, drivers, stage history, owner, clocks")
def get_contact(
    contact_id: IdPath,
    ws: service.Workspace = Depends(workspace),
    clock: datetime = Depends(now),
    who: Principal = Depends(reader),
) -> dict[str, Any]:
    return service.contact_view(ws, contact_id, clock)


@router.get("/accounts/{account_id}", summary="An account with its contacts and deals")
def get_account(
    account_id: IdPath, ws: service.Workspace = Depends(workspace), who: Principal = Depends(reader)
) -> dict[str, Any]:
    return service.account_view(ws, account_id)


@router.get("/opportunities/{opportunity_id}", summary="A deal with its events and stage history")
def get_opportunity(
    opportunity_id: IdPath, ws: service.Workspace = Depends(workspace), who: Principal = Depends(reader)
) -> dict[str, Any]:
    return service.opportunity_view(ws, opportunity_id)


@router.get("/leads", summary="Leads by score, with the top driver of each (as of the last derive)")
def get_leads(
    tier: Annotated[
        str | None, Query(max_length=100, description="Tier name or number: 'Tier 1' or 1")
    ] = None,
    owner: Annotated[str | None, Query(max_length=200, description="Owner person id")] = None,
    stage: Annotated[str | None, Query(max_length=100, description="Stage id")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 25,
    ws: service.Workspace = Depends(workspace),
    who: Principal = Depends(reader),
) -> dict[str, Any]:
    rows, run = service.leads(ws, tier=tier, stage=stage, owner=owner, limit=limit)
    return as_record({"leads": rows, "derived": {"run_id": run.get("run_id"), "as_of": run.get("as_of")}})


@router.get("/queues", summary="The queues the caller may read, each with its count of open leads")
def get_queues(
    ws: service.Workspace = Depends(workspace),
    clock: datetime = Depends(now),
    who: Principal = Depends(reader),
) -> dict[str, Any]:
    """Fullest first: where the work is. A rep gets their own queue, a sales manager theirs and their
    team's, other roles everyone in sales and anyone else holding leads; each entry is a queue
    ``GET /queue/{owner}`` opens for them."""
    rows = service.queue_overview(ws, who.person, who.role.value, now=clock)
    queues = [{"owner": pid, "name": name, "open_leads": n} for pid, name, n in rows]
    return as_record({"as_of": clock, "queues": queues})


@router.get("/queue/{owner}", summary="A person's open leads, most urgent deadline first")
def get_queue(
    owner: IdPath,
    ws: service.Workspace = Depends(workspace),
    clock: datetime = Depends(now),
    who: Principal = Depends(reader),
) -> dict[str, Any]:
    service.may_read_queue(ws, who.person, who.role.value, owner)
    items = service.owner_queue(ws, owner, now=clock)
    found = service.handoff_context(ws, [i.contact_id for i in items], now=clock)
    context = {cid: c.as_dict() for cid, c in found.items()}
    return as_record(
        {
            "owner": owner,
            "as_of": clock,
            "items": [
                {
                    "contact_id": i.contact_id,
                    "name": i.name,
                    "account": i.account,
                    "score": i.score,
                    "tier": i.tier,
                    "stage": i.stage,
                    "latest": i.latest,
                    "top_driver": i.top_driver,
                    "top_points": i.top_points,
                    "next_deadline": None
                    if i.next_deadline is None
                    else datetime.fromtimestamp(i.next_deadline, UTC),
                    "clocks": [service.clock_dict(c) for c in i.clocks],
                    "context": context.get(i.contact_id),
                }
                for i in items
            ],
        }
    )


def _dispose(
    request: Request,
    ws: service.Workspace,
    contact: str,
    kind: str,
    who: Principal,
    clock: datetime,
    **kw: Any,
) -> dict[str, Any]:
    request.state.audit = {
        "contact_id": contact,
        "disposition": kind,
        **{k: plain(v) for k, v in kw.items() if v},
    }
    return service.dispose(ws, contact, kind, who.person, now=clock, **kw)


disposer = require(Action.disposition)


@router.post(
    "/contacts/{contact_id}/accept", status_code=201, summary="Accept a lead (its owner or their manager)"
)
def accept(
    request: Request,
    contact_id: IdPath,
    body: Accept | None = None,
    ws: service.Workspace = Depends(workspace),
    clock: datetime = Depends(now),
    who: Principal = Depends(disposer),
) -> dict[str, Any]:
    return _dispose(request, ws, contact_id, "accept", who, clock, note=body.note if body else None)


@router.post("/contacts/{contact_id}/reject", status_code=201, summary="Reject a lead with a reason code")
def reject(
    request: Request,
    contact_id: IdPath,
    body: Reject,
    ws: service.Workspace = Depends(workspace),
    clock: datetime = Depends(now),
    who: Principal = Depends(disposer),
) -> dict[str, Any]:
    return _dispose(request, ws, contact_id, "reject", who, clock, reason=body.reason_code, note=body.note)


@router.post("/contacts/{contact_id}/recycle", status_code=201, summary="Recycle a lead until a date")
def recycle(
    request: Request,
    contact_id: IdPath,
    body: Recycle,
    ws: service.Workspace = Depends(workspace),
    clock: datetime = Depends(now),
    who: Principal = Depends(disposer),
) -> dict[str, Any]:
    return _dispose(request, ws, contact_id, "recycle", who, clock, recycle_on=body.until, note=body.note)


@router.post(
    "/contacts/{contact_id}/touches",
    status_code=201,
    summary="Log a call, email or meeting as the caller",
    responses={200: {"description": "The same event_id again: the touch as stored, nothing written"}},
)
def touch(
    request: Request,
    response: Response,
    contact_id: IdPath,
    body: Touch,
    ws: service.Workspace = Depends(workspace),
    clock: datetime = Depends(now),
    who: Principal = Depends(require(Action.touch)),
) -> dict[str, Any]:
    request.state.audit = {"contact_id": contact_id, "touch": body.type}
    logged = service.touch(
        ws, contact_id, who.person, body.type, now=clock, at=body.at, note=body.note, event_id=body.event_id
    )
    if not logged["new"]:
        response.status_code = 200  # as POST /events answers a duplicate
    return logged
