"""Checks across parts of the spec: every name used is declared, every rule is valid in its scope.

These read the raw YAML data, guarding each access, so they run even when pydantic rejected some
section's shape: a spec with five mistakes of different kinds gets five errors in one run.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from accord.errors import Problem
from accord.spec import catalog
from accord.spec.catalog import _dict, _ids, _list
from accord.spec.rule_ast import Scope
from accord.spec.rules import problems_in, suggest
from accord.spec.source import Source, join_path


class _Checks:
    def __init__(self, source: Source) -> None:
        self.source = source
        self.data: Any = source.data if isinstance(source.data, dict) else {}
        self.problems: list[Problem] = []
        d = self.data
        self.people = set(map(str, _dict(d, "people")))
        self.teams = set(map(str, _dict(d, "teams")))
        self.calendars = set(map(str, _dict(d, "calendars")))
        self.stages = list(_ids(_list(_dict(d, "journey"), "stages")))
        self.motions = set(map(str, _dict(d, "motions")))
        self.slas = set(map(str, _dict(d, "slas")))
        self.roles = set(_ids(_list(d, "buying_committee")))
        self.event_types = set(catalog.event_types(d))
        self.reasons = set(_ids(_list(d, "reason_codes")))

    def add(self, path: str, message: str, hint: str | None = None, *, key: bool = False) -> None:
        self.problems.append(self.source.problem(path, message, hint, key=key))

    def ref(self, path: str, value: Any, known: Iterable[str], what: str, where: str) -> None:
        """A name that must be declared elsewhere in the spec."""
        if not isinstance(value, str):
            return
        pool = sorted(known)
        if value in pool:
            return
        close = suggest(value, pool)
        if close:
            hint = f"did you mean '{close}'?"
        elif pool:
            hint = (
                f"declare it under {where}: (known: {', '.join(pool[:12])}{'...' if len(pool) > 12 else ''})"
            )
        else:
            hint = f"declare it under {where}:"
        self.add(path, f"unknown {what} '{value}'", hint)

    def refs(self, path: str, values: Any, known: Iterable[str], what: str, where: str) -> None:
        if isinstance(values, str):
            values = [values]
        if not isinstance(values, list):
            return
        pool = list(known)
        for i, value in enumerate(values):
            self.ref(join_path(path, i), value, pool, what, where)

    def rule(self, path: str, text: Any, scope: Scope) -> None:
        if not isinstance(text, str):
            return
        for message, hint in problems_in(text, scope):
            self.add(path, message, hint)

    def unique(self, path: str, items: list[Any], key: str, what: str) -> None:
        seen: dict[str, int] = {}
        for i, item in enumerate(items):
            if isinstance(item, dict) and isinstance(item.get(key), str):
                value = item[key]
                if value in seen:
                    self.add(
                        join_path(join_path(path, i), key),
                        f"{what} '{value}' is used twice (also at {path}[{seen[value]}])",
                        f"give each {what} a distinct {key}",
                    )
                else:
                    seen[value] = i

    # ---- sections -------------------------------------------------------------------------------

    def run(self) -> list[Problem]:
        for check in (
            self.workspace,
            self.people_and_teams,
            self.features,
            self.scoring,
            self.tiers,
            self.journey,
            self.routing,
            self.slas_check,
            self.lists,
            self.campaigns,
            self.agreement,
            self.governance,
            self.imports,
            self.content,
            self.plays_and_watch,
        ):
            check()
        return self.problems

    def plays_and_watch(self) -> None:
        from accord.spec.play_checks import check_plays, check_watch

        check_plays(self)
        check_watch(self)

    def workspace(self) -> None:
        self.ref(
            "workspace.calendar",
            _dict(self.data, "workspace").get("calendar"),
            self.calendars,
            "calendar",
            "calendars",
        )

    def people_and_teams(self) -> None:
        people = _dict(self.data, "people")
        for pid, person in people.items():
            if not isinstance(person, dict):
                continue
            base = join_path("people", pid)
            self.ref(join_path(base, "manager"), person.get("manager"), self.people, "person", "people")
            if person.get("manager") == pid:
                self.add(join_path(base, "manager"), "a person cannot be their own manager")
            self.ref(
                join_path(base, "calendar"), person.get("calendar"), self.calendars, "calendar", "calendars"
            )
        self._manager_cycles(people)
        membership: dict[str, str] = {}
        for tid, team in _dict(self.data, "teams").items():
            if not isinstance(team, dict):
                continue
            base = join_path("teams", tid)
            self.ref(join_path(base, "manager"), team.get("manager"), self.people, "person", "people")
            self.ref(
                join_path(base, "calendar"), team.get("calendar"), self.calendars, "calendar", "calendars"
            )
            self.refs(join_path(base, "members"), team.get("members"), self.people, "person", "people")
            members = team.get("members")
            for i, member in enumerate(members if isinstance(members, list) else []):
                if isinstance(member, str) and member in membership and membership[member] != tid:
                    self.add(
                        join_path(join_path(base, "members"), i),
                        f"'{member}' is already a member of team '{membership[member]}'",
                        "a person belongs to one team, so routing and capacity are unambiguous",
                    )
                elif isinstance(member, str):
                    membership[member] = str(tid)

    def _manager_cycles(self, people: dict[str, Any]) -> None:
        managers = {
            pid: p.get("manager")
            for pid, p in people.items()
            if isinstance(p, dict) and isinstance(p.get("manager"), str)
        }
        reported: set[str] = set()
        for start in managers:
            seen = [start]
            current = managers.get(start)
            while isinstance(current, str) and current in managers and current not in seen:
                seen.append(current)
                current = managers.get(current)
            if current == start and len(seen) > 1 and not reported.intersection(seen):
                reported.update(seen)
                self.add(
                    join_path(join_path("people", start), "manager"),
                    f"managers form a loop: {' -> '.join([*seen, start])}",
                    "escalation must end somewhere; break the loop",
                )

    def features(self) -> None:
        scope = catalog.event_scope(self.data)
        numeric_or_any = set(scope.fields) | {"day"}
        for name, feature in _dict(self.data, "features").items():
            base = join_path("features", name)
            if name in catalog.RESERVED_NAMES:
                self.add(base, f"'{name}' is a built-in name", "rename the feature", key=True)
            if not isinstance(feature, dict):
                continue
            for key in ("where", "count", "days_since"):
                self.rule(join_path(base, key), feature.get(key), scope)
            for key in ("of", "sum", "min", "max", "count_distinct"):
                self.ref(
                    join_path(base, key), feature.get(key), numeric_or_any, "event field", "fields.event"
                )

    def scoring(self) -> None:
        scoring = _dict(self.data, "scoring")
        profile, events = catalog.profile_scope(self.data), catalog.event_scope(self.data)
        for i, rule in enumerate(_list(_dict(scoring, "fit"), "rules")):
            if isinstance(rule, dict):
                self.rule(f"scoring.fit.rules[{i}].when", rule.get("when"), profile)
        for i, signal in enumerate(_list(_dict(scoring, "intent"), "signals")):
            if isinstance(signal, dict):
                self.rule(f"scoring.intent.signals[{i}].when", signal.get("when"), events)
        self.refs(
            "scoring.committee.roles",
            _dict(scoring, "committee").get("roles"),
            self.roles,
            "committee role",
            "buying_committee",
        )

    def tiers(self) -> None:
        tiers = _list(self.data, "tiers")
        scope = catalog.lead_scope(self.data)
        self.unique("tiers", tiers, "name", "tier name")
        for i, tier in enumerate(tiers):
            if isinstance(tier, dict):
                self.rule(f"tiers[{i}].when", tier.get("when"), scope)
                self.ref(f"tiers[{i}].motion", tier.get("motion"), self.motions, "motion", "motions")
        for mid, motion in _dict(self.data, "motions").items():
            if isinstance(motion, dict):
                self.refs(
                    join_path(join_path("motions", mid), "slas"), motion.get("slas"), self.slas, "SLA", "slas"
                )

    def journey(self) -> None:
        journey = _dict(self.data, "journey")
        stages = _list(journey, "stages")
        scope = catalog.journey_scope(self.data)
        self.unique("journey.stages", stages, "id", "stage id")
        for i, stage in enumerate(stages):
            if not isinstance(stage, dict):
                continue
            base = f"journey.stages[{i}]"
            self.rule(f"{base}.entry", stage.get("entry"), scope)
            self.ref(f"{base}.owner", stage.get("owner"), self.teams, "team", "teams")
            self.ref(f"{base}.co_owner", stage.get("co_owner"), self.teams, "team", "teams")
            self.ref(f"{base}.tie_breaker", stage.get("tie_breaker"), self.people, "person", "people")
            self.ref(
                f"{base}.kpi", stage.get("kpi"), catalog.KPIS, "KPI", "the KPI catalogue in docs/spec.md"
            )
        order = {s: i for i, s in enumerate(self.stages)}
        for i, reg in enumerate(_list(journey, "regressions")):
            if not isinstance(reg, dict):
                continue
            base = f"journey.regressions[{i}]"
            self.refs(f"{base}.from", reg.get("from"), self.stages, "stage", "journey.stages")
            self.ref(f"{base}.to", reg.get("to"), self.stages, "stage", "journey.stages")
            self.refs(f"{base}.on", reg.get("on"), self.event_types, "event type", "event_types")
            target = reg.get("to")
            raw_from = reg.get("from")
            sources: list[Any] = raw_from if isinstance(raw_from, list) else [raw_from]
            if isinstance(target, str) and target in order:
                for j, src in enumerate(sources):
                    if isinstance(src, str) and src in order and order[src] <= order[target]:
                        self.add(
                            f"{base}.from[{j}]",
                            f"'{src}' -> '{target}' does not go back; a regression moves to an earlier stage",
                            "forward moves happen on their own when entry rules hold",
                        )

    def routing(self) -> None:
        rules = _list(_dict(self.data, "routing"), "rules")
        scope = catalog.routing_scope(self.data)
        self.unique("routing.rules", rules, "id", "routing rule id")
        for i, rule in enumerate(rules):
            if isinstance(rule, dict):
                self.rule(f"routing.rules[{i}].when", rule.get("when"), scope)
                self.ref(f"routing.rules[{i}].team", rule.get("team"), self.teams, "team", "teams")

    def slas_check(self) -> None:
        for sid, sla in _dict(self.data, "slas").items():
            if not isinstance(sla, dict):
                continue
            base = join_path("slas", sid)
            start, stop = _dict(sla, "start"), _dict(sla, "stop")
            self.ref(f"{base}.start.event", start.get("event"), self.event_types, "event type", "event_types")
            self.ref(f"{base}.start.stage", start.get("stage"), self.stages, "stage", "journey.stages")
            self.refs(
                f"{base}.stop.events", stop.get("events"), self.event_types, "event type", "event_types"
            )
            self.refs(
                f"{base}.cadence.events",
                _dict(sla, "cadence").get("events"),
                self.event_types,
                "event type",
                "event_types",
            )

    def lists(self) -> None:
        self.unique("reason_codes", _list(self.data, "reason_codes"), "id", "reason code")
        self.unique("loss_reasons", _list(self.data, "loss_reasons"), "id", "loss reason")
        self.unique("buying_committee", _list(self.data, "buying_committee"), "id", "committee role")
        self.unique("pipeline.stages", _list(_dict(self.data, "pipeline"), "stages"), "id", "pipeline stage")
        stages = [s for s in _list(_dict(self.data, "pipeline"), "stages") if isinstance(s, dict)]
        outcomes = {s.get("outcome", "open") for s in stages}
        if stages and not {"won", "lost"} <= outcomes:
            self.add(
                "pipeline.stages",
                "needs one stage with outcome: won and one with outcome: lost",
                "win rate and loss reviews read them",
            )
        for name in _dict(self.data, "event_types"):
            if name in catalog.STANDARD_EVENT_TYPES:
                self.add(
                    join_path("event_types", name),
                    f"'{name}' is already a standard event type",
                    "remove it; standard types need no declaration",
                    key=True,
                )

    def campaigns(self) -> None:
        owners = self.people | self.teams
        for cid, campaign in _dict(self.data, "campaigns").items():
            if not isinstance(campaign, dict):
                continue
            base = join_path("campaigns", cid)
            self.ref(f"{base}.owner", campaign.get("owner"), self.people, "person", "people")
            for i, row in enumerate(_list(campaign, "raci")):
                if not isinstance(row, dict):
                    continue
                rb = f"{base}.raci[{i}]"
                self.ref(f"{rb}.accountable", row.get("accountable"), self.people, "person", "people")
                for key in ("responsible", "consulted", "informed"):
                    self.refs(f"{rb}.{key}", row.get(key), owners, "person or team", "people or teams")
            for i, okr in enumerate(_list(campaign, "okrs")):
                for j, kr in enumerate(_list(okr, "key_results")):
                    if isinstance(kr, dict):
                        self.ref(
                            f"{base}.okrs[{i}].key_results[{j}].owner",
                            kr.get("owner"),
                            self.people,
                            "person",
                            "people",
                        )

    def agreement(self) -> None:
        agreement = _dict(self.data, "agreement")
        for key in ("mql_stage", "accepted_stage"):
            if key in agreement:
                self.ref(f"agreement.{key}", agreement.get(key), self.stages, "stage", "journey.stages")
            elif self.stages and key == "mql_stage" and "evaluation" not in self.stages:
                self.add(
                    "agreement",
                    "no stage 'evaluation'; say which stage is the MQL handoff",
                    "add agreement.mql_stage: <stage id>",
                )
            elif self.stages and key == "accepted_stage" and "sales_accepted" not in self.stages:
                self.add(
                    "agreement",
                    "no stage 'sales_accepted'; say which stage acceptance enters",
                    "add agreement.accepted_stage: <stage id>",
                )
        sales = _dict(agreement, "sales")
        for key, default in (("first_touch_sla", "first_touch"), ("disposition_sla", "disposition")):
            value = sales.get(key, default)
            if key in sales or self.slas:
                self.ref(f"agreement.sales.{key}", value, self.slas, "SLA", "slas")
        self.ref(
            "agreement.joint.disputes_to",
            _dict(agreement, "joint").get("disputes_to"),
            self.people,
            "person",
            "people",
        )

    def governance(self) -> None:
        gov = _dict(self.data, "governance")
        self.refs("governance.owners", gov.get("owners"), self.people, "person", "people")
        owners = gov.get("owners")
        if isinstance(owners, list) and len(set(map(str, owners))) < len(owners):
            self.add("governance.owners", "an owner is listed twice", "list each approver once")
        for key in ("tie_breaker", "escalation", "sla_owner", "dashboard_owner"):
            self.ref(f"governance.{key}", gov.get(key), self.people, "person", "people")

    def imports(self) -> None:
        from accord.ledger.schema import TABLES  # the ledger owns its columns

        for name, mapping in _dict(self.data, "imports").items():
            if not isinstance(mapping, dict) or mapping.get("kind") not in TABLES:
                continue
            table = TABLES[str(mapping["kind"])]
            allowed = table.importable()
            base = join_path("imports", name)
            for key in list(_dict(mapping, "columns")) + list(_dict(mapping, "constants")):
                section = "columns" if key in _dict(mapping, "columns") else "constants"
                if key not in allowed and not str(key).startswith(("properties.", "attributes.")):
                    close = suggest(str(key), allowed)
                    self.add(
                        join_path(join_path(base, section), key),
                        f"'{key}' is not a column of {mapping['kind']}",
                        f"did you mean '{close}'?"
                        if close
                        else f"columns: {', '.join(allowed)}; or properties.NAME / attributes.NAME",
                        key=True,
                    )

    def content(self) -> None:
        self.refs(
            "content.stages",
            _dict(self.data, "content").get("stages"),
            self.stages,
            "stage",
            "journey.stages",
        )


def cross_check(source: Source) -> list[Problem]:
    """Every reference and rule problem in the spec."""
    return _Checks(source).run()
