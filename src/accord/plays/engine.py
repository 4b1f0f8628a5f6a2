"""The tick's part in plays: enrol leads whose audience holds, resolve steps, record exits.

Enrolment: leads are tried hottest first; a lead enters the first play whose audience holds at the
tick, unless it is already in a play or has entered one since it entered its current stage (one play
per stage visit, so a completed play never restarts on its own). The tasks are dated at entry and
written with the ``play_entered`` event. Each tick then writes, for every running play, the steps
done or missed and the exit (accord.domain.plays), each at the instant it happened. Ids say what is
decided (the play, the lead, the entry instant, the step), so a repeated tick adds nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from accord.domain.plays import Happened, Task, date_tasks, run_play
from accord.domain.rule_eval import holds
from accord.handoffs.view import HandoffView
from accord.ledger.store import Ledger
from accord.plays.ledger import Enrolment, enrolments
from accord.reports.data import ts as epoch
from accord.spec.model import Spec
from accord.spec.play_checks import play_scope
from accord.spec.plays import ACCOUNT_OWNER, LEAD_OWNER, MQL_STAGE_OWNER, Play, PlayStep
from accord.spec.rule_ast import Rule
from accord.spec.rules import parse


@dataclass
class PlayTick:
    entered: list[tuple[str, str]] = field(default_factory=list)  # (contact, play)
    written: dict[str, int] = field(default_factory=dict)


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


class Plays:
    """The spec's plays with their rules parsed once."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        scope = play_scope(spec.model_dump(mode="json", by_alias=True))
        self.audience: dict[str, Rule] = {p.id: parse(p.audience, scope) for p in spec.plays}
        self.rule_exits: dict[str, list[tuple[str, Rule]]] = {
            p.id: [(x.outcome, parse(x.when, scope)) for x in p.exits if x.when] for p in spec.plays
        }
        self.by_id: dict[str, Play] = {p.id: p for p in spec.plays}

    def matching(self, row: dict[str, Any], qualified_at: int | None = None, at: int = 0) -> Play | None:
        """The first play whose audience holds for a lead row (play scope columns) and, given when
        the lead qualified, that it may still enter at ``at`` (``enrol_within``)."""
        return next(
            (
                p
                for p in self.spec.plays
                if (qualified_at is None or at - qualified_at <= p.enrol_within.total_seconds())
                and holds(self.audience[p.id], row)
            ),
            None,
        )

    def exits(self, play: str) -> list[tuple[str, tuple[str, ...]]]:
        found = self.by_id.get(play)
        return [] if found is None else [(x.outcome, tuple(x.on)) for x in found.exits if x.on]

    def rule_exit(self, play: str, row: dict[str, Any] | None) -> str | None:
        if row is None:
            return None
        return next((name for name, rule in self.rule_exits.get(play, []) if holds(rule, row)), None)


