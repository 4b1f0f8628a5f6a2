"""Page models for the report pages: pipeline review, content, campaigns, the diagnostic, any report.

Each page is one ``service.report`` call; this module only chooses what to show first (a strip of
headline numbers, a chart) and hands the sections to the generic table renderer. Person ids become
names and stage ids become the spec's stage names, because the reader knows "Rosa Delgado" and
"Qualification", not ``rosa`` and ``qualification``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from markupsafe import Markup

from accord import service
from accord.reports.base import Filters, Report, fmt
from accord.reports.params import POSITIVE
from accord.reports.params import kwarg as params_kwarg
from accord.reports.registry import REPORTS
from accord.web import charts
from accord.web.tables import TableView, table

PERSON_COLUMNS = {"owner", "person", "by", "manager"}
NUMERIC_OPTIONS = {"horizon", "threshold", "window"}
OPTION_HELP = {
    "funnel": "by = source, segment, tier, team, owner or cohort_month; stages by id or name; horizon: days",
    "tiers": "to stage by id or name; horizon in days",
    "deals": "by = owner, manager, team, segment, source, product or quarter",
    "pipeline": "threshold = the deal size reviewed one by one",
    "attribution": "window = days before a deal's creation a marketing touch counts",
    "campaigns": "campaign = one charter's id",
}
"""What each report's options accept, said once next to the fields."""


def tables(ws: service.Workspace, report: Report, *, skip: set[str] | None = None) -> list[TableView]:
    """Every section of a report as display tables, with people and stages named as the spec names them."""
    out = []
    for section in report.sections:
        if skip and section.key in skip:
            continue
        out.append(named(ws, section.key, table(section, report.currency), [c.key for c in section.columns]))
    return out


def named(ws: service.Workspace, key: str, view: TableView, columns: list[str]) -> TableView:
    """Swap person ids and stage ids for their names in the columns that hold them."""
    spec = ws.spec
    people = {pid: p.name for pid, p in spec.people.items()}
    roles = {r.id: r.label for r in spec.buying_committee}
    stages = {s.id: s.name for s in spec.journey.stages}
    if spec.pipeline:
        stages.update({s.id: s.name for s in spec.pipeline.stages})
    for row in view.rows:
        for i, col in enumerate(columns):
            if i >= len(row):
                break
            text = row[i].text
            if col in PERSON_COLUMNS and text in people:
                row[i] = replace(row[i], text=people[text])
            elif col in ("stage", "entry_state", "from_stage", "to_stage") and text in stages:
                row[i] = replace(row[i], text=stages[text])
            elif col in ("role", "committee_role") and text in roles:
                row[i] = replace(row[i], text=roles[text])
    return view


# ---- pipeline review -----------------------------------------------------------------------------


def pipeline(ws: service.Workspace, filters: Filters) -> tuple[list[tuple[str, str, str]], list[TableView]]:
    report = service.report(ws, "pipeline", filters)
    delta = {r[0]: r for r in report.section("forecast_delta").rows}
    end = delta.get("Open pipeline at the end")
    net = delta.get("Net change")
    money = report.currency
    stalled = report.section("stalled").rows
    over = report.section("over_threshold").rows
    flagged = sum(1 for r in over if r[-1])
    strip = [
        ("Open pipeline", fmt(end[2], "money", money) if end else "n/a",
         f"{end[1]} deals · weighted {fmt(end[3], 'money', money)}" if end else ""),
        ("Net change in the period" if filters.since is not None or filters.until is not None
         else "Net change this week", fmt(net[2], "money", money) if net else "n/a",
         f"{net[1]:+d} deals" if net else ""),
        ("Deals over threshold", str(len(over)), f"{flagged} with a flag to clear"),
        # the flag is "an owner and a dated next action, not overdue": most miss the date, not the owner
        ("Stalled deals", str(len(stalled)),
         f"{sum(1 for r in stalled if not r[-1])} without an owner and a dated next action"),
    ]  # fmt: skip
    return strip, tables(ws, report)


# ---- content ---------------------------------------------------------------------------------------


@dataclass
class Matrix:
    title: str
    roles: list[str]
    rows: list[tuple[str, list[int], int]]
    flags: list[str]
    notes: list[str]


def content(
    ws: service.Workspace, filters: Filters
) -> tuple[list[tuple[str, str, str]], Matrix, TableView, TableView]:
    report = service.report(ws, "content", filters)
    section = report.section("gap_matrix")
    stages = {s.id: s.name for s in ws.spec.journey.stages}
    roles = [c.label for c in section.columns[1:-1]]
    rows = [(stages.get(r[0], r[0]), [int(n) for n in r[1:-1]], int(r[-1])) for r in section.rows]
    matrix = Matrix(section.title, roles, rows, list(section.flags), list(section.notes))
    active = report.section("active_deals").rows[0]
    retire_section = report.section("retire")
    retire = named(
        ws, "retire", table(retire_section, report.currency), [c.key for c in retire_section.columns]
    )
    per_asset = report.section("utilization")
    utilization = named(
        ws, "utilization", table(per_asset, report.currency), [c.key for c in per_asset.columns]
    )
    gaps = sum(r[2] for r in rows)
    strip = [
        (
            "Active-deal utilization",
            charts.pct(active[2]),
            f"{active[1]} of {active[0]} open deals used a mapped asset",
        ),
        ("Gaps in the map", str(gaps), f"of {len(rows) * len(roles)} stage × role cells"),
        ("Retire list", str(len(report.section("retire").rows)), "live assets unused in deals"),
        ("Assets", str(len(per_asset.rows)), f"{sum(1 for r in per_asset.rows if r[5])} live"),
    ]
    return strip, matrix, retire, utilization


