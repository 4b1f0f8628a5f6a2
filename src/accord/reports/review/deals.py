"""Agenda item: stalled-deal patterns at the end of the period against the end of the one before.

The pipeline review's own logic (reports/pipeline.py) decides what is stalled (open, no stage
movement for ``pipeline.stalled_after``, 21 days), why (the recorded reason, else the first gap) and
what is structural (the same reason on ``pattern_min_deals``, 3, stalled deals); the pack runs it
on a snapshot at each period's end and compares the two.
"""

from __future__ import annotations

from typing import Any

from accord.reports.base import Column, Section
from accord.reports.review.context import Context
from accord.reports.review.handoffs import plural
from accord.reports.review.pack import AgendaItem
from accord.reports.review.period import Period, local_day


def _snapshot(ctx: Context, period: Period) -> tuple[dict[str, list[Any]], Section, int]:
    """Per stall reason (deals, amount, structural), the stalled section, and deals that cannot be told."""
    from accord.reports.pipeline import pattern_flags, stalled_inventory

    data = ctx.at_end(period)
    today = local_day(data.as_of, ctx.zone)
    stalled, deals = stalled_inventory(data, 0, today)
    patterns = pattern_flags(data, deals, 0)
    unknown = sum(1 for r in stalled.records() if r["status"] == "cannot tell")
    by_reason = {r["reason"]: [r["deals"], r["amount"], r["structural"]] for r in patterns.records()}
    patterns.flags[:0] = stalled.flags
    return by_reason, patterns, unknown


def stalled_patterns(ctx: Context, minutes: int) -> AgendaItem:
    now, patterns, unknown = _snapshot(ctx, ctx.period)
    before, _, _ = _snapshot(ctx, ctx.previous)
    p, q = ctx.period.name, ctx.previous.name
    need = ctx.spec.pipeline.pattern_min_deals
    reasons = sorted(set(now) | set(before), key=lambda r: (-now.get(r, [0])[0], -before.get(r, [0])[0], r))
    rows: list[list[Any]] = []
    for reason in reasons:
        n, amount, structural = now.get(reason, [0, 0.0, False])
        m, amount_before, _ = before.get(reason, [0, 0.0, False])
        rows.append([reason, n, amount, structural, m, amount_before, n - m])
    section = Section(
        "stalled_patterns",
        "Stalled deals by stall reason, at the end of each period",
        [
            Column("reason", "Stall reason"),
            Column("deals", f"Stalled, end of {p}", "int"),
            Column("amount", "Amount", "money"),
            Column("structural", f"Structural ({need}+ deals)", "flag"),
            Column("previous", f"Stalled, end of {q}", "int"),
            Column("previous_amount", "Amount before", "money"),
            Column("deals_change", "Change", "int"),
        ],
        rows,
        flags=patterns.flags,
    )
    total, total_before = sum(r[1] for r in rows), sum(r[4] for r in rows)
    amount, amount_before = sum(r[2] for r in rows), sum(r[5] for r in rows)
    money = ctx.spec.workspace.currency
    days = ctx.spec.pipeline.stalled_after.total_seconds() / 86400
    section.notes.append(
        f"Stalled = open with no stage movement for {days:g} days or more, as the pipeline review counts "
        f"it: {total} deals ({money} {amount:,.0f}) at the end of {p}, {total_before} "
        f"({money} {amount_before:,.0f}) at the end of {q}."
    )
    if unknown:
        section.notes.append(
            f"{plural(unknown, 'open deal')} without a stage or creation date: cannot tell whether stalled."
        )
    structural = [r for r in rows if r[3]]
    actions: list[tuple[str, str]] = []
    if structural:
        names = ", ".join(f"'{r[0]}' ({r[1]} deals, {money} {r[2]:,.0f})" for r in structural)
        discuss = [
            f"Structural at the end of {p}: {names}. Agree the fix in the system (qualification, content, "
            "sales motion or pricing) and take it to the loss post-mortem."
        ]
        actions += [(f"Structural fix for stalled deals '{r[0]}'", ctx.leader("sales")) for r in structural]
    elif total:
        grown = max(rows, key=lambda r: (r[6], r[1], r[0]))
        discuss = [
            f"{plural(total, 'stalled deal')} at the end of {p} against {total_before} at the end of {q}; no "
            f"reason is shared by {need} or more: the weekly pipeline review handles them deal by deal"
            + (f" ('{grown[0]}' grew most, {grown[6]:+d})." if grown[6] > 0 else ".")
        ]
    else:
        discuss = [f"No deal was stalled at the end of {p} ({total_before} at the end of {q})."]
    return AgendaItem("stalled", "Stalled-deal patterns", minutes, discuss, [section], actions)
