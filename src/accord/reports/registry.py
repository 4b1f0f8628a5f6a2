"""Every report by name, with the options it takes: the one list the CLI, API and dashboard read."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from accord.errors import ReportError
from accord.reports.base import Report
from accord.reports.data import ReportData
from accord.reports.params import check_positive, public
from accord.spec.rules import suggest

Builder = Callable[..., Report]


@dataclass(frozen=True)
class ReportDef:
    name: str
    summary: str
    options: tuple[str, ...]  # public names (accord.reports.params): the same in CLI, API and dashboard
    target: str  # "module:function" under accord.reports, imported on use

    def build(self) -> Builder:
        """The builder, imported only now: `accord report funnel` loads only the funnel."""
        module, function = self.target.split(":")
        builder: Builder = getattr(importlib.import_module(f"accord.reports.{module}"), function)
        return builder


REPORTS: dict[str, ReportDef] = {
    d.name: d
    for d in (
        ReportDef("funnel", "Cohort conversion between stages (n, Wilson interval), time in stage, velocity",
                  ("from_stage", "to_stage", "by", "horizon"), "funnel:funnel"),
        ReportDef("scorecard", "The minimum viable metrics against their targets",
                  (), "scorecard:scorecard"),
        ReportDef("tiers", "Tier validation: conversion by tier against all leads, with lift",
                  ("to_stage", "horizon"), "tiers:tiers"),
        ReportDef("attribution", "Marketing-sourced and -influenced revenue; first-touch and linear credit",
                  ("window",), "attribution:attribution"),
        ReportDef("pipeline", "The weekly pipeline review, as its 45-minute agenda",
                  ("threshold",), "pipeline:pipeline_review"),
        ReportDef("deals", "Win rate and cycle time of closed deals, by any dimension",
                  ("by",), "outcomes:deals"),
        ReportDef("losses", "Loss post-mortem: loss reasons by quarter, structural patterns to change",
                  (), "outcomes:losses"),
        ReportDef("plan", "The revenue plan worked backward from the target, and plan against actual",
                  (), "plan:plan"),
        ReportDef("diagnostic", "The 0-20 alignment diagnostic and the step to fix first",
                  ("answers",), "diagnostic:diagnostic"),
        ReportDef("content", "Content gap matrix (stage x role), utilization in deals, retire list",
                  (), "content:content"),
        ReportDef("campaigns", "Campaign charters, RACI checks and scorecards against the OKRs",
                  ("campaign",), "campaigns:campaigns"),
        ReportDef("retros", "Campaign retrospectives, their owned actions (open, overdue), frozen scorecards",
                  ("campaign",), "reviews:retros"),
        ReportDef("agreement", "The signed SLA document with the actuals beside each commitment",
                  (), "agreement:agreement"),
        ReportDef("review", "The revenue council's review pack for a period, against the one before",
                  ("horizon",), "review:review"),
        ReportDef("plays", "Plays: entered, completed, exits by outcome, conversion against leads outside",
                  ("to_stage",), "plays:plays"),
    )
}  # fmt: skip


def run_report(name: str, data: ReportData, options: dict[str, Any]) -> Report:
    """Build one report; options it does not take are refused, not silently ignored."""
    definition = REPORTS.get(name)
    if definition is None:
        near = suggest(name, REPORTS)
        raise ReportError(
            f"no report named '{name}'" + (f"; did you mean '{near}'?" if near else ""),
            hint="reports: " + ", ".join(sorted(REPORTS)),
        )
    given = {k: v for k, v in options.items() if v is not None and v is not False}
    extra = sorted(public(k) for k in set(given) if public(k) not in definition.options)
    if extra:
        flags = ", ".join("--" + k.replace("_", "-") for k in extra)
        takes = ", ".join("--" + k.replace("_", "-") for k in definition.options) or "none"
        raise ReportError(f"report '{name}' does not take {flags}", hint=f"its own options: {takes}")
    for k, v in given.items():
        if isinstance(v, int | float) and not isinstance(v, bool):
            check_positive(public(k), float(v))
    report = definition.build()(data, **given)
    from accord.spec.load import spec_hash

    if data.derived_spec is not None and data.derived_spec != spec_hash(data.spec):
        # Derived tables were made under another version of the agreement: say so on every report.
        report.sections[0].notes.insert(
            0,
            f"The spec changed since the last derive (derived under {data.derived_spec}, now "
            f"{spec_hash(data.spec)}): scores, tiers and stages follow the old rules until "
            "`accord derive` runs again.",
        )
    return report