# ---- campaigns -------------------------------------------------------------------------------------


@dataclass
class CampaignView:
    id: str
    name: str
    chart: Markup | None
    scorecard: TableView
    others: list[TableView]


def campaigns(ws: service.Workspace, filters: Filters) -> list[CampaignView]:
    report = service.report(ws, "campaigns", filters)
    out: dict[str, CampaignView] = {}
    for section in report.sections:
        cid, _, part = section.key.partition(".")
        spec_campaign = ws.spec.campaigns.get(cid)
        name = spec_campaign.name if spec_campaign else cid
        view = out.setdefault(cid, CampaignView(cid, name, None, TableView("", "", [], []), []))
        shown = named(ws, section.key, table(section, report.currency), [c.key for c in section.columns])
        title = shown.title.removeprefix(f"{name}: ")
        shown.title = title[:1].upper() + title[1:]
        if part == "scorecard":
            view.scorecard = shown
            view.chart = _campaign_chart(section.records())
        else:
            view.others.append(shown)
    return list(out.values())


def _campaign_chart(records: list[dict[str, Any]]) -> Markup:
    tones = {"met": "fill-ok", "on pace": "fill-2", "behind pace": "fill-warn", "missed": "fill-bad"}
    items = [
        charts.Bar(
            r["result"],
            r["progress"],
            note=f"{r['status']}: {r['actual']:,.0f} of {r['target']:,.0f}"
            if r["actual"] is not None and r["target"]
            else r["status"],
            tone=tones.get(str(r["status"]), "fill-1"),
        )
        for r in records
    ]
    top = max([1.0, *(r["progress"] or 0 for r in records)])
    return charts.bars(
        items,
        title="Progress of each key result towards its target",
        fmt=lambda v: charts.pct(v, 0),
        reference=("target", 1.0),
        maximum=top * 1.05,
        width=1000,
    )


# ---- diagnostic ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuestionView:
    number: int
    step: str
    text: str
    yours: int | None
    data: str
    evidence: str


@dataclass(frozen=True)
class ScoreView:
    basis: str
    total: int
    band: str
    step: int
    advice: str


def diagnostic(
    ws: service.Workspace, filters: Filters, answers: dict[str, int] | None
) -> tuple[list[QuestionView], list[ScoreView], list[str], list[str]]:
    report = service.report(ws, "diagnostic", filters, answers=answers)
    questions = [
        QuestionView(
            int(r["number"]),
            r["step"],
            r["question"],
            (answers or {}).get(f"q{r['number']}"),
            str(r["data"]),
            r["evidence"],
        )
        for r in report.section("questions").records()
    ]
    score = report.section("score")
    scores = [ScoreView(r["basis"], r["total"], r["band"], r["step"], r["advice"]) for r in score.records()]
    notes = [n for n in score.notes if not n.startswith("No answers given")]
    if answers is None:
        unmeasured = [q.number for q in questions if q.data == "not measurable"]
        notes.insert(
            0,
            "No answers yet, so this is the data's score: "
            + ", ".join(f"Q{n}" for n in unmeasured)
            + " cannot be read from the data and count 0. Answer all ten for your score beside it.",
        )
    return questions, scores, list(report.section("questions").flags), notes


def question_stubs(ws: service.Workspace, filters: Filters, given: dict[str, int]) -> list[QuestionView]:
    """The questions with the answers given so far, for re-showing an incomplete form."""
    questions, _, _, _ = diagnostic(ws, filters, None)
    return [replace(q, yours=given.get(f"q{q.number}")) for q in questions]


# ---- any report --------------------------------------------------------------------------------------


def report_options(name: str, params: dict[str, str]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The options a report takes, read from the query string (numbers where the report wants them).

    Returns the builder's keywords (``horizon_days``) and the fields as the page names them
    (``horizon``); the old spellings ``horizon_days`` and ``window_days`` are still read, so links
    made before the names were unified keep working.
    """
    from accord.errors import ReportError

    definition = REPORTS[name]
    options: dict[str, Any] = {}
    shown: list[tuple[str, str]] = []
    for opt in definition.options:
        if opt == "answers":
            continue
        text = (params.get(opt) or params.get(params_kwarg(opt)) or "").strip()
        shown.append((opt, text))
        if not text:
            continue
        if opt in NUMERIC_OPTIONS:
            try:
                number = float(text)
            except ValueError:
                raise ReportError(
                    f"{opt}: '{text}' is not a number", hint="write a number, e.g. 30"
                ) from None
            if not math.isfinite(number) or (opt in POSITIVE and number <= 0) or number < 0:
                raise ReportError(
                    f"{opt}: {text} is not a positive number" + (" of days" if opt in POSITIVE else ""),
                    hint="write a number above zero, e.g. 30",
                )
            options[params_kwarg(opt)] = number
        else:
            options[opt] = text
    return options, shown
