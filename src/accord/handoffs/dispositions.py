"""Dispositions: accept, reject with a reason code, recycle with a date; refused when they do not hold.

Only the lead's current owner or their manager may disposition it, once per assignment. A rejection
needs a reason from the spec's list. The event goes through the ledger; the stage then follows the
journey's regressions (docs/derive.md) the next time the lead is derived, batch or real time.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime

from accord.domain.clocks import Clocks
from accord.errors import AccordError
from accord.handoffs.tick import append, event_row
from accord.handoffs.view import HandoffView
from accord.ledger.store import Ledger
from accord.spec.model import Spec
from accord.spec.rules import suggest

KINDS = {"accept": "accepted", "reject": "rejected", "recycle": "recycled"}


class DispositionError(AccordError):
    """A disposition that cannot be recorded as asked."""


@dataclass(frozen=True)
class Disposition:
    contact_id: str
    type: str
    by: str
    at: int
    event_id: str
    reason_code: str | None = None
    recycle_on: date | None = None


def record(
    ledger: Ledger,
    spec: Spec,
    contact: str,
    kind: str,
    by: str,
    *,
    at: int | None = None,
    reason: str | None = None,
    recycle_on: date | None = None,
    note: str | None = None,
) -> Disposition:
    """Validate and write one disposition; every refusal says what to do instead."""
    moment = at if at is not None else int(datetime.now(UTC).timestamp())
    if kind not in KINDS:
        raise DispositionError(f"unknown disposition '{kind}'", hint="use accept, reject or recycle")
    if by not in spec.people:
        close = suggest(by, list(spec.people))
        raise DispositionError(
            f"unknown person '{by}'",
            hint=f"did you mean '{close}'?" if close else "use a person id from the spec's people:",
        )
    view = HandoffView(ledger, spec, moment)
    known = (
        ledger.con.execute("SELECT count(*) FROM contacts WHERE contact_id = ?", [contact]).fetchall()[0][0]
        or contact in view.happenings
    )
    if not known:
        raise DispositionError(f"no contact '{contact}'", hint="check the id with `accord leads`")
    owner, latest = view.owner(contact)
    if owner is None:
        raise DispositionError(
            f"{contact} has no owner yet",
            hint="it is assigned when it reaches the MQL stage "
            "(`accord tick`); only an owner's disposition counts",
        )
    manager = Clocks(spec, view.calendar).manager_of(owner)
    if by not in (owner, manager):
        who = f"{owner} (the owner)" + (f" or {manager} (their manager)" if manager else "")
        raise DispositionError(
            f"{by} cannot disposition {contact}: only {who} can",
            hint="ask the owner, or reassign the lead first",
        )
    if latest is not None and latest.type != "assigned":
        when = datetime.fromtimestamp(latest.ts, UTC).strftime("%Y-%m-%d %H:%M UTC")
        raise DispositionError(
            f"{contact} was already {latest.type} on {when} by {latest.actor}",
            hint="a lead is dispositioned once per assignment; it comes back through "
            "routing when it qualifies again",
        )
    props: dict[str, str] = {}
    if kind == "reject":
        codes = [r.id for r in spec.reason_codes]
        if not reason:
            raise DispositionError(
                "a rejection needs a reason code", hint=f"pass --reason with one of: {', '.join(codes)}"
            )
        if reason not in codes:
            close = suggest(reason, codes)
            raise DispositionError(
                f"unknown reason code '{reason}'",
                hint=(f"did you mean '{close}'? " if close else "") + f"codes: {', '.join(codes)}",
            )
        props["reason_code"] = reason
    elif reason:
        raise DispositionError(
            f"a reason code goes with a rejection, not with {kind}", hint="drop --reason, or use reject"
        )
    if kind == "recycle":
        if recycle_on is None:
            raise DispositionError(
                "a recycle needs the date the lead becomes eligible again", hint="pass --on YYYY-MM-DD"
            )
        if recycle_on <= datetime.fromtimestamp(moment, UTC).date():
            raise DispositionError(
                f"recycle date {recycle_on} is not in the future", hint="pick a later date"
            )
        props["recycle_on"] = recycle_on.isoformat()
    if note:
        props["note"] = note
    event_id = f"disp:{contact}:{moment}:{secrets.token_hex(4)}"
    row = event_row(event_id, moment, KINDS[kind], contact, by, props)
    row["source"] = "user"
    append(ledger, [row], "disposition")
    return Disposition(contact, KINDS[kind], by, moment, event_id, props.get("reason_code"), recycle_on)
