"""Agenda item: the agreement's definitions nobody has changed in a quarter.

A definition is one thing the council decides: a stage's entry rule, a tier (its rule and motion),
each part of the scoring model (fit rules, intent signals and decay, buying-committee points), an
SLA, a routing rule. Its last change is found by comparing the parsed specs of the versions that
came into force, in the order they did (governance/versions.py); one unchanged for 90 days or more
at the end of the period is "untouched": confirm it or put it on the recalibration list. Nothing in
the ledger records a definition confirmed as it stands, so untouched means unchanged, not unreviewed.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from accord.reports.base import Column, Section
from accord.reports.data import DAY
from accord.reports.review.context import Context
from accord.reports.review.pack import AgendaItem
from accord.reports.review.period import local_day
from accord.spec.model import Spec

UNTOUCHED_DAYS = 90
"""A quarter: the recalibration cadence the seeds and the starter agreement set."""


def definitions(spec: Spec) -> dict[str, tuple[str, str]]:
    """Every governed definition: path -> (what a reader calls it, its canonical value as JSON)."""

    def canon(value: Any) -> str:
        if hasattr(value, "model_dump"):
            value = value.model_dump(mode="json", by_alias=True)
        return json.dumps(value, sort_keys=True)

    out: dict[str, tuple[str, str]] = {}
    for stage in spec.journey.stages:
        out[f"journey.stages.{stage.id}.entry"] = (f"{stage.name}: entry rule", canon(stage.entry))
    for tier in spec.tiers:
        out[f"tiers.{tier.name}"] = (f"{tier.name}: rule and motion", canon(tier))
    scoring = spec.scoring
    for part, what in (("fit", "Fit rules"), ("intent", "Intent signals and decay"),
                       ("committee", "Buying-committee points")):  # fmt: skip
        value = getattr(scoring, part, None)
        if value is not None:
            out[f"scoring.{part}"] = (what, canon(value))
    for sla_id, sla in spec.slas.items():
        out[f"slas.{sla_id}"] = (f"{sla.name} SLA", canon(sla))
    for i, rule in enumerate(spec.routing.rules if spec.routing else []):
        rule_id = getattr(rule, "id", None) or str(i)
        out[f"routing.rules.{rule_id}"] = (f"Routing rule {rule_id}", canon(rule))
    return out


@dataclass(frozen=True)
class Version:
    """A version as the history needs it: when it came into force and what it defined."""

    version: str
    since: int
    defines: dict[str, tuple[str, str]]


def _history(ctx: Context) -> tuple[list[Version] | None, list[str]]:
    """Versions that came into force, oldest first; None when this workspace keeps no history."""
    try:
        module = importlib.import_module("accord.governance.versions")
    except ImportError:
        return None, []
    list_versions: Callable[[Any], list[Any]] = module.list_versions
    from accord.spec.load import parse_spec

    notes: list[str] = []
    out: list[Version] = []
    for v in list_versions(ctx.ledger):
        when = v.activated_at
        if when is None:
            continue  # never in force (a proposal not adopted)
        try:
            spec = parse_spec(v.text)
        except Exception:  # an old text the current model no longer reads: say so, do not guess
            notes.append(f"Version {v.version} cannot be read by this version of Accord; it is left out.")
            continue
        out.append(Version(v.version, int(when.astimezone(UTC).timestamp()), definitions(spec)))
    out.sort(key=lambda v: (v.since, v.version))
    return out, notes


def last_changes(history: list[Version], at: int) -> dict[str, int]:
    """Per definition path, when its value in force at ``at`` came into force (its last change)."""
    in_force = [v for v in history if v.since <= at]
    changed: dict[str, int] = {}
    previous: dict[str, tuple[str, str]] = {}
    for v in in_force:
        for path, (_, value) in v.defines.items():
            if path not in previous or previous[path][1] != value:
                changed[path] = v.since
        previous = v.defines
    return {path: changed[path] for path in previous}


def untouched_definitions(ctx: Context, minutes: int) -> AgendaItem:
    current = definitions(ctx.spec)
    history, notes = _history(ctx)
    p, q = ctx.period.name, ctx.previous.name
    end, end_before = min(ctx.period.until, ctx.as_of), min(ctx.previous.until, ctx.as_of)
    rows: list[list[Any]] = []
    if history:
        now, before = last_changes(history, end), last_changes(history, end_before)
        for path, (what, _) in current.items():
            changed = now.get(path)
            days = None if changed is None else (end - changed) / DAY
            days_before = None if before.get(path) is None else (end_before - before[path]) / DAY
            rows.append([what, path, None if changed is None else local_day(changed, ctx.zone), days,
                         None if days is None else days >= UNTOUCHED_DAYS,
                         None if days_before is None else days_before >= UNTOUCHED_DAYS])  # fmt: skip
        rows.sort(key=lambda r: (-(r[3] if r[3] is not None else -1.0), r[1]))
        latest = history[-1]
        if latest.defines != current:
            notes.append(
                "The workspace's accord.yaml differs from the version in force: its changes count once "
                "they are recorded as a version."
            )
    else:
        rows = [[what, path, None, None, None, None] for path, (what, _) in current.items()]
        notes.append(
            "No version history: every definition dates from the first recorded version, and this workspace "
            "has none yet, so no definition can be shown as untouched. Record versions to see their age."
        )
    section = Section(
        "untouched_definitions",
        f"Definitions and their last change (untouched = unchanged {UNTOUCHED_DAYS}+ days)",
        [
            Column("definition", "Definition"),
            Column("path", "Spec path"),
            Column("last_changed", "Last changed", "date"),
            Column("days", f"Days unchanged at the end of {p}", "number"),
            Column("untouched", "Untouched", "flag"),
            Column("previous_untouched", f"Untouched at the end of {q}", "flag"),
        ],
        rows,
        notes=notes,
    )
    stale = [r for r in rows if r[4]]
    stale_before = sum(1 for r in rows if r[5])
    known = sum(1 for r in rows if r[3] is not None)
    actions: list[tuple[str, str]] = []
    if not history:
        discuss = ["No version history yet: record the agreement's versions so the next pack can age them."]
    elif not known:
        first = local_day(history[0].since, ctx.zone)
        discuss = [
            f"The first recorded version came into force on {first}, after the end of {p}: no definition's "
            "age is known for this period."
        ]
        notes.append(f"The first recorded version came into force on {first}; ages count from it.")
    elif stale:
        names = ", ".join(r[0] for r in stale[:3]) + (f" and {len(stale) - 3} more" if len(stale) > 3 else "")
        discuss = [
            f"{len(stale)} of {len(rows)} definitions have not changed in {UNTOUCHED_DAYS} days or more at "
            f"the end of {p} ({stale_before} at the end of {q}), the oldest first: {names}. Confirm each "
            "still holds or put it on the recalibration list."
        ]
        actions.append(("Confirm or recalibrate the untouched definitions", ctx.owners()))
    else:
        discuss = [f"Every definition changed within the {UNTOUCHED_DAYS} days before the end of {p}."]
    return AgendaItem(
        "definitions",
        f"Definitions untouched for {UNTOUCHED_DAYS}+ days",
        minutes,
        discuss,
        [section],
        actions,
    )
