"""Proposals: a new text of the agreement, why, what it changes, what history says it would do, and
the owners' sign-off that puts it in force.

Life of a proposal (every step a governance event, so the ledger holds the whole audit trail):

- ``change_proposed``: recorded with its semantic diff and backtest against the version in force;
- ``change_approved`` by each governance owner of the version in force (approving twice is one
  approval: the event id names the proposal and the person); when the last owner approves, the
  proposal activates: accord.yaml is replaced, ``spec_activated`` is written, and each approval also
  counts as that owner's signature of the new version (``agreement_signed``);
- ``change_rejected`` by any owner, with a reason: one owner's no closes it;
- stale: the version in force is no longer the one it was proposed against, so its backtest and
  approvals judged another change; it can never activate and must be proposed again.

The owners who approve are those of the version in force, never those the proposal names: a change
cannot choose its own approvers.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from accord.errors import GovernanceError
from accord.governance.backtest import Backtest
from accord.governance.diff import SpecDiff, diff_specs
from accord.governance.versions import (
    FIRST_SEEN,
    HAND_EDIT,
    PROPOSAL,
    Activation,
    activations,
    instant,
    record_activation,
    record_version,
    spec_of,
    version_text,
)
from accord.ledger.store import Ledger
from accord.service.workspace import Workspace
from accord.spec.load import parse_spec, spec_hash
from accord.spec.model import Spec
from accord.spec.rules import suggest

OPEN, REJECTED, ACTIVATED, STALE = "open", "rejected", "activated", "stale"
PROPOSED_EVENT, APPROVED_EVENT, REJECTED_EVENT = "change_proposed", "change_approved", "change_rejected"

Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class Decision:
    """An owner's approval, or rejection (with its reason), of one proposal."""

    person: str
    at: datetime
    reason: str | None = None


@dataclass(frozen=True)
class Proposal:
    id: str
    version: str
    base_version: str | None
    author: str
    why: str
    proposed_at: datetime
    text: str
    diff: SpecDiff
    backtest: Backtest | None
    owners: tuple[str, ...]  # who must approve: the governance owners of the base version
    approvals: tuple[Decision, ...]
    rejection: Decision | None
    activated_at: datetime | None
    state: str  # OPEN, REJECTED, ACTIVATED or STALE

    @property
    def waiting_for(self) -> list[str]:
        approved = {a.person for a in self.approvals}
        return [o for o in self.owners if o not in approved]


@dataclass(frozen=True)
class Outcome:
    """What an approval or rejection did: ``new`` False when it repeated one already recorded."""

    proposal: Proposal
    new: bool
    activated: bool = False


# ---- reading ----------------------------------------------------------------------------------------


def load_proposals(ledger: Ledger) -> list[Proposal]:
    rows = ledger.con.execute(
        "SELECT proposal_id, version, base_version, author, why, proposed_at, diff, backtest FROM proposals"
    ).fetchall()
    decisions: dict[str, list[tuple[str, Decision]]] = {}
    for kind, actor, at, properties in ledger.con.execute(
        "SELECT type, actor_id, occurred_at, properties FROM events WHERE type IN (?, ?) "
        "ORDER BY occurred_at, ingested_at, event_id",
        [APPROVED_EVENT, REJECTED_EVENT],
    ).fetchall():
        p = json.loads(properties) if isinstance(properties, str) else dict(properties or {})
        decision = Decision(str(actor), instant(at), p.get("reason"))
        decisions.setdefault(str(p.get("proposal_id")), []).append((str(kind), decision))
    history = activations(ledger)
    active = history[-1].version if history else None
    activated = {a.proposal_id: a.at for a in history if a.proposal_id}
    specs: dict[str, Spec] = {}
    out = []
    for pid, version, base, author, why, proposed_at, diff, backtest in rows:
        mine = decisions.get(str(pid), [])
        approvals: dict[str, Decision] = {}
        for kind, d in mine:
            if kind == APPROVED_EVENT:
                approvals.setdefault(d.person, d)
        rejection = next((d for kind, d in mine if kind == REJECTED_EVENT), None)
        base_spec = spec_of(ledger, base, specs) or spec_of(ledger, version, specs)
        owners = tuple(base_spec.governance.owners) if base_spec else ()
        if pid in activated:
            state = ACTIVATED
        elif rejection is not None:
            state = REJECTED
        elif base != active:
            state = STALE
        else:
            state = OPEN
        out.append(
            Proposal(
                str(pid),
                str(version),
                base,
                str(author),
                str(why),
                instant(proposed_at),
                version_text(ledger, str(version)) or "",
                SpecDiff.from_dict(json.loads(diff) if isinstance(diff, str) else diff),
                Backtest.from_dict(json.loads(backtest)) if backtest else None,
                owners,
                tuple(approvals.values()),
                rejection,
                activated.get(str(pid)),
                state,
            )
        )
    return sorted(out, key=lambda p: (p.proposed_at, _number(p.id)))


