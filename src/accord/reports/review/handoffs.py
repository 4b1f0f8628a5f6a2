"""Agenda items on the handoff boundary: why Sales rejects leads, and where the SLA clocks slip.

Both compose `accord sla` (handoffs/report.py): rejections per reason code with their share, and
SLA compliance = met / (met + breached) over clocks started in the period. The pack adds the same
figures for the previous period, and breaks the breaches down by team and owner so the council sees
where a miss concentrates (a pattern to fix), not who to blame.
"""

from __future__ import annotations

from typing import Any

from accord.domain.clocks import Clock
from accord.reports.base import Column, Section
from accord.reports.data import status_against
from accord.reports.review.context import Context
from accord.reports.review.pack import AgendaItem
from accord.reports.review.period import Period


def share_change(now: float | None, before: float | None) -> float | None:
    return None if now is None or before is None else now - before


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def plural(n: int, word: str) -> str:
    """'1 breach', '2 breaches', '3 deals'."""
    if n == 1:
        return f"{n} {word}"
    return f"{n} {word}" + ("es" if word.endswith(("s", "sh", "ch", "x")) else "s")


def points(value: float) -> str:
    return f"{100 * value:+.1f} points"


# ---- 1. rejection reasons ---------------------------------------------------------------------------


def rejections(ctx: Context, minutes: int) -> AgendaItem:
    now, before = ctx.sla(ctx.period), ctx.sla(ctx.previous)
    labels = {r.id: r.label for r in ctx.spec.reason_codes}
    count = {code: n for code, _, n, _ in now.reasons}
    count_before = {code: n for code, _, n, _ in before.reasons}
    total, total_before = sum(count.values()), sum(count_before.values())
    codes = sorted(
        set(count) | set(count_before), key=lambda c: (-count.get(c, 0), -count_before.get(c, 0), c)
    )
    rows: list[list[Any]] = []
    for code in codes:
        n, m = count.get(code, 0), count_before.get(code, 0)
        share = n / total if total else None
        share_before = m / total_before if total_before else None
        rows.append([code, labels.get(code, code), n, share, m, share_before, n - m,
                     share_change(share, share_before)])  # fmt: skip
    p, q = ctx.period.name, ctx.previous.name
    section = Section(
        "rejection_reasons",
        "Rejections by reason code",
        [
            Column("reason", "Reason code"),
            Column("label", "Reason"),
            Column("rejections", f"Rejections, {p}", "int"),
            Column("share", "Share", "share"),
            Column("previous", f"Rejections, {q}", "int"),
            Column("previous_share", "Share before", "share"),
            Column("rejections_change", "Change", "int"),
            Column("share_change", "Change in share (points)", "share"),
        ],
        rows,
    )
    acc, acc_before = now.acceptance, before.acceptance
    section.notes.append(
        f"Dispositions in {p}: {acc['accepted']} accepted, {acc['rejected']} rejected, {acc['recycled']} "
        f"recycled; acceptance {pct(acc['rate'])} against a target of {pct(acc['target'])} "
        f"({q}: {acc_before['accepted']} accepted, {acc_before['rejected']} rejected, "
        f"{pct(acc_before['rate'])})."
    )
    missing = count.get("(no reason)", 0)
    if missing:
        section.flags.append(
            f"{missing} rejection{'s carry' if missing != 1 else ' carries'} no reason code: the agreement "
            "asks for one on every rejection"
        )
    below = status_against(acc["rate"], acc["target"]) == "below target"
    if below:
        section.flags.append(f"acceptance {pct(acc['rate'])} is below its target of {pct(acc['target'])}")
    discuss = [_rejection_line(rows, total, total_before, acc, p, q)]
    actions = []
    grown = [r for r in rows if r[2] and r[7] is not None and r[7] > 0 and r[0] != "(no reason)"]
    if grown:
        top = max(grown, key=lambda r: (r[7], r[6], r[0]))
        actions.append((f"Decide whether the MQL criteria should screen out '{top[1]}'", ctx.owners()))
    if below:
        discuss.append(
            f"Acceptance is {pct(acc['rate'])} against {pct(acc['target'])}: revisit the criteria with both "
            "leaders, not the reps."
        )
        actions.append((f"Revisit the MQL criteria: acceptance {pct(acc['rate'])}", ctx.owners()))
    return AgendaItem("rejections", "Rejection reasons", minutes, discuss, [section], actions)


