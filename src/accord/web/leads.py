"""Page models for one lead and for a person's queue: what a rep needs to act, in the order they act.

The lead page reads :func:`accord.service.records.contact_view` (the same lead the API returns: the
latest derive's score and drivers, with the owner and SLA clocks as of now). The queue reads
:func:`accord.service.owner_queue`. Who may act on a lead follows the service's rule (its owner or the
owner's manager, with a role that may disposition or touch), so a form is shown only to someone whose
submission the service would accept; the service checks again on submit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup

from accord import service
from accord.api.permissions import Action, Principal
from accord.errors import AccordError
from accord.service.access import manager_of, may_read_queue, readable_queues
from accord.service.records import contact_view
from accord.web import charts
from accord.web.tables import instant, relative, span, when

TOUCHES: tuple[tuple[str, str], ...] = (
    ("call_attempt", "Call"),
    ("email_sent", "Email"),
    ("meeting_booked", "Meeting booked"),
    ("meeting_held", "Meeting held"),
)
"""Touches the forms offer: the first three stop a first-touch clock in the starter spec."""
OPEN_STATES = ("breached", "at_risk", "open")


@dataclass(frozen=True)
class ClockView:
    sla: str
    name: str
    status: str
    deadline: str
    deadline_rel: str
    started: str
    stopped: str | None
    attempts: int
    escalations: list[str]


@dataclass(frozen=True)
class Rights:
    """What the signed-in person may do to one lead, with the reason when not."""

    dispose: bool
    touch: bool
    why_not: str | None


def rights(ws: service.Workspace, who: Principal, owner: str | None, latest: str | None) -> Rights:
    """The service's rule, asked before drawing a form: role first, then owner or owner's manager."""
    may_d, may_t = who.may(Action.disposition), who.may(Action.touch)
    if not (may_d or may_t):
        return Rights(False, False, f"Your role ({who.role.value}) reads only.")
    if owner is None:
        return Rights(False, False, "No owner yet: the lead is assigned when it becomes an MQL.")
    manager = manager_of(ws, owner)
    if who.person not in (owner, manager):
        people = ws.spec.people
        owner_name = people[owner].name if owner in people else owner
        boss = (
            f" or {people[manager].name if manager in people else manager}, their manager," if manager else ""
        )
        return Rights(False, False, f"Only {owner_name}, its owner,{boss} can act on this lead.")
    once = latest in (None, "assigned")
    return Rights(
        may_d and once,
        may_t,
        None if once else f"Already {latest}: a lead is dispositioned once per assignment.",
    )


def may_open_queue(ws: service.Workspace, who: Principal, owner: str) -> bool:
    """Whether ``/queue/{owner}`` would open for this person: a link is drawn only where it leads to the
    page, never to a 403 (the queue page asks the same rule)."""
    try:
        may_read_queue(ws, who.person, who.role.value, owner)
    except AccordError:
        return False
    return True


def _field(c: Any, key: str) -> Any:
    return c.get(key) if isinstance(c, dict) else getattr(c, key)


def _escalation(e: Any) -> str:
    return f"{_field(e, 'link')} → {_field(e, 'to')}"


def _clock(ws: service.Workspace, c: Any, now: datetime, zone: str) -> ClockView:
    """A clock from the queue (a Clock) or the lead view (a dict of ISO instants)."""
    sla_id = str(_field(c, "sla"))
    sla = ws.spec.slas.get(sla_id)
    deadline = instant(_field(c, "deadline"))
    stopped = _field(c, "stopped_at")
    status = str(_field(c, "status"))
    return ClockView(
        sla_id,
        sla.name if sla else sla_id,
        status,
        when(deadline, zone),
        relative(deadline, now) if stopped is None and status in OPEN_STATES else "",
        when(_field(c, "started_at"), zone),
        when(stopped, zone) if stopped is not None else None,
        int(_field(c, "attempts") or 0),
        [_escalation(e) for e in (_field(c, "escalations") or [])],
    )


def worst(statuses: list[str]) -> str | None:
    for s in OPEN_STATES:
        if s in statuses:
            return s
    return None


# ---- the lead page -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DriverView:
    rank: int
    component: str
    label: str
    points: float
    count: int | None
    last: str | None
    detail: str | None

    @property
    def signals(self) -> str | None:
        """The count is of events in the last 30 days, while intent points decay over a longer
        half-life: a bare "0" beside positive points reads as a contradiction, so the window is named."""
        parts = []
        if self.count is not None:
            n = self.count
            parts.append(
                "no signal in the last 30 days"
                if n == 0
                else f"{n} signal{'s' if n != 1 else ''} in the last 30 days"
            )
        if self.last:
            parts.append(f"last seen {self.last}")
        return " · ".join(parts) or None


@dataclass
class LeadView:
    contact_id: str
    name: str
    title: str | None
    account: str | None
    facts: list[tuple[str, str]]
    score: float | None
    fit: float | None
    intent: float | None
    committee: float | None
    tier: str | None
    motion: str | None
    stage: str | None
    drivers: list[DriverView]
    drivers_total: float
    composition: Markup
    timeline: list[dict[str, Any]]
    clocks: list[ClockView]
    owner: str | None
    owner_name: str | None
    handoff: str | None
    latest: str | None
    rights: Rights
    derived_as_of: str
    owner_queue_open: bool
    stale: bool
    status: str | None = None
    reason_codes: list[tuple[str, str]] = field(default_factory=list)
    next_step: str | None = None
    talk_track: str | None = None
    content_engaged: list[str] = field(default_factory=list)


def handoff_words(handoff: dict[str, Any], people: Any, zone: str) -> str:
    """The latest handoff as a rep reads it. An assignment's actor is the person it went *to* (routing
    rules assign, not a person), so it never reads "assigned by"; a disposition's actor is who made it."""
    actor = handoff.get("by")
    name = people[actor].name if actor in people else actor
    at = when(handoff["at"], zone)
    if handoff["type"] == "assigned":
        return f"assigned to {name} on {at}" if name else f"assigned on {at}"
    return f"{handoff['type']} by {name} on {at}" if name else f"{handoff['type']} on {at}"


