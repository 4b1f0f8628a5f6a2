"""The dashboard's governance pages: proposals, one proposal (diff, backtest, sign-off) and the change log.

Pages render what ``accord proposals``, ``accord proposal ID`` and ``accord changelog`` print, from the
same service use cases and the same report sections (:mod:`accord.governance.views`), with a chart of
the top tier's weekly entries under each version and the example leads linked to their lead pages.

The approve and reject forms are drawn only for a governance owner of the version in force while the
proposal is open, and whose key's role may decide; a submission is checked again by the role here and
by the domain rule in the service, whose refusal comes back as a message. Forms are protected as the
lead forms are (the SameSite=Strict key cookie, ``form-action 'self'``, no framing); because an
approval can rewrite the agreement, a post whose ``Origin`` names another site is also refused.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from accord import service
from accord.api.permissions import Action
from accord.api.problems import Problem
from accord.errors import AccordError
from accord.governance.proposals import OPEN, Proposal
from accord.governance.views import backtest_sections, changelog_report
from accord.web import charts, pages
from accord.web.context import Ctx, _begin, _page, _with_flash
from accord.web.keeper import _warm
from accord.web.tables import TableView, day, table, when

router = APIRouter(include_in_schema=False)
SECTION = "/proposals"
STATES = {"open": "open", "activated": "met", "rejected": "below", "stale": "at_risk"}
"""Proposal state -> pill class: open waits, activated is done, rejected said no, stale needs redoing."""


@dataclass(frozen=True)
class Row:
    """One proposal in the list."""

    id: str
    state: str
    proposed: str
    author: str
    why: str
    changes: str
    approved: str
    waiting: str


@dataclass
class ProposalView:
    p: Proposal
    author: str
    approvals: list[tuple[str, str]]  # (name, when)
    waiting: list[str]  # names
    owners: list[str]  # names
    rejection: str | None
    chart: Markup | None
    figures: TableView | None
    weekly: TableView | None
    movers: TableView | None
    may_approve: bool
    may_reject: bool
    why_not: str | None


def _name(ctx: Ctx, person: str) -> str:
    found = ctx.ws.spec.people.get(person)
    return found.name if found else person


def _rows(ctx: Ctx, found: list[Proposal]) -> list[Row]:
    return [
        Row(
            p.id,
            p.state,
            day(p.proposed_at, ctx.zone),
            _name(ctx, p.author),
            p.why,
            p.diff.summary(),
            ", ".join(_name(ctx, a.person) for a in p.approvals) or "none yet",
            ", ".join(_name(ctx, o) for o in p.waiting_for) if p.state == OPEN else "",
        )
        for p in reversed(found)
    ]


def _view(ctx: Ctx, p: Proposal) -> ProposalView:
    """What the proposal page shows, and which decisions the signed-in person may take on it."""
    chart = figures = weekly = movers = None
    if p.backtest is not None:
        b = p.backtest
        money = ctx.ws.spec.workspace.currency
        figures_s, weekly_s, movers_s = backtest_sections(b)
        figures, weekly = table(figures_s, money), table(weekly_s, money)
        movers = table(movers_s, money)
        for row in movers.rows:
            row[0] = replace(row[0], href=f"/leads/{quote(row[0].text, safe='')}", cls="id")
        weeks = [(b.since + timedelta(days=7 * i)).strftime("%d %b") for i in range(b.weeks)]
        chart = charts.pairs(
            weeks,
            b.active.top_weekly,
            b.proposed.top_weekly,
            names=("in force", "proposed"),
            title=f"{b.proposed.top_tier} entries per week, in force and proposed",
        )
    owner = ctx.who.person in p.owners
    role_ok = ctx.who.may(Action.decide_change)
    approved = ctx.who.person in {a.person for a in p.approvals}
    why_not = None
    if p.state != OPEN:
        why_not = f"This proposal is {p.state}: nothing is left to decide."
    elif not owner:
        why_not = "Only the governance owners of the agreement in force approve or reject: " + ", ".join(
            _name(ctx, o) for o in p.owners
        )
    elif not role_ok:
        why_not = f"Your key's role ({ctx.who.role.value}) only reads; sign in with another key to decide."
    elif approved:
        why_not = "You approved this proposal; it waits for the other owners."
    decide = p.state == OPEN and owner and role_ok
    return ProposalView(
        p,
        _name(ctx, p.author),
        [(_name(ctx, a.person), when(a.at, ctx.zone)) for a in p.approvals],
        [_name(ctx, o) for o in p.waiting_for] if p.state == OPEN else [],
        [_name(ctx, o) for o in p.owners],
        f"{_name(ctx, p.rejection.person)}, {when(p.rejection.at, ctx.zone)}: {p.rejection.reason}"
        if p.rejection
        else None,
        chart,
        figures,
        weekly,
        movers,
        decide and not approved,
        decide,
        why_not,
    )


# ---- pages -----------------------------------------------------------------------------------------


@router.get("/proposals", response_class=HTMLResponse)
def proposals_page(request: Request) -> Response:
    def build(ctx: Ctx) -> Response:
        found = service.list_proposals(ctx.ws, now=ctx.now)
        return ctx.render(
            "proposals.html",
            title="Proposals to change the agreement",
            section=SECTION,
            rows=_rows(ctx, found),
            states=STATES,
            open_count=sum(1 for p in found if p.state == OPEN),
            owners=[_name(ctx, o) for o in ctx.ws.spec.governance.owners],
            show_filters=False,
        )

    return _page(request, SECTION, build)


@router.get("/proposals/{proposal_id}", response_class=HTMLResponse)
def proposal_page(request: Request, proposal_id: str) -> Response:
    def build(ctx: Ctx) -> Response:
        p = service.get_proposal(ctx.ws, proposal_id, now=ctx.now)
        return ctx.render(
            "proposal.html",
            title=f"Proposal {p.id}: {p.why}",
            section=SECTION,
            v=_view(ctx, p),
            states=STATES,
            show_filters=False,
        )

    return _page(request, SECTION, build)


@router.get("/changelog", response_class=HTMLResponse)
def changelog_page(request: Request) -> Response:
    def build(ctx: Ctx) -> Response:
        report = changelog_report(service.change_log(ctx.ws, now=ctx.now))
        return ctx.render(
            "changelog.html",
            title=report.title,
            section=SECTION,
            tables=pages.tables(ctx.ws, report),
            show_filters=False,
        )

    return _page(request, SECTION, build)


# ---- decisions -------------------------------------------------------------------------------------


def _refused(ctx: Ctx) -> Response | None:
    """A role that may not decide, or a post from another site: a 403 page, nothing recorded."""
    origin = ctx.request.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc != ctx.request.headers.get("host"):
        return ctx.fail(Problem(403, "this form was posted from another site"), section=SECTION)
    if not ctx.who.may(Action.decide_change):
        return ctx.fail(
            Problem(
                403,
                f"your role ({ctx.who.role.value}) may not approve or reject proposals",
                hint="governance owners decide with a key of any other role",
            ),
            section=SECTION,
        )
    return None


def _decide(request: Request, proposal_id: str, decision: str, reason: str = "") -> Response:
    begun = _begin(request)
    if not isinstance(begun, Ctx):
        return begun
    ctx = begun
    request.state.audit = {"proposal_id": proposal_id, "decision": decision, "via": "dashboard"}
    refused = _refused(ctx)
    if refused is not None:
        request.state.audit["outcome"] = "refused: role or origin"
        return refused
    target = f"/proposals/{quote(proposal_id, safe='')}"
    try:
        if decision == "approve":
            outcome = service.approve_proposal(ctx.ws, proposal_id, ctx.who.person, now=ctx.now)
        else:
            outcome = service.reject_proposal(ctx.ws, proposal_id, ctx.who.person, reason=reason, now=ctx.now)
    except AccordError as exc:
        request.state.audit["outcome"] = f"refused: {exc.message}"
        return _with_flash(RedirectResponse(target, status_code=303), "error", exc.message, exc.hint)
    p = outcome.proposal
    request.state.audit.update(new=outcome.new, activated=outcome.activated)
    _warm(request)
    if decision == "reject":
        said = f"Rejected {p.id}." if outcome.new else f"You had already rejected {p.id}."
        return _with_flash(RedirectResponse(target, status_code=303), "ok", said)
    if outcome.activated:
        return _with_flash(
            RedirectResponse(target, status_code=303),
            "ok",
            f"Approved {p.id}: it is in force now (version {p.version}).",
            "The scores follow from the next derive (the background tick derives every minute).",
        )
    said = f"Approved {p.id}." if outcome.new else f"You had already approved {p.id}."
    waiting = ", ".join(_name(ctx, o) for o in p.waiting_for) if p.state == OPEN else ""
    hint = f"Still waiting for {waiting}." if waiting else None
    return _with_flash(RedirectResponse(target, status_code=303), "ok", said, hint)


@router.post("/proposals/{proposal_id}/approve")
def post_approve(request: Request, proposal_id: str) -> Response:
    return _decide(request, proposal_id, "approve")


@router.post("/proposals/{proposal_id}/reject")
def post_reject(request: Request, proposal_id: str, reason: Annotated[str, Form()] = "") -> Response:
    return _decide(request, proposal_id, "reject", reason)
