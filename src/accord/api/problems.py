"""Every API error as ``application/problem+json`` (RFC 9457): type, title, status, detail, errors.

Accord's own errors are user mistakes and become 4xx with their message and hint; pydantic's become
422 with one entry per field; unknown paths 404. Anything else is a bug: it is logged with its traceback
and answered 500 with no internals, still as problem+json so a client parses one shape.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from accord.errors import AccordError, RuleError, SpecError

PROBLEM = "application/problem+json"
TYPES = "https://accord.dev/problems/"
log = logging.getLogger("accord.api")
MISSING = re.compile(r"^no (contact|account|opportunity|person|key|report named|alert) ")
"""Accord's wording for a record that does not exist: a 404 rather than a 400."""

TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Too large",
    415: "Unsupported media type",
    422: "Invalid input",
    429: "Too many requests",
    500: "Internal error",
}


class Problem(Exception):
    """An HTTP problem raised on purpose by a route or a dependency."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        kind: str | None = None,
        title: str | None = None,
        hint: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.kind = kind or TITLES.get(status, "error").lower().replace(" ", "-")
        self.title = title or TITLES.get(status, "Error")
        self.hint = hint
        self.errors = errors
        self.headers = headers or {}

    def body(self, instance: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": TYPES + self.kind,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            out["instance"] = instance
        if self.hint:
            out["hint"] = self.hint
        if self.errors is not None:
            out["errors"] = self.errors
        return out


def problem_responses(**statuses: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the problem+json answers a route gives on purpose: ``s404="why"``."""
    return {
        int(code.removeprefix("s")): {"description": text, "content": {PROBLEM: {}}}
        for code, text in statuses.items()
    }


def is_json(media_type: str) -> bool:
    return media_type == "application/json" or media_type.endswith("+json")


def _at_body_root(error: Any) -> bool:
    """A JSON body that is not an object at all, as one sent as text/plain reads (a form's fields have
    their own names in the location, and are not this)."""
    loc = tuple(error.get("loc", ()))
    whole = loc == ("body",) or (len(loc) == 2 and loc[0] == "body" and _branch(loc[1]))
    return whole and "type" in str(error.get("type", ""))


def _branch(part: Any) -> bool:
    """A location step that names a branch of a union (``EventIn``, ``function-after[...]``), not a
    field: pydantic reports every branch's errors, which tells a client nothing about its own body."""
    text = str(part)
    return text[:1].isupper() or "[" in text


def _one_shape(errors: list[Any], body: Any) -> list[Any]:
    """The errors of the one shape the body meant. ``POST /events`` takes one event or
    ``{"events": [...]}``: a single event with a naive instant was answered with six problems, five of
    them the batch shape's (``events: Field required``, ``event_id: Extra inputs ...``)."""
    branches = {e["loc"][1] for e in errors if len(e.get("loc", ())) > 1 and _branch(e["loc"][1])}
    if len(branches) < 2:
        return errors
    batch = isinstance(body, dict) and "events" in body
    wanted = next((b for b in branches if ("batch" in str(b).lower()) == batch), None)

    def kept(error: Any) -> bool:
        loc = error.get("loc", ())
        return len(loc) < 2 or not _branch(loc[1]) or loc[1] == wanted

    return [e for e in errors if kept(e)]


def _path(loc: Any) -> str:
    """A location as a client reads it, ``body.occurred_at``: without the union branch's name."""
    return ".".join(str(p) for i, p in enumerate(loc) if not (i == 1 and _branch(p)))


def respond(problem: Problem, instance: str | None = None) -> JSONResponse:
    return JSONResponse(
        problem.body(instance), status_code=problem.status, media_type=PROBLEM, headers=problem.headers
    )


def status_of(exc: AccordError) -> int:
    """Which 4xx an Accord error is: the error's own ``http_status`` if it has one, else by kind."""
    explicit = getattr(exc, "http_status", None)
    if isinstance(explicit, int):
        return explicit
    if isinstance(exc, SpecError | RuleError):
        return 422
    if MISSING.match(exc.message):
        return 404
    if exc.message.startswith("nothing derived") or " was already " in exc.message:
        return 409
    return 400


def from_accord(exc: AccordError) -> Problem:
    """An Accord error as a problem; a spec's problems each keep their path, line and hint."""
    errors = None
    if isinstance(exc, SpecError):
        errors = [
            {
                "path": p.path or "(top)",
                "message": p.message,
                "hint": p.hint,
                "line": p.line,
                "column": p.column,
            }
            for p in exc.problems
        ]
    kind = re.sub(r"(?<!^)(?=[A-Z])", "-", type(exc).__name__.removesuffix("_")).lower()
    return Problem(status_of(exc), exc.message, kind=kind, hint=exc.hint, errors=errors)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every failure into problem+json."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return respond(exc, request.url.path)

    @app.exception_handler(AccordError)
    async def _accord(request: Request, exc: AccordError) -> JSONResponse:
        return respond(from_accord(exc), request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        raw = list(exc.errors())
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind and not is_json(kind) and any(_at_body_root(e) for e in raw):
            problem = Problem(
                415,
                f"the body was sent as {kind}, not JSON",
                hint="send the JSON with the header Content-Type: application/json",
            )
            return respond(problem, request.url.path)
        errors = [
            {"path": _path(e.get("loc", ())), "message": e.get("msg", "invalid"), "type": e.get("type")}
            for e in _one_shape(raw, getattr(exc, "body", None))
        ]
        n = len(errors)
        problem = Problem(422, f"{n} problem{'s' if n != 1 else ''} in the request", errors=errors)
        return respond(problem, request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Any:
        if not request.url.path.startswith("/api") and "text/html" in request.headers.get("accept", ""):
            return HTMLResponse(f"<h1>{exc.status_code}</h1><p>{exc.detail}</p>", status_code=exc.status_code)
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no such path: {request.method} {request.url.path}"
        problem = Problem(exc.status_code, detail, headers=dict(exc.headers or {}))
        return respond(problem, request.url.path)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("internal error on %s %s", request.method, request.url.path)
        problem = Problem(500, "an internal error occurred; it was logged", kind="internal")
        return respond(problem, request.url.path)