def lead(ws: service.Workspace, contact_id: str, who: Principal, now: datetime) -> LeadView:
    data = contact_view(ws, contact_id, now)
    spec = ws.spec
    zone = spec.workspace.timezone
    contact, row = data["contact"], data["lead"]
    stage_names = {s.id: s.name for s in spec.journey.stages}
    drivers = [
        DriverView(
            int(d["rank"]),
            d["component"],
            d["label"],
            float(d["points"]),
            d.get("count"),
            when(d["last_at"], zone) if d.get("last_at") else None,
            d.get("detail"),
        )
        for d in data["drivers"]
    ]
    parts = [
        charts.Segment("fit", float(row.get("fit") or 0)),
        charts.Segment("intent", float(row.get("intent") or 0)),
        charts.Segment("committee", float(row.get("committee") or 0)),
    ]
    timeline = []
    for s in data["stages"]:
        entered, exited = instant(s["entered_at"]), instant(s.get("exited_at"))
        timeline.append(
            {
                "stage": stage_names.get(s["stage"], s["stage"]),
                "entered": when(entered, zone),
                "left": when(exited, zone) if exited else None,
                "exit_to": stage_names.get(s.get("exit_to") or "", s.get("exit_to")),
                "skipped": bool(s.get("skipped")),
                "days": None if entered is None else span(((exited or now) - entered).total_seconds()),
                "current": exited is None,
            }
        )
    owner = data.get("owner")
    handoff = data.get("handoff")
    latest = handoff["type"] if handoff else None
    handoff_text = None
    if handoff:
        handoff_text = handoff_words(handoff, spec.people, zone)
    clocks = [_clock(ws, c, now, zone) for c in data["clocks"]]
    open_states = [c.status for c in clocks if c.status in OPEN_STATES and c.stopped is None]
    name = " ".join(x for x in (contact.get("first_name"), contact.get("last_name")) if x) or contact_id
    facts = [
        ("Account", contact.get("account_name") or "—"),
        ("Industry", (contact.get("industry") or "—").replace("_", " ")),
        ("Employees", f"{contact['employees']:,}" if contact.get("employees") else "—"),
        ("Country", contact.get("country") or contact.get("account_country") or "—"),
        ("Committee role", (contact.get("committee_role") or "—").replace("_", " ")),
        ("Lead source", (contact.get("lead_source") or "—").replace("_", " ")),
    ]
    people = spec.people
    context = service.handoff_context(ws, [contact_id], now=now).get(contact_id)
    next_step, talk_track = step_text(context, zone)
    engaged = [str(c["title"] or c["content_id"]) for c in (context.content if context else [])]
    return LeadView(
        contact_id=contact_id,
        name=name,
        title=contact.get("title"),
        account=contact.get("account_name"),
        facts=facts,
        score=row.get("score"),
        fit=row.get("fit"),
        intent=row.get("intent"),
        committee=row.get("committee"),
        tier=row.get("tier"),
        motion=spec.motions[row["motion"]].name if row.get("motion") in spec.motions else row.get("motion"),
        stage=stage_names.get(row.get("stage") or "", row.get("stage")),
        drivers=drivers,
        drivers_total=round(sum(d.points for d in drivers), 2),
        composition=charts.composition(parts, title=f"Score {row.get('score')}: fit, intent and committee"),
        timeline=timeline,
        clocks=clocks,
        owner=owner,
        owner_name=people[owner].name if owner in people else owner,
        handoff=handoff_text,
        latest=latest,
        rights=rights(ws, who, owner, latest),
        derived_as_of=when(data["derived"]["as_of"], zone),
        owner_queue_open=owner is not None and may_open_queue(ws, who, owner),
        stale=bool(data["derived"].get("stale")),
        status=worst(open_states) or ("accepted" if latest == "accepted" else None),
        reason_codes=[(r.id, r.label) for r in spec.reason_codes],
        next_step=next_step,
        talk_track=talk_track,
        content_engaged=engaged,
    )


