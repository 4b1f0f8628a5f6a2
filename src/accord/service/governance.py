"""Sign-offs and governed change: a governance owner signs the agreement in force, and proposals to
change it are made, read, approved or rejected, and later judged in the change log."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from accord.errors import AccordError, GovernanceError, WorkspaceError
from accord.governance.versions import instant
from accord.service.access import Conflict, Forbidden, NotFound
from accord.service.workspace import Workspace
from accord.spec.rules import suggest

if TYPE_CHECKING:
    from accord.governance.changelog import ChangeLog
    from accord.governance.proposals import Outcome, Proposal


@dataclass(frozen=True)
class Signature:
    person: str
    spec_version: str
    signed_at: datetime
    new: bool  # False: this person had already signed this version (nothing written)


def sign_agreement(ws: Workspace, person: str, *, now: datetime | None = None) -> Signature:
    """Record that `person`, a governance owner, signs the agreement as the spec now states it.

    The event id names the person and the version, so signing twice records one signature, and a new
    version needs new signatures: consent is to a text, not to whatever it later becomes.
    """
    from accord.handoffs.tick import append
    from accord.spec.load import spec_hash

    spec = ws.spec
    version = spec.version or spec_hash(spec)
    owners = spec.governance.owners
    if person not in owners:
        near = suggest(person, owners)
        raise WorkspaceError(
            f"'{person}' is not a governance owner of this agreement"
            + (f"; did you mean '{near}'?" if near else ""),
            hint="the agreement is signed by governance.owners: " + ", ".join(owners),
        )
    moment = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    row = {
        "event_id": f"accord:signed:{person}:{version}",
        "occurred_at": moment,
        "type": "agreement_signed",
        "actor_id": person,
        "source": "accord",
        "properties": {"spec_version": version},
    }
    with ws.ledger() as ledger:
        existing = ledger.con.execute(
            "SELECT occurred_at FROM events WHERE event_id = ?", [row["event_id"]]
        ).fetchall()
        if existing:
            return Signature(person, version, existing[0][0], False)
        append(ledger, [row], "signature")
    return Signature(person, version, moment, True)


# ---- governed change: proposals, sign-off and the change log ----------------------------------------
#
# Thin use cases over :mod:`accord.governance` for the API and the dashboard. Each one says which HTTP
# family a refusal belongs to (unknown proposal 404, not a governance owner 403, a proposal that can
# no longer change state 409) by re-raising the domain's GovernanceError, message and hint intact, as
# NotFound, Forbidden or Conflict; writes hold the held workspace's write lock, so two owners
# approving at once never both activate.


def _synced(ws: Workspace, now: datetime) -> None:
    """Record a hand edit of accord.yaml (or the first text) before reading, under the write lock.

    Reading proposals first makes the ledger agree with the file (:func:`governance.proposals.sync`),
    which writes only when the file changed; the check is a read, so reads do not queue behind writes.
    """
    from accord.governance.proposals import sync
    from accord.governance.versions import activations
    from accord.service.hosted import writing
    from accord.spec.load import spec_hash

    with ws.ledger() as ledger:
        history = activations(ledger)
        if history and history[-1].version == spec_hash(ws.spec):
            return
    with writing(ws), ws.ledger() as ledger:
        sync(ws, ledger, now=instant(now))


def list_proposals(ws: Workspace, *, now: datetime | None = None) -> list[Proposal]:
    """Every proposal, oldest first, with its state as of now (open, activated, rejected, stale)."""
    from accord.governance import proposals

    _synced(ws, instant(now))
    with ws.ledger() as ledger:
        return proposals.load_proposals(ledger)


def get_proposal(ws: Workspace, proposal_id: str, *, now: datetime | None = None) -> Proposal:
    """One proposal with its diff and backtest; NotFound (with the nearest id) when there is none."""
    from accord.governance import proposals

    _synced(ws, instant(now))
    try:
        return proposals.get_proposal(ws, proposal_id, now=now)
    except GovernanceError as exc:  # the only refusal of a read: no such proposal
        raise NotFound(exc.message, hint=exc.hint) from None


def proposal_data(p: Proposal, *, text: bool = False) -> dict[str, Any]:
    """A proposal as plain JSON-ready data: diff, backtest, approvals, who is still waited for."""
    from accord.governance.views import proposal_json

    out = proposal_json(p)
    if text:
        out["text"] = p.text
    return out


def propose_change(
    ws: Workspace,
    text: str,
    *,
    why: str,
    author: str,
    now: datetime | None = None,
    backtest: bool = True,
    progress: Callable[[str, float], None] | None = None,
    file: str | None = None,
) -> Proposal:
    """Record a proposed text with its semantic diff and (by default) its backtest.

    An invalid text is a SpecError (every problem located); the text in force or one already open is
    a Conflict. The backtest derives history twice, so it runs under the write lock: two proposals
    never take the same id.
    """
    from accord.governance import proposals
    from accord.service.hosted import writing

    with writing(ws):
        try:
            return proposals.propose(
                ws, text, why=why, author=author, now=now, backtest=backtest, progress=progress, file=file
            )
        except GovernanceError as exc:
            if not (why or "").strip():
                raise
            raise Conflict(exc.message, hint=exc.hint) from None


def approve_proposal(ws: Workspace, proposal_id: str, person: str, *, now: datetime | None = None) -> Outcome:
    """A governance owner's approval; the last one puts the text in force (accord.yaml replaced)."""
    from accord.governance import proposals
    from accord.service.hosted import writing

    with writing(ws):
        p = get_proposal(ws, proposal_id, now=now)
        try:
            return proposals.approve(ws, p.id, person, now=now)
        except GovernanceError as exc:
            raise _refusal(exc, p, person) from None


def reject_proposal(
    ws: Workspace, proposal_id: str, person: str, *, reason: str, now: datetime | None = None
) -> Outcome:
    """A governance owner's rejection, with its reason: one owner's no closes the proposal."""
    from accord.governance import proposals
    from accord.service.hosted import writing

    with writing(ws):
        p = get_proposal(ws, proposal_id, now=now)
        try:
            return proposals.reject(ws, p.id, person, reason=reason, now=now)
        except GovernanceError as exc:
            raise _refusal(exc, p, person) from None


def _refusal(exc: GovernanceError, p: Proposal, person: str) -> AccordError:
    """The domain's refusal of a decision, classed by why: not an owner, or not open any more."""
    from accord.governance.proposals import OPEN

    if person not in p.owners:
        return Forbidden(exc.message, hint=exc.hint)
    if p.state != OPEN:
        return Conflict(exc.message, hint=exc.hint)
    return exc


def change_log(ws: Workspace, *, now: datetime | None = None) -> ChangeLog:
    """Every version that came into force, why, who approved, and the 30/90-day checks."""
    from accord.governance import changelog

    _synced(ws, instant(now))
    return changelog.change_log(ws, now=now)


def change_log_data(log: ChangeLog) -> dict[str, Any]:
    """The change log as plain JSON-ready data (proposals without their full text)."""
    from accord.governance.views import changelog_json

    return changelog_json(log)
