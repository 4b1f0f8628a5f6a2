"""Sign-offs: a governance owner puts their name to the current version of the agreement."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from accord.errors import WorkspaceError
from accord.service.workspace import Workspace
from accord.spec.rules import suggest


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
