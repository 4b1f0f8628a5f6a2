"""Play performance: who entered each play, how it ended, and whether it converts better than no play.

Definitions (docs/metrics.md and docs/plays.md, "Play performance"):
- Entered: ``play_entered`` events in the period (all time without one), up to the report's instant.
- Running: entered and not exited by the report's instant; completed: exited with outcome
  ``completed`` (every step done or missed); other exits are counted by outcome.
- Step completion = steps done / (done + missed); cancelled steps (open when the play ended) and
  steps not yet due count in neither.
- Converted: reached the target stage (default: the stage after the acceptance stage, i.e.
  opportunity) at or after entering the play, by the report's instant.
- Baseline: contacts that reached the MQL stage in the period and never entered this play, converted
  when they reached the target stage at or after their MQL entry. Lift = play rate / baseline rate;
  each rate with a 95% Wilson interval. A play is flagged only when the top of its interval is under
  the baseline rate (a just-started play's 0 of 5 is no evidence).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from accord.plays.ledger import enrolments
from accord.reports.base import Column, Report, Section
from accord.reports.data import ReportData
from accord.reports.stats import wilson
from accord.reports.tiers import default_target


def below_baseline(name: str, converted: int, entered: int, baseline: float | None) -> str | None:
    """A flag when the play converts below the leads outside it beyond doubt: the top of its 95%
    interval under the baseline rate. A play that just started has 0 of a few converted, which is no
    evidence; flagging on the bare rate once called every new play a failure."""
    if not entered or baseline is None:
        return None
    _low, high = wilson(converted, entered)
    if high is None or high >= baseline:
        return None
    return (
        f"{name}: converts at {converted / entered:.1%} (95% interval up to {high:.1%}), below the "
        f"{baseline:.1%} of leads outside it"
    )


def plays(data: ReportData, *, to_stage: str | None = None) -> Report:
    target = data.stage_id(to_stage, "--to-stage") if to_stage else default_target(data)
    mql = data.spec.agreement.mql_stage
    f = data.filters
    keep = data.contacts  # the segment, team and source filters
    every = enrolments(data.ledger, data.as_of)
    names = {p.id: p.name for p in data.spec.plays}
    histories = data.contact_stages
    mql_at = {c: data.reached(h, mql) for c, h in histories.items() if c in keep}
    periodless = f.since is None and f.until is None
    mql_in_period = {c: at for c, at in mql_at.items() if at is not None and (periodless or f.in_period(at))}
    rows: list[list[Any]] = []
    outcome_rows: list[list[Any]] = []
    for play_id in [*names, *sorted({e.play for es in every.values() for e in es} - set(names))]:
        mine = [
            e
            for c, es in every.items()
            if c in keep
            for e in es
            if e.play == play_id and (periodless or f.in_period(e.entered))
        ]
        outcomes = Counter(e.exited[0] for e in mine if e.exited is not None)
        statuses = Counter(s for e in mine for s, _ in e.resolved.values())
        done, missed = statuses.get("done", 0), statuses.get("missed", 0)
        converted = sum(1 for e in mine if data.reached(histories.get(e.contact_id, []), target, e.entered))
        inside = {e.contact_id for es in every.values() for e in es if e.play == play_id}
        base = [c for c in mql_in_period if c not in inside]
        base_converted = sum(1 for c in base if data.reached(histories.get(c, []), target, mql_in_period[c]))
        n, n0 = len(mine), len(base)
        rate = converted / n if n else None
        rate0 = base_converted / n0 if n0 else None
        low, high = wilson(converted, n)
        rows.append(
            [
                play_id,
                names.get(play_id, f"{play_id} (no longer in the spec)"),
                n,
                sum(1 for e in mine if e.active),
                outcomes.get("completed", 0),
                sum(v for k, v in outcomes.items() if k != "completed"),
                done,
                missed,
                done / (done + missed) if done + missed else None,
                converted,
                rate,
                low,
                high,
                n0,
                rate0,
                rate / rate0 if rate is not None and rate0 else None,
            ]
        )
        outcome_rows += [[play_id, outcome, k] for outcome, k in sorted(outcomes.items())]
    summary = Section(
        "plays",
        f"Play performance (conversion to {target})",
        [
            Column("play", "Play"),
            Column("name", "Name"),
            Column("entered", "Entered", "int"),
            Column("running", "Running", "int"),
            Column("completed", "Completed", "int"),
            Column("exited", "Exited early", "int"),
            Column("steps_done", "Steps done", "int"),
            Column("steps_missed", "Steps missed", "int"),
            Column("step_rate", "Steps on time", "share"),
            Column("converted", "Converted", "int"),
            Column("rate", "Conversion", "share"),
            Column("ci_low", "95% CI low", "share"),
            Column("ci_high", "95% CI high", "share"),
            Column("baseline_n", "Not in the play", "int"),
            Column("baseline_rate", "Their conversion", "share"),
            Column("lift", "Lift", "number"),
        ],
        rows,
    )
    summary.notes.append(
        f"Converted: reached {target} at or after entering the play. Baseline: contacts that reached the "
        f"MQL stage ({mql}) in the period without entering the play, converted when they reached {target} "
        "after their MQL entry. Steps on time = done / (done + missed)."
    )
    summary.flags += [flag for r in rows if (flag := below_baseline(r[1], r[9], r[2], r[14])) is not None]
    exits = Section(
        "outcomes",
        "How plays ended",
        [Column("play", "Play"), Column("outcome", "Outcome"), Column("contacts", "Contacts", "int")],
        outcome_rows,
    )
    exits.notes.append("'completed' = every step done or missed before any exit criterion held.")
    return Report(
        "plays",
        "Plays: entered, completed, exits and conversion",
        data.as_of,
        data.filters,
        [summary, exits],
        data.spec.workspace.currency,
    )