def _rejection_line(
    rows: list[list[Any]], total: int, total_before: int, acc: dict[str, Any], p: str, q: str
) -> str:
    if not total:
        if not acc["accepted"]:
            return f"No lead was dispositioned in {p}: check that Sales records its dispositions."
        return (
            f"No rejections in {p} ({total_before} in {q}): nothing to review unless Sales stopped "
            "recording them."
        )
    grown = [r for r in rows if r[2] and r[7] is not None]
    if not total_before or not grown:
        top = rows[0]
        return (
            f"{plural(total, 'rejection')} in {p} against none in {q}; the most common reason is "
            f"'{top[1]}' ({top[2]} of {total})."
        )
    best = max(grown, key=lambda r: (r[7], r[6], r[0]))
    if best[7] <= 0:
        top = rows[0]
        return (
            f"No reason grew its share since {q}; the most common is still '{top[1]}' ({top[2]} of {total}, "
            f"{pct(top[3])})."
        )
    return (
        f"'{best[1]}' grew most: {best[2]} of {total} rejections ({pct(best[3])}) against {best[4]} of "
        f"{total_before} ({pct(best[5])}) in {q}, {points(best[7])}. Ask Sales what these leads had in "
        "common and whether the MQL criteria should screen them out."
    )


# ---- 4. SLA misses ------------------------------------------------------------------------------------


def _target(ctx: Context, sla_id: str) -> float | None:
    """The agreement sets one compliance bar for Sales' clocks: first touch and disposition share it."""
    sales = ctx.spec.agreement.sales
    return sales.first_touch_compliance if sla_id in (sales.first_touch_sla, sales.disposition_sla) else None


def _in(period: Period, clock: Clock) -> bool:
    return period.since <= clock.started_at < period.until


def _tally(clocks: list[Clock]) -> tuple[int, int]:
    """(resolved, breached): met and breached clocks, the ones compliance is computed over."""
    met = sum(1 for c in clocks if c.status == "met")
    breached = sum(1 for c in clocks if c.status == "breached")
    return met + breached, breached


