"""The SLA report and a rep's queue, from the clocks and the derived leads.

Definitions (docs/metrics.md):
- SLA compliance = met / (met + breached) over clocks started in the period; open, given back and
  reassigned clocks are left out.
- Speed-to-lead = business time from the first-touch clock's start (the assignment) to the owner's
  first touch; p50 and p90 by linear interpolation, and the shares within 5 minutes and 1 hour.
- MQL acceptance rate = accepted / (accepted + rejected) among dispositions in the period.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from accord.domain.clocks import Clock
from accord.handoffs.view import HandoffView
from accord.ledger.store import Ledger
from accord.spec.model import Spec


def percentile(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default), None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


@dataclass
class SlaLine:
    sla: str
    name: str
    counts: dict[str, int]
    compliance: float | None
    target: float | None


@dataclass
class SlaReport:
    as_of: int
    since: int | None
    until: int | None
    lines: list[SlaLine]
    speed: dict[str, Any]
    acceptance: dict[str, Any]
    reasons: list[tuple[str, str, int, float]]
    escalations: dict[str, int] = field(default_factory=dict)


def sla_report(
    ledger: Ledger, spec: Spec, as_of: int, since: int | None = None, until: int | None = None
) -> SlaReport:
    view = HandoffView(ledger, spec, as_of)
    clocks = [
        c
        for c in view.clocks()
        if (since is None or c.started_at >= since) and (until is None or c.started_at < until)
    ]
    first_touch = spec.agreement.sales.first_touch_sla
    lines = []
    for sla_id, sla in spec.slas.items():
        mine = [c for c in clocks if c.sla == sla_id]
        counts = {
            k: sum(1 for c in mine if c.status == k)
            for k in ("met", "breached", "at_risk", "open", "reassigned", "given_back")
        }
        decided = counts["met"] + counts["breached"]
        # one follow-up bar for both of Sales' clocks, as the agreement report holds them
        followed = sla_id in (first_touch, spec.agreement.sales.disposition_sla)
        target = spec.agreement.sales.first_touch_compliance if followed else None
        lines.append(SlaLine(sla_id, sla.name, counts, counts["met"] / decided if decided else None, target))
    touched = [c.elapsed / 60 for c in clocks if c.sla == first_touch and c.elapsed is not None]
    speed = {
        "n": len(touched), "p50_minutes": percentile(touched, 0.5), "p90_minutes": percentile(touched, 0.9),
        "within_5_minutes": (sum(1 for m in touched if m <= 5) / len(touched)) if touched else None,
        "within_1_hour": (sum(1 for m in touched if m <= 60) / len(touched)) if touched else None,
    }  # fmt: skip
    acceptance, reasons = _dispositions(ledger, spec, as_of, since, until)
    escalations: dict[str, int] = {}
    for c in clocks:
        for e in c.escalations:
            escalations[e.link] = escalations.get(e.link, 0) + 1
    return SlaReport(as_of, since, until, lines, speed, acceptance, reasons, escalations)


def _dispositions(
    ledger: Ledger, spec: Spec, as_of: int, since: int | None, until: int | None
) -> tuple[dict[str, Any], list[tuple[str, str, int, float]]]:
    where = ["type IN ('accepted', 'rejected', 'recycled')", "occurred_at <= to_timestamp(?)"]
    params: list[Any] = [as_of]
    if since is not None:
        where.append("occurred_at >= to_timestamp(?)")
        params.append(since)
    if until is not None:
        where.append("occurred_at < to_timestamp(?)")
        params.append(until)
    rows = ledger.con.execute(
        "SELECT type, json_extract_string(properties, '$.reason_code') AS reason, count(*) FROM events "
        f"WHERE {' AND '.join(where)} GROUP BY ALL",
        params,
    ).fetchall()
    by_type: dict[str, int] = {}
    by_reason: dict[str, int] = {}
    for kind, reason, n in rows:
        by_type[kind] = by_type.get(kind, 0) + int(n)
        if kind == "rejected":
            by_reason[reason or "(no reason)"] = by_reason.get(reason or "(no reason)", 0) + int(n)
    accepted, rejected = by_type.get("accepted", 0), by_type.get("rejected", 0)
    acceptance = {
        "accepted": accepted, "rejected": rejected, "recycled": by_type.get("recycled", 0),
        "rate": accepted / (accepted + rejected) if accepted + rejected else None,
        "target": spec.agreement.marketing.acceptance_rate,
    }  # fmt: skip
    labels = {r.id: r.label for r in spec.reason_codes}
    total = sum(by_reason.values())
    reasons = sorted(
        ((code, labels.get(code, code), n, n / total) for code, n in by_reason.items()),
        key=lambda r: (-r[2], r[0]),
    )
    return acceptance, reasons


@dataclass
class QueueItem:
    contact_id: str
    name: str
    account: str | None
    score: float | None
    tier: str | None
    stage: str | None
    latest: str
    clocks: list[Clock]
    top_driver: str | None
    top_points: float | None

    @property
    def next_deadline(self) -> int | None:
        open_ = [
            c.deadline
            for c in self.clocks
            if c.status in ("open", "at_risk", "breached")
            and c.stopped_at is None
            and c.superseded_at is None
        ]
        return min(open_) if open_ else None


def _held(view: HandoffView) -> dict[str, tuple[str, str]]:
    """Each lead someone holds: contact -> (owner, 'assigned' or 'accepted'); given back ones are out."""
    held: dict[str, tuple[str, str]] = {}
    for contact in view.happenings:
        current, latest = view.owner(contact)
        if current is not None and latest is not None and latest.type in ("assigned", "accepted"):
            held[contact] = (current, latest.type)
    return held


def queue_sizes(ledger: Ledger, spec: Spec, as_of: int) -> dict[str, int]:
    """How many leads each owner's queue lists, from one reading of the handoffs: a page that points
    to every rep's queue would otherwise build each queue in full to count it (11 reps: 1.6 s)."""
    sizes: dict[str, int] = {}
    for owner, _ in _held(HandoffView(ledger, spec, as_of)).values():
        sizes[owner] = sizes.get(owner, 0) + 1
    return sizes


