"""``GET /reports`` and ``GET /reports/{name}``: every report as ``Report.to_dict()``, as the CLI's JSON."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Query, Request

from accord import service
from accord.api.deps import require, workspace
from accord.api.permissions import Action, Principal
from accord.errors import ReportError
from accord.reports.base import Filters
from accord.reports.params import (
    ALIASES,
    DAY_RANGE,
    FILTERS,
    FIRST_DAY,
    LAST_DAY,
    check_day,
    query_wording,
    refuse_unknown,
)
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
        "filters": list(FILTERS),
        "days": {"from": FIRST_DAY.isoformat(), "to": LAST_DAY.isoformat()},
    }


ACCEPTED = [*FILTERS, "by", "from_stage", "to_stage", "horizon", "threshold", "window", "campaign", "answers"]
"""Every query parameter a report reads; the old spellings in ALIASES are read too, never advertised."""


def _one(name: str, value: float | None, alias: float | None) -> float | None:
    """A value given under its name or its old spelling (``horizon_days``); both at once must agree."""
    if value is not None and alias is not None and value != alias:
        raise ReportError(
            f"{name} and {name}_days disagree ({value:g} and {alias:g})", hint=f"send {name} only"
        )
    return value if value is not None else alias


@router.get("/reports/{name}", summary="One report, as `accord report NAME --format json` prints it")
def get_report(
    request: Request,
    name: Annotated[str, Path(max_length=100)],
    since: Annotated[
        date | None, Query(alias="from", description=f"First day (YYYY-MM-DD), {DAY_RANGE}")
    ] = None,
    until: Annotated[date | None, Query(alias="to", description=f"Last day, inclusive, {DAY_RANGE}")] = None,
    segment: Annotated[str | None, Query(max_length=100, description="An account segment")] = None,
    team: Annotated[str | None, Query(max_length=100, description="The owner's team, or a manager")] = None,
    source: Annotated[str | None, Query(max_length=100, description="A lead source")] = None,
    by: Annotated[str | None, Query(max_length=100, description="Group by: source, segment, tier...")] = None,
    from_stage: Annotated[str | None, Query(max_length=100, description="funnel: first stage")] = None,
    to_stage: Annotated[str | None, Query(max_length=100, description="funnel, tiers: last stage")] = None,
    horizon: Annotated[float | None, Query(gt=0, le=36500, description="funnel, tiers, review: days")] = None,
    horizon_days: Annotated[
        float | None, Query(gt=0, le=36500, deprecated=True, description="horizon")
    ] = None,
    threshold: Annotated[float | None, Query(ge=0, le=1e15, description="pipeline: deal amount")] = None,
    window: Annotated[float | None, Query(gt=0, le=36500, description="attribution: days")] = None,
    window_days: Annotated[float | None, Query(gt=0, le=36500, deprecated=True, description="window")] = None,
    campaign: Annotated[str | None, Query(max_length=100, description="campaigns: campaign id")] = None,
    answers: Annotated[
        str | None, Query(max_length=2000, description='diagnostic: {"q1": 2, ...} or q1:2,q2:1')
    ] = None,
    ws: service.Workspace = Depends(workspace),
    who: Principal = Depends(reader),
) -> dict[str, Any]:
    try:
        refuse_unknown(list(request.query_params), ACCEPTED, "query parameter", tuple(ALIASES))
        zone = ZoneInfo(ws.spec.workspace.timezone)
        filters = Filters(
            _day(None if since is None else check_day(since, "from"), zone),
            _day(None if until is None else check_day(until, "to"), zone, end=True),
            segment,
            team,
            source,
        )
        if filters.since is not None and filters.until is not None and filters.until <= filters.since:
            raise ReportError(
                "`to` is before `from`", hint="the period runs from `from` to `to`, both included"
            )
        result = service.report(
            ws, name, filters, by=by, from_stage=from_stage, to_stage=to_stage,
            horizon_days=_one("horizon", horizon, horizon_days), threshold=threshold,
            window_days=_one("window", window, window_days), campaign=campaign, answers=_answers(answers),
        )  # fmt: skip
    except ReportError as exc:
        # Report code words its errors for the CLI (--from-stage); a caller here sends from_stage.
        exc.message = query_wording(exc.message)
        exc.args = (exc.message,)
        exc.hint = None if exc.hint is None else query_wording(exc.hint)
        raise
    return result.to_dict()
