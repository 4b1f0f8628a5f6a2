"""The ASGI application: the JSON API under ``/api/v1`` and, when present, the dashboard everywhere else.

One app per workspace. It holds the workspace open for its whole life (DuckDB allows one writing
process; see :mod:`accord.service.hosted`), keeps the injectable clock, meters each key, audits every
write, and optionally ticks in the background so SLA clocks advance with nobody calling.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from accord.api.limiter import Limiter
from accord.api.problems import install
from accord.reports.base import utc_text
from accord.service.hosted import HostedWorkspace, hold

API = "/api/v1"
NOW_ENV = "ACCORD_NOW"
"""An ISO instant (``2026-11-02T12:00:00Z``): the server's clock stands still there (tests, demos)."""
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
log = logging.getLogger("accord.api")


def clock_from_env() -> Callable[[], datetime] | None:
    """A frozen clock when ``ACCORD_NOW`` is set, else None (wall time)."""
    text = os.environ.get(NOW_ENV)
    if not text:
        return None
    from accord.errors import AccordError

    try:
        fixed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise AccordError(
            f"{NOW_ENV}={text!r} is not an ISO instant", hint="e.g. 2026-11-02T12:00:00Z"
        ) from None
    if fixed.tzinfo is None:
        fixed = fixed.replace(tzinfo=UTC)
    fixed = fixed.astimezone(UTC)
    return lambda: fixed


def _wall() -> datetime:
    return datetime.now(UTC)


REDERIVE_EVERY = timedelta(minutes=15)
"""Longest a background tick reuses the last derive when nothing was written since. Scores still
decay meanwhile (a 14-day half-life moves intent by under 0.1% in 15 minutes) and a recycled lead
returns at its date up to this much later; the clocks themselves are always computed afresh."""


class Ticker:
    """Runs the tick every ``every`` seconds as `accord tick` does, under the write lock.

    It derives again only when something was written since its last derive (events, records, the
    spec), or after :data:`REDERIVE_EVERY`. Deriving the 5,000-contact demo takes 10 to 30 s on two
    cores, all of it holding the write lock, so deriving every minute kept ingest waiting for most of
    each minute while nothing had changed.
    """

    def __init__(self, ws: HostedWorkspace, clock: Callable[[], datetime], every: float) -> None:
        self.ws, self.clock, self.every = ws, clock, every
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="accord-tick", daemon=True)
        self.last: dict[str, Any] = {}
        self.derived: tuple[Any, ...] | None = None  # what the ledger held at the last derive
        self.derived_at: datetime | None = None

    def start(self) -> None:
        self.thread.start()

    def _written(self) -> tuple[Any, ...]:
        """What the ledger's writes and the spec file hold now (:meth:`Ledger.written`)."""
        from accord.spec.load import spec_hash

        with self.ws.ledger(read_only=True) as ledger:
            return (*ledger.written(), spec_hash(self.ws.spec))

    def _run(self) -> None:
        while not self.stop.wait(self.every):
            self.tick_once()

    def tick_once(self) -> None:
        from accord.service import run_tick

        started = time.perf_counter()
        try:
            with self.ws.write_lock:
                now = self.clock()
                written = self._written()
                derive = (
                    written != self.derived
                    or self.derived_at is None
                    or not self.derived_at <= now < self.derived_at + REDERIVE_EVERY
                )
                result = run_tick(self.ws, now=now, derive_first=derive)
                if derive:  # before the tick's own writes, so those are derived next time
                    self.derived, self.derived_at = written, now
            self.last = {
                "at": utc_text(datetime.now(UTC)),
                "seconds": round(time.perf_counter() - started, 3),
                "derived": derive,
                "written": dict(result.written),
            }
        except Exception as exc:  # the server stays up; the next tick tries again
            log.exception("background tick failed")
            self.last = {"at": utc_text(datetime.now(UTC)), "error": f"{type(exc).__name__}: {exc}"}


