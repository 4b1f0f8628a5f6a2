"""Reports as a use case: open the workspace, read it as of the last derive, build one report."""

from __future__ import annotations

from typing import Any

from accord.reports.base import Filters, Report
from accord.reports.data import ReportData
from accord.reports.registry import run_report
from accord.service.workspace import Workspace


def report(ws: Workspace, name: str, filters: Filters | None = None, **options: Any) -> Report:
    spec = ws.spec
    with ws.ledger(read_only=True) as ledger:
        data = ReportData(ledger, spec, filters or Filters())
        return run_report(name, data, options)
