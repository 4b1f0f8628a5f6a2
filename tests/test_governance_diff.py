"""The semantic diff: each kind of change, found in the model (never in comments or layout)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from accord.governance.diff import SpecDiff, diff_specs, thresholds
from accord.spec.model import Spec


def changed(starter: Spec, edit: Callable[[dict[str, Any]], None]) -> SpecDiff:
    data = copy.deepcopy(starter.model_dump(mode="json", by_alias=True))
    edit(data)
    return diff_specs(starter, Spec.model_validate(data))


def stage(data: dict[str, Any], sid: str) -> dict[str, Any]:
    return next(s for s in data["journey"]["stages"] if s["id"] == sid)


def test_stage_added_and_removed(starter_spec: Spec) -> None:
    def add(d: dict[str, Any]) -> None:
        extra = dict(stage(d, "awareness"), id="research", name="Research")
        d["journey"]["stages"].insert(1, extra)

    diff = changed(starter_spec, add)
    assert [(c.kind, c.path) for c in diff.changes] == [("stage", "journey.stages[research]")]
    assert diff.changes[0].summary.startswith("journey.stages[research] added: ")
    assert diff.changes[0].before is None and diff.changes[0].after["name"] == "Research"

    def remove(d: dict[str, Any]) -> None:
        d["journey"]["stages"] = [s for s in d["journey"]["stages"] if s["id"] != "renewal"]

    gone = changed(starter_spec, remove)
    assert [(c.kind, c.path, c.after) for c in gone.changes] == [("stage", "journey.stages[renewal]", None)]
    assert "removed" in gone.changes[0].summary


def test_stage_order_and_entry_rule(starter_spec: Spec) -> None:
    def swap(d: dict[str, Any]) -> None:
        s = d["journey"]["stages"]
        s[0], s[1] = s[1], s[0]

    order = changed(starter_spec, swap)
    assert [c.path for c in order.changes] == ["journey.stages.order"]
    assert order.changes[0].summary.startswith("journey.stages reordered: awareness, consideration")

    def entry(d: dict[str, Any]) -> None:
        stage(d, "evaluation")["entry"] = "tier = 'Tier 1' AND committee >= 10"

    rule = changed(starter_spec, entry)
    assert [(c.kind, c.path, c.before, c.after) for c in rule.changes] == [
        ("rule", "journey.stages[evaluation].entry", "tier = 'Tier 1'", "tier = 'Tier 1' AND committee >= 10")
    ]


def test_weight_and_tier_threshold(starter_spec: Spec) -> None:
    def weight(d: dict[str, Any]) -> None:
        d["scoring"]["fit"]["rules"][0]["points"] = 20.0

    w = changed(starter_spec, weight)
    assert [(c.kind, c.path, c.before, c.after) for c in w.changes] == [
        ("weight", "scoring.fit.rules[mid-market size].points", 15.0, 20.0)
    ]

    def threshold(d: dict[str, Any]) -> None:
        d["tiers"][0]["when"] = "fit >= 30 AND intent >= 35"

    t = changed(starter_spec, threshold)
    assert [(c.kind, c.summary) for c in t.changes] == [
        ("threshold", "tiers[Tier 1].when: intent >= 25 -> 35")
    ]
    assert t.summary() == "1 threshold"

    def logic(d: dict[str, Any]) -> None:
        d["tiers"][0]["when"] = "fit >= 30 OR intent >= 25"

    assert [c.kind for c in changed(starter_spec, logic).changes] == ["rule"]


def test_sla_and_routing(starter_spec: Spec) -> None:
    def sla(d: dict[str, Any]) -> None:
        d["slas"]["first_touch"]["target"] = "2h"
        d["motions"]["human_follow_up"]["slas"] = ["first_touch"]

    s = changed(starter_spec, sla)
    assert [(c.kind, c.path, c.before, c.after) for c in s.changes] == [
        ("sla", "motions.human_follow_up.slas", ["first_touch", "disposition"], ["first_touch"]),
        ("sla", "slas.first_touch.target", "1h", "2h"),
    ]

    def routing(d: dict[str, Any]) -> None:
        d["routing"]["rules"][1]["team"] = "sdr_na"
        d["teams"]["sdr_na"]["capacity"] = 30

    r = changed(starter_spec, routing)
    assert sorted((c.kind, c.path) for c in r.changes) == [
        ("routing", "routing.rules[emea].team"),
        ("routing", "teams.sdr_na.capacity"),
    ]
    assert r.kinds() == ["routing"]


def test_nothing_hidden_and_nothing_invented(starter_spec: Spec) -> None:
    assert changed(starter_spec, lambda d: None).changes == ()

    def other(d: dict[str, Any]) -> None:
        d["workspace"]["currency"] = "EUR"
        d["version"] = "2099.1"  # a label alone is not a change of meaning

    o = changed(starter_spec, other)
    assert [(c.kind, c.path) for c in o.changes] == [("other", "workspace.currency")]
    again = SpecDiff.from_dict(o.to_dict())
    assert again == o


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("fit >= 30 AND intent >= 25", "fit >= 35 AND intent >= 25", [("fit >=", "30", "35")]),
        (
            "employees BETWEEN 200 AND 5000",
            "employees BETWEEN 250 AND 5000",
            [("employees BETWEEN", "200", "250")],
        ),
        ("tier = 'Tier 1'", "tier = 'Tier 2'", []),  # inside a quoted value: not a number
        ("fit >= 30", "fit > 30", []),
    ],
)
def test_thresholds_are_numbers_only(old: str, new: str, expected: list[tuple[str, str, str]]) -> None:
    assert thresholds(old, new) == expected
