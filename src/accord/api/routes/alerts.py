"""Watch rule alerts: read them, acknowledge one with a note (its owner, their managers, the leaders)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from accord import service
from accord.api.deps import now, require, workspace
from accord.api.permissions import Action, Principal
from accord.api.problems import Problem, problem_responses

router = APIRouter(tags=["alerts"])
reader = require(Action.read)


class Acknowledge(BaseModel):
    """What was decided about the alert; required."""

    note: str = Field(min_length=1, max_length=2000)


@router.get("/alerts", summary="Watch rule alerts, newest first, with evidence and acknowledgement")
def get_alerts(
    all: Annotated[bool, Query(description="Acknowledged alerts too (default: open ones)")] = False,
    ws: service.Workspace = Depends(workspace),
    who: Principal = Depends(reader),
) -> dict[str, Any]:
    return {"alerts": [a.as_dict() for a in service.list_alerts(ws, open_only=not all)]}


def acknowledger(who: Principal = Depends(reader)) -> Principal:
    """A viewer is refused before the body is read: a 403, not "note required", whatever it sent."""
    if who.role.value == "viewer":
        raise Problem(403, "viewers read only", hint="the alert's owner, their manager or a leader can")
    return who


@router.post(
    "/alerts/{alert_id}/ack",
    status_code=201,
    summary="Acknowledge an alert with a note",
    responses=problem_responses(
        s403="not the alert's owner, their manager or a leader",
        s404="no such alert",
        s409="already acknowledged",
    ),
)
def acknowledge(
    request: Request,
    alert_id: Annotated[str, Path(min_length=1, max_length=300)],
    body: Acknowledge,
    ws: service.Workspace = Depends(workspace),
    clock: datetime = Depends(now),
    who: Principal = Depends(acknowledger),
) -> dict[str, Any]:
    """Anyone who may read may try; the service refuses all but the owner's chain and the leaders."""
    request.state.audit = {"alert": alert_id, "note": body.note}
    done: dict[str, Any] = service.acknowledge_alert(ws, alert_id, who.person, body.note, now=clock).as_dict()
    return done
