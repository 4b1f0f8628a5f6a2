"""The tick: route new MQLs, advance every clock, write what became due. Running it twice adds nothing.

Every decision is written to the ledger as an event with ``source = accord`` and an id derived from
what it decides (the clock and the level, the lead and the instant), so a repeated tick appends
duplicates that the ledger ignores, and a replay never rewrites who was told what. Notifications that
became due while no tick ran are written at the instant they became due.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from accord.domain.clocks import Clock
from accord.domain.routing import Decision, RepState, Router
from accord.handoffs.view import HandoffView
from accord.ledger.imports import Stager
from accord.ledger.schema import TABLES
from accord.ledger.store import Ledger
from accord.spec.model import Spec

SOURCE = "accord"


@dataclass
class TickResult:
    as_of: int
    routed: list[tuple[str, Decision]] = field(default_factory=list)
    unrouted: list[tuple[str, Decision]] = field(default_factory=list)
    written: dict[str, int] = field(default_factory=dict)
    clocks: dict[str, int] = field(default_factory=dict)
    delivery: Any = None
    plays: Any = None  # accord.plays.engine.PlayTick
    watch: list[Any] = field(default_factory=list)  # accord.watch.rules.Firing, new ones


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def event_row(
    event_id: str,
    ts: int,
    kind: str,
    contact: str,
    actor: str | None,
    props: Mapping[str, Any],
    account: str | None = None,
) -> dict[str, Any]:
    return {"event_id": event_id, "occurred_at": datetime.fromtimestamp(ts, UTC), "type": kind,
            "contact_id": contact, "account_id": account, "actor_id": actor, "source": SOURCE,
            "properties": dict(props)}  # fmt: skip


def append(ledger: Ledger, rows: list[dict[str, Any]], label: str) -> int:
    """Append Accord's own events; ids make a repeat a no-op. Returns how many were new."""
    if not rows:
        return 0
    import json

    columns = TABLES["events"].columns
    data: dict[str, Any] = {}
    for c in columns:
        kind = pa.timestamp("us", tz="UTC") if c.type == "timestamp" else pa.string()
        data[c.name] = pa.array([r.get(c.name) for r in rows], type=kind)
    data["properties"] = pa.array(
        [json.dumps(r["properties"], sort_keys=True) for r in rows], type=pa.string()
    )
    stager = Stager("UTC")
    try:
        batch = stager.stage_typed("events", pa.table(data), label=label)
    finally:
        stager.close()
    result = ledger.commit(batch, f"{label}_{datetime.now(UTC):%Y%m%dT%H%M%S%f}", datetime.now(UTC))
    return result.imported


def rep_states(view: HandoffView, tier_one: set[str]) -> dict[str, RepState]:
    """Open Tier 1 leads and latest assignment per person; in-hours from their calendar now."""
    open_leads: dict[str, int] = {}
    last: dict[str, int] = {}
    for contact, events in view.happenings.items():
        for h in events:
            if h.type == "assigned" and h.actor:
                last[h.actor] = max(last.get(h.actor, 0), h.ts)
        owner, latest = view.owner(contact)
        if owner and latest is not None and latest.type in ("assigned", "accepted") and contact in tier_one:
            open_leads[owner] = open_leads.get(owner, 0) + 1
    return {
        p: RepState(p, open_leads.get(p, 0), last.get(p), view.calendar(p).is_open(view.as_of))
        for p in view.spec.people
    }