# ---- the queue -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueLead:
    contact_id: str
    name: str
    account: str | None
    score: float | None
    tier: str | None
    stage: str | None
    latest: str
    why: str | None
    why_points: float | None
    status: str
    next_deadline: str | None
    next_deadline_rel: str | None
    clocks: list[ClockView]
    rights: Rights
    next_step: str | None = None  # the play's next step (accord.plays.context), with its due time
    talk_track: str | None = None


def step_text(context: Any, zone: str) -> tuple[str | None, str | None]:
    """(next step with its due time and play, talk track) from a handoff context, for the pages."""
    step = getattr(context, "next_step", None)
    if step is None:
        return None, None
    due = f" by {when(datetime.fromtimestamp(step.due, UTC), zone)}" if step.due is not None else ""
    return f"{step.action}{due} ({step.play_name})", step.talk_track


@dataclass
class QueueView:
    owner: str
    owner_name: str
    mine: bool
    leads: list[QueueLead]
    counts: dict[str, int]
    reason_codes: list[tuple[str, str, str | None]]
    touches: tuple[tuple[str, str], ...]
    recycle_min: str
    recycle_default: str
    people: list[tuple[str, str, bool]]  # (id, name, is the owner shown)
    acting_note: str | None
    # when this queue is empty: the other queues the reader may open, (id, name, open leads), fullest
    # first, so a RevOps lead or a manager who holds no leads lands one click from the work
    others: list[tuple[str, str, int]] = field(default_factory=list)


def queue(ws: service.Workspace, owner: str, who: Principal, now: datetime) -> QueueView:
    spec = ws.spec
    zone = spec.workspace.timezone
    items = service.owner_queue(ws, owner, now=now)
    context = service.handoff_context(ws, [i.contact_id for i in items], now=now)
    stage_names = {s.id: s.name for s in spec.journey.stages}
    leads: list[QueueLead] = []
    counts = {"breached": 0, "at_risk": 0, "open": 0, "accepted": 0}
    for item in items:
        clocks = [_clock(ws, c, now, zone) for c in item.clocks]
        live = [c for c in clocks if c.status in OPEN_STATES and c.stopped is None]
        status = worst([c.status for c in live]) or ("accepted" if item.latest == "accepted" else "none")
        if status in OPEN_STATES:
            counts[status] += 1
        # counted like the card's pill (the latest disposition), even while a later clock still runs
        counts["accepted"] += item.latest == "accepted"
        deadline = item.next_deadline
        leads.append(
            QueueLead(
                item.contact_id,
                item.name,
                item.account,
                item.score,
                item.tier,
                stage_names.get(item.stage or "", item.stage),
                item.latest,
                item.top_driver,
                item.top_points,
                status,
                when(deadline, zone) if deadline else None,
                relative(deadline, now) if deadline else None,
                clocks,
                rights(ws, who, owner, item.latest),
                *step_text(context.get(item.contact_id), zone),
            )
        )
    today = datetime.fromtimestamp(int(now.timestamp()), UTC).astimezone(ZoneInfo(zone)).date()
    people = [
        (pid, spec.people[pid].name if pid in spec.people else pid, pid == owner)
        for pid in readable_queues(ws, who.person, who.role.value)  # the queues the picker offers
    ]
    if owner not in {p for p, _, _ in people}:
        people.insert(0, (owner, spec.people[owner].name if owner in spec.people else owner, True))
    others: list[tuple[str, str, int]] = []
    if not leads and len(people) > 1:
        overview = service.queue_overview(ws, who.person, who.role.value, now=now)
        others = sorted((row for row in overview if row[0] != owner), key=lambda o: (-o[2], o[1]))
    acting = None
    if owner != who.person and who.may(Action.disposition) and manager_of(ws, owner) == who.person:
        acting = f"You manage {owner}: your dispositions on this queue are recorded as yours."
    return QueueView(
        owner=owner,
        owner_name=spec.people[owner].name if owner in spec.people else owner,
        mine=owner == who.person,
        leads=leads,
        counts=counts,
        reason_codes=[(r.id, r.label, r.description) for r in spec.reason_codes],
        touches=TOUCHES,
        recycle_min=(today + timedelta(days=1)).isoformat(),
        recycle_default=(today + timedelta(days=30)).isoformat(),
        people=people,
        acting_note=acting,
        others=others,
    )


def parse_day(text: str | None) -> date | None:
    """A recycle date from a form field; None when empty or not a date (the service then says why)."""
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None
