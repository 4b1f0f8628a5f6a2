"""What Accord writes back to the CRM per contact, and which of those rows changed since last time.

A row holds what a rep needs where they work: the current stage, score, tier and motion, the top
drivers in words, the owner, and the next step with its due time. Rows come from the last derive
(stage, score, drivers) and from the handoff facts as of now (owner, open SLA clocks), so a write-back
says the same as `accord explain` and the queue.

Changed rows: each row has a fingerprint of its CRM-visible values; a target remembers the fingerprint
it last received per contact (table ``writeback_state``), so an export sends a row only when one of
those values moved, or every row with ``all_rows``.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from accord.domain.clocks import Clock
from accord.handoffs.view import HandoffView
from accord.ledger.store import Ledger
from accord.spec.model import Spec

DRIVERS_SHOWN = 3
"""Top drivers written back: what a rep reads at a glance in a CRM field."""


@dataclass(frozen=True)
class WritebackRow:
    """One contact as the CRM should show it now."""

    contact_id: str
    email: str | None
    first_name: str | None
    last_name: str | None
    title: str | None
    account_id: str | None
    created_at: datetime | None
    lead_source: str | None
    stage: str | None
    stage_name: str | None
    lifecycle: str  # the HubSpot lifecycle stage id this stage maps to
    score: float | None
    tier: str | None
    motion: str | None
    drivers: str  # "label (+15); label (+10)"
    owner: str | None
    next_step: str
    next_step_due: datetime | None
    spec_version: str | None

    def fingerprint(self) -> str:
        """Changes exactly when a value the CRM shows changes."""
        values = {k: v for k, v in asdict(self).items() if k != "spec_version"}
        text = json.dumps(values, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def lifecycle_of(spec: Spec, stage: str | None) -> str:
    """HubSpot's lifecycle stage for an Accord stage, by position in the journey.

    Decision: before the MQL stage 'lead'; the MQL stage 'marketingqualifiedlead'; the accepted stage
    'salesqualifiedlead'; the stage right after it 'opportunity'; any later stage 'customer'. Stage
    names are the workspace's own, so the mapping follows the agreement's two handoff stages.
    """
    ids = spec.stage_ids()
    if stage is None or stage not in ids:
        return "lead"
    at = ids.index(stage)
    mql = ids.index(spec.agreement.mql_stage) if spec.agreement.mql_stage in ids else len(ids)
    accepted = ids.index(spec.agreement.accepted_stage) if spec.agreement.accepted_stage in ids else len(ids)
    if at < mql:
        return "lead"
    if at == mql:
        return "marketingqualifiedlead"
    if at <= accepted:
        return "salesqualifiedlead"
    return "opportunity" if at == accepted + 1 else "customer"


def _points(x: float) -> str:
    return f"{x:+.2f}".rstrip("0").rstrip(".")


def _next_step(
    spec: Spec, row: dict[str, Any], clocks: list[Clock], owner: str | None
) -> tuple[str, int | None]:
    """The next thing to do and when: the earliest open SLA clock, else what the motion implies."""
    live = sorted((c for c in clocks if c.status in ("open", "at_risk") and c.stopped_at is None
                   and c.superseded_at is None), key=lambda c: c.deadline)  # fmt: skip
    if live:
        clock = live[0]
        sla = spec.slas.get(clock.sla)
        label = sla.name if sla is not None and getattr(sla, "name", None) else clock.sla.replace("_", " ")
        who = clock.owner or owner
        return f"{label}{f' by {who}' if who else ''}", clock.deadline
    motion = spec.motions.get(row.get("motion") or "")
    if row.get("stage") == spec.agreement.mql_stage and motion is not None and motion.human and owner is None:
        return "Route to a rep (next tick assigns it)", None
    if motion is not None:
        return f"{motion.name}: {motion.description}" if motion.description else motion.name, None
    return "No motion: keep in marketing programs", None


def current_rows(ledger: Ledger, spec: Spec, now: datetime) -> list[WritebackRow]:
    """Every derived contact's write-back row as of ``now`` (stage and score from the last derive)."""
    as_of = int(now.timestamp())
    con = ledger.con
    cursor = con.execute(
        "SELECT l.contact_id, c.email, c.first_name, c.last_name, c.title, "
        "coalesce(c.account_id, l.account_id) AS account_id, c.created_at, c.lead_source, c.owner_id, "
        "l.stage, l.score, l.tier, l.motion, l.spec_version "
        "FROM derived_leads l LEFT JOIN contacts c USING (contact_id) ORDER BY l.contact_id"
    )
    names = [d[0] for d in cursor.description]
    leads = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
    drivers: dict[str, list[str]] = defaultdict(list)
    for cid, label, points in con.execute(
        "SELECT contact_id, label, points FROM derived_drivers WHERE rank <= ? AND points <> 0 "
        "ORDER BY contact_id, rank",
        [DRIVERS_SHOWN],
    ).fetchall():
        drivers[cid].append(f"{label} ({_points(float(points))})")
    view = HandoffView(ledger, spec, as_of)
    clocks: dict[str, list[Clock]] = defaultdict(list)
    for clock in view.clocks():
        clocks[clock.contact_id].append(clock)
    stage_names = {s.id: s.name for s in spec.journey.stages}
    plays: dict[str, Any] = {}
    if spec.plays:  # a matching play's next step beats the generic one: it says what to do and say
        from accord.plays.context import contexts

        found = contexts(ledger, spec, [r["contact_id"] for r in leads], as_of)
        plays = {cid: c.next_step for cid, c in found.items() if c.next_step is not None}
    out: list[WritebackRow] = []
    for row in leads:
        cid = row["contact_id"]
        assigned, _ = view.owner(cid)
        owner = assigned or row["owner_id"]
        step, due = _next_step(spec, row, clocks.get(cid, []), owner)
        if cid in plays:
            play = plays[cid]
            step, due = f"{play.action} ({play.play_name})", play.due
        out.append(
            WritebackRow(
                contact_id=cid, email=row["email"], first_name=row["first_name"], last_name=row["last_name"],
                title=row["title"], account_id=row["account_id"], created_at=row["created_at"],
                lead_source=row["lead_source"], stage=row["stage"], stage_name=stage_names.get(row["stage"]),
                lifecycle=lifecycle_of(spec, row["stage"]),
                score=None if row["score"] is None else float(row["score"]), tier=row["tier"],
                motion=row["motion"], drivers="; ".join(drivers.get(cid, [])), owner=owner, next_step=step,
                next_step_due=None if due is None else datetime.fromtimestamp(due, UTC),
                spec_version=row["spec_version"],
            )
        )  # fmt: skip
    return out