def queue(ledger: Ledger, spec: Spec, owner: str, as_of: int) -> list[QueueItem]:
    """The owner's leads (assigned or accepted, not yet given back), most urgent deadline first."""
    view = HandoffView(ledger, spec, as_of)
    mine = {contact: kind for contact, (held_by, kind) in _held(view).items() if held_by == owner}
    if not mine:
        return []
    clocks: dict[str, list[Clock]] = {}
    for c in view.clocks(mine):
        if c.owner == owner and c.superseded_at is None:
            clocks.setdefault(c.contact_id, []).append(c)
    placeholders = ", ".join("?" for _ in mine)
    cursor = ledger.con.execute(
        "SELECT c.contact_id, trim(concat_ws(' ', c.first_name, c.last_name)) AS name, a.name AS account, "
        "l.score, l.tier, l.stage, l.top_driver, l.top_driver_points FROM contacts c "
        "LEFT JOIN accounts a USING (account_id) LEFT JOIN derived_leads l USING (contact_id) "
        f"WHERE c.contact_id IN ({placeholders})",
        list(mine),
    )
    names = [d[0] for d in cursor.description]
    info = {r[0]: dict(zip(names, r, strict=True)) for r in cursor.fetchall()}
    items = []
    for contact, kind in mine.items():
        row = info.get(contact, {})
        items.append(
            QueueItem(
                contact,
                row.get("name") or contact,
                row.get("account"),
                row.get("score"),
                row.get("tier"),
                row.get("stage"),
                kind,
                clocks.get(contact, []),
                row.get("top_driver"),
                row.get("top_driver_points"),
            )
        )
    far = 1 << 62
    items.sort(key=lambda i: (i.next_deadline or far, -(i.score or 0), i.contact_id))
    return items
