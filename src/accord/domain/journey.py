"""The stage machine of docs/derive.md ("Stages"), for contacts, accounts and opportunities.

It is plain Python over already-evaluated points (each point knows its candidate stage and the
regression-triggering events at that instant), so the engine's batch path can be checked against it
and its real-time path can call it directly. It never evaluates rules itself.

Ordering of rows within one instant (``seq``): skipped stages and the stage entered use their stage
index; a regression target (and an account's drop, an opportunity's move back) uses
``len(stages) + 1``, so sorting by ``(entered_at, seq)`` replays the moves in the order they happened.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from accord.domain.timeline import day_start, whole_seconds_up
from accord.spec.model import Regression, Spec

CONTACT_STARTS_AT = -1
"""Stage number before a contact (or account, or opportunity) has entered any stage."""


@dataclass(frozen=True)
class Trigger:
    """An event at a point whose type is in some regression's ``on`` list."""

    type: str
    reason_code: str | None
    recycle_on: date | None


@dataclass(frozen=True)
class JourneyPoint:
    """One evaluation point: its instant, the highest stage whose entry rule holds, its triggers."""

    ts: int
    candidate: int
    triggers: tuple[Trigger, ...] = ()


@dataclass(frozen=True)
class StageRow:
    """One stage entry of one entity; ``exited_at``/``exit_to`` are the next entry's (None if open)."""

    entity_type: str
    entity_id: str
    stage: str
    seq: int
    entered_at: int
    exited_at: int | None
    exit_to: str | None
    skipped: bool


@dataclass(frozen=True)
class _Entry:
    stage: int
    seq: int
    at: int
    skipped: bool


def blocked_until(spec: Spec, regression: Regression, trigger: Trigger, ts: int) -> int:
    """First instant a forward move is allowed again after ``trigger`` fired ``regression`` at ``ts``.

    The latest of: ``ts + 1``; ``ts + recycle_after`` (the trigger's reason code's, if the code is
    declared and has one, else the regression's, if any); the start of the ``recycle_on`` day in the
    workspace zone. Durations that are not whole seconds round up (see ``whole_seconds_up``).
    """
    candidates = [ts + 1]
    recycle_after = regression.recycle_after
    if trigger.reason_code is not None:
        code = next((r for r in spec.reason_codes if r.id == trigger.reason_code), None)
        if code is not None and code.recycle_after is not None:
            recycle_after = code.recycle_after
    if recycle_after is not None:
        candidates.append(ts + whole_seconds_up(recycle_after))
    if trigger.recycle_on is not None:
        candidates.append(day_start(trigger.recycle_on, spec.workspace.timezone))
    return max(candidates)


def wake_ups(spec: Spec, ts: int, triggers: Sequence[Trigger]) -> list[int]:
    """Wake-up instants of the triggers at ``ts``: ``blocked_until`` for every regression naming a
    trigger's type, whether or not that regression applies (so they are known before the machine runs).
    Sorted, without repeats; the caller drops those after the as-of instant.
    """
    found = {
        blocked_until(spec, regression, trigger, ts)
        for trigger in triggers
        for regression in spec.journey.regressions
        if trigger.type in regression.on
    }
    return sorted(found)


class MachineState(NamedTuple):
    """Where the contact machine stands after a point: enough to resume it from there."""

    ts: int  # the point's instant
    current: int
    blocked: int | None
    entries: int  # how many entries the history had then (entries are only ever appended)


