"""The spec, pre-digested for the engine: checked rules per scope, signals, windows in seconds.

Built once per spec version; every derive (batch or real time) reuses it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from typing import Any

from accord.spec import catalog
from accord.spec.model import Spec
from accord.spec.rule_ast import Rule, Scope
from accord.spec.rules import parse

ENGAGED_EXTRA = ("email_reply", "call_connected", "meeting_booked", "meeting_held")
HANDOFF_CODES = {"assigned": 0, "accepted": 1, "rejected": 2, "recycled": 3}
"""Codes for the latest-handoff trick: at equal times the higher code wins (docs/derive.md)."""
DISPOSITION_BY_CODE = {1: "accepted", 2: "rejected", 3: "recycled"}
DRIVER_COUNT_WINDOW = 30 * 86400


def seconds(value: timedelta | None) -> int | None:
    return None if value is None else int(value.total_seconds())


@dataclass(frozen=True)
class Signal:
    index: int
    rule: Rule
    points: float
    cap: float | None
    label: str


@dataclass(frozen=True)
class RegressionPlan:
    index: int
    sources: tuple[int, ...]
    target: int
    on: tuple[str, ...]
    recycle: int | None


@dataclass
class Plan:
    """Everything derive needs from the spec, in engine-friendly form."""

    spec: Spec
    data: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        self.data = self.spec.model_dump(mode="json", by_alias=True)

    @cached_property
    def fingerprint(self) -> str:
        """The spec's content: expressions built for one plan serve any plan with the same one."""
        import hashlib
        import json

        return hashlib.sha256(json.dumps(self.data, sort_keys=True).encode()).hexdigest()

    # scopes
    @cached_property
    def event_scope(self) -> Scope:
        return catalog.event_scope(self.data)

    @cached_property
    def profile_scope(self) -> Scope:
        return catalog.profile_scope(self.data)

    @cached_property
    def lead_scope(self) -> Scope:
        return catalog.lead_scope(self.data)

    @cached_property
    def journey_scope(self) -> Scope:
        return catalog.journey_scope(self.data)

    # journey
    @cached_property
    def stage_ids(self) -> list[str]:
        return [s.id for s in self.spec.journey.stages]

    @cached_property
    def optional(self) -> list[bool]:
        return [s.optional for s in self.spec.journey.stages]

    @cached_property
    def entries(self) -> list[Rule]:
        return [parse(s.entry, self.journey_scope) for s in self.spec.journey.stages]

    @cached_property
    def regressions(self) -> list[RegressionPlan]:
        index = {s: i for i, s in enumerate(self.stage_ids)}
        return [
            RegressionPlan(i, tuple(index[s] for s in r.from_), index[r.to], tuple(r.on),
                           seconds(r.recycle_after))
            for i, r in enumerate(self.spec.journey.regressions)
        ]  # fmt: skip

    @cached_property
    def reason_recycle(self) -> dict[str, int]:
        return {r.id: int(r.recycle_after.total_seconds()) for r in self.spec.reason_codes
                if r.recycle_after is not None}  # fmt: skip

    # scoring
    @cached_property
    def fit_rules(self) -> list[tuple[Rule, float, str]]:
        return [(parse(r.when, self.profile_scope), r.points, r.label) for r in self.spec.scoring.fit.rules]

    @cached_property
    def signals(self) -> list[Signal]:
        return [
            Signal(i, parse(s.when, self.event_scope), s.points, s.cap, s.label)
            for i, s in enumerate(self.spec.scoring.intent.signals)
        ]

    @cached_property
    def half_life(self) -> float:
        return self.spec.scoring.intent.half_life.total_seconds()

    @cached_property
    def committee_roles(self) -> list[tuple[str, str]]:
        committee = self.spec.scoring.committee
        labels = {r.id: r.label for r in self.spec.buying_committee}
        wanted = committee.roles if committee and committee.roles else list(labels)
        return [(r, labels.get(r, r)) for r in labels if r in wanted]

    @cached_property
    def engaged_types(self) -> list[str]:
        types = [t for t, cat in catalog.STANDARD_EVENT_TYPES.items() if cat == "engagement"]
        types += [t for t, d in self.spec.event_types.items() if d.category == "engagement"]
        return sorted(set(types) | set(ENGAGED_EXTRA))

    @cached_property
    def marketing_touch_types(self) -> list[str]:
        types = [t for t, cat in catalog.STANDARD_EVENT_TYPES.items() if cat == "engagement"]
        types += [
            t for t, d in self.spec.event_types.items() if d.marketing_touch or d.category == "engagement"
        ]
        return sorted(set(types))

    # tiers and features
    @cached_property
    def tiers(self) -> list[tuple[Rule, str, str]]:
        return [(parse(t.when, self.lead_scope), t.name, t.motion) for t in self.spec.tiers]

    @cached_property
    def feature_rules(self) -> dict[str, Rule]:
        return {name: parse(f.where, self.event_scope) for name, f in self.spec.features.items()}

    @cached_property
    def event_fields(self) -> frozenset[str]:
        """Every event field the features and intent signals read (their rules and ``of``): what the
        inputs extract from event properties, and what a chunk's files must carry."""
        fields = {f.of for f in self.spec.features.values() if f.of is not None}
        for rule in [*(s.rule for s in self.signals), *self.feature_rules.values()]:
            fields |= rule.columns()
        return frozenset(fields)

    @cached_property
    def pipeline_ids(self) -> list[str]:
        return [s.id for s in self.spec.pipeline.stages]