def _number(pid: str) -> int:
    digits = pid.lstrip("p")
    return int(digits) if digits.isdigit() else 0


def _find(ledger: Ledger, proposal_id: str) -> Proposal:
    known = load_proposals(ledger)
    for p in known:
        if p.id == proposal_id.strip().lower():
            return p
    ids = [p.id for p in known]
    near = suggest(proposal_id, ids)
    if near:
        hint = f"did you mean '{near}'? (list them with `accord proposals`)"
    elif ids:
        hint = "known proposals: " + ", ".join(ids[-8:]) + "; list them with `accord proposals`"
    else:
        hint = "there are no proposals yet; make one with `accord propose FILE --why ...`"
    raise GovernanceError(f"no proposal '{proposal_id}'", hint=hint)


def list_proposals(ws: Workspace, *, now: datetime | None = None) -> list[Proposal]:
    """Every proposal, oldest first (a hand edit of accord.yaml is recorded first, so states are current)."""
    with ws.ledger() as ledger:
        sync(ws, ledger, now=instant(now))
        return load_proposals(ledger)


def get_proposal(ws: Workspace, proposal_id: str, *, now: datetime | None = None) -> Proposal:
    with ws.ledger() as ledger:
        sync(ws, ledger, now=instant(now))
        return _find(ledger, proposal_id)


# ---- the version in force and hand edits ------------------------------------------------------------


def sync(ws: Workspace, ledger: Ledger, *, now: datetime) -> Activation | None:
    """Make the ledger's version in force agree with accord.yaml; returns the activation it recorded.

    The first text the ledger sees is recorded as the baseline. A later text nobody proposed is
    recorded as activated without sign-off: a local edit is never blocked, but the change log shows
    it. A text an approved proposal covers (its activation was interrupted after the file was
    written) is recorded as that proposal's activation.
    """
    text = ws.spec_path.read_text(encoding="utf-8")
    version = spec_hash(ws.spec)
    history = activations(ledger)
    if history and history[-1].version == version:
        return None
    origin = HAND_EDIT if history else FIRST_SEEN
    effective = ws.spec.agreement.effective
    if not history and effective is not None:
        # Decision: the first text is in force from the agreement's effective date when that has
        # passed (the agreement took effect then, not when Accord first read it); else from now.
        zone = ZoneInfo(ws.spec.workspace.timezone)
        now = min(now, datetime.combine(effective, datetime.min.time(), tzinfo=zone).astimezone(UTC))
    record_version(ledger, version, text, now=now, origin=origin)
    if history:
        for p in load_proposals(ledger):
            if p.state == OPEN and p.version == version and not p.waiting_for:
                return record_activation(
                    ledger,
                    version,
                    now=now,
                    origin=PROPOSAL,
                    proposal_id=p.id,
                    approvers=tuple(a.person for a in p.approvals),
                )
    return record_activation(ledger, version, now=now, origin=origin)


# ---- proposing ----------------------------------------------------------------------------------


def propose(
    ws: Workspace,
    text: str,
    *,
    why: str,
    author: str,
    now: datetime | None = None,
    backtest: bool = True,
    progress: Progress | None = None,
    file: str | None = None,
) -> Proposal:
    """Record a proposed text of the agreement with its semantic diff and (by default) its backtest.

    Refused: an invalid text (every problem located, as `accord validate` shows them), no reason,
    the text in force, or a text already open as another proposal.
    """
    from accord.handoffs.tick import append
    from accord.ledger.derived import latest_run

    moment = instant(now)
    why = (why or "").strip()
    if not why:
        raise GovernanceError("a proposal needs a reason", hint='say why with --why "..."')
    new_spec = parse_spec(text, file or "proposed spec")
    version = spec_hash(new_spec)
    with ws.ledger() as ledger:
        sync(ws, ledger, now=moment)
        base = spec_hash(ws.spec)
        if version == base:
            raise GovernanceError(
                "the proposed text means the same as the agreement in force",
                hint="edit a copy of accord.yaml (thresholds, weights, stages...) and propose that",
            )
        for p in load_proposals(ledger):
            if p.state == OPEN and p.version == version:
                raise GovernanceError(
                    f"this text is already proposed as {p.id}",
                    hint=f"see it with `accord proposal {p.id}`; owners approve with "
                    f"`accord approve {p.id} --as PERSON`",
                )
        changes = diff_specs(ws.spec, new_spec)
        result: Backtest | None = None
        if backtest:
            from accord.governance.backtest import run_backtest

            run = latest_run(ledger)
            as_of = instant(run["as_of"]) if run else moment
            result = run_backtest(ledger, ws.spec, new_spec, as_of=as_of, progress=progress)
        record_version(ledger, version, text, now=moment, origin="proposed", why=why)
        pid = f"p{max((_number(p.id) for p in load_proposals(ledger)), default=0) + 1}"
        ledger.execute_write(
            "INSERT INTO proposals VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                pid,
                version,
                base,
                author,
                why,
                moment,
                json.dumps(changes.to_dict()),
                json.dumps(result.to_dict()) if result else None,
            ],
        )
        event = _event(f"accord:proposed:{pid}", PROPOSED_EVENT, moment, author, pid, version)
        event["properties"].update(base_version=base, why=why)
        append(ledger, [event], "governance")
        return _find(ledger, pid)