def lead_rows(
    ledger: Ledger, spec: Spec, as_of: int, contacts: Iterable[str] | None = None
) -> list[dict[str, Any]]:
    """Leads as rows of the play scope (what routing sees, plus the top drivers), hottest first."""
    from accord.engine.inputs import profiles_sql

    where, params = "", []
    if contacts is not None:
        chosen = list(contacts)
        if not chosen:
            return []
        where = f"WHERE l.contact_id IN ({', '.join('?' for _ in chosen)}) "
        params = chosen
    # _tier_since: when the lead last rose to a better tier (a tier lost to decay qualifies nobody)
    tiers = ", ".join("'" + t.name.replace("'", "''") + "'" for t in spec.tiers)
    rank = f"coalesce(list_position([{tiers}], tier), {len(spec.tiers) + 1})"
    cursor = ledger.con.execute(
        f"SELECT p.*, l.* EXCLUDE (contact_id, account_id), a.owner_id AS _account_owner, "
        f"d.top_intent, t._tier_since FROM derived_leads l "
        f"JOIN ({profiles_sql(spec, as_of)}) p USING (contact_id) "
        f"LEFT JOIN accounts a ON a.account_id = p.account_id "
        f"LEFT JOIN (SELECT contact_id, arg_min(label, rank) AS top_intent FROM derived_drivers "
        f"WHERE component = 'intent' GROUP BY contact_id) d ON d.contact_id = l.contact_id "
        f'LEFT JOIN (SELECT contact_id, max("at") AS _tier_since FROM (SELECT contact_id, "at", '
        f'coalesce({rank} < lag({rank}) OVER (PARTITION BY contact_id ORDER BY "at"), true) AS moved '
        f"FROM derived_scores {where.replace('l.contact_id', 'contact_id')}) WHERE moved "
        f"GROUP BY contact_id) t ON t.contact_id = l.contact_id "
        f"{where}ORDER BY l.score DESC NULLS LAST, 1",
        params * 2 if where else params,
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def qualified_at(view: HandoffView, row: dict[str, Any], routed: bool = False) -> int:
    """When the lead last qualified for a play: it entered its current stage, rose to a better
    tier, or was assigned (``routed``: by this tick), whichever is latest."""
    assigned = view.as_of if routed else None
    if assigned is None:
        assigned = max(
            (
                h.ts
                for h in view.happenings.get(row["contact_id"], [])
                if h.type == "assigned" and h.ts <= view.as_of
            ),
            default=None,
        )
    return max(epoch(row.get("stage_since")) or 0, epoch(row.get("_tier_since")) or 0, assigned or 0)


def owner_at(view: HandoffView, contact: str, ts: int) -> str | None:
    """Who owned the lead at an instant: the latest assignment at or before it."""
    owner = None
    for h in view.happenings.get(contact, []):
        if h.ts > ts:
            break
        if h.type == "assigned":
            owner = h.actor
    return owner


def step_owner(spec: Spec, step: PlayStep, lead_owner: str | None, account_owner: str | None) -> str | None:
    word = step.owner_word()
    if word == LEAD_OWNER:
        return lead_owner
    if word == ACCOUNT_OWNER:
        return account_owner if account_owner in spec.people else lead_owner
    if word == MQL_STAGE_OWNER:
        stage = next((s for s in spec.journey.stages if s.id == spec.agreement.mql_stage), None)
        return stage.owner if stage is not None else lead_owner
    return word


def calendar_person(spec: Spec, owner: str | None) -> str | None:
    """Whose calendar dates a task: the person, or the manager of an owning team."""
    if owner in spec.teams:
        return spec.teams[owner].manager
    return owner


def schedule(
    spec: Spec, view: HandoffView, play: Play, row: dict[str, Any], owner: str | None, at: int
) -> list[Task]:
    """The play's tasks for one lead entering at ``at``."""
    account_owner = row.get("_account_owner")
    return date_tasks(
        play,
        at,
        lambda step: step_owner(spec, step, owner, account_owner),
        lambda who: view.calendar(calendar_person(spec, who)),
    )


def entered_event(
    play: Play, contact: str, at: int, owner: str | None, row: dict[str, Any], tasks: list[Task]
) -> dict[str, Any]:
    from accord.handoffs.tick import event_row

    props = {
        "play": play.id,
        "name": play.name,
        "message": play.message,
        "talk_track": play.talk_track,
        "content": list(play.content),
        "channels": list(play.channels),
        "stage": row.get("stage"),
        "tier": row.get("tier"),
        "top_intent": row.get("top_intent"),
        "tasks": [t.as_dict() for t in tasks],
    }
    return event_row(f"acc:play:{play.id}:{contact}:{at}", at, "play_entered", contact, owner, props)


def enrol(
    ledger: Ledger, spec: Spec, view: HandoffView, plays: Plays, routed: set[str], result: PlayTick
) -> list[dict[str, Any]]:
    """``play_entered`` events for leads whose audience holds and who are free to enter."""
    if not spec.plays:
        return []
    current = enrolments(ledger, view.as_of)
    written = []
    for row in lead_rows(ledger, spec, view.as_of):
        contact = row["contact_id"]
        if contact in routed:
            row["assigned"] = True
        mine = current.get(contact, [])
        since = epoch(row.get("stage_since")) or 0
        if any(e.active or e.entered >= since for e in mine):
            continue
        play = plays.matching(row, qualified_at(view, row, contact in routed), view.as_of)
        if play is None:
            continue
        owner = view.owner(contact)[0]
        tasks = schedule(spec, view, play, row, owner, view.as_of)
        written.append(entered_event(play, contact, view.as_of, owner, row, tasks))
        result.entered.append((contact, play.id))
    return written


def advance(ledger: Ledger, spec: Spec, view: HandoffView, plays: Plays) -> list[dict[str, Any]]:
    """Steps done or missed and exits of every running play, each at the instant it happened."""
    from accord.handoffs.tick import event_row

    running = [e for es in enrolments(ledger, view.as_of).values() for e in es if e.active]
    if not running:
        return []
    contacts = sorted({e.contact_id for e in running})
    types = {t for e in running for task in e.tasks for t in task.done_on}
    types |= {t for e in running for _, on in plays.exits(e.play) for t in on}
    happened = _events(ledger, contacts, sorted(types), min(e.entered for e in running), view.as_of)
    needs_rows = {e.contact_id for e in running if plays.rule_exits.get(e.play)}
    rows = {r["contact_id"]: r for r in lead_rows(ledger, spec, view.as_of, needs_rows)} if needs_rows else {}
    members = {tid: frozenset(t.members) for tid, t in spec.teams.items()}
    out: list[dict[str, Any]] = []
    for e in running:

        def at(ts: int, contact: str = e.contact_id) -> str | None:
            return owner_at(view, contact, ts)

        run = run_play(
            e.tasks,
            e.entered,
            happened.get(e.contact_id, []),
            plays.exits(e.play),
            view.as_of,
            members=members,
            owner_at=at,
            rule_exit=plays.rule_exit(e.play, rows.get(e.contact_id)),
        )
        tasks = {t.step: t for t in e.tasks}
        for r in run.resolutions:
            if r.step in e.resolved:
                continue  # decided by an earlier tick: a fact now
            t = tasks[r.step]
            kind = "play_step_done" if r.status == "done" else "play_step_missed"
            step_props: dict[str, Any] = {
                "enrolment": e.key,
                "play": e.play,
                "step": t.step,
                "kind": t.kind,
                "action": t.action,
                "owner": t.owner,
                "due": _iso(t.due),
                "by_event": r.event_id,
            }
            out.append(
                event_row(
                    f"acc:step:{e.key}:{t.step}", r.at, kind, e.contact_id, r.actor or t.owner, step_props
                )
            )
        if run.exit_at is not None and run.exit_outcome is not None:
            props: dict[str, Any] = {
                "enrolment": e.key,
                "play": e.play,
                "outcome": run.exit_outcome,
                "trigger": run.exit_trigger,
                "cancelled": [t.step for t in run.cancelled],
            }
            out.append(event_row(f"acc:exit:{e.key}", run.exit_at, "play_exited", e.contact_id, None, props))
    return out


def _events(
    ledger: Ledger, contacts: list[str], types: list[str], since: int, as_of: int
) -> dict[str, list[Happened]]:
    if not types or not contacts:
        return {}
    rows = ledger.con.execute(
        "SELECT contact_id, CAST(floor(epoch(occurred_at)) AS BIGINT), type, actor_id, event_id FROM events "
        f"WHERE type IN ({', '.join('?' for _ in types)}) "
        f"AND contact_id IN ({', '.join('?' for _ in contacts)}) "
        "AND occurred_at >= to_timestamp(?) AND occurred_at <= to_timestamp(?) "
        "ORDER BY occurred_at, event_id",
        [*types, *contacts, since, as_of],
    ).fetchall()
    out: dict[str, list[Happened]] = {}
    for contact, ts, kind, actor, event_id in rows:
        out.setdefault(contact, []).append(Happened(int(ts), kind, actor, event_id))
    return out


def tick_plays(ledger: Ledger, spec: Spec, as_of: int, routed: set[str]) -> PlayTick:
    """Enrol, write the entries, then resolve every running play and write what became due."""
    from accord.handoffs.tick import append

    result = PlayTick()
    if not spec.plays:
        return result
    plays = Plays(spec)
    view = HandoffView(ledger, spec, as_of)
    result.written["play_entered"] = append(
        ledger, enrol(ledger, spec, view, plays, routed, result), "tick_play"
    )
    notices = advance(ledger, spec, view, plays)
    for kind in ("play_step_done", "play_step_missed", "play_exited"):
        result.written[kind] = append(ledger, [n for n in notices if n["type"] == kind], f"tick_{kind}")
    return result


__all__ = ["Enrolment", "PlayTick", "Plays", "advance", "enrol", "lead_rows", "qualified_at", "tick_plays"]
