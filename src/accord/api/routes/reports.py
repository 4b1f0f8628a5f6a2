"""``GET /reports`` and ``GET /reports/{name}``: every report as ``Report.to_dict()``, as the CLI's JSON."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Query

from accord import service
from accord.api.deps import require, workspace
from accord.api.permissions import Action, Principal
from accord.errors import ReportError
from accord.reports.base import Filters
from accord.reports.registry import REPORTS

router = APIRouter(tags=["reports"])
reader = require(Action.read)


def _day(value: date | None, zone: ZoneInfo, *, end: bool = False) -> int | None:
    """A calendar day in the workspace's zone; ``to`` is inclusive, so it ends at the next midnight."""
    if value is None:
        return None
    day = value + timedelta(days=1) if end else value
    return int(datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC).timestamp())


def _answers(text: str | None) -> dict[int, int] | None:
    if text is None:
        return None
    from accord.reports.questionnaire import parse_answers

    raw: Any
    try:
        raw = json.loads(text)
    except json.JSONDecodeError:
        raw = {}
        for part in filter(None, text.split(",")):
            name, _, value = part.partition(":")
            raw[name.strip()] = int(value) if value.strip().isdigit() else value.strip()
    return parse_answers(raw, "answers")


@router.get("/reports", summary="Every report with its options")
def list_reports(who: Principal = Depends(reader)) -> dict[str, Any]:
    return {
        "reports": [
            {"name": d.name, "summary": d.summary, "options": list(d.options)} for d in REPORTS.values()
        ],
        "filters": ["from", "to", "segment", "team", "source"],
    }


@router.get("/reports/{name}", summary="One report, as `accord report NAME --format json` prints it")
def get_report(
    name: Annotated[str, Path(max_length=100)],
    since: Annotated[date | None, Query(alias="from", description="First day (YYYY-MM-DD)")] = None,
    until: Annotated[date | None, Query(alias="to", description="Last day, inclusive")] = None,
    segment: Annotated[str | None, Query(max_length=100)] = None,
    team: Annotated[str | None, Query(max_length=100)] = None,
    source: Annotated[str | None, Query(max_length=100)] = None,
    by: Annotated[str | None, Query(max_length=100, description="Group by: source, segment, tier...")] = None,
    from_stage: Annotated[str | None, Query(max_length=100, description="funnel: first stage")] = None,
    to_stage: Annotated[str | None, Query(max_length=100, description="funnel, tiers: last stage")] = None,
    horizon: Annotated[float | None, Query(gt=0, le=36500, description="funnel, tiers: days")] = None,
    threshold: Annotated[float | None, Query(ge=0, le=1e15, description="pipeline: deal amount")] = None,
    window: Annotated[float | None, Query(gt=0, le=36500, description="attribution: days")] = None,
    campaign: Annotated[str | None, Query(max_length=100, description="campaigns: campaign id")] = None,
    answers: Annotated[
        str | None, Query(max_length=2000, description='diagnostic: {"q1": 2, ...} or q1:2,q2:1')
    ] = None,
    ws: service.Workspace = Depends(workspace),
    who: Principal = Depends(reader),
) -> dict[str, Any]:
    zone = ZoneInfo(ws.spec.workspace.timezone)
    filters = Filters(_day(since, zone), _day(until, zone, end=True), segment, team, source)
    if filters.since is not None and filters.until is not None and filters.until <= filters.since:
        raise ReportError("`to` is before `from`", hint="the period runs from `from` to `to`, both included")
    result = service.report(
        ws, name, filters, by=by, from_stage=from_stage, to_stage=to_stage, horizon_days=horizon,
        threshold=threshold, window_days=window, campaign=campaign, answers=_answers(answers),
    )  # fmt: skip
    return result.to_dict()
