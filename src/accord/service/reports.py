"""Reports as a use case: open the workspace, read it as of the last derive, build one report."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from accord.reports.base import Filters, Report
from accord.reports.data import ReportData
from accord.reports.registry import run_report
from accord.service.workspace import Workspace

if TYPE_CHECKING:
    from accord.reports.review import ReviewPack


def report(ws: Workspace, name: str, filters: Filters | None = None, **options: Any) -> Report:
    spec = ws.spec
    with ws.ledger(read_only=True) as ledger:
        data = ReportData(ledger, spec, filters or Filters())
        return run_report(name, data, options)


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