class StageMachine:
    """The contact stage machine, fed one point at a time in time order.

    A real-time decision adds a point or two to a history of thousands: it resumes from the state the
    machine had after the last point that still holds (:attr:`state`, kept by the caller) instead of
    walking the whole history again.
    """

    def __init__(
        self, spec: Spec, resume: MachineState | None = None, entries: Sequence[_Entry] = ()
    ) -> None:
        """``resume``: a state this machine (or an equal one) had, with ``entries`` as they stood at
        that state or later."""
        self.spec = spec
        self.stages = spec.journey.stages
        if resume is None:
            self.last: int | None = None
            self.current = CONTACT_STARTS_AT
            self.blocked: int | None = None  # None stands for -infinity: nothing blocks a first move
            self.entries: list[_Entry] = []
        else:
            self.last, self.current, self.blocked = resume.ts, resume.current, resume.blocked
            self.entries = list(entries[: resume.entries])

    @property
    def state(self) -> MachineState:
        assert self.last is not None, "no point fed yet"
        return MachineState(self.last, self.current, self.blocked, len(self.entries))

    def feed(self, point: JourneyPoint) -> tuple[int, int, int]:
        """Move on by one point; ``(ts, stage_before, stage_after)``."""
        assert self.last is None or point.ts > self.last, "points out of time order or sharing an instant"
        self.last = point.ts
        stages, current, entries = self.stages, self.current, self.entries
        before = current
        # 1. Forward: enter the candidate, recording non-optional stages jumped over as skipped.
        if (self.blocked is None or point.ts >= self.blocked) and point.candidate > current:
            for k in range(current + 1, point.candidate):
                if not stages[k].optional:
                    entries.append(_Entry(k, k, point.ts, skipped=True))
            entries.append(_Entry(point.candidate, point.candidate, point.ts, skipped=False))
            current = point.candidate
        # 2. Regression: the first regression (spec order) with a trigger here and `current` in `from`.
        if point.triggers:
            for regression in self.spec.journey.regressions:
                fired = [t for t in point.triggers if t.type in regression.on]
                if not fired or current < 0 or stages[current].id not in regression.from_:
                    continue
                # Several triggers of the same regression at one instant: the latest block wins.
                self.blocked = max(blocked_until(self.spec, regression, t, point.ts) for t in fired)
                target = next(i for i, s in enumerate(stages) if s.id == regression.to)
                if target != current:
                    entries.append(_Entry(target, len(stages) + 1, point.ts, skipped=False))
                    current = target
                break
        self.current = current
        return (point.ts, before, current)

    def history(self, entity_id: str) -> list[StageRow]:
        """The contact's stage history so far (entity type ``contact``)."""
        return _rows("contact", entity_id, [s.id for s in self.stages], self.entries)


def walk(
    spec: Spec, entity_id: str, points: Sequence[JourneyPoint]
) -> tuple[list[tuple[int, int, int]], list[StageRow]]:
    """Run the contact stage machine over its points.

    Returns ``(ts, stage_before, stage_after)`` per point in time order and the contact's stage
    history (entity type ``contact``). Points must have distinct instants: the caller merges events of
    the same second into one point.
    """
    machine = StageMachine(spec)
    steps = [machine.feed(point) for point in sorted(points, key=lambda p: p.ts)]
    return steps, machine.history(entity_id)


def account_history(
    spec: Spec, account_id: str, contact_steps: dict[str, list[tuple[int, int]]]
) -> list[StageRow]:
    """An account's stage history: at each instant, the highest current stage among its contacts.

    ``contact_steps`` holds, per contact, ``(ts, stage_after)`` for each of its evaluation points. The
    value is recomputed at every instant any contact has a point; a rise is recorded like a contact's
    forward move (non-optional stages jumped over are flagged skipped), a drop as a move back with the
    regression ``seq``.
    """
    stages = spec.journey.stages
    latest: dict[str, list[tuple[int, int]]] = {cid: sorted(steps) for cid, steps in contact_steps.items()}
    instants = sorted({ts for steps in latest.values() for ts, _ in steps})
    entries: list[_Entry] = []
    value = CONTACT_STARTS_AT
    for t in instants:
        now = max(
            (
                next((s for ts, s in reversed(steps) if ts <= t), CONTACT_STARTS_AT)
                for steps in latest.values()
            ),
            default=CONTACT_STARTS_AT,
        )
        if now > value:
            for k in range(value + 1, now):
                if not stages[k].optional:
                    entries.append(_Entry(k, k, t, skipped=True))
            entries.append(_Entry(now, now, t, skipped=False))
        elif now < value:
            assert now >= 0, "a contact never leaves the journey, so an account never does either"
            entries.append(_Entry(now, len(stages) + 1, t, skipped=False))
        value = now
    return _rows("account", account_id, [s.id for s in stages], entries)