def route_new(ledger: Ledger, spec: Spec, view: HandoffView, result: TickResult) -> list[dict[str, Any]]:
    """Assign every lead in the MQL stage with a human motion and no owner, hottest first.

    A lead whose owner has become inactive or out of office (and has not dispositioned it) is routed
    again: the new assignment restarts its clocks for the new owner.
    """
    mql = spec.agreement.mql_stage
    human = [m for m, d in spec.motions.items() if d.human]
    if not human:
        return []
    from accord.engine.inputs import profiles_sql

    cursor = ledger.con.execute(
        f"SELECT p.*, l.* EXCLUDE (contact_id, account_id), a.owner_id AS _account_owner "
        f"FROM derived_leads l JOIN ({profiles_sql(spec, view.as_of)}) p USING (contact_id) "
        f"LEFT JOIN accounts a ON a.account_id = p.account_id "
        f"WHERE l.stage = ? AND l.motion IN ({', '.join('?' for _ in human)}) ORDER BY l.score DESC, 1",
        [mql, *human],
    )
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
    tier_one = {r["contact_id"] for r in rows}
    reps = rep_states(view, tier_one)
    router = Router(spec)
    today = datetime.fromtimestamp(view.as_of, UTC).date()
    written: list[dict[str, Any]] = []
    for row in rows:
        contact = row["contact_id"]
        owner, latest = view.owner(contact)
        reason = None
        if row["assigned"] and owner is not None:
            fine, why = router.eligible(owner, _team_of(spec, owner), today, reps.get(owner, RepState(owner)))
            if fine or latest is None or latest.type != "assigned":
                continue
            reason = f"{owner} is {why}"
        decision = router.route(contact, row, on=today, reps=reps, account_owner=row["_account_owner"])
        if decision.owner is None:
            result.unrouted.append((contact, decision))
            continue
        result.routed.append((contact, decision))
        props = {"rule": decision.rule, "team": decision.team, "method": decision.method, "why": decision.why}
        if reason:
            props.update(reassigned_from=owner, reason=reason)
        written.append(
            event_row(
                f"acc:assign:{contact}:{view.as_of}", view.as_of, "assigned", contact, decision.owner, props
            )
        )
        state = reps.get(decision.owner, RepState(decision.owner))
        reps[decision.owner] = RepState(decision.owner, state.open_leads + 1, view.as_of, state.in_hours)
    return written


def _team_of(spec: Spec, person: str) -> str:
    return next((t for t, team in spec.teams.items() if person in team.members), next(iter(spec.teams)))


def clock_events(view: HandoffView, clocks: list[Clock]) -> list[dict[str, Any]]:
    """At-risk, breach and escalation notices for every clock, at the instant each became due."""
    out: list[dict[str, Any]] = []
    for c in clocks:
        end = c.stopped_at if c.stopped_at is not None else c.superseded_at
        base = {"sla": c.sla, "clock_id": c.clock_id, "owner": c.owner, "deadline": _iso(c.deadline)}
        if c.at_risk_at <= view.as_of and (end is None or end > c.at_risk_at) and c.at_risk_at < c.deadline:
            out.append(
                event_row(f"acc:risk:{c.clock_id}", c.at_risk_at, "sla_at_risk", c.contact_id, c.owner, base)
            )
        if c.deadline <= view.as_of and (end is None or end > c.deadline):
            out.append(
                event_row(f"acc:breach:{c.clock_id}", c.deadline, "sla_breached", c.contact_id, c.owner, base)
            )
        for e in c.escalations:
            out.append(
                event_row(
                    f"acc:esc:{c.clock_id}:{e.level}",
                    e.due,
                    "escalated",
                    c.contact_id,
                    e.to,
                    {**base, "level": e.level, "link": e.link, "to": e.to},
                )
            )
    return out


def tick(ledger: Ledger, spec: Spec, as_of: int) -> TickResult:
    """Route, then advance clocks and write due notices; derived tables must be current as of ``as_of``."""
    result = TickResult(as_of)
    view = HandoffView(ledger, spec, as_of)
    assignments = route_new(ledger, spec, view, result)
    attach_context(ledger, spec, as_of, assignments)
    result.written["assigned"] = append(ledger, assignments, "tick_assign")
    view = HandoffView(ledger, spec, as_of)  # the new assignments start clocks
    clocks = view.clocks()
    for c in clocks:
        result.clocks[c.status] = result.clocks.get(c.status, 0) + 1
    notices = clock_events(view, clocks)
    for kind in ("sla_at_risk", "sla_breached", "escalated"):
        result.written[kind] = append(ledger, [n for n in notices if n["type"] == kind], f"tick_{kind}")
    from accord.plays.engine import tick_plays
    from accord.watch.rules import tick_watch

    result.plays = tick_plays(ledger, spec, as_of, {c for c, _ in result.routed})
    result.watch = tick_watch(ledger, spec, as_of)
    return result


def attach_context(ledger: Ledger, spec: Spec, as_of: int, assignments: list[dict[str, Any]]) -> None:
    """Each new assignment carries its handoff context (why now, content, next step of the play), so
    the rep, the CRM and the webhook get a brief, not just a name (accord.plays.context)."""
    if not assignments:
        return
    from accord.plays.context import contexts

    owners = {row["contact_id"]: row["actor_id"] for row in assignments}
    found = contexts(ledger, spec, list(owners), as_of, assigned_to=owners)
    for row in assignments:
        row["properties"]["context"] = found[row["contact_id"]].as_dict()
