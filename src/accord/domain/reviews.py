"""Joint reviews as plain data: campaign retrospectives, the actions they commit to, loss interviews.

Pure logic only (no clock, no store), so what a review means is readable and testable on its own:
how a change line is read, how ids are derived from content (recording the same review twice must
change nothing), and when an action is overdue. The service writes these as ledger events; the
reports read them back through :mod:`accord.reports.reviews`.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from accord.errors import WorkspaceError

CLOSE = "close"
"""The milestone name of the retrospective held when a campaign ends."""

QUESTIONS: dict[str, tuple[str, str]] = {
    "problem": ("--problem", "What were you trying to fix when you first spoke with us?"),
    "committee": ("--committee", "Who else weighed in on the decision, and what did each of them need?"),
    "fit_weakened": ("--fit-weakened", "At what point did we start to look like the weaker fit?"),
    "competitor": (
        "--competitor",
        "What did the option you chose (another vendor, or staying as you were) do better?",
    ),
    "easier_yes": ("--easier-yes", "What would have made saying yes to us simpler?"),
}
"""The five loss-interview questions: answer key -> (CLI flag, the question as we ask it)."""

LOSS_AREAS: tuple[str, ...] = (
    "icp", "qualification", "content", "pricing", "sales_motion", "product", "timing",
)  # fmt: skip
"""Pattern areas an interviewer may assign; 'other' would move a loss nowhere, so it is not offered."""


def digest(*parts: Any) -> str:
    """A short stable fingerprint of some content (ids and "same content?" checks)."""
    text = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def slug(text: str) -> str:
    """A milestone label as an id part: lower case, words joined by dashes."""
    return re.sub(r"[^a-z0-9]+", "-", text.strip().lower()).strip("-")


def clean(items: list[str] | tuple[str, ...] | None) -> list[str]:
    """List items with surrounding blanks removed and empty ones dropped."""
    return [" ".join(i.split()) for i in items or [] if i and i.strip()]


@dataclass(frozen=True)
class Change:
    """One "what to change" item: it becomes an action with an owner and a due date."""

    text: str
    owner: str
    due: date


def parse_change(line: str) -> Change:
    """Read ``"TEXT; owner=ID; due=YYYY-MM-DD"`` (parts after the text in any order)."""
    parts = [p.strip() for p in line.split(";")]
    text, fields_ = parts[0], parts[1:]
    found: dict[str, str] = {}
    for part in fields_:
        key, sep, value = part.partition("=")
        key = key.strip().lower()
        if not sep or key not in ("owner", "due"):
            raise WorkspaceError(
                f"--change '{line}': cannot read '{part}'",
                hint='write each change as "TEXT; owner=PERSON; due=YYYY-MM-DD"',
            )
        found[key] = value.strip()
    missing = [k for k in ("owner", "due") if not found.get(k)]
    if not text or missing:
        what = ["the text"] if not text else []
        raise WorkspaceError(
            f"--change '{line}': missing {', '.join(what + [k + '=' for k in missing])}",
            hint='every change needs an owner and a due date: "TEXT; owner=PERSON; due=YYYY-MM-DD"',
        )
    try:
        due = date.fromisoformat(found["due"])
    except ValueError:
        raise WorkspaceError(
            f"--change '{line}': due '{found['due']}' is not a date", hint="write it as YYYY-MM-DD"
        ) from None
    return Change(" ".join(text.split()), found["owner"], due)


def action_id(campaign: str, milestone: str, text: str) -> str:
    """Short enough to type (`accord action done a1b2c3d`), derived from what was agreed."""
    return "a" + digest("action", campaign, slug(milestone), text.lower())[:7]


def retro_event_id(campaign: str, milestone: str) -> str:
    """One retrospective per campaign and milestone: a second one with other words is refused."""
    return f"accord:retro:{campaign}:{slug(milestone)}"


def interview_event_id(opportunity: str, content: Any) -> str:
    return f"accord:interview:{opportunity}:{digest(content)[:12]}"


@dataclass
class Action:
    """A dated commitment with one owner, from a retrospective's change list."""

    action_id: str
    campaign: str
    milestone: str
    text: str
    owner: str
    due: date
    created_at: int
    done_at: int | None = None
    done_by: str | None = None
    note: str | None = None

    def status(self, today: date) -> str:
        """done; overdue (open and its due day has passed); else open."""
        if self.done_at is not None:
            return "done"
        return "overdue" if self.due < today else "open"

    def days_overdue(self, today: date) -> int:
        return max((today - self.due).days, 0) if self.done_at is None else 0


@dataclass
class Retro:
    """What the team said at one milestone, beside the scorecard as it read at that moment."""

    event_id: str
    campaign: str
    milestone: str
    held_at: int
    facilitator: str | None
    worked: list[str]
    stalled: list[str]
    changes: list[str]  # action ids, in the order they were agreed
    scorecard_as_of: int
    scorecard: list[dict[str, Any]] = field(default_factory=list)

    @property
    def closing(self) -> bool:
        return self.milestone == CLOSE


@dataclass
class Interview:
    """One loss interview: the buyer's answers, who asked, and the area the interviewer assigns."""

    event_id: str
    opportunity_id: str
    held_at: int
    interviewer: str
    role: str | None
    area: str | None
    answers: dict[str, str]


def shorten(text: str, limit: int = 140) -> str:
    """A quote short enough for a table cell, cut at a word."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut.rstrip(",.;:") + "…"
