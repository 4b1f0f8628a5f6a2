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

import re
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from accord import service
from accord.api import deps
from accord.api.permissions import Action
from accord.api.problems import Problem
from accord.errors import AccordError
from accord.reports.params import public
from accord.reports.registry import REPORTS
from accord.web import leads, pages
from accord.web.context import (
    ASSET_VERSION,
    KEY_MAX_AGE,
    SECURITY_HEADERS,
    Ctx,
    _begin,
    _page,
    _safe_back,
    _stamp,
    _with_flash,
    templates,
)
from accord.web.keeper import Keeper, _dashboard_view, _warm, lifespan
from accord.web.query import KEYS
from accord.web.tables import instant, when

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


@router.get("/leads", response_class=HTMLResponse)
@router.get("/leads/", response_class=HTMLResponse)
def leads_index(request: Request) -> Response:
    """The dashboard lists leads per owner, by urgency (the queue); ``/leads`` leads there rather than
    to the API's JSON 404 for an empty lead id."""
    begun = _begin(request)
    if not isinstance(begun, Ctx):
        return begun
    return RedirectResponse(begun.q.link("/queue"), status_code=303)


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
        try:
            options, shown = pages.report_options(name, params)
            report = service.report(ctx.ws, name, ctx.q.filters, **options)
        except AccordError as exc:
            return _bad_option(ctx, name, params, exc)
        keep = [(k, v) for k, v in shown if v]  # the page's own names, so the filter form re-sends them
        return ctx.render(
            "report.html",
            title=report.title,
            section="/reports",
            report=report,
            report_name=name,
            tables=pages.tables(ctx.ws, report),
            options=shown,
            option_help=pages.OPTION_HELP.get(name),
            keep=keep,
            intro=REPORTS[name].summary,
        )

    return _page(request, "/reports", build)


def _bad_option(ctx: Ctx, name: str, params: dict[str, str], exc: AccordError) -> Response:
    """A report refused for one of its options: the error page links back to the report without that
    option (every option when the message does not name one), so the reader is not left stranded."""
    takes = set(REPORTS[name].options)
    named = re.match(r"^-{0,2}([a-z_-]+):", exc.message)
    bad = named.group(1).replace("-", "_") if named else None
    bad = bad if bad in takes else None
    # an old spelling (horizon_days) is the option it stands for (horizon)
    keep = {k: v for k, v in params.items() if bad is not None and public(k) in takes and public(k) != bad}
    back = ctx.q.link(f"/reports/{quote(name, safe='')}", **keep)
    text = f"Back to the report without {bad}" if bad else "Back to the report without its options"
    return ctx.fail(exc, section="/reports", back=(back, text))


# ---- signing in and out ----------------------------------------------------------------------------


def _bare(request: Request, template: str, status_code: int = 200, **extra: Any) -> Response:
    ws = deps.workspace_of(request)
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
        who = deps.authenticate(request, key)
        if who is None:
            return _bare(request, "login.html", 401, error="unknown or revoked key", next=target, notice=None)
        ws = deps.workspace_of(request)
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
    who = deps.authenticate(request, key.strip()) if key.strip() else None
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