GC_SETTLE_EVERY = 5.0
"""Seconds between moves of the objects that survived into the collector's permanent generation: often
enough that what a burst of requests builds (slices and points for accounts seen for the first time)
is frozen before a full collection walks it (every 30 s let full collections of ~100 ms through)."""
GC_SWEEP_EVERY = 600.0
"""Seconds between full collections of everything, frozen objects included: reference cycles that were
frozen as garbage are freed then, for one pause of ~100-200 ms every ten minutes."""


class GcSettler:
    """Keeps Python's full garbage collections short in a long-running server.

    The server holds large, long-lived caches (compiled rules, account slices, evaluated points) on
    top of everything the imports built. A full collection walks all of them and stops every request
    for 100-200 ms (measured on the demo server), which alone would break the latency target. Moving
    the survivors to the permanent generation (``gc.freeze``) at start and then every
    :data:`GC_SETTLE_EVERY` seconds keeps them out of those walks; reference counting still frees
    them when a cache lets go. Reference cycles that were already garbage at a settle (a young
    collection runs first to clear most of those) are freed by the sweep every
    :data:`GC_SWEEP_EVERY` seconds, which unfreezes and collects everything once.
    """

    def __init__(self, every: float = GC_SETTLE_EVERY, sweep_every: float = GC_SWEEP_EVERY) -> None:
        self.every, self.sweep_every = every, sweep_every
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="accord-gc", daemon=True)

    def start(self) -> None:
        gc.collect()
        gc.freeze()
        self.thread.start()

    def _run(self) -> None:
        swept = time.monotonic()
        while not self.stop.wait(self.every):
            if time.monotonic() - swept >= self.sweep_every:
                gc.unfreeze()
                gc.collect()
                swept = time.monotonic()
            else:
                gc.collect(1)
            gc.freeze()


