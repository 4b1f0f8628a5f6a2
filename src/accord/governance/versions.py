"""Versions of the agreement: every text the ledger has seen, and which one was in force when.

A version is named by ``spec_hash`` (what derived tables are stamped with), so a comment-only edit is
not a new version. The texts live in ``spec_versions`` (written once, never changed); when a version
came into force is a ``spec_activated`` governance event, so the history of the agreement is part of
the append-only ledger and a version can come back into force later (a revert) without rewriting
anything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from accord.ledger.store import Ledger
from accord.spec.load import parse_spec
from accord.spec.model import Spec

ACTIVATED = "spec_activated"

FIRST_SEEN = "first_seen"  # the text in force when the ledger first saw the agreement
HAND_EDIT = "hand_edit"  # accord.yaml changed with no approved proposal covering it
PROPOSAL = "proposal"  # an approved proposal activated


@dataclass(frozen=True)
class SpecVersion:
    version: str  # spec_hash of the spec
    text: str  # the YAML as written
    recorded_at: datetime
    activated_at: datetime | None  # None: never active (e.g. a rejected proposal)
    retired_at: datetime | None
    why: str | None


@dataclass(frozen=True)
class Activation:
    """One coming-into-force of a version, as its ``spec_activated`` event tells it."""

    event_id: str
    version: str
    at: datetime
    previous: str | None
    origin: str  # FIRST_SEEN, HAND_EDIT or PROPOSAL
    proposal_id: str | None
    approvers: tuple[str, ...]

    @property
    def signed_off(self) -> bool:
        return self.origin == PROPOSAL


def instant(now: datetime | None) -> datetime:
    """The moment a governance step happens: injected, else the wall clock, in whole UTC seconds."""
    return (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)


def _utc(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _props(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    loaded = json.loads(value) if value else {}
    return loaded if isinstance(loaded, dict) else {}


def activations(ledger: Ledger) -> list[Activation]:
    """Every activation in the order the ledger recorded them: the last written is in force.

    Write order, not ``occurred_at``: an activation stated at an earlier instant (an injected clock, a
    back-dated import) must not put an older version back in force.
    """
    rows = ledger.con.execute(
        "SELECT event_id, occurred_at, properties FROM events WHERE type = ? "
        "ORDER BY ingested_at, occurred_at, event_id",
        [ACTIVATED],
    ).fetchall()
    out = []
    for event_id, occurred_at, properties in rows:
        p = _props(properties)
        out.append(
            Activation(
                str(event_id),
                str(p.get("version")),
                _utc(occurred_at),
                p.get("previous"),
                str(p.get("origin") or HAND_EDIT),
                p.get("proposal_id"),
                tuple(p.get("approvers") or ()),
            )
        )
    return out


def version_text(ledger: Ledger, version: str) -> str | None:
    rows = ledger.con.execute("SELECT text FROM spec_versions WHERE version = ?", [version]).fetchall()
    return str(rows[0][0]) if rows else None


def list_versions(ledger: Ledger) -> list[SpecVersion]:
    """Every recorded version, oldest first, with the span it was (last) in force.

    ``activated_at`` is its latest activation; ``retired_at`` the next activation of another version
    after that, or None while it is in force. ``why`` is the reason of the proposal that last brought
    it into force, else the reason it was recorded with.
    """
    rows = ledger.con.execute(
        "SELECT version, text, recorded_at, why FROM spec_versions ORDER BY recorded_at, version"
    ).fetchall()
    history = activations(ledger)
    reasons = _proposal_reasons(ledger)
    first: dict[str, int] = {}
    for i, a in enumerate(history):
        first.setdefault(a.version, i)
    rows = sorted(rows, key=lambda r: (_utc(r[2]), first.get(str(r[0]), len(history)), str(r[0])))
    out = []
    for version, text, recorded_at, why in rows:
        mine = [i for i, a in enumerate(history) if a.version == version]
        activated = retired = None
        reason = why
        if mine:
            last = history[mine[-1]]
            activated = last.at
            later = next((a for a in history[mine[-1] + 1 :] if a.version != version), None)
            retired = later.at if later else None
            if last.proposal_id and last.proposal_id in reasons:
                reason = reasons[last.proposal_id]
        out.append(SpecVersion(str(version), str(text), _utc(recorded_at), activated, retired, reason))
    return out


def active_version(ledger: Ledger) -> SpecVersion | None:
    """The version in force: the one activated last; None before the ledger has seen any."""
    history = activations(ledger)
    if not history:
        return None
    current = history[-1].version
    return next((v for v in list_versions(ledger) if v.version == current), None)


def _proposal_reasons(ledger: Ledger) -> dict[str, str]:
    return {
        str(p): str(w) for p, w in ledger.con.execute("SELECT proposal_id, why FROM proposals").fetchall()
    }


# ---- writing ----------------------------------------------------------------------------------------


def record_version(
    ledger: Ledger, version: str, text: str, *, now: datetime, origin: str, why: str | None = None
) -> bool:
    """Keep a text under its version; a version already kept is left as first recorded. True if new."""
    if version_text(ledger, version) is not None:
        return False
    ledger.execute_write(
        "INSERT INTO spec_versions VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        [version, text, now, why, origin],
    )
    return True


def record_activation(
    ledger: Ledger,
    version: str,
    *,
    now: datetime,
    origin: str,
    proposal_id: str | None = None,
    approvers: tuple[str, ...] = (),
) -> Activation:
    """Write the ``spec_activated`` event that puts a recorded version in force from ``now``."""
    from accord.handoffs.tick import append

    history = activations(ledger)
    previous = history[-1].version if history else None
    event_id = (
        f"accord:activated:{proposal_id}"
        if proposal_id
        else f"accord:activated:{version}:{int(now.timestamp())}"
    )
    properties: dict[str, Any] = {
        "version": version,
        "previous": previous,
        "origin": origin,
        "proposal_id": proposal_id,
        "approvers": list(approvers),
    }
    append(
        ledger,
        [
            {
                "event_id": event_id,
                "occurred_at": now,
                "type": ACTIVATED,
                "source": "accord",
                "properties": properties,
            }
        ],
        "governance",
    )
    return Activation(event_id, version, now, previous, origin, proposal_id, approvers)


def spec_of(ledger: Ledger, version: str | None, cache: dict[str, Spec]) -> Spec | None:
    """The parsed spec of a recorded version (parsed once per cache), None if unknown."""
    if version is None:
        return None
    if version not in cache:
        text = version_text(ledger, version)
        if text is None:
            return None
        cache[version] = parse_spec(text, f"version {version}")
    return cache[version]
