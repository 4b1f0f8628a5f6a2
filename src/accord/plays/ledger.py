"""Plays as the ledger holds them: who entered which play when, the dated tasks, what was resolved.

A ``play_entered`` event carries the lead's dated tasks in its properties: once a rep was given a
task with a due date, that is a fact, so a later spec change never moves it. Open tasks are never
stored: they are the entered tasks minus the steps a ``play_step_done`` or ``play_step_missed``
event resolved, cut off by ``play_exited`` (docs/plays.md).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from accord.domain.plays import Task
from accord.ledger.store import Ledger

PLAY_TYPES = ("play_entered", "play_step_done", "play_step_missed", "play_exited")


@dataclass
class Enrolment:
    """One lead's stay in one play."""

    contact_id: str
    play: str
    entered: int
    event_id: str
    tasks: list[Task]
    props: dict[str, Any]
    resolved: dict[str, tuple[str, int]] = field(default_factory=dict)  # step -> (status, at)
    exited: tuple[str, int] | None = None  # (outcome, at)

    @property
    def key(self) -> str:
        return f"{self.play}:{self.contact_id}:{self.entered}"

    @property
    def active(self) -> bool:
        return self.exited is None

    def open_tasks(self) -> list[Task]:
        return [t for t in self.tasks if t.step not in self.resolved] if self.active else []


def enrolments(ledger: Ledger, as_of: int, contacts: list[str] | None = None) -> dict[str, list[Enrolment]]:
    """Every contact's enrolments up to ``as_of``, oldest first, with their resolutions."""
    where = ["type IN ('play_entered', 'play_step_done', 'play_step_missed', 'play_exited')",
             "occurred_at <= to_timestamp(?)", "contact_id IS NOT NULL"]  # fmt: skip
    params: list[Any] = [as_of]
    if contacts is not None:
        if not contacts:
            return {}
        where.append(f"contact_id IN ({', '.join('?' for _ in contacts)})")
        params += contacts
    rows = ledger.con.execute(
        "SELECT contact_id, type, CAST(floor(epoch(occurred_at)) AS BIGINT), event_id, properties "
        f"FROM events WHERE {' AND '.join(where)} ORDER BY occurred_at, event_id",
        params,
    ).fetchall()
    out: dict[str, list[Enrolment]] = defaultdict(list)
    by_key: dict[str, Enrolment] = {}
    later: list[tuple[str, int, dict[str, Any]]] = []
    for contact, kind, ts, event_id, raw in rows:
        props = json.loads(raw or "{}")
        if kind == "play_entered":
            tasks = [Task.from_dict(t) for t in props.get("tasks", [])]
            e = Enrolment(contact, str(props.get("play")), int(ts), event_id, tasks, props)
            out[contact].append(e)
            by_key[e.key] = e
        else:
            later.append((kind, int(ts), props))
    for kind, ts, props in later:
        found = by_key.get(str(props.get("enrolment")))
        if found is None:
            continue
        e = found
        if kind == "play_exited":
            e.exited = (str(props.get("outcome")), ts)
        else:
            e.resolved[str(props.get("step"))] = ("done" if kind == "play_step_done" else "missed", ts)
    return dict(out)