def create_app(
    root: Path,
    *,
    now: Callable[[], datetime] | None = None,
    rate_per_minute: int = 600,
    tick_every: float | None = None,
) -> FastAPI:
    """The app for the workspace at ``root``; ``tick_every`` seconds > 0 starts the background tick."""
    ws = hold(Path(root))
    clock = now or _wall

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ticker = Ticker(ws, clock, tick_every) if tick_every and tick_every > 0 else None
        app.state.ticker = ticker
        if ticker is not None:
            ticker.start()
        settler = GcSettler()
        settler.start()
        try:
            yield
        finally:
            settler.stop.set()
            if ticker is not None:
                ticker.stop.set()
                ticker.thread.join(timeout=30)
            ws.close()

    app = FastAPI(
        title="Accord API",
        version="1",
        summary="The Marketing and Sales agreement as code: events in, decisions out.",
        openapi_url=f"{API}/openapi.json",
        docs_url=f"{API}/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.root = Path(root)
    app.state.workspace = ws
    app.state.now = clock
    app.state.limiter = Limiter(rate_per_minute)
    app.state.ticker = None
    install(app)

    from accord.api.routes import routers

    for router in routers:
        app.include_router(router, prefix=API)
    _mount_dashboard(app)
    _document_keys(app)

    app.add_middleware(AuditWrites, ws=ws)
    return app


MAX_BODY = 8 * 1024 * 1024
"""Bytes a write's body may have. The largest honest bodies are a spec (2 MB of text) and a batch of
1,000 events; a 100 MB batch was read whole into memory (1.3 GB) before anything could refuse it."""


class _TooLarge(Exception):
    pass


def _declared_size(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _too_large(path: str) -> list[Message]:
    from accord.api.problems import PROBLEM, Problem

    body = json.dumps(
        Problem(
            413,
            f"the request body is over {MAX_BODY // (1024 * 1024)} MB",
            hint="a spec is never this large: check what is being sent"
            if "/spec" in path
            else "send events in batches of at most 1,000, without large properties",
        ).body(path)
    ).encode()
    headers = [(b"content-type", PROBLEM.encode()), (b"content-length", str(len(body)).encode())]
    return [
        {"type": "http.response.start", "status": 413, "headers": headers},
        {"type": "http.response.body", "body": body},
    ]


class AuditWrites:
    """Every write attempt, refused ones included, leaves a row: who, when, what, how it ended.

    Plain ASGI rather than Starlette's ``@app.middleware`` (a task group and two memory streams per
    request, measured as a tenth of the event loop's time under single-event ingest). The answer
    is held back until its row is stored, so whoever reads the audit log after an answer finds it.
    """

    def __init__(self, app: ASGIApp, ws: HostedWorkspace) -> None:
        self.app, self.ws = app, ws

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})  # request.state of the routes: who asked, what it did
        held: list[Message] = []
        status = 500

        async def hold_back(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            held.append(message)

        path, method = scope["path"], scope["method"]
        size = _declared_size(scope)
        read = 0

        async def capped() -> Message:
            nonlocal read
            message = await receive()
            read += len(message.get("body", b""))
            if read > MAX_BODY:
                raise _TooLarge
            return message

        try:
            if size is not None and size > MAX_BODY:
                raise _TooLarge
            await self.app(scope, capped, hold_back)
        except _TooLarge:
            held = _too_large(path)
            status = 413
        except Exception:
            await run_in_threadpool(_audit, self.ws, method, path, 500, state.get("principal"), {})
            raise
        detail: dict[str, Any] = dict(state.get("audit") or {})
        query = scope.get("query_string", b"").decode("latin-1")
        if query:
            detail.setdefault("query", query)
        try:
            await run_in_threadpool(_audit, self.ws, method, path, status, state.get("principal"), detail)
        except Exception:  # an audit failure must not turn a done write into an error
            log.exception("could not write the audit row")
        for message in held:
            await send(message)


def _audit(
    ws: HostedWorkspace, method: str, path: str, status: int, who: Any, detail: dict[str, Any]
) -> None:
    from accord.service.keys import record_audit

    json.dumps(detail, default=str)  # fail here, not inside the insert
    record_audit(
        ws, at=datetime.now(UTC), principal=who, method=method, path=path, status=status, detail=detail
    )


KEY_REFUSALS = {
    "401": "no API key, or one that is unknown or revoked",
    "403": "the key's role may not do this (docs/api.md, the permission matrix)",
    "429": "the key (or, for unknown keys, the client address) is over its rate limit; see Retry-After",
}
"""Answers every authenticated operation can give, documented once for all of them."""


def _document_keys(app: FastAPI) -> None:
    """Declare the API-key schemes in the OpenAPI document, so /api/v1/docs can send a key."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        schema.setdefault("components", {})["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer <key>"},
            "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
        }
        schema["security"] = [{"bearer": []}, {"apiKey": []}]
        health = schema.get("paths", {}).get(f"{API}/health", {}).get("get")
        if health is not None:
            health["security"] = []
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                if path == f"{API}/health" or not isinstance(operation, dict):
                    continue
                answers = operation.setdefault("responses", {})
                refusals = dict(KEY_REFUSALS)
                if method in ("post", "put", "patch"):
                    refusals["413"] = "the body is over 8 MB"
                for code, text in refusals.items():
                    answers.setdefault(
                        code, {"description": text, "content": {"application/problem+json": {}}}
                    )
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _mount_dashboard(app: FastAPI) -> None:
    """Include the dashboard's routes and static files when the web package is installed."""
    try:
        from accord.web.alerts import router as alert_pages
        from accord.web.governance import router as governance_pages
        from accord.web.routes import router as web_router
    except ModuleNotFoundError as exc:
        if exc.name is not None and (exc.name == "accord.web" or exc.name.startswith("accord.web.")):
            return
        log.exception("the dashboard could not be loaded; serving the API alone")
        return
    except Exception:  # a broken dashboard must not take the API down with it
        log.exception("the dashboard could not be loaded; serving the API alone")
        return
    app.include_router(web_router)
    app.include_router(alert_pages)
    app.include_router(governance_pages)
    try:
        import accord.web as web
    except ImportError:
        return
    static = Path(web.__file__).parent / "static"
    if static.is_dir():
        from fastapi.staticfiles import StaticFiles

        app.mount("/static", StaticFiles(directory=static), name="static")
