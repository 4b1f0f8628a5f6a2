"""The figures a change to the agreement is judged by, measured the same way before and after.

One function computes them from a ledger's derived tables over a period, so the backtest (history
derived under each version in a scratch copy) and the 30/90-day check (the workspace's own derive
after activation) can never define them differently. Definitions (docs/governance.md):

- Tier distribution: leads per tier as of the derive.
- Top-tier volume per week: entries into the first tier in the period (a contact whose tier becomes
  the first tier at an evaluation point where it was not before), divided by the period in weeks.
- Rep capacity: a lead in the first tier holds a rep until the longest SLA of its motion runs out
  (Little's law), so open leads at once = weekly volume x that span in weeks; reps needed = open
  leads / the agreed capacity per rep (person, else team, else routing default), rounded up, beside
  the active reps of the teams routing sends leads to.
- MQL volume per week: entries into the agreement's MQL stage in the period (as the agreement
  report counts them) per week.
- Expected acceptance: of the contacts entering the MQL stage in the period, those Sales
  dispositioned (their latest accepted or rejected in the period): the accepted share. Leads only
  the proposal makes MQLs were never seen by Sales and do not count; ``dispositioned`` says how many
  the figure rests on.
- SLA load: clocks per week each SLA would start: entries into a motion in the period, for every
  SLA the motion lists.
- Conversion lift by tier: the tier validation report (``accord report tiers``) over all history.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from accord.ledger.store import Ledger
from accord.spec.model import Spec

WEEK = 7 * 86400


@dataclass(frozen=True)
class TierShare:
    tier: str
    leads: int
    share: float


@dataclass(frozen=True)
class TierConversion:
    tier: str
    leads: int
    converted: int
    rate: float | None
    lift: float | None


@dataclass(frozen=True)
class Figures:
    """What one version of the agreement makes of the same history."""

    version: str
    tiers: list[TierShare]
    top_tier: str
    top_per_week: float
    top_weekly: list[int]
    open_at_once: float
    reps: int
    capacity: int | None
    reps_needed: int | None
    mql_per_week: float
    mqls: int
    acceptance: float | None
    dispositioned: int
    sla_per_week: dict[str, float]
    conversion: list[TierConversion]
    conversion_target: str
    baseline_rate: float | None


def _entries(ledger: Ledger, column: str, since: int, until: int) -> dict[tuple[str, int], int]:
    """(value, week index) -> entries into that value of ``column`` (tier or motion) in [since, until)."""
    rows = ledger.con.execute(
        f"""
        WITH s AS (
          SELECT contact_id, epoch("at") AS t, {column} AS v,
                 lag({column}) OVER (PARTITION BY contact_id ORDER BY "at", trigger) AS prev
          FROM derived_scores)
        SELECT v, CAST(floor((t - ?) / {WEEK}) AS BIGINT) AS week, count(*) FROM s
        WHERE v IS NOT NULL AND v IS DISTINCT FROM prev AND t >= ? AND t < ?
        GROUP BY ALL""",
        [since, since, until],
    ).fetchall()
    return {(str(v), int(w)): int(n) for v, w, n in rows}


def _routed_reps(spec: Spec) -> tuple[int, int | None]:
    """Active reps of the teams routing sends leads to, and their typical (median) capacity."""
    teams = [r.team for r in spec.routing.rules] or [
        t for t, team in spec.teams.items() if team.function == "sales"
    ]
    reps: dict[str, int | None] = {}
    for team_id in dict.fromkeys(teams):
        team = spec.teams.get(team_id)
        if team is None:
            continue
        for person in team.members:
            p = spec.people.get(person)
            if p is None or not p.active:
                continue
            reps.setdefault(person, p.capacity or team.capacity or spec.routing.capacity)
    known = sorted(c for c in reps.values() if c)
    return len(reps), known[len(known) // 2] if known else None


def _hold(spec: Spec, motion: str | None) -> timedelta:
    """How long a lead in ``motion`` holds a rep: its longest SLA, else a week."""
    m = spec.motions.get(motion or "")
    spans = [spec.slas[s].target for s in (m.slas if m else []) if s in spec.slas]
    return max(spans) if spans else timedelta(days=7)


def measure(ledger: Ledger, spec: Spec, version: str, *, since: int, until: int) -> Figures:
    """The figures of the ledger's latest derive (made under ``spec``) over [since, until)."""
    from accord.reports.base import Filters
    from accord.reports.commitments import mql_entries
    from accord.reports.data import ReportData
    from accord.reports.tiers import default_target, tiers

    weeks = max((until - since) / WEEK, 1 / 7)
    n_weeks = max(1, math.ceil((until - since) / WEEK))
    counts = dict(
        ledger.con.execute("SELECT coalesce(tier, ''), count(*) FROM derived_leads GROUP BY 1").fetchall()
    )
    total = sum(counts.values()) or 1
    shares = [
        TierShare(t.name, int(counts.get(t.name, 0)), counts.get(t.name, 0) / total) for t in spec.tiers
    ]
    top = spec.tiers[0]
    by_tier = _entries(ledger, "tier", since, until)
    weekly = [by_tier.get((top.name, w), 0) for w in range(n_weeks)]
    top_per_week = sum(weekly) / weeks
    open_at_once = top_per_week * _hold(spec, top.motion).total_seconds() / WEEK
    reps, capacity = _routed_reps(spec)
    needed = math.ceil(open_at_once / capacity - 1e-9) if capacity else None

    by_motion = _entries(ledger, "motion", since, until)
    sla_load = dict.fromkeys(spec.slas, 0.0)
    for motion_id, motion in spec.motions.items():
        entered = sum(n for (m, _), n in by_motion.items() if m == motion_id)
        for sla_id in motion.slas:
            if sla_id in sla_load:
                sla_load[sla_id] += entered / weeks

    data = ReportData(ledger, spec, Filters())
    entries = mql_entries(data, since, until)
    mql_contacts = {c for c, _ in entries}
    latest: dict[str, str] = {}
    for contact, kind in ledger.con.execute(
        "SELECT contact_id, type FROM events WHERE type IN ('accepted', 'rejected') "
        "AND contact_id IS NOT NULL AND epoch(occurred_at) >= ? AND epoch(occurred_at) < ? "
        "ORDER BY occurred_at, event_id",
        [since, until],
    ).fetchall():
        if contact in mql_contacts:
            latest[str(contact)] = str(kind)
    accepted = sum(1 for k in latest.values() if k == "accepted")

    validation = tiers(data).section("tiers").records()
    conversion = [
        TierConversion(r["tier"], int(r["n"]), int(r["converted"]), r["rate"], r["lift"])
        for r in validation[:-1]
    ]
    return Figures(
        version=version,
        tiers=shares,
        top_tier=top.name,
        top_per_week=round(top_per_week, 2),
        top_weekly=weekly,
        open_at_once=round(open_at_once, 2),
        reps=reps,
        capacity=capacity,
        reps_needed=needed,
        mql_per_week=round(len(entries) / weeks, 2),
        mqls=len(entries),
        acceptance=accepted / len(latest) if latest else None,
        dispositioned=len(latest),
        sla_per_week={k: round(v, 2) for k, v in sla_load.items()},
        conversion=conversion,
        conversion_target=default_target(data),
        baseline_rate=validation[-1]["rate"],
    )
