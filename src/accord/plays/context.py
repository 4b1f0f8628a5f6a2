"""Handoff context: what travels with every lead a rep is given, so "here's the lead" becomes a brief.

Three parts, the same on the assignment event (and so its webhook), the queue, the lead page and
`accord explain`:
- why now: the lead's top drivers from the latest derive (label, points, signal count, last seen);
- content engaged: the latest distinct assets the contact downloaded, viewed or was sent;
- next step: the earliest open task of the play the lead is in, with its talk track; a lead in no
  play gets the first step of the first play whose audience holds, dated from now, as a
  recommendation (``enrolled`` false) until the tick enrols it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from accord.handoffs.view import HandoffView
from accord.ledger.store import Ledger
from accord.plays.engine import Plays, lead_rows, qualified_at, schedule
from accord.plays.ledger import enrolments
from accord.reports.base import utc_text
from accord.reports.data import ts as epoch
from accord.spec.model import Spec

WHY_NOW = 3
CONTENT = 5


@dataclass(frozen=True)
class NextStep:
    play: str
    play_name: str
    step: str
    kind: str
    action: str
    owner: str | None
    due: int | None
    talk_track: str | None
    message: str | None
    channel: str | None
    content: list[str]
    enrolled: bool

    def overdue(self, at: int) -> bool:
        return self.due is not None and self.due < at


@dataclass
class Context:
    contact_id: str
    why_now: list[dict[str, Any]] = field(default_factory=list)
    content: list[dict[str, Any]] = field(default_factory=list)
    next_step: NextStep | None = None

    def as_dict(self) -> dict[str, Any]:
        step = None
        if self.next_step is not None:
            step = asdict(self.next_step)
            step["due"] = _iso(self.next_step.due)
        return {"why_now": self.why_now, "content": self.content, "next_step": step}

    def line(self) -> str:
        """The next step in one line: what, when, in which play."""
        s = self.next_step
        if s is None:
            return ""
        due = "" if s.due is None else f" by {datetime.fromtimestamp(s.due, UTC):%a %d %b %H:%M} UTC"
        return f"{s.action}{due} ({s.play_name})"


def _iso(ts: int | None) -> str | None:
    return None if ts is None else utc_text(ts)


def contexts(
    ledger: Ledger,
    spec: Spec,
    contacts: list[str],
    as_of: int,
    *,
    assigned_to: dict[str, str] | None = None,
) -> dict[str, Context]:
    """The handoff context of each contact as of ``as_of``.

    ``assigned_to`` names owners decided but not yet written (the tick's own routing), so the
    recommendation already counts the lead as assigned to them.
    """
    if not contacts:
        return {}
    assigned_to = assigned_to or {}
    out = {c: Context(c) for c in contacts}
    marks = ", ".join("?" for _ in contacts)
    for r in _rows(
        ledger,
        "SELECT contact_id, rank, component, label, points, count, last_at, detail FROM derived_drivers "
        f"WHERE contact_id IN ({marks}) AND rank <= ? ORDER BY contact_id, rank",
        [*contacts, WHY_NOW],
    ):
        out[r["contact_id"]].why_now.append(
            {
                "label": r["label"],
                "points": r["points"],
                "component": r["component"],
                "count": r["count"],
                "last_at": _iso(epoch(r["last_at"])),
                "detail": r["detail"],
            }
        )
    for r in _rows(
        ledger,
        "SELECT contact_id, content_id, title, type, seen FROM (SELECT e.contact_id, e.content_id, c.title, "
        "e.type, CAST(floor(epoch(e.occurred_at)) AS BIGINT) AS seen, row_number() OVER (PARTITION BY "
        "e.contact_id, e.content_id ORDER BY e.occurred_at DESC) AS n FROM events e "
        "LEFT JOIN content_assets c "
        f"USING (content_id) WHERE e.contact_id IN ({marks}) AND e.content_id IS NOT NULL "
        "AND e.occurred_at <= to_timestamp(?)) WHERE n = 1 ORDER BY contact_id, seen DESC, content_id",
        [*contacts, as_of],
    ):
        mine = out[r["contact_id"]].content
        if len(mine) < CONTENT:
            mine.append(
                {
                    "content_id": r["content_id"],
                    "title": r["title"],
                    "type": r["type"],
                    "at": _iso(int(r["seen"])),
                }
            )
    if spec.plays:
        _next_steps(ledger, spec, out, as_of, assigned_to)
    return out


def _next_steps(
    ledger: Ledger, spec: Spec, out: dict[str, Context], as_of: int, assigned_to: dict[str, str]
) -> None:
    plays = Plays(spec)
    current = enrolments(ledger, as_of, list(out))
    free = []
    for contact, ctx in out.items():
        running = next((e for e in current.get(contact, []) if e.active), None)
        if running is None:
            free.append(contact)
            continue
        tasks = running.open_tasks()
        if not tasks:
            continue
        t = min(tasks, key=lambda t: t.due)
        play = plays.by_id.get(running.play)
        ctx.next_step = NextStep(
            running.play,
            str(running.props.get("name") or running.play),
            t.step,
            t.kind,
            t.action,
            t.owner,
            t.due,
            t.talk_track or running.props.get("talk_track"),
            running.props.get("message") or (play.message if play else None),
            t.channel,
            list(t.content),
            True,
        )
    if not free:
        return
    view = HandoffView(ledger, spec, as_of)
    for row in lead_rows(ledger, spec, as_of, free):
        contact = row["contact_id"]
        owner = assigned_to.get(contact) or view.owner(contact)[0]
        if contact in assigned_to:
            row["assigned"] = True
        # only a play the tick would enrol it in: a stale lead gets no "next step due now"
        play = plays.matching(row, qualified_at(view, row, contact in assigned_to), as_of)
        if play is None:
            continue
        first = schedule(spec, view, play, row, owner, as_of)[0]
        out[contact].next_step = NextStep(
            play.id,
            play.name,
            first.step,
            first.kind,
            first.action,
            first.owner,
            first.due,
            first.talk_track,
            play.message,
            first.channel,
            list(first.content),
            False,
        )


def _rows(ledger: Ledger, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cursor = ledger.con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
