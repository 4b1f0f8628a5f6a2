"""What every dashboard page shares: the templates, the signed-in person's context, flash messages.

A handler calls :func:`_page` (or :func:`_begin` for a form) to get a :class:`Ctx`: the principal
from the key cookie, the workspace, the clock, the parsed filters and the one-shot flash message.
Pages render through :meth:`Ctx.render`, which adds the navigation and the security headers.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from accord import service
from accord.api import deps
from accord.api.permissions import Principal
from accord.api.problems import Problem, status_of
from accord.errors import AccordError
from accord.reports.base import Filters
from accord.web import charts, dashboard, wording
from accord.web.query import PageQuery, drop_unknown, parse
from accord.web.tables import status_class, when

log = logging.getLogger("accord.web")

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
ASSET_VERSION = hashlib.sha256((HERE / "static" / "accord.css").read_bytes()).hexdigest()[:10]
FLASH = "accord_flash"
KEY_MAX_AGE = 12 * 3600
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
"""Pages load only our own files, run no script, and cannot be framed (the forms act on leads)."""
NAV: tuple[tuple[str, str], ...] = (
    ("/", "Dashboard"),
    ("/queue", "Queue"),
    ("/pipeline", "Pipeline"),
    ("/content", "Content"),
    ("/campaigns", "Campaigns"),
    ("/diagnostic", "Diagnostic"),
    ("/reports", "Reports"),
    ("/proposals", "Governance"),
)
PAGES = dashboard.PageCache(24)
CHOICES = dashboard.PageCache(8)


def _num(value: Any, digits: int = 1) -> str:
    if value is None:
        return "n/a"
    number = float(value)
    return f"{number:,.0f}" if number.is_integer() else f"{number:,.{digits}f}"


templates.env.globals.update(
    pct=charts.pct,
    num=_num,
    days=lambda v: "n/a" if v is None else f"{v:,.1f} d",
    minutes=lambda v: "n/a" if v is None else f"{v:,.1f} min",
    status_class=status_class,
)


# ---- the request's context -----------------------------------------------------------------------


@dataclass
class Ctx:
    """What every page handler needs: who asks, the workspace, the clock, the filters, the flash."""

    request: Request
    ws: service.Workspace
    who: Principal
    now: datetime
    q: PageQuery
    flash: dict[str, str] | None

    @property
    def zone(self) -> str:
        return self.ws.spec.workspace.timezone

    def render(
        self, name: str, *, title: str, section: str, status_code: int = 200, **extra: Any
    ) -> Response:
        spec = self.ws.spec
        stamp = _stamp(self.ws)
        context = {
            "title": title,
            "section": section,
            "workspace_name": spec.workspace.name,
            "who": self.who,
            "who_name": spec.people[self.who.person].name
            if self.who.person in spec.people
            else self.who.person,
            "q": self.q,
            "nav": NAV,
            "as_of_text": when(stamp[2], self.zone) if stamp[2] else "never derived",
            "now_text": when(self.now, self.zone),
            "show_filters": True,
            "keep": [],
            "flash": self._flash_in_words(),
            "asset_version": ASSET_VERSION,
            "filter_note": None,
        }
        context.update(extra)
        if context["show_filters"]:
            context["choices"] = _choices(self.ws, stamp)
        response = templates.TemplateResponse(self.request, name, context, status_code=status_code)
        response.headers.update(SECURITY_HEADERS)
        if self.request.cookies.get(FLASH):
            response.delete_cookie(FLASH, path="/")
        return response

    def _flash_in_words(self) -> dict[str, str] | None:
        if not self.flash or self.flash.get("kind") != "error":
            return self.flash
        text, hint = wording.for_page(self.flash.get("text", ""), self.flash.get("hint"), self.ws.spec)
        return {**self.flash, "text": text} | ({"hint": hint} if hint else {})

    def fail(
        self, exc: AccordError | Problem, *, section: str = "", back: tuple[str, str] | None = None
    ) -> Response:
        """A refusal or a user mistake as a page with its status; never a stack trace."""
        if isinstance(exc, Problem):
            code, message, hint = exc.status, exc.detail, exc.hint
        else:
            code, message, hint = status_of(exc), exc.message, exc.hint
        message, hint = wording.for_page(message, hint, self.ws.spec)
        return self.render(
            "error.html",
            title="Not available" if code in (403, 404) else "Cannot show this page",
            section=section,
            status_code=code,
            status_code_text=str(code),
            message=message,
            hint=hint,
            show_filters=False,
            back=back,
        )


def _stamp(ws: service.Workspace) -> tuple[Any, ...]:
    """What the pages' numbers depend on: spec version, the latest derive, and how much the ledger holds.

    A disposition or a touch adds an event, a derive records a new run, an import adds rows or an
    import record: each changes the stamp, so a cached page is never older than the data.
    """
    try:
        _rows, run = service.leads(ws, limit=0)
    except AccordError:
        run = {}
    status = service.status(ws)
    last_import = status["imports"][-1]["import_id"] if status["imports"] else None
    return (
        str(ws.root.resolve()),
        status["spec_version"],
        run.get("as_of"),
        run.get("run_id"),
        tuple(sorted(status["counts"].items())),
        last_import,
    )


def _choices(ws: service.Workspace, stamp: tuple[Any, ...]) -> dict[str, Any]:
    """Values for the filter menus: teams from the spec, segments and sources from the contacts."""

    def build() -> dict[str, Any]:
        spec = ws.spec
        main = [s.id for s in spec.journey.stages if not s.optional][:2]
        found: dict[str, list[str]] = {"segment": [], "source": []}
        if len(main) == 2:
            for by in found:
                try:
                    report = service.report(
                        ws, "funnel", Filters(), by=by, from_stage=main[0], to_stage=main[1]
                    )
                except AccordError:
                    continue
                groups = {str(r["group"]) for r in report.section("conversion").records()}
                found[by] = sorted(g for g in groups if g and g != "(none)")
        teams = [(tid, t.name or tid) for tid, t in spec.teams.items()]
        return {"segment": found["segment"], "source": found["source"], "team": teams}

    key = (stamp[0], stamp[1], stamp[4][:2] if len(stamp) > 4 else None, "choices")
    return CHOICES.get_or_build(key, build)


def _read_flash(request: Request) -> dict[str, str] | None:
    raw = request.cookies.get(FLASH)
    if not raw:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(raw.encode()).decode())
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    return {k: str(v) for k, v in data.items() if k in ("kind", "text", "hint") and v}


def _with_flash(response: Response, kind: str, text: str, hint: str | None = None) -> Response:
    payload = base64.urlsafe_b64encode(
        json.dumps({"kind": kind, "text": text, "hint": hint}).encode()
    ).decode()
    response.set_cookie(FLASH, payload, max_age=120, path="/", httponly=True, samesite="strict")
    return response


def _safe_back(back: str | None, default: str = "/queue") -> str:
    """Only a path on this site: never an open redirect."""
    if not back or not back.startswith("/") or back.startswith("//") or "\\" in back or "\n" in back:
        return default
    return back


def _begin(request: Request) -> Ctx | Response:
    """Sign the request in (or send it to /login), meter its key, read its filters and flash."""
    ws = deps.workspace_of(request)
    who = deps.optional_principal(request)
    if who is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?{urlencode({'next': target})}", status_code=303)
    q = parse(request.query_params, ws.spec.workspace.timezone)
    if q.filters.named:
        q = drop_unknown(q, service.unknown_filters(q.filters, service.known_filters(ws)))
    ctx = Ctx(request, ws, who, deps.now_of(request), q, _read_flash(request))
    try:
        deps.principal(request)  # the key's rate limit, as for the API
    except Problem as exc:
        return ctx.fail(exc)
    return ctx


def _page(request: Request, section: str, build: Callable[[Ctx], Response]) -> Response:
    begun = _begin(request)
    if not isinstance(begun, Ctx):
        return begun
    try:
        return build(begun)
    except AccordError as exc:
        return begun.fail(exc, section=section)
