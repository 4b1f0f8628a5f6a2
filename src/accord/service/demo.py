"""The demo world: a workspace filled, derived and ticked, for trying Accord on data that looks real."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from accord.ledger.imports import Stager
from accord.service.derive import run_derive
from accord.service.workspace import Progress, Workspace, init_workspace


@dataclass
class DemoResult:
    workspace: Workspace
    counts: dict[str, int]
    summary: dict[str, int]
    seconds: float
    tick: Any = None


def build_demo(
    root: Path,
    *,
    contacts: int,
    seed: int,
    as_of: datetime,
    force: bool = False,
    progress: Progress | None = None,
    run: bool = True,
) -> DemoResult:
    """A workspace with the starter agreement and a generated B2B world in its ledger.

    With ``run`` (the default) the world is then derived and ticked as of its last instant, as if
    Accord had been running all along: clocks, breaches and escalations are in the ledger too.
    """
    import time

    from accord.demo.world import generate

    say = progress or (lambda _phase, _fraction: None)
    started = time.perf_counter()
    fresh = not root.exists()
    ws = init_workspace(root, force=force, spec_text=dated_agreement(as_of, contacts))
    try:
        share = 0.35 if run else 0.8
        world = generate(
            ws.spec,
            contacts=contacts,
            seed=seed,
            as_of=as_of,
            progress=lambda phase, f: say(phase, share * f),
        )
        tables = world.tables()
        with ws.ledger() as ledger:
            stager = Stager("UTC")
            try:
                for i, (kind, data) in enumerate(tables.items()):
                    say(f"writing {kind}", share + 0.1 * i / len(tables))
                    batch = stager.stage_typed(kind, data, label=f"demo:{kind}")
                    ledger.commit(batch, f"demo_{kind}_{seed}", as_of)
            finally:
                stager.close()
            counts = ledger.counts()
        tick_result = None
        if run:
            run_derive(ws, as_of=as_of, progress=lambda phase, f: say(phase, 0.5 + 0.45 * f))
            from accord.handoffs.tick import tick

            say("ticking clocks", 0.97)
            with ws.ledger() as ledger:
                tick_result = tick(ledger, ws.spec, int(as_of.replace(microsecond=0).timestamp()))
            say("recording reviews", 0.98)
            record_demo_reviews(ws, as_of, seed)
            with ws.ledger() as ledger:
                counts = ledger.counts()
    except BaseException:
        # A half-built demo is worse than none: remove what this call created.
        if fresh:
            shutil.rmtree(root, ignore_errors=True)
        else:
            ws.ledger_path.unlink(missing_ok=True)
            ws.spec_path.unlink(missing_ok=True)
        raise
    say("done", 1.0)
    return DemoResult(ws, counts, world.summary(), time.perf_counter() - started, tick_result)


def dated_agreement(as_of: datetime, contacts: int) -> str:
    """The starter agreement with its plan, forecasts and charter moved into the demo world's year.

    The starter is dated for a team starting next year; a demo ends now, so its plan must cover
    the year the world lives in, with a target of the world's size, or plan-against-actual and the
    scorecard would have nothing to compare.
    """
    import re

    from accord.service.workspace import STARTER_SPEC

    text = STARTER_SPEC.read_text("utf-8")
    year = as_of.year
    quarter = (as_of.month - 1) // 3 + 1
    scale = contacts / 5000
    # The world ramps up over its year, and Marketing forecasts a little higher than Sales.
    marketing, sales = (80, 300, 420, 480), (60, 250, 380, 440)
    forecasts = "".join(
        f"    - {{quarter: {year}-Q{q}, marketing: {round(scale * marketing[q - 1]) * 1000}, "
        f"sales: {round(scale * sales[q - 1]) * 1000}}}\n"
        for q in range(1, quarter + 1)
    )
    edits = (
        (r"(?m)^  start: \d{4}-01-01\n  end: \d{4}-12-31\n  target: \d+$",
         f"  start: {year}-01-01\n  end: {year}-12-31\n  target: {round(scale * 2000) * 1000}"),
        (r"(?m)^  forecasts:\n(    - \{quarter:.*\n)+", f"  forecasts:\n{forecasts}"),
        (r"(?m)^  effective: \d{4}-01-01$", f"  effective: {year}-01-01"),
        (r"(?m)^    start: \d{4}-01-05\n    end: \d{4}-06-30$",
         f"    start: {year}-01-05\n    end: {year}-12-31"),
    )  # fmt: skip
    for pattern, replacement in edits:
        text, n = re.subn(pattern, replacement, text)
        if n != 1:  # the starter changed shape: fail loudly rather than build a demo with a stale plan
            raise RuntimeError(f"demo: starter spec has no unique match for {pattern!r}")
    return text


def record_demo_reviews(ws: Workspace, as_of: datetime, seed: int) -> None:
    """One mid-campaign retrospective with owned actions (one done) and a few loss interviews, so the
    reports and the dashboard show joint reviews; chosen by the seed (accord.demo.reviews)."""
    from datetime import UTC, time, timedelta
    from zoneinfo import ZoneInfo

    from accord.demo.reviews import ANSWERS, interview_picks, retro_plan
    from accord.reports.base import Filters
    from accord.reports.data import ReportData
    from accord.service.retros import close_action, record_interview, record_retro

    spec = ws.spec
    zone = ZoneInfo(spec.workspace.timezone)
    today = as_of.astimezone(zone).date()
    facilitator = next((p for p, person in spec.people.items() if person.role == "revops"), None)
    for cid, charter in list(spec.campaigns.items())[:1]:
        owners = [charter.owner, *(r.accountable for r in charter.raci if r.accountable in spec.people)]
        plan = retro_plan(seed, charter.start, min(today, charter.end), list(dict.fromkeys(owners)))
        if plan is None:
            continue
        held = datetime.combine(plan.held, time(15), zone)
        changes = [f"{text}; owner={owner}; due={due}" for text, owner, due in plan.changes]
        done = record_retro(ws, cid, milestone="mid-campaign", worked=plan.worked, stalled=plan.stalled,
                            changes=changes, by=facilitator or charter.owner, now=held)  # fmt: skip
        for i in plan.done:
            action = done.actions[i]
            close_action(ws, action.action_id, note="Done and announced in the weekly huddle",
                         by=action.owner, now=held + timedelta(days=10))  # fmt: skip
    if facilitator is None:
        return
    reasons = {r.id: r.pattern for r in spec.loss_reasons}
    since = int((as_of - timedelta(days=180)).timestamp())
    with ws.ledger(read_only=True) as ledger:
        opps = ReportData(ledger, spec, Filters(), as_of=int(as_of.timestamp())).all_opportunities
    lost = sorted(o.opportunity_id for o in opps.values()
                  if o.is_closed and not o.is_won and (o.closed_at or 0) >= since)  # fmt: skip
    for oid in interview_picks(seed, lost):
        deal = opps[oid]
        area = reasons.get(deal.loss_reason or "")
        answers = ANSWERS.get(area or "", ANSWERS["qualification"])
        held = min(datetime.fromtimestamp(deal.closed_at or 0, UTC) + timedelta(days=7), as_of)
        record_interview(ws, oid, by=facilitator, answers=answers, area=area if area in ANSWERS else None,
                         now=held)  # fmt: skip
