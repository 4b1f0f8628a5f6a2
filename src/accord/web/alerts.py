"""The dashboard's alerts: a banner on every page while watch rules have fired unanswered, and a page
to read their evidence and acknowledge them with a note (the same service call as `accord ack`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from accord import service
from accord.api import deps
from accord.errors import AccordError
from accord.web.context import Ctx, _begin, _page, _with_flash, templates
from accord.web.tables import when

router = APIRouter()


def open_alert_count(request: Request) -> int:
    """Open alerts of the served workspace, for the banner; 0 when it cannot be read."""
    try:
        return len(service.list_alerts(deps.workspace_of(request), open_only=True))
    except Exception:  # the banner must never break a page
        return 0


templates.env.globals["open_alert_count"] = open_alert_count


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(request: Request, all: bool = False) -> Response:
    def build(ctx: Ctx) -> Response:
        zone = ctx.zone
        people = ctx.ws.spec.people
        rows: list[dict[str, Any]] = []
        for a in service.list_alerts(ctx.ws, open_only=not all):
            rows.append(
                {
                    "id": a.alert_id,
                    "message": a.message,
                    "owner": people[a.owner].name if a.owner in people else a.owner,
                    "may_ack": a.open and may_acknowledge(ctx, a.owner),
                    "fired": when(a.at, zone),
                    "open": a.open,
                    "by": a.acknowledged_by,
                    "note": a.note,
                    "acked": when(a.acknowledged_at, zone) if a.acknowledged_at else None,
                }
            )
        return ctx.render(
            "alerts.html", title="Watch alerts", section="/alerts", alerts=rows, all=all, show_filters=False
        )

    return _page(request, "/alerts", build)


def may_acknowledge(ctx: Ctx, owner: str) -> bool:
    """The form is drawn only where the post would be accepted: a viewer key only reads, and the service
    accepts the owner, their managers and the leaders."""
    if ctx.who.role.value == "viewer":
        return False
    return service.may_acknowledge_alert(ctx.ws, ctx.who.person, owner)


@router.post("/alerts/ack")
def acknowledge(
    request: Request,
    alert_id: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    begun = _begin(request)
    if not isinstance(begun, Ctx):
        return begun
    ctx = begun
    target = "/alerts"
    request.state.audit = {"alert": alert_id, "via": "dashboard"}
    try:
        if ctx.who.role.value == "viewer":
            raise AccordError("viewers read only", hint="the alert's owner, their manager or a leader can")
        service.acknowledge_alert(ctx.ws, alert_id, ctx.who.person, note, now=ctx.now)
    except AccordError as exc:
        return _with_flash(RedirectResponse(target, status_code=303), "error", exc.message, exc.hint)
    return _with_flash(RedirectResponse(target, status_code=303), "ok", f"Acknowledged {alert_id}.")
