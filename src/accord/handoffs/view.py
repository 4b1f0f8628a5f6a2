"""What handoffs read from a workspace: handoff events per contact, owners, motions, calendars."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property

from accord.domain.calendar import BusinessCalendar
from accord.domain.clocks import Clock, Clocks, Happening
from accord.ledger.store import Ledger
from accord.spec.model import Spec

HANDOFF_TYPES = ("assigned", "accepted", "rejected", "recycled")


def calendar_id(spec: Spec, person: str | None) -> str | None:
    """A person's calendar: their own, else their team's, else the workspace default."""
    if person is not None and person in spec.people:
        own = spec.people[person].calendar
        if own:
            return own
        team = next((t for t in spec.teams.values() if person in t.members and t.calendar), None)
        if team is not None:
            return team.calendar
    return spec.workspace.calendar or next(iter(spec.calendars), None)


@dataclass
class HandoffView:
    """One read of the ledger's handoff facts as of an instant, with calendars built once."""

    ledger: Ledger
    spec: Spec
    as_of: int
    only: frozenset[str] | None = None  # read these contacts' facts only (a decision for a few leads)
    given: dict[str, list[Happening]] | None = None  # the happenings of ``only``, already read elsewhere
    _calendars: dict[str, BusinessCalendar] = field(default_factory=dict)

    def _contacts_filter(self) -> tuple[str, list[str]]:
        """SQL and parameters restricting a query to ``only`` (nothing when the view is whole)."""
        if self.only is None:
            return "", []
        if not self.only:
            return " AND false", []
        return f" AND contact_id IN ({', '.join('?' for _ in self.only)})", sorted(self.only)

    def calendar(self, person: str | None) -> BusinessCalendar:
        cid = calendar_id(self.spec, person)
        if cid is None:
            raise ValueError("the spec has no calendar")
        if cid not in self._calendars:
            year = datetime.fromtimestamp(self.as_of, UTC).year
            years = range(year - 12, year + 3)
            self._calendars[cid] = BusinessCalendar.shared(self.spec.calendars[cid], years)
        return self._calendars[cid]

    @cached_property
    def clock_types(self) -> tuple[str, ...]:
        return clock_types(self.spec)

    @cached_property
    def happenings(self) -> dict[str, list[Happening]]:
        """Per contact, its events of the types clocks and handoffs read, up to as-of."""
        if self.given is not None:
            return {c: h for c, h in self.given.items() if h}
        placeholders = ", ".join("?" for _ in self.clock_types)
        only, params = self._contacts_filter()
        rows = self.ledger.con.execute(
            f"SELECT contact_id, CAST(floor(epoch(occurred_at)) AS BIGINT), type, actor_id, event_id "
            f"FROM events WHERE contact_id IS NOT NULL AND type IN ({placeholders}) "
            f"AND occurred_at <= to_timestamp(?){only} ORDER BY contact_id, occurred_at, event_id",
            [*self.clock_types, self.as_of, *params],
        ).fetchall()
        out: dict[str, list[Happening]] = defaultdict(list)
        for cid, ts, kind, actor, eid in rows:
            out[cid].append(Happening(int(ts), kind, actor, eid))
        return dict(out)

    def owner(self, contact: str) -> tuple[str | None, Happening | None]:
        """The current owner (latest assignment) and the latest handoff event."""
        handoffs = [h for h in self.happenings.get(contact, []) if h.type in HANDOFF_TYPES]
        owner = next((h.actor for h in reversed(handoffs) if h.type == "assigned"), None)
        return owner, (handoffs[-1] if handoffs else None)

    @cached_property
    def stage_entries(self) -> dict[str, list[tuple[int, str]]]:
        staged = any(s.start.stage for s in self.spec.slas.values())
        if not staged or not self.ledger.has_table("derived_stages"):
            return {}
        only, params = self._contacts_filter()
        rows = self.ledger.con.execute(
            "SELECT entity_id, CAST(epoch(entered_at) AS BIGINT), stage FROM derived_stages "
            "WHERE entity_type = 'contact' AND NOT skipped" + only.replace("contact_id", "entity_id"),
            params,
        ).fetchall()
        out: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for cid, ts, stage in rows:
            out[cid].append((int(ts), stage))
        return dict(out)

    def clocks(self, contacts: Iterable[str] | None = None) -> list[Clock]:
        engine = Clocks(self.spec, self.calendar)
        chosen = list(self.happenings) if contacts is None else list(contacts)
        out: list[Clock] = []
        for cid in chosen:
            out += engine.for_contact(
                cid, self.happenings.get(cid, []), self.as_of, stage_entries=self.stage_entries.get(cid, ())
            )
        return out


def clock_types(spec: Spec) -> tuple[str, ...]:
    """The event types handoffs and SLA clocks read: what may change an owner, a clock or a rep's load."""
    types = set(HANDOFF_TYPES)
    for sla in spec.slas.values():
        if sla.start.event:
            types.add(sla.start.event)
        types.update(sla.stop.events)
        if sla.cadence is not None:
            types.update(sla.cadence.events)
    return tuple(sorted(types))
