"""Governed change over HTTP: proposals with their diff and backtest, owners' sign-off, the change log.

A thin adapter over ``accord.service``'s governance use cases, answering exactly what
``accord proposals|proposal|changelog --format json`` print. The proposer and the deciding owner are
the key's person: nobody proposes or approves in another's name. The role gates who may try
(:mod:`accord.api.permissions`); whether a person may decide is the domain rule (a governance owner
of the version in force), so a refusal names the owners.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request

from accord import service
from accord.api.deps import now, require, workspace
from accord.api.models import ProposalIn, ProposalReject
from accord.api.permissions import Action, Principal
from accord.api.problems import problem_responses

router = APIRouter(tags=["governance"])
reader = require(Action.read)
ProposalId = Annotated[str, Path(min_length=1, max_length=100, description="Proposal id, e.g. p1.")]


def _decided(outcome: Any) -> dict[str, Any]:
    return {
        "proposal": service.proposal_data(outcome.proposal),
        "new": outcome.new,
        "activated": outcome.activated,
    }


@router.get("/proposals", summary="Every proposal to change the agreement, oldest first")
def list_proposals(
    ws: service.Workspace = Depends(workspace),
    clock: datetime = Depends(now),
    who: Principal = Depends(reader),
) -> dict[str, Any]:
    """Each with its state (open, activated, rejected, stale), diff, backtest, approvals and
    `waiting_for` (the owners who have not approved yet)."""
    found = service.list_proposals(ws, now=clock)
    return {"proposals": [service.proposal_data(p) for p in found]}


@router.get(
    "/proposals/{proposal_id}",
    summary="One proposal: why, its semantic diff, the backtest, who approved",
    responses=problem_responses(s404="no such proposal (the hint names the nearest id)"),
)
def get_proposal(
    proposal_id: ProposalId,
    ws: service.Workspace = Depends(workspace),
    clock: datetime = Depends(now),
    who: Principal = Depends(reader),
) -> dict[str, Any]:
    """As `accord proposal ID --format json`, plus `text`: the whole YAML proposed."""
    return service.proposal_data(service.get_proposal(ws, proposal_id, now=clock), text=True)


@router.post(
    "/proposals",
    status_code=201,
    summary="Propose a new text of the agreement: validated, diffed and backtested",
    responses=problem_responses(
        s409="the text means the same as the agreement in force, or is already an open proposal",
        s422="the text has problems (each in `errors` with path, line and hint), or the body is invalid",
    ),
)
def post_proposal(
    request: Request,
    body: ProposalIn,
    ws: service.Workspace = Depends(workspace),
    clock: datetime = Depends(now),
    who: Principal = Depends(require(Action.propose_change)),
) -> dict[str, Any]:
    """The author is the key's person. Nothing changes in force until every governance owner
    approves; the answer says who must (`owners`)."""
    request.state.audit = {"why": body.why, "backtest": body.backtest}
    p = service.propose_change(
        ws, body.text, why=body.why, author=who.person, now=clock, backtest=body.backtest
    )
    request.state.audit.update(proposal_id=p.id, version=p.version, base_version=p.base_version)
    return service.proposal_data(p)


@router.post(
    "/proposals/{proposal_id}/approve",
    summary="Approve as a governance owner; the last owner's approval puts it in force",
    responses=problem_responses(
        s403="the key's person is not a governance owner of the agreement in force",
        s404="no such proposal",
        s409="the proposal was rejected, or is stale (the agreement changed after it was proposed)",
    ),
)
def approve(
    request: Request,
    proposal_id: ProposalId,
    ws: service.Workspace = Depends(workspace),
    clock: datetime = Depends(now),
    who: Principal = Depends(require(Action.decide_change)),
) -> dict[str, Any]:
    """`new` is false when this owner had already approved (nothing written); `activated` is true
    when this approval put the text in force (accord.yaml replaced; derive to apply it)."""
    request.state.audit = {"proposal_id": proposal_id, "decision": "approve"}
    outcome = service.approve_proposal(ws, proposal_id, who.person, now=clock)
    request.state.audit.update(new=outcome.new, activated=outcome.activated, version=outcome.proposal.version)
    return _decided(outcome)


@router.post(
    "/proposals/{proposal_id}/reject",
    summary="Reject as a governance owner, with a reason: one owner's no closes the proposal",
    responses=problem_responses(
        s403="the key's person is not a governance owner of the agreement in force",
        s404="no such proposal",
        s409="the proposal is in force, already rejected by another owner, or stale",
        s422="no reason given",
    ),
)
def reject(
    request: Request,
    proposal_id: ProposalId,
    body: ProposalReject,
    ws: service.Workspace = Depends(workspace),
    clock: datetime = Depends(now),
    who: Principal = Depends(require(Action.decide_change)),
) -> dict[str, Any]:
    request.state.audit = {"proposal_id": proposal_id, "decision": "reject", "reason": body.reason}
    outcome = service.reject_proposal(ws, proposal_id, who.person, reason=body.reason, now=clock)
    request.state.audit["new"] = outcome.new
    return _decided(outcome)


@router.get("/changelog", summary="What changed, why, who approved, and the 30/90-day checks")
def changelog(
    ws: service.Workspace = Depends(workspace),
    clock: datetime = Depends(now),
    who: Principal = Depends(reader),
) -> dict[str, Any]:
    """Every version that came into force, newest first (`entries`: activation, how, why, diff and
    the forecast checks at 30 and 90 days), proposals that did not (`closed`) and open ones
    (`pending`)."""
    return service.change_log_data(service.change_log(ws, now=clock))
