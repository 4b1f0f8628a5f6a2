"""A play's run for one lead, as pure arithmetic: dated tasks in, steps done or missed and the exit out.

Dating: each step is due its offset of business time after the lead entered the play, counted in its
owner's calendar (a lunch break, a weekend or a holiday in between does not count); an offset in
whole days counts working days of that calendar, as SLA cadences do.

Resolution, as of an instant, from the lead's events after it entered:
- the play ends at the first event of an exit criterion's types (or, decided by the caller, when a
  rule-based exit holds at the tick); steps still open then are cancelled, not missed;
- each event completes at most one step: the open step, earliest due first, whose types it matches,
  done by the step's owner (or a member of the owning team, or whoever owns the lead at that moment)
  unless the step accepts anyone, at or before the step's due instant;
- a step whose due instant passed without that is missed, at its due instant;
- when every step is done or missed and nothing ended the play, it is completed at the last of them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from accord.domain.calendar import BusinessCalendar
from accord.spec.plays import EXIT_COMPLETED, Play, PlayStep


@dataclass(frozen=True)
class Task:
    """A step as dated for one lead: what, who, by when, and what completes it."""

    step: str
    kind: str
    action: str
    owner: str | None
    due: int
    done_on: tuple[str, ...]
    by: str
    channel: str | None = None
    content: tuple[str, ...] = ()
    talk_track: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "kind": self.kind,
            "action": self.action,
            "owner": self.owner,
            "due": self.due,
            "done_on": list(self.done_on),
            "by": self.by,
            "channel": self.channel,
            "content": list(self.content),
            "talk_track": self.talk_track,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Task:
        return cls(
            str(d["step"]),
            str(d["kind"]),
            str(d["action"]),
            d.get("owner"),
            int(d["due"]),
            tuple(d.get("done_on") or ()),
            str(d.get("by") or "owner"),
            d.get("channel"),
            tuple(d.get("content") or ()),
            d.get("talk_track"),
        )


@dataclass(frozen=True)
class Happened:
    """An event on the lead as a play sees it."""

    ts: int
    type: str
    actor: str | None
    event_id: str


@dataclass(frozen=True)
class Resolution:
    step: str
    status: str  # "done" or "missed"
    at: int
    actor: str | None = None
    event_id: str | None = None


@dataclass
class PlayRun:
    """Where one lead's play stands as of an instant."""

    resolutions: list[Resolution] = field(default_factory=list)
    exit_outcome: str | None = None
    exit_at: int | None = None
    exit_trigger: str | None = None
    open: list[Task] = field(default_factory=list)
    cancelled: list[Task] = field(default_factory=list)


def business_seconds(calendar: BusinessCalendar, seconds: float) -> int:
    """Business time of a written offset: whole days are working days ("2d" is two 7.5-hour days on
    the starter's US East calendar), as for SLA cadences; anything else is business hours as written."""
    whole = int(seconds)
    if whole and whole % 86400 == 0:
        return whole // 86400 * calendar.working_day()
    return whole


def date_tasks(
    play: Play,
    entered: int,
    owner_of: Callable[[PlayStep], str | None],
    calendar_of: Callable[[str | None], BusinessCalendar],
) -> list[Task]:
    """The play's steps (follow-ups included) as tasks dated in each owner's business calendar."""
    tasks = []
    for step in play.schedule():
        owner = owner_of(step)
        calendar = calendar_of(owner)
        due = calendar.add(entered, business_seconds(calendar, step.due.total_seconds()))
        tasks.append(
            Task(
                step.id,
                step.kind,
                step.action,
                owner,
                due,
                step.done_types(),
                step.done_by(),
                step.channel,
                tuple(step.content),
                step.talk_track or play.talk_track,
            )
        )
    return sorted(tasks, key=lambda t: t.due)


def run_play(
    tasks: Sequence[Task],
    entered: int,
    events: Sequence[Happened],
    exits: Sequence[tuple[str, tuple[str, ...]]],
    as_of: int,
    *,
    members: Mapping[str, frozenset[str]] | None = None,
    owner_at: Callable[[int], str | None] = lambda _ts: None,
    rule_exit: str | None = None,
) -> PlayRun:
    """Resolve a lead's play as of ``as_of``; ``rule_exit`` is the outcome of a rule exit holding now."""
    members = members or {}
    run = PlayRun()
    seen = sorted((e for e in events if entered <= e.ts <= as_of), key=lambda e: (e.ts, e.event_id))
    for e in seen:
        outcome = next((name for name, types in exits if e.type in types), None)
        if outcome is not None:
            run.exit_outcome, run.exit_at, run.exit_trigger = outcome, e.ts, f"{e.type} {e.event_id}"
            break
    if run.exit_at is None and rule_exit is not None:
        run.exit_outcome, run.exit_at, run.exit_trigger = rule_exit, as_of, "rule"
    horizon = run.exit_at if run.exit_at is not None else as_of
    done: dict[str, Resolution] = {}
    for e in seen:
        if e.ts > horizon:
            break
        for t in tasks:
            if t.step in done or e.type not in t.done_on or e.ts > t.due:
                continue
            if t.by != "anyone" and not _by_owner(t, e, members, owner_at):
                continue
            done[t.step] = Resolution(t.step, "done", e.ts, e.actor, e.event_id)
            break
    for t in tasks:
        if t.step in done:
            run.resolutions.append(done[t.step])
        elif t.due < horizon or (run.exit_at is None and t.due <= as_of):
            run.resolutions.append(Resolution(t.step, "missed", t.due))
        elif run.exit_at is not None:
            run.cancelled.append(t)
        else:
            run.open.append(t)
    if run.exit_at is None and not run.open:
        run.exit_outcome = EXIT_COMPLETED
        run.exit_at = max((r.at for r in run.resolutions), default=entered)
        run.exit_trigger = "every step done or missed"
    return run


def _by_owner(
    t: Task, e: Happened, members: Mapping[str, frozenset[str]], owner_at: Callable[[int], str | None]
) -> bool:
    if e.actor is None:
        return False
    if e.actor == t.owner or (t.owner is not None and e.actor in members.get(t.owner, frozenset())):
        return True
    return e.actor == owner_at(e.ts)
