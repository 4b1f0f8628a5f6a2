"""Reports as a use case: open the workspace, read it as of the last derive, build one report."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from accord.errors import ReportError
from accord.reports.base import Filters, Report
from accord.reports.data import ReportData
from accord.reports.registry import run_report
from accord.service.workspace import Workspace

if TYPE_CHECKING:
    from accord.reports.review import ReviewPack


def report(ws: Workspace, name: str, filters: Filters | None = None, **options: Any) -> Report:
    """One report as of the last derive; a segment, team or source the workspace does not know is
    refused here, so every caller (CLI, API, dashboard) gets the same answer."""
    spec = ws.spec
    filters = filters or Filters()
    with ws.ledger(read_only=True) as ledger:
        data = ReportData(ledger, spec, filters)
        if filters.named:
            for problem in unknown_filters(filters, data.filter_values()).values():
                raise problem
        return run_report(name, data, options)


def check_filters(ws: Workspace, filters: Filters) -> None:
    """Refuse unknown filter values up front, before work a report would otherwise waste (the
    diagnostic's questions asked at a terminal)."""
    if filters.named:
        for problem in unknown_filters(filters, known_filters(ws)).values():
            raise problem


def known_filters(ws: Workspace) -> dict[str, set[str]]:
    """Every segment, team and source value a report filter can match in this workspace."""
    with ws.ledger(read_only=True) as ledger:
        return ReportData(ledger, ws.spec, Filters()).filter_values()


def unknown_filters(filters: Filters, known: dict[str, set[str]]) -> dict[str, ReportError]:
    """A refusal for each segment, team or source value not among ``known``, naming the known ones.

    An unknown value would otherwise match nothing and read as "no data", which is how a typo in a
    shared link turned a coverage of 3x into 0.00x without a word.
    """
    from accord.spec.rules import suggest

    wanted = {"segment": filters.segment, "team": filters.team, "source": filters.source}
    problems: dict[str, ReportError] = {}
    for key, value in wanted.items():
        if value is None or value in known[key]:
            continue
        near = suggest(value, sorted(known[key]))
        problems[key] = ReportError(
            f"unknown {key} '{value}'" + (f"; did you mean '{near}'?" if near else ""),
            hint=f"known {key} values: " + (", ".join(sorted(known[key])) or "none in this workspace"),
        )
    return problems


def review(
    ws: Workspace,
    *,
    month: str | None = None,
    quarter: str | None = None,
    horizon_days: float | None = None,
) -> ReviewPack:
    """The revenue council's pack for a month or a quarter ("" = the last complete one), as of the
    last derive like every report."""
    from zoneinfo import ZoneInfo

    from accord.reports.review import build_pack, choose
    from accord.spec.load import spec_hash

    spec = ws.spec
    with ws.ledger(read_only=True) as ledger:
        data = ReportData(ledger, spec, Filters())
        period = choose(month, quarter, data.as_of, ZoneInfo(spec.workspace.timezone))
        pack = build_pack(ledger, spec, period, as_of=data.as_of, horizon_days=horizon_days)
    if data.derived_spec is not None and data.derived_spec != spec_hash(spec):
        pack.notes.insert(
            0,
            f"The spec changed since the last derive (derived under {data.derived_spec}): scores, tiers and "
            "stages follow the old rules until `accord derive` runs again.",
        )
    return pack
