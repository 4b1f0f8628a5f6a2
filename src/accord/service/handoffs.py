"""Handoff use cases: clocks, dispositions, queues and the SLA report."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from accord.errors import AccordError, WorkspaceError
from accord.service.derive import run_derive
from accord.service.workspace import Progress, Workspace


def run_tick(
    ws: Workspace,
    *,
    now: datetime | None = None,
    progress: Progress | None = None,
    derive_first: bool = True,
    send: bool = True,
) -> Any:
    """Derive as of now, route new MQLs, advance every SLA clock, write due notices and escalations,
    then deliver webhooks."""
    from accord.handoffs.tick import tick
    from accord.handoffs.webhooks import dispatch

    moment = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    _refuse_going_back(ws, moment)
    if derive_first:
        run_derive(ws, as_of=moment, progress=progress)
    with ws.ledger() as ledger:
        result = tick(ledger, ws.spec, int(moment.timestamp()))
        result.delivery = dispatch(ledger, ws.spec) if send and ws.spec.notifications.webhooks else None
    return result


def _refuse_going_back(ws: Workspace, moment: datetime) -> None:
    """A tick writes assignments, breaches and escalations dated at its instant, for good (events are
    append-only). Ticked before handoff events already stored, it would assign a lead someone accepted
    later, or breach a clock stopped later: the ledger would contradict itself."""
    from accord.spec.catalog import STANDARD_EVENT_TYPES

    kinds = sorted(t for t, c in STANDARD_EVENT_TYPES.items() if c in ("handoff", "play"))
    with ws.ledger(read_only=True) as ledger:
        row = ledger.con.execute(
            f"SELECT occurred_at, type FROM events WHERE type IN ({', '.join('?' * len(kinds))}) "
            "ORDER BY occurred_at DESC LIMIT 1",
            kinds,
        ).fetchone()
    if row is None:
        return
    latest = row[0].astimezone(UTC)
    if moment < latest.replace(microsecond=0):
        raise AccordError(
            f"the ledger already holds handoff events up to {latest:%Y-%m-%d %H:%M:%S} UTC (the latest: "
            f"{row[1]}); a tick as of {moment:%Y-%m-%d %H:%M:%S} UTC would route and breach behind them",
            hint="tick as of that instant or later (leave out --now for now)",
        )


def disposition(
    ws: Workspace,
    contact: str,
    kind: str,
    by: str,
    *,
    at: datetime | None = None,
    reason: str | None = None,
    recycle_on: Any = None,
    note: str | None = None,
) -> Any:
    """Record accept / reject / recycle for a lead, refused with a reason when it does not hold."""
    from accord.handoffs.dispositions import record

    moment = int((at or datetime.now(UTC)).timestamp())
    with ws.ledger() as ledger:
        return record(
            ledger, ws.spec, contact, kind, by, at=moment, reason=reason, recycle_on=recycle_on, note=note
        )


def owner_queue(ws: Workspace, owner: str, *, now: datetime | None = None) -> list[Any]:
    from accord.handoffs.report import queue
    from accord.spec.rules import suggest

    if owner not in ws.spec.people:
        close = suggest(owner, list(ws.spec.people))
        raise WorkspaceError(
            f"unknown person '{owner}'",
            hint=f"did you mean '{close}'?" if close else "use a person id from the spec's people:",
        )
    moment = int((now or datetime.now(UTC)).timestamp())
    with ws.ledger(read_only=True) as ledger:
        return queue(ledger, ws.spec, owner, moment)


def queue_sizes(ws: Workspace, *, now: datetime | None = None) -> dict[str, int]:
    """Open leads per owner, as :func:`owner_queue` would list them; owners with none are left out."""
    from accord.handoffs.report import queue_sizes as sizes

    moment = int((now or datetime.now(UTC)).timestamp())
    with ws.ledger(read_only=True) as ledger:
        return sizes(ledger, ws.spec, moment)


def queue_overview(
    ws: Workspace, person: str, role: str, *, now: datetime | None = None
) -> list[tuple[str, str, int]]:
    """(owner, name, open leads) for every queue the person is pointed to, anyone else holding leads
    included (:func:`~accord.service.access.readable_queues`), fullest first, ties in id order: the
    API's ``GET /queues``, ``accord queue`` without an owner and an empty queue's page list the same."""
    from accord.service.access import readable_queues

    sizes = queue_sizes(ws, now=now)
    people = ws.spec.people
    rows = [
        (pid, people[pid].name if pid in people else pid, sizes.get(pid, 0))
        for pid in readable_queues(ws, person, role, holding=sizes)
    ]
    rows.sort(key=lambda row: -row[2])  # stable: readable_queues gives them in id order
    return rows


def sla(
    ws: Workspace,
    *,
    now: datetime | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Any:
    from accord.handoffs.report import sla_report

    moment = int((now or datetime.now(UTC)).timestamp())
    with ws.ledger(read_only=True) as ledger:
        return sla_report(
            ledger,
            ws.spec,
            moment,
            int(since.timestamp()) if since else None,
            int(until.timestamp()) if until else None,
        )
