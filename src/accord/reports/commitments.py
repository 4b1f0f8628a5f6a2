"""The measures the agreement's commitments are judged by: MQL entries, routing speed, dispositions.

Shared by the agreement document, the diagnostic, the watch rules and governance's figures, so every
place that says whether a commitment is kept counts it the same way (docs/metrics.md, "Agreement").
"""

from __future__ import annotations

import re

from accord.handoffs.report import SlaReport
from accord.reports.data import ReportData
from accord.spec.model import Tier


def mql_entries(
    data: ReportData, since: int, until: int, *, passed_through: bool = True
) -> list[tuple[str, int]]:
    """(contact, entered_at) for every entry into the MQL stage in [since, until)."""
    stage = data.spec.agreement.mql_stage
    return sorted(
        (entity, row.entered_at)
        for entity, history in data.contact_stages.items()
        for row in history
        if row.stage == stage and since <= row.entered_at < until and (passed_through or not row.skipped)
    )


def routing_minutes(data: ReportData, since: int, until: int) -> tuple[list[float], int]:
    """Minutes from each MQL entry to the first assignment at or after it, and how many wait unrouted."""
    entries = mql_entries(data, since, until, passed_through=False)
    if not entries:
        return [], 0
    assigned: dict[str, list[int]] = {}
    for r in data.query(
        "SELECT contact_id, CAST(floor(epoch(occurred_at)) AS BIGINT) AS at FROM events "
        "WHERE type = 'assigned' AND contact_id IS NOT NULL AND occurred_at <= to_timestamp(?) "
        "ORDER BY occurred_at",
        [data.as_of],
    ):
        assigned.setdefault(r["contact_id"], []).append(int(r["at"]))
    minutes: list[float] = []
    waiting = 0
    for contact, entered in entries:
        first = next((t for t in assigned.get(contact, []) if t >= entered), None)
        if first is None:
            waiting += 1
        else:
            minutes.append((first - entered) / 60)
    return minutes, waiting


def acceptance_between(data: ReportData, since: int, until: int) -> tuple[int, int]:
    """(accepted, rejected) dispositions in [since, until)."""
    rows = data.query(
        "SELECT type, count(*) AS n FROM events WHERE type IN ('accepted', 'rejected') "
        "AND occurred_at >= to_timestamp(?) AND occurred_at < to_timestamp(?) GROUP BY type",
        [since, until],
    )
    counts = {r["type"]: int(r["n"]) for r in rows}
    return counts.get("accepted", 0), counts.get("rejected", 0)


def sla_line(report: SlaReport, sla_id: str) -> tuple[float | None, int, int]:
    """(compliance, met, breached) of one SLA in an SLA report."""
    line = next((x for x in report.lines if x.sla == sla_id), None)
    if line is None:
        return None, 0, 0
    return line.compliance, line.counts["met"], line.counts["breached"]


def mql_tiers(data: ReportData) -> list[Tier]:
    """The tiers the MQL stage's entry rule names; else every tier whose motion puts a person on it."""
    stage = next((s for s in data.spec.journey.stages if s.id == data.spec.agreement.mql_stage), None)
    if stage is None:
        return []
    named = set(re.findall(r"'([^']*)'", stage.entry))
    tiers = [t for t in data.spec.tiers if t.name in named]
    if tiers or "tier" not in stage.entry.lower():
        return tiers
    motions = data.spec.motions
    return [t for t in data.spec.tiers if t.motion in motions and motions[t.motion].human]