def last_fingerprints(ledger: Ledger, target: str) -> dict[str, str]:
    rows = ledger.con.execute(
        "SELECT contact_id, fingerprint FROM writeback_state WHERE target = ?", [target]
    ).fetchall()
    return {str(cid): str(fp) for cid, fp in rows}


def changed(rows: list[WritebackRow], before: dict[str, str]) -> list[WritebackRow]:
    """Rows whose CRM-visible values differ from what the target last received (new ones included)."""
    return [r for r in rows if before.get(r.contact_id) != r.fingerprint()]


def remember(ledger: Ledger, target: str, rows: list[WritebackRow], at: datetime, export_id: str) -> None:
    """Record what the target now holds, in one write (nothing half-remembered)."""
    with ledger.transaction():
        for r in rows:
            ledger.con.execute(
                "INSERT OR REPLACE INTO writeback_state (target, contact_id, fingerprint, exported_at, "
                "export_id) VALUES (?, ?, ?, ?, ?)",
                [target, r.contact_id, r.fingerprint(), at, export_id],
            )
        ledger.con.execute(
            "INSERT INTO writeback_exports (export_id, target, exported_at, rows) VALUES (?, ?, ?, ?)",
            [export_id, target, at, len(rows)],
        )
        ledger.replicate("writeback_state", f"export_id = '{export_id}'")
        ledger.replicate("writeback_exports", f"export_id = '{export_id}'")