_OPP_TYPE_ORDER = {"opp_created": 0, "opp_stage_changed": 1, "closed_won": 2, "closed_lost": 3}


def opportunity_history(
    spec: Spec, opportunity_id: str, events: Sequence[tuple[int, str, str | None]]
) -> tuple[list[StageRow], int]:
    """An opportunity's stage history from its events ``(ts, type, stage property)``.

    Stage of each event: ``opp_created`` -> its ``stage`` property, else the first pipeline stage;
    ``opp_stage_changed`` -> its ``stage`` property (ignored, and not counted, when missing);
    ``closed_won`` / ``closed_lost`` -> the first stage with outcome won / lost; other types are
    ignored. A ``stage`` value that is not a pipeline stage id is counted and the event left out.

    Events of one instant collapse into one move to the stage of the last of them in the order
    opp_created, opp_stage_changed, closed_won, closed_lost, then pipeline order (so a close beats a
    stage change in the same second). A move to a higher stage is forward: when the target is open or
    won, the open stages jumped over (from the first stage, for a new opportunity) are flagged skipped.
    A move to a lower stage is recorded as it happened, with the regression ``seq``.

    Returns the rows (entity type ``opportunity``) and the number of unknown stage values.
    """
    pipeline = spec.pipeline.stages
    index = {s.id: i for i, s in enumerate(pipeline)}
    won = next((i for i, s in enumerate(pipeline) if s.outcome == "won"), None)
    lost = next((i for i, s in enumerate(pipeline) if s.outcome == "lost"), None)
    unknown = 0
    moves: dict[int, list[tuple[int, int]]] = {}  # ts -> [(type rank, stage index)]
    for ts, kind, stage in events:
        target: int | None = None
        if kind in ("opp_created", "opp_stage_changed"):
            if stage is None:
                target = 0 if kind == "opp_created" else None
            elif stage in index:
                target = index[stage]
            else:
                unknown += 1
        elif kind == "closed_won":
            target = won
        elif kind == "closed_lost":
            target = lost
        if target is not None:
            moves.setdefault(ts, []).append((_OPP_TYPE_ORDER[kind], target))

    entries: list[_Entry] = []
    current = CONTACT_STARTS_AT
    for t in sorted(moves):
        _, target = max(moves[t])
        if target > current:
            if pipeline[target].outcome in ("open", "won"):
                for k in range(current + 1, target):
                    if pipeline[k].outcome == "open":
                        entries.append(_Entry(k, k, t, skipped=True))
            entries.append(_Entry(target, target, t, skipped=False))
        elif target < current:
            entries.append(_Entry(target, len(pipeline) + 1, t, skipped=False))
        current = target
    return _rows("opportunity", opportunity_id, [s.id for s in pipeline], entries), unknown


def _rows(entity_type: str, entity_id: str, ids: list[str], entries: list[_Entry]) -> list[StageRow]:
    """Chain entries into history rows: each row exits into the next; the last stays open."""
    assert entries == sorted(entries, key=lambda e: (e.at, e.seq)), "moves out of (entered_at, seq) order"
    rows: list[StageRow] = []
    for i, entry in enumerate(entries):
        following = entries[i + 1] if i + 1 < len(entries) else None
        rows.append(
            StageRow(
                entity_type=entity_type,
                entity_id=entity_id,
                stage=ids[entry.stage],
                seq=entry.seq,
                entered_at=entry.at,
                exited_at=following.at if following else None,
                exit_to=ids[following.stage] if following else None,
                skipped=entry.skipped,
            )
        )
    return rows
