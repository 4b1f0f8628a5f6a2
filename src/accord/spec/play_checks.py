"""Checks of the plays and watch rules against the rest of the spec, on the raw YAML like every check.

A play's audience and rule-based exits are rules over the *play scope*: what routing sees (profile,
features, score parts, tier, motion, stage, assignment) plus the lead's drivers, so "security-minded
leads in evaluation" can be written as ``stage = 'evaluation' AND top_intent = 'security review'``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from accord.spec import catalog
from accord.spec.catalog import _dict, _list
from accord.spec.plays import OWNER_WORDS
from accord.spec.rule_ast import Field, Scope, Type
from accord.spec.source import join_path
from accord.spec.watch import WATCH_CHECKS

if TYPE_CHECKING:
    from accord.spec.checks import _Checks


def _labels(items: list[Any]) -> tuple[str, ...]:
    return tuple(str(i["label"]) for i in items if isinstance(i, dict) and isinstance(i.get("label"), str))


def play_scope(data: Any) -> Scope:
    """Routing names plus the lead's drivers (audiences and rule-based exits of plays)."""
    base = catalog.routing_scope(data)
    fields = dict(base.fields)
    intents = _labels(_list(_dict(_dict(data, "scoring"), "intent"), "signals"))
    fields["top_intent"] = Field(
        "top_intent",
        Type.STRING,
        "top_intent",
        "Label of the lead's largest intent driver (an intent signal's label), the why-now.",
        intents or None,
    )
    fields["top_driver"] = Field(
        "top_driver", Type.STRING, "top_driver", "Label of the lead's largest driver of any kind."
    )
    return Scope("play", fields, base.timezone)


def check_plays(c: _Checks) -> None:
    """Audiences and exits are valid rules; event types, owners and content names are declared."""
    plays = _list(c.data, "plays")
    scope = play_scope(c.data)
    c.unique("plays", plays, "id", "play id")
    owners = set(OWNER_WORDS) | c.people | c.teams
    where = "people or teams"
    for i, play in enumerate(plays):
        if not isinstance(play, dict):
            continue
        base = f"plays[{i}]"
        c.rule(f"{base}.audience", play.get("audience"), scope)
        steps = _list(play, "steps")
        c.unique(f"{base}.steps", steps, "id", "step id")
        for j, step in enumerate(steps):
            if not isinstance(step, dict):
                continue
            sb = f"{base}.steps[{j}]"
            c.ref(f"{sb}.owner", step.get("owner"), owners, "owner", where)
            c.refs(f"{sb}.done_on", step.get("done_on"), c.event_types, "event type", "event_types")
            if isinstance(step.get("id"), str) and step["id"].startswith("follow_up_"):
                c.add(f"{sb}.id", "step ids starting with 'follow_up_' are kept for the follow-up cadence",
                      "rename the step")  # fmt: skip
        follow = _dict(play, "follow_up")
        c.ref(f"{base}.follow_up.owner", follow.get("owner"), owners, "owner", where)
        c.refs(f"{base}.follow_up.done_on", follow.get("done_on"), c.event_types, "event type", "event_types")
        for j, exit_ in enumerate(_list(play, "exits")):
            if isinstance(exit_, dict):
                c.refs(f"{base}.exits[{j}].on", exit_.get("on"), c.event_types, "event type", "event_types")
                c.rule(f"{base}.exits[{j}].when", exit_.get("when"), scope)
                if exit_.get("outcome") == "completed":
                    c.add(f"{base}.exits[{j}].outcome", "'completed' is the outcome of a play that ran "
                          "its course", "name the early exit for what ended it")  # fmt: skip


def check_watch(c: _Checks) -> None:
    """Owners are people; a rule is not listed twice; the figures it needs are in the spec."""
    rules = _list(c.data, "watch")
    c.unique("watch", rules, "id", "watch rule id")
    marketing = _dict(_dict(c.data, "agreement"), "marketing")
    for i, rule in enumerate(rules):
        if not isinstance(rule, dict):
            continue
        base = f"watch[{i}]"
        c.ref(join_path(base, "owner"), rule.get("owner"), c.people, "person", "people")
        check = rule.get("check")
        if check == "mql_volume" and marketing.get("mql_volume_per_week") is None and "threshold" not in rule:
            c.add(
                join_path(base, "check"),
                "mql_volume needs a weekly commitment to compare with",
                "set agreement.marketing.mql_volume_per_week, or give this rule a threshold",
            )
        if check in ("stall_pattern", "content_rebuilds") and "weeks" in rule:
            c.add(
                join_path(base, "weeks"),
                f"{check} is not a weekly figure ({WATCH_CHECKS[check]})",
                "remove weeks",
            )


__all__ = ["check_plays", "check_watch", "play_scope"]
