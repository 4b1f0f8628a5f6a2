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
  retire window (content.retire_after, in force even as Accord's default), 1 only earlier, 0 never.
- Q8: stalled open deals (no stage movement for pipeline.stalled_after) with an owner and a next
  action dated today or later, as the pipeline review counts them: 100% -> 2, >= 50% -> 1; none -> 2.
- Q9 (proxy): deals lost in the period that carry a loss reason: 100% -> 2, >= 50% -> 1.
- Q4, Q7, Q10 are not in the data; the evidence column says what the spec sets around them.
Bands: 16-20 step 6, 10-15 step 3, 5-9 step 2, 0-4 step 1.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

import yaml
from rich.console import Console
from rich.prompt import IntPrompt, InvalidResponse

from accord.errors import ReportError
from accord.handoffs.report import sla_report
from accord.reports.agreement import day_text, pct, period, sign_offs, sla_line, span, version_text
from accord.reports.base import Column, Report, Section
from accord.reports.data import DAY, ReportData, ts
from accord.spec.rules import suggest

NOT_MEASURABLE = "not measurable"
DAY_NAMES = {
    "mon": "Monday", "tue": "Tuesday", "wed": "Wednesday", "thu": "Thursday", "fri": "Friday",
    "sat": "Saturday", "sun": "Sunday",
}  # fmt: skip
MAX_TRIES = 5

STEPS: dict[int, str] = {
    1: "demand states with named owners",
    2: "a written, signed SLA",
    3: "one revenue plan",
    4: "shared pipeline reviews",
    5: "content mapped and tracked",
    6: "loss reviews and governance",
}
"""The six-step alignment model, in the order it is built."""


@dataclass(frozen=True)
class Question:
    number: int
    text: str
    step: int
    measurable: bool
    how: str  # how the data answers it, or why it cannot


QUESTIONS: tuple[Question, ...] = (
    Question(1, "Have both leaders signed one written definition of when a lead becomes an MQL and "
                "when Sales has accepted it?", 2, True,
             "the agreement's MQL and acceptance stages, and an agreement_signed event from every "
             "governance owner for the version in force"),
    Question(2, "Do reps make first contact within one business hour, and give their accept-or-reject "
                "verdict within 48 hours?", 2, True,
             "first-touch and disposition SLA compliance against the agreement's target"),
    Question(3, "Is there a single revenue plan that sets the pipeline and revenue numbers for "
                "Marketing and Sales alike?", 3, True,
             "the spec's revenue plan: a target, and quarter forecasts from both teams"),
    Question(4, "Is part of Marketing's pay tied to revenue it sources or influences, rather than to "
                "lead counts alone?", 3, False, "pay plans are not in the spec or the ledger"),
    Question(5, "Is each sales and marketing asset tagged with the journey stage and the buyer role "
                "it serves?", 5, True,
             "share of live content assets with a known stage and a known committee role"),
    Question(6, "Can you see which assets reps use in open deals, and do unused assets get retired by "
                "rule?", 5, True, "content-use events on opportunities, and the retire rule"),
    Question(7, "Every week, do both leaders go through each deal above an agreed size together?", 4,
             False, "who attends the review is not in the ledger"),
    Question(8, "When a deal stops moving, is one person answerable for it, with a next step and a date "
                "on it?", 4, True,
             "share of stalled open deals with an owner and a dated next action"),
    Question(9, "Once a quarter, do both teams study lost deals together and change the plan, process "
                "or content as a result?", 6, True,
             "proxy: share of recently lost deals that carry a loss reason"),
    Question(10, "Do both teams read their numbers from the same revenue dashboard, with no rival "
                 "spreadsheet or report?", 3, False, "which dashboards people use is not in the ledger"),
)  # fmt: skip

BANDS: tuple[tuple[int, str, int, str], ...] = (
    (
        16,
        "Largely aligned",
        6,
        "keep it that way: hold the governance cadence and the quarterly loss reviews",
    ),
    (10, "Ownership is only partly shared", 3, "build one revenue plan that both teams carry"),
    (5, "The handoff leaks", 2, "write the SLA at the MQL boundary and have both leaders sign it"),
    (0, "Misalignment is structural", 1, "start again from demand states, each with a named owner"),
)
"""(lowest total, band, step to fix first, what that means), highest band first."""

ANSWERS_HINT = (
    "write one line per question, q1: 2 ... q10: 0 (0 = no, 1 = partly, 2 = yes), "
    "or a list of 10 numbers; or answer here with --interactive"
)


def band(total: int) -> tuple[str, int, str]:
    """(band, step to fix first, advice) for a total of 0-20."""
    for low, name, step, advice in BANDS:
        if total >= low:
            return name, step, advice
    raise ValueError(f"a total of {total} is outside 0-20")


# ---- answers: from a file, or asked ----------------------------------------------------------------


def _number(key: object) -> int | None:
    if isinstance(key, bool):
        return None
    if isinstance(key, int):
        return key if 1 <= key <= 10 else None
    match = re.fullmatch(r"q?(\d{1,2})", str(key).strip().lower())
    if match and 1 <= int(match.group(1)) <= 10:
        return int(match.group(1))
    return None


def parse_answers(raw: object, source: str) -> dict[int, int]:
    """Answers from a mapping (q1: 2 ...) or a list of 10; every problem named in one error."""
    if isinstance(raw, list):
        if len(raw) != 10:
            raise ReportError(
                f"{source}: a list of answers needs 10 numbers, got {len(raw)}", hint=ANSWERS_HINT
            )
        items: list[tuple[str, int, object]] = [(f"q{i} (item {i})", i, v) for i, v in enumerate(raw, 1)]
        problems: list[str] = []
    elif isinstance(raw, Mapping):
        items, problems = [], []
        for key, value in raw.items():
            n = _number(key)
            if n is None:
                near = suggest(str(key), [f"q{i}" for i in range(1, 11)])
                problems.append(f"unknown key '{key}'" + (f" (did you mean '{near}'?)" if near else ""))
            else:
                items.append((str(key), n, value))
    else:
        raise ReportError(
            f"{source}: expected a mapping (q1: 2 ... q10: 0) or a list of 10 numbers", hint=ANSWERS_HINT
        )
    out: dict[int, int] = {}
    seen: set[int] = set()
    for label, n, value in items:
        if n in seen:
            problems.append(f"q{n} is given twice")
            continue
        seen.add(n)
        if isinstance(value, bool):
            problems.append(f"{label}: a yes/no value is not an answer (allowed: 0, 1 or 2)")
            continue
        if not isinstance(value, int) or value not in (0, 1, 2):
            problems.append(f"{label}: {value!r} is not an answer (allowed: 0, 1 or 2)")
            continue
        out[n] = value
    missing = [f"q{n}" for n in range(1, 11) if n not in seen]
    if missing:
        problems.append("missing " + ", ".join(missing))
    if problems:
        raise ReportError(f"{source}: " + "; ".join(problems), hint=ANSWERS_HINT)
    return out


def load_answers(path: Path) -> dict[int, int]:
    """The leaders' answers from a YAML or JSON file (JSON when the name ends in .json)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReportError(f"{path}: no such answers file", hint=ANSWERS_HINT) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportError(f"{path}: cannot read the answers file ({exc})", hint=ANSWERS_HINT) from None
    try:
        raw: Any = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise ReportError(
            f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})", hint=ANSWERS_HINT
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ReportError(f"{path}: not valid YAML{where}", hint=ANSWERS_HINT) from None
    if raw is None:
        raise ReportError(f"{path}: the answers file is empty", hint=ANSWERS_HINT)
    return parse_answers(raw, str(path))


class _AnswerPrompt(IntPrompt):
    """0, 1 or 2, asked again on anything else, a few times at most (input may be a pipe)."""

    validate_error_message = "[prompt.invalid]Answer 0 (no), 1 (partly) or 2 (yes)"
    illegal_choice_message = "[prompt.invalid]Answer 0 (no), 1 (partly) or 2 (yes)"
    failures = 0

    @classmethod
    def get_input(cls, console: Console, prompt: Any, password: bool, stream: TextIO | None = None) -> str:
        line = console.input(prompt, password=password, stream=stream)
        if stream is not None and line == "":
            raise EOFError  # a stream at its end reads "", which would otherwise be asked forever
        return line

    def on_validate_error(self, value: str, error: InvalidResponse) -> None:
        self.failures += 1
        if self.failures >= MAX_TRIES:
            raise EOFError
        super().on_validate_error(value, error)


def ask(console: Console, *, stream: TextIO | None = None) -> dict[int, int]:
    """Ask the ten questions on the console; re-asks on anything but 0, 1 or 2."""
    console.print("[bold]Alignment diagnostic[/bold]: answer 0 (no), 1 (partly) or 2 (yes).")
    answers: dict[int, int] = {}
    for q in QUESTIONS:
        console.print(f"\n[bold]Q{q.number}[/bold] [dim](step {q.step}: {STEPS[q.step]})[/dim]")
        prompt = _AnswerPrompt(q.text, console=console, choices=["0", "1", "2"])
        try:
            answers[q.number] = int(prompt(stream=stream))
        except EOFError:
            raise ReportError(
                f"no valid answer to Q{q.number}",
                hint="answer each question 0, 1 or 2, or pass --answers FILE",
            ) from None
    return answers


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
    if row["recent"]:
        return Finding(
            2, f"{row['recent']} content uses on {row['recent_deals']} deals in the last {days} days; {rule}"
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
