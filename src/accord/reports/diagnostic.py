"""The 0-20 alignment diagnostic: ten questions, scored by the leaders and, where it can, by the data.

Leaders answer each question 0 (no), 1 (partly) or 2 (yes); the total says which step of the six-step
alignment model to fix first. Seven questions can also be answered from the spec and the ledger, so
the report puts the data's answer beside the leaders' and flags the two-point disagreements: those
are the conversations worth having.

Definitions (docs/metrics.md, "Diagnostic"); the period is --from/--to, else the last 90 days:
- Q1: 2 when the spec names the MQL and acceptance stages and every governance owner signed the
  version in force (`agreement_signed`, see the agreement report); 1 when written but not signed by all.
- Q2: first-touch and disposition SLA compliance against the agreement's compliance target: 2 both
  meet it, 1 one does, 0 neither; at most 1 when the SLA targets are looser than 1 business hour / 48h.
- Q3: 2 a revenue plan with a target and a quarter forecast from both teams, 1 a plan without one.
- Q5: live assets mapped to a known stage and a known committee role: 100% -> 2, >= 50% -> 1.
- Q6: content_shared / content_viewed events naming an asset and a deal: 2 when one falls within the
  retire window (content.retire_after, in force even as Accord's default) and no live asset is past
  the rule (the content report's retire list is empty), 1 when uses are older or assets await
  retirement, 0 never.
- Q8: stalled open deals (no stage movement for pipeline.stalled_after) with an owner and a next
  action dated today or later, as the pipeline review counts them: 100% -> 2, >= 50% -> 1; none -> 2.
- Q9 (proxy): deals lost in the period that carry a loss reason: 100% -> 2, >= 50% -> 1.
- Q4, Q7, Q10 are not in the data; the evidence column says what the spec sets around them.
Bands: 16-20 step 6, 10-15 step 3, 5-9 step 2, 0-4 step 1.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from accord.handoffs.report import sla_report
from accord.reports.agreement import day_text, pct, period, sign_offs, span, version_text
from accord.reports.base import Column, Filters, Report, Section
from accord.reports.commitments import sla_line
from accord.reports.content import retire_list
from accord.reports.data import DAY, ReportData, ts
from accord.reports.questionnaire import QUESTIONS, STEPS, band, parse_answers

NOT_MEASURABLE = "not measurable"
DAY_NAMES = {
    "mon": "Monday", "tue": "Tuesday", "wed": "Wednesday", "thu": "Thursday", "fri": "Friday",
    "sat": "Saturday", "sun": "Sunday",
}  # fmt: skip

# ---- what the data says -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    score: int | None  # None = not measurable
    evidence: str


def _graded(share: float) -> int:
    return 2 if share >= 1.0 else 1 if share >= 0.5 else 0


def _q1(data: ReportData, _label: str) -> Finding:
    spec = data.spec
    stages = {s.id: s for s in spec.journey.stages}
    mql, sal = stages.get(spec.agreement.mql_stage), stages.get(spec.agreement.accepted_stage)
    if mql is None or sal is None:
        return Finding(0, "the agreement names no MQL or no acceptance stage")
    zone = ZoneInfo(spec.workspace.timezone)
    offs = sign_offs(data)
    said = []
    for o in offs:
        who = data.name_of(o.person) or o.person
        if o.status == "signed":
            said.append(f"{who} signed on {day_text(o.signed_at, zone)}")
        elif o.status == "signed an earlier version":
            said.append(f"{who} signed an earlier version ({o.version or 'unstated'})")
        else:
            said.append(f"{who} has not signed")
    signed = all(o.status == "signed" for o in offs)
    return Finding(
        2 if signed else 1,
        f"written: MQL = entering {mql.name} ({mql.entry}), accepted = {sal.name}; "
        f"{version_text(spec)}: " + ", ".join(said),
    )


def _q2(data: ReportData, label: str) -> Finding:
    spec = data.spec
    since, until, _ = period(data, 90)
    report = sla_report(data.ledger, spec, data.as_of, since, until)
    sales = spec.agreement.sales
    bar = sales.first_touch_compliance
    touch, disp = spec.slas.get(sales.first_touch_sla), spec.slas.get(sales.disposition_sla)
    ft, ft_met, ft_breached = sla_line(report, sales.first_touch_sla)
    dp, dp_met, dp_breached = sla_line(report, sales.disposition_sla)
    if ft is None and dp is None:
        return Finding(None, f"no first-touch or disposition clock resolved in {label}")
    parts = [
        "first-touch compliance " + ("n/a" if ft is None else f"{pct(ft)} of {ft_met + ft_breached} clocks")
        + f" (target {pct(bar)}"
        + (f", within {span(touch.target, touch.clock == 'business')})" if touch else ")"),
        "disposition " + ("n/a" if dp is None else f"{pct(dp)} of {dp_met + dp_breached} clocks")
        + (f" (within {span(disp.target, disp.clock == 'business')})" if disp else ""),
    ]  # fmt: skip
    met = sum(1 for x in (ft, dp) if x is not None and x >= bar)
    score = 2 if met == 2 else 1 if met == 1 else 0
    looser = []
    if touch is not None and touch.target.total_seconds() > 3600:
        looser.append("the first-touch SLA allows more than one hour")
    if disp is not None and disp.target.total_seconds() > 48 * 3600:
        looser.append("the disposition SLA allows more than 48 hours")
    if looser and score == 2:
        score = 1
    return Finding(score, ", ".join(parts) + f" in {label}" + ("; " + "; ".join(looser) if looser else ""))


def _q3(data: ReportData, _label: str) -> Finding:
    plan = data.spec.revenue_plan
    if plan is None:
        return Finding(0, "the spec has no revenue plan")
    money = f"{data.spec.workspace.currency} {plan.target:,.0f}"
    head = f"one plan: target {money} for {plan.start} to {plan.end}, coverage {plan.coverage:g}x"
    both = [f.quarter for f in plan.forecasts if f.marketing > 0 and f.sales > 0]
    if both:
        return Finding(2, f"{head}; forecasts from both teams for {', '.join(both)}")
    return Finding(1, f"{head}; no quarter has a forecast from both teams")


def _q4(data: ReportData, _label: str) -> Finding:
    plan = data.spec.revenue_plan
    aims = []
    if plan is not None and plan.sourced_share is not None:
        aims.append(f"{pct(plan.sourced_share)} sourced")
    if plan is not None and plan.influenced_share is not None:
        aims.append(f"{pct(plan.influenced_share)} influenced")
    if aims:
        return Finding(
            None, f"the plan aims Marketing at {' and '.join(aims)} revenue; pay is not in the data"
        )
    return Finding(None, "pay plans are not in the data")


def _q5(data: ReportData, _label: str) -> Finding:
    spec = data.spec
    assets = [
        r
        for r in data.query(
            "SELECT content_id, stage, committee_role, created_at, retired_at FROM content_assets"
        )
        if (ts(r["created_at"]) or 0) <= data.as_of
        and (r["retired_at"] is None or (ts(r["retired_at"]) or 0) > data.as_of)
    ]
    if not assets:
        return Finding(None, "no live content assets in the ledger (import the content table)")
    stages, roles = set(spec.stage_ids()), {r.id for r in spec.buying_committee}
    mapped = sum(1 for r in assets if r["stage"] in stages and r["committee_role"] in roles)
    share = mapped / len(assets)
    return Finding(
        _graded(share),
        f"{mapped} of {len(assets)} live assets ({pct(share)}) mapped to a known stage and committee role",
    )


def _q6(data: ReportData, _label: str) -> Finding:
    window = data.spec.content.retire_after
    days = int(window.total_seconds() // DAY)
    [row] = data.query(
        "SELECT count(*) AS n, count(DISTINCT opportunity_id) AS deals, "
        "count(*) FILTER (WHERE occurred_at >= to_timestamp(?)) AS recent, "
        "count(DISTINCT opportunity_id) FILTER (WHERE occurred_at >= to_timestamp(?)) AS recent_deals "
        "FROM events WHERE type IN ('content_shared', 'content_viewed') "
        "AND content_id IS NOT NULL AND opportunity_id IS NOT NULL "
        "AND occurred_at <= to_timestamp(?)",
        [data.as_of - window.total_seconds(), data.as_of - window.total_seconds(), data.as_of],
    )
    explicit = "retire_after" in data.spec.content.model_fields_set
    rule = f"assets unused in deals for {days} days are retired" + ("" if explicit else " (Accord's default)")
    if not row["n"]:
        return Finding(0, f"no content use recorded on any deal; {rule}")
    whole = data if data.filters == Filters() else ReportData(data.ledger, data.spec, Filters())
    due = sorted(a.content_id for a in retire_list(whole))
    if due:  # the content report lists them: the rule is written, not applied
        shown = ", ".join(due[:5]) + (f" and {len(due) - 5} more" if len(due) > 5 else "")
        rule += f", yet {len(due)} live assets are past it (the content report's retire list: {shown})"
    if row["recent"]:
        return Finding(
            1 if due else 2,
            f"{row['recent']} content uses on {row['recent_deals']} deals in the last {days} days; {rule}",
        )
    return Finding(
        1, f"{row['n']} content uses on {row['deals']} deals, none in the last {days} days; {rule}"
    )


def _q7(data: ReportData, _label: str) -> Finding:
    p = data.spec.pipeline
    return Finding(
        None,
        f"the spec sets a {p.review_minutes}-minute review every {DAY_NAMES[p.review_day]} for deals of "
        f"{data.spec.workspace.currency} {p.deal_threshold:,.0f} or more; who attends is not in the data",
    )


def _q8(data: ReportData, _label: str) -> Finding:
    after = data.spec.pipeline.stalled_after.total_seconds()
    days = int(after // DAY)
    stalled = [
        o
        for o in data.opportunities.values()
        if not o.is_closed and o.stage_since is not None and data.as_of - o.stage_since >= after
    ]
    if not stalled:
        return Finding(2, f"no open deal has gone {days} days without moving stage")
    today = datetime.fromtimestamp(data.as_of, UTC).astimezone(ZoneInfo(data.spec.workspace.timezone)).date()
    lacking = [
        o.opportunity_id
        for o in stalled
        if not (o.owner and o.next_action and o.next_action_due is not None and o.next_action_due >= today)
    ]
    share = (len(stalled) - len(lacking)) / len(stalled)
    text = (
        f"{len(stalled) - len(lacking)} of {len(stalled)} deals stalled {days}+ days ({pct(share)}) have an "
        "owner and a next action dated today or later"
    )
    if lacking:
        more = f" and {len(lacking) - 3} more" if len(lacking) > 3 else ""
        text += f"; lacking: {', '.join(lacking[:3])}{more}"
    return Finding(_graded(share), text)


def _q9(data: ReportData, label: str) -> Finding:
    since, until, _ = period(data, 90)
    lost = [
        o
        for o in data.opportunities.values()
        if o.is_closed and not o.is_won and o.closed_at is not None and since <= o.closed_at < until
    ]
    if not lost:
        return Finding(None, f"no deal lost in {label}")
    with_reason = sum(1 for o in lost if o.loss_reason)
    share = with_reason / len(lost)
    return Finding(
        _graded(share),
        f"proxy: {with_reason} of {len(lost)} deals lost in {label} ({pct(share)}) carry a loss reason; "
        "reasons feed a loss review but do not show one was held",
    )


def _q10(data: ReportData, _label: str) -> Finding:
    owner = data.spec.governance.dashboard_owner
    who = f"the spec names {data.name_of(owner)} as dashboard owner; " if owner else ""
    return Finding(None, f"{who}which dashboards people use is not in the data")


FINDINGS: dict[int, Callable[[ReportData, str], Finding]] = {
    1: _q1, 2: _q2, 3: _q3, 4: _q4, 5: _q5, 6: _q6, 7: _q7, 8: _q8, 9: _q9, 10: _q10,
}  # fmt: skip


# ---- the report -----------------------------------------------------------------------------------


def diagnostic(data: ReportData, *, answers: Mapping[Any, Any] | None = None) -> Report:
    yours = parse_answers(dict(answers), "answers") if answers is not None else None
    _, _, label = period(data, 90)
    findings = {q.number: FINDINGS[q.number](data, label) for q in QUESTIONS}
    rows: list[list[Any]] = []
    flags: list[str] = []
    for q in QUESTIONS:
        found = findings[q.number]
        mine = yours[q.number] if yours else None
        says: int | str = NOT_MEASURABLE if found.score is None else found.score
        rows.append([q.number, f"{q.step}. {STEPS[q.step]}", q.text, mine, says, found.evidence])
        if mine is not None and found.score is not None and abs(mine - found.score) == 2:
            flags.append(
                f"Q{q.number}: you answered {mine}, the data says {found.score} ({found.evidence}). "
                "Settle which is right before acting on the score."
            )
    questions = Section(
        "questions",
        "The ten questions",
        [
            Column("number", "Q", "int"),
            Column("step", "Step"),
            Column("question", "Question"),
            Column("yours", "Your answer"),
            Column("data", "What the data says"),
            Column("evidence", "Evidence"),
        ],
        rows,
        flags=flags,
    )
    questions.notes.append(
        f"Answers: 0 = no, 1 = partly, 2 = yes. The data covers {label} where a period matters; "
        "Q9 is a proxy. Q4, Q7 and Q10 cannot be read from the spec or the ledger."
    )
    data_total = sum(f.score or 0 for f in findings.values())
    unmeasured = [f"Q{n}" for n, f in findings.items() if f.score is None]
    score_rows: list[list[Any]] = []
    if yours is not None:
        score_rows.append(_score_row("your answers", sum(yours.values())))
    score_rows.append(_score_row("what the data says", data_total))
    score = Section(
        "score",
        "Score and the step to fix first",
        [
            Column("basis", "Basis"),
            Column("total", "Total (0-20)", "int"),
            Column("band", "Band"),
            Column("step", "Fix first: step", "int"),
            Column("advice", "What to do"),
        ],
        score_rows,
    )
    if yours is None:
        score.notes.append(
            f"No answers given, so the score is the data's: {', '.join(unmeasured) or 'no question'} "
            "count 0. Answer all ten with --answers FILE or --interactive for the full score."
        )
    else:
        score.notes.append(
            f"The first line is the leaders' score; the second counts only what the data can answer "
            f"({', '.join(unmeasured) or 'none'} count 0 there)."
        )
    score.notes.append(
        "Bands: 16-20 step 6 (governance), 10-15 step 3 (one revenue plan), 5-9 step 2 (written SLA), "
        "0-4 step 1 (demand states). The six steps: "
        + "; ".join(f"{n}. {name}" for n, name in STEPS.items())
        + "."
    )
    return Report(
        "diagnostic",
        "Alignment diagnostic (0-20)",
        data.as_of,
        data.filters,
        [questions, score],
        data.spec.workspace.currency,
    )


def _score_row(basis: str, total: int) -> list[Any]:
    name, step, advice = band(total)
    return [basis, total, name, step, f"step {step}, {STEPS[step]}: {advice}"]
