"""The funnel: cohort conversion between stages, time in stage, velocity, by any dimension.

Definitions (docs/metrics.md, "Funnel"):
- reached(X) is the first time an entity entered X or any later stage; skipped stages count.
- Conversion A -> B: of the entities that reached A in the period, the share that reached B at or
  after reaching A, within the horizon when one is given; n, k and a 95% Wilson interval.
  Entities whose horizon has not run out by the report's instant and have not converted are
  counted as "maturing": they are in n (the cohort is fixed), and the column says how many could
  still convert.
- Velocity A -> B: median days from reaching A to reaching B, over the entities that converted.
- Time in stage: days from entering to leaving a stage, over the rows entered in the period that
  were not skipped; rows still open are censored at the report's instant and the median is the
  Kaplan-Meier median (n/a when fewer than half have left).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from accord.errors import ReportError
from accord.reports.base import Column, Report, Section
from accord.reports.data import DAY, ContactRow, ReportData, StageRow
from accord.reports.stats import km_median, median, wilson

DIMENSIONS = ("source", "segment", "tier", "team", "owner", "cohort_month")


def dimension(data: ReportData, by: str | None) -> Callable[[ContactRow | None, int], str]:
    """The grouping key of one cohort member: its attribute, or the month it reached the first stage."""
    if by is None:
        return lambda _c, _t: "all"
    if by not in DIMENSIONS:
        raise ReportError(f"--by: unknown dimension '{by}'", hint=f"pick one of: {', '.join(DIMENSIONS)}")
    zone = ZoneInfo(data.spec.workspace.timezone)
    if by == "cohort_month":
        return lambda _c, at: datetime.fromtimestamp(at, UTC).astimezone(zone).strftime("%Y-%m")
    return lambda c, _t: (getattr(c, by) if c is not None else None) or "(none)"


def conversion_rows(
    data: ReportData,
    histories: dict[str, list[StageRow]],
    pairs: list[tuple[str, str]],
    by: str | None,
    horizon_days: float | None,
) -> list[list[object]]:
    key = dimension(data, by)
    horizon = None if horizon_days is None else horizon_days * DAY
    rows: list[list[object]] = []
    for a, b in pairs:
        groups: dict[str, list[tuple[int, int | None]]] = defaultdict(list)
        for entity, history in histories.items():
            at = data.reached(history, a)
            if at is None or not data.filters.in_period(at):
                continue
            to = data.reached(history, b, after=at)
            if to is not None and horizon is not None and to - at > horizon:
                to = None
            groups[key(data.contacts.get(entity), at)].append((at, to))
        for group in sorted(groups):
            members = groups[group]
            n = len(members)
            k = sum(1 for _, to in members if to is not None)
            low, high = wilson(k, n)
            maturing = (
                sum(1 for at, to in members if to is None and at + horizon > data.as_of) if horizon else 0
            )
            days = median([(to - at) / DAY for at, to in members if to is not None])
            rows.append([a, b, group, n, k, k / n if n else None, low, high, maturing, days])
    return rows


def time_in_stage(
    data: ReportData, histories: dict[str, list[StageRow]], stages: list[str]
) -> list[list[object]]:
    rows: list[list[object]] = []
    for stage in stages:
        spans = [
            r for h in histories.values() for r in h if r.stage == stage and not r.skipped
            and data.filters.in_period(r.entered_at)
        ]  # fmt: skip
        durations = [
            ((r.exited_at if r.exited_at is not None else data.as_of) - r.entered_at) / DAY for r in spans
        ]
        observed = [r.exited_at is not None for r in spans]
        exited = sum(observed)
        rows.append([stage, len(spans), exited, len(spans) - exited, km_median(durations, observed)])
    return rows


def funnel(
    data: ReportData,
    *,
    from_stage: str | None = None,
    to_stage: str | None = None,
    by: str | None = None,
    horizon_days: float | None = None,
) -> Report:
    main = [s.id for s in data.spec.journey.stages if not s.optional]
    if from_stage or to_stage:
        a = data.stage_id(from_stage or main[0], "--from-stage")
        b = data.stage_id(to_stage or main[-1], "--to-stage")
        if data.journey_order[b] <= data.journey_order[a]:
            raise ReportError(
                f"--to-stage '{b}' does not come after --from-stage '{a}' in the journey",
                hint="conversion runs forward: name the earlier stage first",
            )
        pairs = [(a, b)]
    else:
        pairs = list(itertools.pairwise(main))
    histories = data.contact_stages
    group_label = by.replace("_", " ") if by else "group"
    conversion = Section(
        "conversion",
        "Stage conversion (cohort)",
        [
            Column("from_stage", "From"),
            Column("to_stage", "To"),
            Column("group", group_label),
            Column("n", "Reached from", "int"),
            Column("converted", "Reached to", "int"),
            Column("rate", "Conversion", "share"),
            Column("ci_low", "95% CI low", "share"),
            Column("ci_high", "95% CI high", "share"),
            Column("maturing", "Still maturing", "int"),
            Column("median_days", "Velocity (median days)", "days"),
        ],
        conversion_rows(data, histories, pairs, by, horizon_days),
    )
    conversion.notes.append(
        "Cohort: entities that reached the first stage in the period; converted when they reached the "
        "second at or after that"
        + (f", within {horizon_days:g} days." if horizon_days is not None else ", by the report's instant.")
    )
    stages_in_view = (
        [s for s in main if s in {x for p in pairs for x in p}] if from_stage or to_stage else main
    )
    tis = Section(
        "time_in_stage",
        "Time in stage",
        [
            Column("stage", "Stage"),
            Column("entered", "Entered", "int"),
            Column("exited", "Left", "int"),
            Column("open", "Still in stage (censored)", "int"),
            Column("median_days", "Median days (Kaplan-Meier)", "days"),
        ],
        time_in_stage(data, histories, stages_in_view),
    )
    tis.notes.append("Rows still open are censored at the report's instant; n/a = fewer than half have left.")
    return Report(
        "funnel",
        "Funnel: conversion, time in stage and velocity",
        data.as_of,
        data.filters,
        [conversion, tis],
        data.spec.workspace.currency,
    )
