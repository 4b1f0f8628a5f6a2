"""The dashboard's pages: thin handlers that sign the person in, call the service, and render a template.

Every page needs a principal (the API key in the ``accord_key`` cookie that ``/login`` sets); without
one the browser is sent to ``/login``. Reading is open to every role; the forms a role may not use are
not drawn, and a submitted form is checked again here (role) and in the service (owner or manager,
reason codes, dates), whose refusals come back to the page as a message, never as a server error.

Handlers are plain ``def``: FastAPI runs them on its thread pool, since every service call is a
synchronous DuckDB read or write. Forms post and redirect (303) back to where they came from with a
one-shot flash message, so a reload never repeats a disposition. The cookie is HttpOnly and
SameSite=Strict, which also keeps other sites from posting these forms with it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from accord import service
from accord.api import deps
from accord.api.permissions import Action, Principal
from accord.api.problems import Problem, status_of
from accord.errors import AccordError
from accord.reports.base import Filters
from accord.reports.registry import REPORTS
from accord.web import charts, dashboard, leads, pages
from accord.web.query import KEYS, PageQuery, parse
from accord.web.tables import instant, status_class, when

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
            "flash": self.flash,
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

    def fail(self, exc: AccordError | Problem, *, section: str = "") -> Response:
        """A refusal or a user mistake as a page with its status; never a stack trace."""
        if isinstance(exc, Problem):
            code, message, hint = exc.status, exc.detail, exc.hint
        else:
            code, message, hint = status_of(exc), exc.message, exc.hint
        return self.render(
            "error.html",
            title="Not available" if code in (403, 404) else "Cannot show this page",
            section=section,
            status_code=code,
            status_code_text=str(code),
            message=message,
            hint=hint,
            show_filters=False,
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
    ws = deps.workspace(request)
    who = deps.optional_principal(request)
    if who is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?{urlencode({'next': target})}", status_code=303)
    q = parse(request.query_params, ws.spec.workspace.timezone)
    ctx = Ctx(request, ws, who, deps.now(request), q, _read_flash(request))
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


# ---- the dashboard ---------------------------------------------------------------------------------


def _dashboard_view(ws: service.Workspace, filters: Filters) -> dashboard.DashboardView:
    key = (*_stamp(ws), filters)
    return PAGES.get_or_build(key, lambda: dashboard.build(ws, filters))


def _warm(request: Request) -> None:
    """After a write or a sign-in: have the keeper rebuild the unfiltered dashboard now."""
    keeper = getattr(request.app.state, "dashboard_keeper", None)
    if isinstance(keeper, Keeper):
        keeper.poke()


def _build_quietly(ws: service.Workspace) -> None:
    try:
        _dashboard_view(ws, Filters())
        _choices(ws, _stamp(ws))
    except Exception:  # a warm-up is an optimisation; the page builds it again if this failed
        log.debug("dashboard warm-up failed", exc_info=True)


class Keeper:
    """Keeps the unfiltered dashboard built, so `/` answers from memory; one thread, one build at a time.

    It builds once at start for the first visitor, and again when poked (a disposition, a touch or a
    sign-in through the dashboard). While someone has viewed the dashboard in the last ``idle``
    seconds it also looks every ``every`` seconds for new data (the background tick re-derives every
    minute) and rebuilds before anyone asks. A build whose data did not change is a cache hit.
    """

    def __init__(self, ws: service.Workspace, every: float = 10.0, idle: float = 1800.0) -> None:
        self.ws, self.every, self.idle = ws, every, idle
        self.viewed = float("-inf")
        self.poked = True  # build once at start
        self.stop = threading.Event()
        self.wake = threading.Event()
        self.thread = threading.Thread(target=self._run, name="accord-dashboard-keeper", daemon=True)

    def poke(self) -> None:
        self.poked = True
        self.wake.set()

    def _run(self) -> None:
        while not self.stop.is_set():
            if self.poked or time.monotonic() - self.viewed < self.idle:
                self.poked = False
                _build_quietly(self.ws)
            self.wake.wait(self.every)
            self.wake.clear()

    def close(self) -> None:
        self.stop.set()
        self.wake.set()
        self.thread.join(timeout=30)


@asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """Start the keeper with the app; stop it before the app closes the workspace."""
    keeper = Keeper(app.state.workspace)
    app.state.dashboard_keeper = keeper
    keeper.thread.start()
    try:
        yield
    finally:
        keeper.close()


router = APIRouter(include_in_schema=False, lifespan=lifespan)


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Response:
    keeper = getattr(request.app.state, "dashboard_keeper", None)
    if isinstance(keeper, Keeper):
        keeper.viewed = time.monotonic()

    def build(ctx: Ctx) -> Response:
        view = _dashboard_view(ctx.ws, ctx.q.filters)
        return ctx.render("dashboard.html", title="Revenue dashboard", section="/", v=view)

    return _page(request, "/", build)


# ---- leads and queues ------------------------------------------------------------------------------


def _action_defaults(ctx: Ctx) -> dict[str, Any]:
    """The touch kinds and recycle dates the action forms offer (the same as on the queue)."""
    today = ctx.now.astimezone(ZoneInfo(ctx.zone)).date()
    return {
        "touches": leads.TOUCHES,
        "recycle_min": (today + timedelta(days=1)).isoformat(),
        "recycle_default": (today + timedelta(days=30)).isoformat(),
    }


@router.get("/leads/{contact_id}", response_class=HTMLResponse)
def lead_page(request: Request, contact_id: str) -> Response:
    def build(ctx: Ctx) -> Response:
        view = leads.lead(ctx.ws, contact_id, ctx.who, ctx.now)
        return ctx.render(
            "lead.html",
            title=view.name,
            section="/queue",
            v=view,
            show_filters=False,
            **_action_defaults(ctx),
        )

    return _page(request, "/queue", build)


@router.get("/queue", response_class=HTMLResponse)
def my_queue(request: Request, owner: str | None = None) -> Response:
    if owner:
        begun = _begin(request)
        if not isinstance(begun, Ctx):
            return begun
        return RedirectResponse(begun.q.link(f"/queue/{quote(owner, safe='')}"), status_code=303)

    def build(ctx: Ctx) -> Response:
        return _render_queue(ctx, ctx.who.person)

    return _page(request, "/queue", build)


@router.get("/queue/{owner}", response_class=HTMLResponse)
def queue_page(request: Request, owner: str) -> Response:
    def build(ctx: Ctx) -> Response:
        from accord.service.access import may_read_queue

        may_read_queue(ctx.ws, ctx.who.person, ctx.who.role.value, owner)
        return _render_queue(ctx, owner)

    return _page(request, "/queue", build)


def _render_queue(ctx: Ctx, owner: str) -> Response:
    view = leads.queue(ctx.ws, owner, ctx.who, ctx.now)
    title = "Your queue" if view.mine else f"Queue of {view.owner_name}"
    return ctx.render("queue.html", title=title, section="/queue", v=view, show_filters=False)


def _refuse_role(ctx: Ctx, action: Action) -> Response | None:
    if ctx.who.may(action):
        return None
    verb = {"disposition": "record dispositions", "touch": "log touches"}.get(action.value, action.value)
    return ctx.fail(
        Problem(403, f"your role ({ctx.who.role.value}) may not {verb}", hint="reps and sales managers can"),
        section="/queue",
    )


def _lead_write(
    request: Request,
    contact_id: str,
    action: Action,
    audit: dict[str, str],
    back: str,
    write: Callable[[Ctx], tuple[str, str | None]],
) -> Response:
    """A form that writes about one lead: sign-in, the role, the audit entry, and the answer as a
    flash on the page it came from. ``write`` does the service call and says what happened."""
    begun = _begin(request)
    if not isinstance(begun, Ctx):
        return begun
    ctx = begun
    refused = _refuse_role(ctx, action)
    if refused is not None:
        request.state.audit = {"contact_id": contact_id, **audit, "outcome": "refused: role"}
        return refused
    target = _safe_back(back)
    request.state.audit = {"contact_id": contact_id, **audit, "via": "dashboard"}
    try:
        said, hint = write(ctx)
    except AccordError as exc:
        request.state.audit["outcome"] = f"refused: {exc.message}"
        return _with_flash(RedirectResponse(target, status_code=303), "error", exc.message, exc.hint)
    _warm(request)
    return _with_flash(RedirectResponse(target, status_code=303), "ok", said, hint)


@router.post("/leads/{contact_id}/disposition")
def post_disposition(
    request: Request,
    contact_id: str,
    kind: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    recycle_on: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "",
) -> Response:
    def write(ctx: Ctx) -> tuple[str, str | None]:
        from accord.service.records import dispose

        day = leads.parse_day(recycle_on)
        if kind == "recycle" and recycle_on and day is None:
            raise AccordError(f"'{recycle_on}' is not a date", hint="pick the day the lead comes back")
        done = dispose(
            ctx.ws,
            contact_id,
            kind,
            ctx.who.person,
            now=ctx.now,
            reason=reason or None,
            recycle_on=day,
            note=note.strip() or None,
        )
        labels = {r.id: r.label for r in ctx.ws.spec.reason_codes}
        said = {"accepted": "Accepted", "rejected": "Rejected", "recycled": "Recycled"}.get(
            done["type"], done["type"]
        )
        extra = ""
        if done.get("reason_code"):
            extra = f" ({labels.get(done['reason_code'], done['reason_code'])})"
        elif done.get("recycle_on"):
            extra = f" until {done['recycle_on']}"
        derived = instant(_stamp(ctx.ws)[2])
        hint = None
        if derived is not None and ctx.now > derived:
            hint = (
                f"The dashboard reads the ledger as of the last derive ({when(derived, ctx.zone)}): it "
                "counts this from the next one (the background tick derives every minute)."
            )
        return f"{said} {contact_id}{extra}.", hint

    return _lead_write(request, contact_id, Action.disposition, {"disposition": kind}, back, write)


@router.post("/leads/{contact_id}/touch")
def post_touch(
    request: Request,
    contact_id: str,
    kind: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "",
) -> Response:
    def write(ctx: Ctx) -> tuple[str, str | None]:
        from accord.service.records import touch

        touch(ctx.ws, contact_id, ctx.who.person, kind, now=ctx.now, note=note.strip() or None)
        label = dict(leads.TOUCHES).get(kind, kind.replace("_", " "))
        return f"Logged: {label} on {contact_id}.", None

    return _lead_write(request, contact_id, Action.touch, {"touch": kind}, back, write)


# ---- report pages ----------------------------------------------------------------------------------


@router.get("/pipeline", response_class=HTMLResponse)
def pipeline_page(request: Request) -> Response:
    def build(ctx: Ctx) -> Response:
        strip, views = pages.pipeline(ctx.ws, ctx.q.filters)
        return ctx.render(
            "pipeline.html", title="Pipeline review", section="/pipeline", strip=strip, tables=views
        )

    return _page(request, "/pipeline", build)


@router.get("/content", response_class=HTMLResponse)
def content_page(request: Request) -> Response:
    def build(ctx: Ctx) -> Response:
        strip, matrix, retire, utilization = pages.content(ctx.ws, ctx.q.filters)
        return ctx.render(
            "content.html",
            title="Content: gaps and retire list",
            section="/content",
            strip=strip,
            matrix=matrix,
            retire=retire,
            utilization=utilization,
        )

    return _page(request, "/content", build)


@router.get("/campaigns", response_class=HTMLResponse)
def campaigns_page(request: Request) -> Response:
    def build(ctx: Ctx) -> Response:
        views = pages.campaigns(ctx.ws, ctx.q.filters)
        return ctx.render(
            "campaigns.html", title="Campaign scorecards", section="/campaigns", campaigns=views
        )

    return _page(request, "/campaigns", build)


def _diagnostic(ctx: Ctx, answers: dict[str, int] | None, error: str | None = None) -> Response:
    if error is not None:
        questions = pages.question_stubs(ctx.ws, ctx.q.filters, answers or {})
        _q, scores, flags, notes = pages.diagnostic(ctx.ws, ctx.q.filters, None)
        return ctx.render(
            "diagnostic.html",
            title="Alignment diagnostic",
            section="/diagnostic",
            status_code=400,
            questions=questions,
            scores=scores,
            flag_list=flags,
            score_notes=notes,
            error=error,
        )
    questions, scores, flags, notes = pages.diagnostic(ctx.ws, ctx.q.filters, answers)
    return ctx.render(
        "diagnostic.html",
        title="Alignment diagnostic",
        section="/diagnostic",
        questions=questions,
        scores=scores,
        flag_list=flags,
        score_notes=notes,
        error=None,
    )


@router.get("/diagnostic", response_class=HTMLResponse)
def diagnostic_page(request: Request) -> Response:
    return _page(request, "/diagnostic", lambda ctx: _diagnostic(ctx, None))


@router.post("/diagnostic", response_class=HTMLResponse)
async def diagnostic_post(request: Request) -> Response:
    form = await request.form()
    given: dict[str, int] = {}
    for n in range(1, 11):
        value = form.get(f"q{n}")
        if isinstance(value, str) and value.strip() in ("0", "1", "2"):
            given[f"q{n}"] = int(value.strip())
    from starlette.concurrency import run_in_threadpool

    def build(ctx: Ctx) -> Response:
        missing = [f"Q{n}" for n in range(1, 11) if f"q{n}" not in given]
        if missing:
            return _diagnostic(
                ctx, given, f"answer every question (0, 1 or 2); missing: {', '.join(missing)}"
            )
        return _diagnostic(ctx, given)

    response: Response = await run_in_threadpool(_page, request, "/diagnostic", build)
    return response


@router.get("/reports", response_class=HTMLResponse)
def reports_index(request: Request) -> Response:
    def build(ctx: Ctx) -> Response:
        items = [(name, d.summary) for name, d in REPORTS.items()]
        return ctx.render(
            "reports.html", title="Reports", section="/reports", reports=items, show_filters=False
        )

    return _page(request, "/reports", build)


@router.get("/reports/{name}", response_class=HTMLResponse)
def report_page(request: Request, name: str) -> Response:
    def build(ctx: Ctx) -> Response:
        if name not in REPORTS:
            raise AccordError(f"no report named '{name}'", hint="reports: " + ", ".join(sorted(REPORTS)))
        params = {k: v for k, v in request.query_params.items() if k not in KEYS}
        options, shown = pages.report_options(name, params)
        report = service.report(ctx.ws, name, ctx.q.filters, **options)
        keep = [(k, v) for k, v in options.items()]
        return ctx.render(
            "report.html",
            title=report.title,
            section="/reports",
            report=report,
            report_name=name,
            tables=pages.tables(ctx.ws, report),
            options=shown,
            option_help=pages.OPTION_HELP.get(name),
            keep=[(k, str(v)) for k, v in keep],
            intro=REPORTS[name].summary,
        )

    return _page(request, "/reports", build)


# ---- signing in and out ----------------------------------------------------------------------------


def _bare(request: Request, template: str, status_code: int = 200, **extra: Any) -> Response:
    ws = deps.workspace(request)
    context = {"workspace_name": ws.spec.workspace.name, "asset_version": ASSET_VERSION, "title": "Sign in"}
    context.update(extra)
    response = templates.TemplateResponse(request, template, context, status_code=status_code)
    response.headers.update(SECURITY_HEADERS)
    return response


def _sign_in(response: Response, request: Request, key: str) -> Response:
    response.set_cookie(
        deps.COOKIE,
        key,
        max_age=KEY_MAX_AGE,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, key: str = "", next: str = "/", signed_out: str = "") -> Response:
    target = _safe_back(next, "/")
    if key:
        who = deps.authenticate(request.app.state.root, key)
        if who is None:
            return _bare(request, "login.html", 401, error="unknown or revoked key", next=target, notice=None)
        ws = deps.workspace(request)
        name = ws.spec.people[who.person].name if who.person in ws.spec.people else who.person
        # A page, not a redirect: a link opened from a terminal is a cross-site navigation, and a
        # SameSite=Strict cookie set on it is sent only on the next same-site request (the refresh).
        page = _bare(request, "signed_in.html", title="Signed in", name=name, next=target)
        page.headers["Referrer-Policy"] = "no-referrer"
        page.headers["Cache-Control"] = "no-store"
        _warm(request)
        return _sign_in(page, request, key)
    if deps.optional_principal(request) is not None:
        return RedirectResponse(target, status_code=303)
    notice = "Signed out." if signed_out else None
    return _bare(request, "login.html", error=None, notice=notice, next=target)


@router.post("/login", response_class=HTMLResponse)
def login_post(
    request: Request, key: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/"
) -> Response:
    target = _safe_back(next, "/")
    who = deps.authenticate(request.app.state.root, key.strip()) if key.strip() else None
    if who is None:
        message = "paste a key" if not key.strip() else "unknown or revoked key"
        return _bare(request, "login.html", 401, error=message, next=target, notice=None)
    request.state.principal = who
    request.state.audit = {"login": who.person}
    _warm(request)
    return _sign_in(RedirectResponse(target, status_code=303), request, key.strip())


@router.get("/logout")
def logout(request: Request) -> Response:
    response = RedirectResponse("/login?signed_out=1", status_code=303)
    response.delete_cookie(deps.COOKIE, path="/")
    return response
