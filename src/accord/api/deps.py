"""FastAPI dependencies the API routes and the dashboard share: workspace, clock, caller, permission.

A caller is identified by an API key, read from ``Authorization: Bearer <key>``, else ``X-API-Key``, else
the ``accord_key`` cookie (the dashboard's login sets it). Each request is then metered against the
key's token bucket (``rate_per_minute``). A permission is checked against the one matrix in
:mod:`accord.api.permissions`; dispositions and touches are further limited by the domain rule (owner or
the owner's manager), which the service layer checks.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from fastapi import Request

from accord import service
from accord.api.permissions import Action, Principal
from accord.api.problems import Problem
from accord.service.hosted import HostedWorkspace
from accord.service.keys import principal_for

COOKIE = "accord_key"


def workspace_of(request: Request) -> service.Workspace:
    """The workspace the server holds open (one connection; each use case gets a cursor)."""
    ws: service.Workspace = request.app.state.workspace
    return ws


def now_of(request: Request) -> datetime:
    """The server's clock, injectable (``ACCORD_NOW``, tests), always UTC."""
    clock: Callable[[], datetime] = request.app.state.now
    return clock().astimezone(UTC)


async def workspace(request: Request) -> service.Workspace:
    """:func:`workspace_of` as a dependency. ``async`` only so FastAPI calls it on the event loop: a
    plain function costs a trip through the thread pool on every request, and this one never blocks."""
    return workspace_of(request)


async def now(request: Request) -> datetime:
    """:func:`now_of` as a dependency (``async`` for the same reason)."""
    return now_of(request)


def authenticate(request: Request, key: str) -> Principal | None:
    """Who a key stands for in the server's workspace; None when unknown, revoked or malformed.

    The app's own held workspace, not a look-up by folder: resolving the folder's path (a system call
    per path part) was a measurable share of every request."""
    ws: service.Workspace = request.app.state.workspace
    if isinstance(ws, HostedWorkspace) and ws.closed:
        ws = service.locate(request.app.state.root)
    return principal_for(ws, key)


def _key_of(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    key = request.headers.get("x-api-key") or request.cookies.get(COOKIE)
    return key.strip() if key and key.strip() else None


def optional_principal(request: Request) -> Principal | None:
    """The caller if a valid key came with the request, else None (pages that work signed out)."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    key = _key_of(request)
    if key is None:
        return None
    found = authenticate(request, key)
    if found is not None:
        request.state.principal = found
    return found


def _meter(request: Request, bucket: str, detail: str, then: str = "") -> None:
    """Spend a token of ``bucket``; 429 with Retry-After when it is empty."""
    wait = request.app.state.limiter.take(bucket)
    if wait > 0:
        retry = max(1, int(wait + 0.999))
        raise Problem(
            429, detail, hint=f"retry after {retry} s {then}".strip(), headers={"Retry-After": str(retry)}
        )


def principal(request: Request) -> Principal:
    """The authenticated caller, metered by its key's rate limit; 401 / 429 problem+json otherwise."""
    if _key_of(request) is None:
        raise Problem(
            401,
            "no API key: send `Authorization: Bearer <key>` (or X-API-Key, or the accord_key cookie)",
            hint="create one with `accord keys create PERSON --role ROLE`",
            headers={"WWW-Authenticate": "Bearer"},
        )
    found = optional_principal(request)
    if found is None:
        # guesses are metered by address, from the same budget as a key: 700 guesses once got 700
        # answers (and 700 audit rows) as fast as they came
        client = request.client.host if request.client is not None else "unknown"
        _meter(request, f"guess:{client}", f"too many unknown keys from {client}", "with a valid key")
        raise Problem(
            401,
            "unknown or revoked API key",
            hint="check the key, or ask an admin for a new one",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not getattr(request.state, "metered", False):
        request.state.metered = True
        per_minute = request.app.state.limiter.per_minute
        _meter(request, found.key_id, f"this key reached its limit of {per_minute} requests a minute")
    return found


def require(action: Action) -> Callable[[Request], Principal]:
    """A dependency admitting only callers whose role may do ``action``; 403 problem+json otherwise."""

    def dependency(request: Request) -> Principal:
        who = principal(request)
        if not who.may(action):
            raise Problem(
                403,
                f"role '{who.role.value}' may not {action.value.replace('_', ' ')}",
                hint="see the permission matrix in docs/api.md",
            )
        return who

    dependency.__name__ = f"require_{action.value}"
    return dependency
