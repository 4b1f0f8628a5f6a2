"""SLA clocks: start, stop, deadline in the owner's business hours, status, cadence, escalations.

Every start event of an SLA starts a clock (every assignment is a promise to touch the lead, whatever
its tier); routing decides which leads get assigned in the first place.

Pure: a contact's handoff events in, its clocks out, as of any instant. A clock starts at each start
event of its SLA (an assignment, say) and belongs to the owner at that moment; the next start of the
same SLA (a reassignment) supersedes it, so every owner gets a fresh clock of their own. The clock
stops at the first stop event by its owner (or by anyone, if the SLA says so).

Status as of t: met (stopped by the deadline), breached (stopped late, superseded late, or still open
past the deadline), reassigned (superseded in time), given back (the lead rejected or recycled before
the deadline, see :data:`GIVEN_BACK`), at risk (open with less than the at-risk share
of the target left), open. A clock open past its deadline escalates along the chain: the first link
at the deadline, the next after another target, and so on (owner, manager, tie-breaker by default).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from accord.domain.calendar import BusinessCalendar
from accord.spec.model import Sla, Spec

DISPOSITIONS = frozenset({"accepted", "rejected", "recycled"})
GIVEN_BACK = frozenset({"rejected", "recycled"})
"""A lead rejected or recycled has left its owner's queue: its clocks end there. In time, such a clock
is ``given_back`` (neither met nor breached: nobody owes the touch any more); already late, breached."""


@dataclass(frozen=True)
class Happening:
    """An event as clocks see it."""

    ts: int
    type: str
    actor: str | None
    event_id: str = ""


@dataclass(frozen=True)
class Escalation:
    level: int
    link: str  # owner | manager | tie_breaker
    to: str | None
    due: int


@dataclass
class Clock:
    clock_id: str
    sla: str
    contact_id: str
    owner: str | None
    started_at: int
    deadline: int
    target: int
    business: bool
    at_risk_at: int
    stopped_at: int | None = None
    stop_type: str | None = None
    superseded_at: int | None = None
    elapsed: int | None = None  # business (or wall) seconds from start to stop
    attempts: int = 0
    cadence_due: int | None = None
    cadence_status: str | None = None
    escalations: list[Escalation] = field(default_factory=list)
    status: str = "open"


CalendarOf = Callable[[str | None], BusinessCalendar]


class Clocks:
    """The spec's SLAs with calendars resolved; call :meth:`for_contact` per contact."""

    def __init__(self, spec: Spec, calendar_of: CalendarOf) -> None:
        self.spec = spec
        self.calendar_of = calendar_of

    def manager_of(self, person: str | None) -> str | None:
        if person is None or person not in self.spec.people:
            return None
        direct = self.spec.people[person].manager
        if direct:
            return direct
        team = next((t for t in self.spec.teams.values() if person in t.members), None)
        return team.manager if team and team.manager != person else None

    def chain_target(self, link: str, owner: str | None) -> str | None:
        if link == "owner":
            return owner
        if link == "manager":
            return self.manager_of(owner)
        return self.spec.governance.tie_breaker

    def for_contact(
        self,
        contact_id: str,
        happenings: Sequence[Happening],
        as_of: int,
        *,
        stage_entries: Sequence[tuple[int, str]] = (),
    ) -> list[Clock]:
        """Every clock of one contact as of ``as_of`` (events after it are ignored)."""
        events = sorted((h for h in happenings if h.ts <= as_of), key=lambda h: (h.ts, h.event_id))
        owners = [(h.ts, h.actor) for h in events if h.type == "assigned"]
        out: list[Clock] = []
        for sla_id, sla in self.spec.slas.items():
            if sla.start.event is not None:
                starts = [h.ts for h in events if h.type == sla.start.event]
            else:
                starts = [ts for ts, stage in stage_entries if stage == sla.start.stage and ts <= as_of]
            starts = sorted(set(starts))
            for i, t0 in enumerate(starts):
                nxt = starts[i + 1] if i + 1 < len(starts) else None
                out.append(self._clock(contact_id, sla_id, sla, t0, nxt, _owner(owners, t0), events, as_of))
        return out

    def _clock(
        self,
        contact_id: str,
        sla_id: str,
        sla: Sla,
        t0: int,
        nxt: int | None,
        owner: str | None,
        events: Sequence[Happening],
        as_of: int,
    ) -> Clock:
        cal = self.calendar_of(owner)
        business = sla.clock == "business"
        target = int(sla.target.total_seconds())

        def after(start: int, seconds: int) -> int:
            return cal.add(start, seconds) if business else start + seconds

        def span(a: int, b: int) -> int:
            return cal.between(a, b) if business else b - a

        deadline = after(t0, target)
        risk_at = after(t0, target - int(target * sla.at_risk))
        clock = Clock(
            f"{sla_id}:{contact_id}:{t0}", sla_id, contact_id, owner, t0, deadline, target, business, risk_at
        )
        window_end = nxt if nxt is not None else None
        stop = next(
            (
                h
                for h in events
                if h.ts >= t0
                and (window_end is None or h.ts < window_end)
                and h.type in sla.stop.events
                and (sla.stop.by == "anyone" or h.actor == owner)
            ),
            None,
        )
        given_back = next(
            (
                h.ts
                for h in events
                if h.ts >= t0 and (window_end is None or h.ts < window_end) and h.type in GIVEN_BACK
            ),
            None,
        )
        if stop is not None and (given_back is None or stop.ts <= given_back):
            clock.stopped_at, clock.stop_type = stop.ts, stop.type
            clock.elapsed = span(t0, stop.ts)
        elif given_back is not None:
            clock.superseded_at = given_back
        elif nxt is not None:
            clock.superseded_at = nxt
        end = clock.stopped_at if clock.stopped_at is not None else clock.superseded_at
        if end is not None:
            clock.status = "met" if end <= deadline else "breached"
            if clock.stopped_at is None and end <= deadline:
                clock.status = "given_back" if end == given_back else "reassigned"
        elif as_of >= deadline:
            clock.status = "breached"
        elif as_of >= risk_at:
            clock.status = "at_risk"
        # escalations: due while the clock is still open (not stopped, not superseded)
        for level, link in enumerate(sla.escalate):
            due = after(t0, target * (level + 1))
            if due > as_of or (end is not None and end <= due):
                break
            clock.escalations.append(Escalation(level, link, self.chain_target(link, owner), due))
        if sla.cadence is not None:
            within = int(sla.cadence.within.total_seconds())
            if business and within % 86400 == 0:  # "3d" on a business clock: three working days
                within = within // 86400 * cal.working_day()
            clock.cadence_due = after(t0, within)
            tries = [
                h
                for h in events
                if h.ts >= t0
                and h.ts <= min(clock.cadence_due, as_of)
                and (window_end is None or h.ts < window_end)
                and h.type in sla.cadence.events
                and h.actor == owner
            ]
            clock.attempts = len(tries)
            closed = next(
                (
                    h.ts
                    for h in events
                    if h.ts >= t0 and h.type in DISPOSITIONS and (window_end is None or h.ts < window_end)
                ),
                None,
            )
            if clock.attempts >= sla.cadence.attempts:
                clock.cadence_status = "met"
            elif closed is not None and closed <= clock.cadence_due:
                clock.cadence_status = "closed"
            elif as_of >= clock.cadence_due or (window_end is not None and window_end <= clock.cadence_due):
                clock.cadence_status = "breached"
            else:
                clock.cadence_status = "open"
        return clock


def _owner(owners: Sequence[tuple[int, str | None]], t: int) -> str | None:
    current = None
    for ts, actor in owners:
        if ts <= t:
            current = actor
    return current


def status_counts(clocks: Sequence[Clock]) -> dict[str, int]:
    out: dict[str, int] = {}
    for c in clocks:
        out[c.status] = out.get(c.status, 0) + 1
    return out


def as_dict(clock: Clock) -> dict[str, Any]:
    return {**clock.__dict__, "escalations": [e.__dict__ for e in clock.escalations]}
