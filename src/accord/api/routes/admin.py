"""The agreement's text, on-demand runs, keys, the audit log and health."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from accord import service
from accord.api.deps import now, require, workspace
from accord.api.models import KeyIn
from accord.api.permissions import Action, Principal
from accord.api.problems import Problem
from accord.service.hosted import writing
from accord.service.records import as_record

router = APIRouter()
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain")
MAX_SPEC = 2_000_000
SPEC_BODY = {
    "requestBody": {
        "required": True,
        "content": {t: {"schema": {"type": "string", "maxLength": MAX_SPEC}} for t in YAML_TYPES[:3]}
        | {"application/json": {"schema": {"$ref": "#/components/schemas/SpecJson"}}},
    }
}


async def _spec_text(request: Request) -> str:
    """The proposed spec: a YAML body, or JSON ``{"text": ...}``."""
    raw = await request.body()
    if len(raw) > MAX_SPEC:
        raise Problem(413, f"a spec of {len(raw)} bytes is over the {MAX_SPEC}-byte limit")
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json":
        from pydantic import ValidationError

        from accord.api.models import SpecJson

        try:
            return SpecJson.model_validate_json(raw).text
        except ValidationError as exc:
            errors = [{"path": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()]
            raise Problem(422, 'send {"text": "<the YAML>"} or a YAML body', errors=errors) from None
    if kind and kind not in YAML_TYPES:
        raise Problem(415, f"send the spec as YAML ({YAML_TYPES[0]}) or JSON, not {kind}")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Problem(422, "the spec is not UTF-8 text") from None


@router.get("/health", tags=["service"], summary="Is the server up, and which workspace it holds")
def health(request: Request, clock: datetime = Depends(now)) -> dict[str, Any]:
    ws = request.app.state.workspace
    ticker = request.app.state.ticker
    return as_record(
        {
            "status": "ok",
            "workspace": ws.spec.workspace.name,
            "now": clock,
            "tick": None if ticker is None else {"every_seconds": ticker.every, "last": ticker.last},
        }
    )


@router.get("/spec", tags=["spec"], summary="The agreement's YAML text and version")
def get_spec(
    ws: service.Workspace = Depends(workspace), who: Principal = Depends(require(Action.read))
) -> Any:
    found = service.read_spec(ws)
    return {"version": found.version, "hash": found.hash, "name": found.name, "text": found.text}


@router.post(
    "/spec/validate", tags=["spec"], summary="Check a proposed spec: every problem, with its path and line",
    openapi_extra=SPEC_BODY,
)  # fmt: skip
async def validate_spec(request: Request, who: Principal = Depends(require(Action.validate_spec))) -> Any:
    """200 with the version it would have, or 422 problem+json listing every problem (path, line, hint)."""
    from starlette.concurrency import run_in_threadpool

    text = await _spec_text(request)
    version, digest = await run_in_threadpool(service.check_spec, text)
    return {"ok": True, "version": version, "hash": digest}


@router.put("/spec", tags=["spec"], summary="Replace the agreement: validated first, swapped atomically",
            openapi_extra=SPEC_BODY)  # fmt: skip
async def put_spec(
    request: Request,
    ws: service.Workspace = Depends(workspace),
    who: Principal = Depends(require(Action.change_spec)),
) -> Any:
    from starlette.concurrency import run_in_threadpool

    text = await _spec_text(request)
    old, new = await run_in_threadpool(service.replace_spec, ws, text)
    request.state.audit = {"from_hash": old, "to_hash": new}
    return {"ok": True, "previous_hash": old, "hash": new}


@router.post("/run/derive", tags=["run"], summary="Derive scores, tiers and stages as of now")
def run_derive(
    request: Request,
    ws: service.Workspace = Depends(workspace),
    clock: datetime = Depends(now),
    who: Principal = Depends(require(Action.run)),
) -> dict[str, Any]:
    with writing(ws):
        result = service.run_derive(ws, as_of=clock)
    request.state.audit = {"run_id": result.run_id}
    return as_record(
        {
            "run_id": result.run_id,
            "spec_version": result.spec_version,
            "as_of": result.as_of,
            "counts": result.counts,
            "tiers": result.tiers,
            "stages": result.stages,
            "seconds": round(sum(s for _, s in result.timings), 3),
        }
    )


@router.post("/run/tick", tags=["run"], summary="Derive, route new MQLs, advance every SLA clock")
def run_tick(
    request: Request,
    ws: service.Workspace = Depends(workspace),
    clock: datetime = Depends(now),
    who: Principal = Depends(require(Action.run)),
) -> dict[str, Any]:
    with writing(ws):
        result = service.run_tick(ws, now=clock)
    request.state.audit = {"written": result.written}
    return as_record(
        {
            "as_of": datetime.fromtimestamp(result.as_of, clock.tzinfo),
            "routed": [{"contact_id": c, "owner": d.owner, "why": d.why} for c, d in result.routed],
            "unrouted": [{"contact_id": c, "why": d.why} for c, d in result.unrouted],
            "written": result.written,
            "clocks": result.clocks,
        }
    )


@router.get("/audit", tags=["service"], summary="The latest writes: who, when, what, status")
def get_audit(
    limit: Annotated[int, Query(ge=1, le=10000)] = 100,
    ws: service.Workspace = Depends(workspace),
    who: Principal = Depends(require(Action.read_audit)),
) -> dict[str, Any]:
    return {"audit": service.audit(ws, limit)}


@router.get("/keys", tags=["keys"], summary="Every API key (never the secret)")
def get_keys(
    ws: service.Workspace = Depends(workspace), who: Principal = Depends(require(Action.manage_keys))
) -> dict[str, Any]:
    return {"keys": [k.as_dict() for k in service.list_keys(ws)]}


@router.post(
    "/keys", tags=["keys"], status_code=201, summary="Create a key; the key is shown only in this answer"
)
def post_key(
    request: Request,
    body: KeyIn,
    ws: service.Workspace = Depends(workspace),
    who: Principal = Depends(require(Action.manage_keys)),
) -> dict[str, Any]:
    with writing(ws):
        key_id, key = service.create_key(ws, body.person, body.role, body.label)
    request.state.audit = {"key_id": key_id, "person": body.person, "role": body.role}
    return {"key_id": key_id, "key": key, "person": body.person, "role": body.role, "label": body.label}


@router.delete("/keys/{key_id}", tags=["keys"], summary="Revoke a key at once")
def delete_key(
    request: Request,
    key_id: Annotated[str, Path(min_length=1, max_length=100)],
    ws: service.Workspace = Depends(workspace),
    who: Principal = Depends(require(Action.manage_keys)),
) -> dict[str, Any]:
    with writing(ws):
        info = service.revoke_key(ws, key_id)
    request.state.audit = {"key_id": key_id}
    return info.as_dict()
