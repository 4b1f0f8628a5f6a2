"""Who may act on a lead or read a queue: the domain rule (owner, or the owner's manager) as a use case.

The permission matrix (:mod:`accord.api.permissions`) says which *roles* may disposition or touch at
all; this module says on *which leads*. It is checked before anything is written so a refusal is a
403 with the owner's name, never a half-done write.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from accord.domain.calendar import BusinessCalendar
from accord.domain.clocks import Clocks
from accord.errors import AccordError
from accord.handoffs.view import HandoffView
from accord.service.workspace import Workspace


class Forbidden(AccordError):
    """The caller's role may do this in general, but not to this record."""

    http_status = 403


class NotFound(AccordError):
    """The record asked for does not exist in the workspace."""

    http_status = 404


class Conflict(AccordError):
    """The request contradicts what the ledger already holds."""

    http_status = 409


def manager_of(ws: Workspace, person: str) -> str | None:
    """The person's manager as the clocks' escalation chain sees it (their own, else their team's)."""

    def no_calendar(_person: str | None) -> BusinessCalendar:
        raise AssertionError("manager_of needs no calendar")

    return Clocks(ws.spec, no_calendar).manager_of(person)


def team_of_manager(ws: Workspace, manager: str) -> set[str]:
    """The people a manager answers for: members of the teams they manage, and their direct reports."""
    spec = ws.spec
    people = {p for t in spec.teams.values() if t.manager == manager for p in t.members}
    people |= {pid for pid, p in spec.people.items() if p.manager == manager}
    return people - {manager}


def owner_of(ws: Workspace, contact: str, now: datetime) -> str | None:
    """The lead's current owner: the latest assignment as of now."""
    with ws.ledger(read_only=True) as ledger:
        known = (
            ledger.con.execute("SELECT count(*) FROM contacts WHERE contact_id = ?", [contact]).fetchall()[0][
                0
            ]
            or ledger.con.execute("SELECT count(*) FROM events WHERE contact_id = ?", [contact]).fetchall()[
                0
            ][0]
        )
        if not known:
            raise NotFound(f"no contact '{contact}'", hint="check the id with GET /api/v1/leads")
        view = HandoffView(ledger, ws.spec, int(now.astimezone(UTC).timestamp()))
        owner, _ = view.owner(contact)
    return owner


def require_owner_or_manager(ws: Workspace, person: str, contact: str, now: datetime, what: str) -> str:
    """Refuse (403) anyone but the lead's owner or the owner's manager; returns the owner."""
    owner = owner_of(ws, contact, now)
    if owner is None:
        raise Conflict(
            f"{contact} has no owner yet",
            hint="it is assigned when it reaches the MQL stage (the tick); only its owner or their manager "
            f"may {what}",
        )
    manager = manager_of(ws, owner)
    if person not in (owner, manager):
        who = f"{owner} (the owner)" + (f" or {manager} (their manager)" if manager else "")
        raise Forbidden(f"{person} cannot {what} {contact}: only {who} can", hint="ask the owner")
    return owner


SALES_ROLES = ("sdr", "ae", "sdr_manager", "ae_manager", "sales_leader")
"""The spec's people whose queues a reader who may open any queue is pointed to."""


def readable_queues(ws: Workspace, person: str, role: str, holding: Iterable[str] = ()) -> list[str]:
    """Whose queues the person is pointed to (the dashboard's picker, ``GET /queues``): a rep their own,
    a sales manager their own and their team's, every other role everyone in sales and anyone else in
    the agreement ``holding`` leads, so a lead assigned outside sales does not drop out of the overview.
    Each is one that :func:`may_read_queue` lets them open."""
    if role == "rep":
        return [person]
    if role == "sales_manager":
        return sorted({person, *team_of_manager(ws, person)})
    people = ws.spec.people
    sales = {pid for pid, p in people.items() if p.role in SALES_ROLES}
    return sorted(sales | {h for h in holding if h in people})


def may_read_queue(ws: Workspace, person: str, role: str, owner: str) -> None:
    """A rep reads only their own queue, a sales manager their team's; every other role any queue."""
    if owner not in ws.spec.people:
        raise NotFound(f"no person '{owner}' in the agreement", hint="queues belong to the spec's people")
    if role == "rep" and person != owner:
        raise Forbidden(f"{person} may read only their own queue", hint=f"ask for /queue/{person}")
    if role == "sales_manager" and person != owner and owner not in team_of_manager(ws, person):
        raise Forbidden(
            f"{owner} is not in {person}'s team",
            hint="a sales manager reads the queues of the people they manage",
        )