def _event(event_id: str, kind: str, at: datetime, actor: str, pid: str, version: str) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "occurred_at": at,
        "type": kind,
        "actor_id": actor,
        "source": "accord",
        "properties": {"proposal_id": pid, "version": version},
    }


# ---- sign-off -----------------------------------------------------------------------------------


def _owner(p: Proposal, person: str) -> None:
    if person in p.owners:
        return
    near = suggest(person, list(p.owners))
    raise GovernanceError(
        f"'{person}' is not a governance owner of the agreement in force"
        + (f"; did you mean '{near}'?" if near else ""),
        hint="approvals and rejections come from governance.owners: " + ", ".join(p.owners),
    )


def _stale(p: Proposal) -> GovernanceError:
    return GovernanceError(
        f"{p.id} is stale: the agreement in force changed after it was proposed",
        hint="its diff and backtest judged another version; propose the text again with "
        "`accord propose FILE --why ...`",
    )


def approve(ws: Workspace, proposal_id: str, person: str, *, now: datetime | None = None) -> Outcome:
    """Record an owner's approval; the last owner's approval activates the proposal."""
    from accord.handoffs.tick import append

    moment = instant(now)
    with ws.ledger() as ledger:
        sync(ws, ledger, now=moment)
        p = _find(ledger, proposal_id)
        _owner(p, person)
        if p.state == REJECTED:
            assert p.rejection is not None
            raise GovernanceError(
                f"{p.id} was rejected by {p.rejection.person}: {p.rejection.reason}",
                hint="address the reason and propose again with `accord propose FILE --why ...`",
            )
        if p.state == STALE:
            raise _stale(p)
        if p.state == ACTIVATED:
            return Outcome(p, new=False)
        new = person not in {a.person for a in p.approvals}
        if new:
            append(
                ledger,
                [_event(f"accord:approved:{p.id}:{person}", APPROVED_EVENT, moment, person, p.id, p.version)],
                "governance",
            )
            p = _find(ledger, p.id)
        if p.waiting_for:
            return Outcome(p, new)
        _activate(ws, ledger, p, moment)
        return Outcome(_find(ledger, p.id), new, activated=True)


def _activate(ws: Workspace, ledger: Ledger, p: Proposal, now: datetime) -> None:
    """Write the approved text to accord.yaml, then record it in force; approvals become signatures.

    The file goes first: should the process die in between, the next `sync` finds the approved text
    in accord.yaml and records this proposal's activation, not a hand edit.
    """
    from accord.handoffs.tick import append
    from accord.service.agreement import replace_spec

    replace_spec(ws, p.text)
    approvers = tuple(a.person for a in p.approvals)
    record_activation(ledger, p.version, now=now, origin=PROPOSAL, proposal_id=p.id, approvers=approvers)
    spec = parse_spec(p.text, f"version {p.version}")
    label = spec.version or p.version
    signatures = [
        {
            "event_id": f"accord:signed:{person}:{label}",
            "occurred_at": now,
            "type": "agreement_signed",
            "actor_id": person,
            "source": "accord",
            "properties": {"spec_version": label, "proposal_id": p.id},
        }
        for person in approvers
    ]
    append(ledger, signatures, "signature")


def reject(
    ws: Workspace, proposal_id: str, person: str, *, reason: str, now: datetime | None = None
) -> Outcome:
    """Record an owner's rejection with its reason; it closes the proposal."""
    from accord.handoffs.tick import append

    moment = instant(now)
    reason = (reason or "").strip()
    if not reason:
        raise GovernanceError("a rejection needs a reason", hint='give it with --reason "..."')
    with ws.ledger() as ledger:
        sync(ws, ledger, now=moment)
        p = _find(ledger, proposal_id)
        _owner(p, person)
        if p.state == ACTIVATED:
            raise GovernanceError(
                f"{p.id} is already in force",
                hint="to undo it, propose the earlier text again with `accord propose FILE --why ...`",
            )
        if p.state == REJECTED:
            assert p.rejection is not None
            if p.rejection.person == person:
                return Outcome(p, new=False)
            raise GovernanceError(
                f"{p.id} was already rejected by {p.rejection.person}: {p.rejection.reason}",
                hint="a rejected proposal stays closed; propose a new text instead",
            )
        if p.state == STALE:
            raise _stale(p)
        event = _event(f"accord:rejected:{p.id}:{person}", REJECTED_EVENT, moment, person, p.id, p.version)
        event["properties"]["reason"] = reason
        append(ledger, [event], "governance")
        return Outcome(_find(ledger, p.id), new=True)