def sla_misses(ctx: Context, minutes: int) -> AgendaItem:
    now, before = ctx.sla(ctx.period), ctx.sla(ctx.previous)
    prior = {line.sla: line for line in before.lines}
    p, q = ctx.period.name, ctx.previous.name
    rows: list[list[Any]] = []
    for line in now.lines:
        old = prior.get(line.sla)
        c = line.counts
        target = _target(ctx, line.sla)
        old_compliance = old.compliance if old else None
        rows.append([line.name, c["met"] + c["breached"], c["met"], c["breached"], c["open"] + c["at_risk"],
                     line.compliance, target, status_against(line.compliance, target),
                     old.counts["breached"] if old else 0, old_compliance,
                     share_change(line.compliance, old_compliance)])  # fmt: skip
    per_sla = Section(
        "sla_compliance",
        "Compliance per SLA",
        [
            Column("sla", "SLA"),
            Column("resolved", "Met or breached", "int"),
            Column("met", "Met", "int"),
            Column("breached", "Breached", "int"),
            Column("open", "Still open", "int"),
            Column("compliance", "Compliance", "share"),
            Column("target", "Target", "share"),
            Column("status", "Status"),
            Column("previous_breached", f"Breached, {q}", "int"),
            Column("previous_compliance", f"Compliance, {q}", "share"),
            Column("compliance_change", "Change (points)", "share"),
        ],
        rows,
    )
    per_sla.notes.append(
        f"Clocks started in {p} (and in {q}); compliance = met / (met + breached), open clocks wait until "
        "they resolve. Disposition feedback is held to the first-touch bar."
    )
    names = {s_id: s.name for s_id, s in ctx.spec.slas.items()}
    clocks_now = [c for c in ctx.clocks if _in(ctx.period, c)]
    clocks_before = [c for c in ctx.clocks if _in(ctx.previous, c)]
    data = ctx.current

    def team_of(c: Clock) -> str:
        team = data.team_of(c.owner)
        if team is None:
            return "(no team)"
        return (ctx.spec.teams[team].name or team) if team in ctx.spec.teams else team

    by_team = _breakdown(clocks_now, clocks_before, lambda c: (team_of(c), names.get(c.sla, c.sla)))
    by_owner = _breakdown(
        clocks_now, clocks_before, lambda c: (ctx.person(c.owner), team_of(c), names.get(c.sla, c.sla))
    )
    team_section = Section(
        "sla_by_team",
        "Breaches by team",
        [Column("team", "Team"), Column("sla", "SLA"), *_tally_columns(q)],
        by_team,
    )
    owner_section = Section(
        "sla_by_owner",
        "Breaches by owner",
        [Column("owner", "Owner"), Column("team", "Team"), Column("sla", "SLA"), *_tally_columns(q)],
        by_owner,
    )
    owner_section.notes.append(
        "For finding where misses concentrate (capacity, calendars, routing), not for blame."
    )
    discuss: list[str] = []
    actions: list[tuple[str, str]] = []
    for row in rows:
        if row[7] != "below target":
            continue
        teams = [t for t in by_team if t[1] == row[0] and t[3]]  # most breaches first
        worst = teams[0] if teams and (len(teams) == 1 or teams[0][3] > teams[1][3]) else None
        where = ("; by team: " + ", ".join(f"{t[0]} {t[3]}" for t in teams)) if teams else ""
        discuss.append(
            f"{row[0]}: {pct(row[5])} against {pct(row[6])} ({q}: {pct(row[9])}), "
            f"{plural(row[3], 'breach')}{where}."
        )
        per_sla.flags.append(f"{row[0]} compliance {pct(row[5])} is below its target of {pct(row[6])}")
        owner = ctx.person(ctx.spec.governance.sla_owner) if ctx.spec.governance.sla_owner else ctx.owners()
        actions.append((f"Agree how {row[0].lower()} gets back above {pct(row[6])}" +
                        (f" in {worst[0]}" if worst else ""), owner))  # fmt: skip
    if not discuss:
        breached = sum(r[3] for r in rows)
        if not any(r[1] for r in rows):
            discuss.append(f"No SLA clock started in {p} has resolved yet: nothing to judge.")
        elif breached:
            worst = max(by_team, key=lambda t: (t[3], t[0]))
            discuss.append(
                f"Every SLA with a target met it in {p}; {plural(breached, 'breach')} in all, most in "
                f"{worst[0]} ({worst[1]}, {worst[3]})."
            )
        else:
            discuss.append(f"No breach in {p}: every resolved clock was met.")
    return AgendaItem("sla", "SLA misses", minutes, discuss, [per_sla, team_section, owner_section], actions)


def _tally_columns(q: str) -> list[Column]:
    return [
        Column("resolved", "Met or breached", "int"),
        Column("breached", "Breached", "int"),
        Column("compliance", "Compliance", "share"),
        Column("previous_breached", f"Breached, {q}", "int"),
        Column("breached_change", "Change", "int"),
    ]


def _breakdown(now: list[Clock], before: list[Clock], key: Any) -> list[list[Any]]:
    """Rows of (key..., resolved, breached, compliance, breached before, change), most breaches first."""
    groups: dict[tuple[str, ...], list[Clock]] = {}
    old: dict[tuple[str, ...], list[Clock]] = {}
    for c in now:
        groups.setdefault(key(c), []).append(c)
    for c in before:
        old.setdefault(key(c), []).append(c)
    rows: list[list[Any]] = []
    for k in set(groups) | set(old):
        resolved, breached = _tally(groups.get(k, []))
        _, breached_before = _tally(old.get(k, []))
        if not resolved and not breached_before:
            continue
        rows.append([*k, resolved, breached, (resolved - breached) / resolved if resolved else None,
                     breached_before, breached - breached_before])  # fmt: skip
    width = len(rows[0]) - 5 if rows else 0
    rows.sort(key=lambda r: (-r[width + 1], -r[width + 3], *r[:width]))
    return rows
