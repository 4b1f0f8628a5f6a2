"""Routing: which team, then which person, with the reason recorded. Pure: state in, decision out.

The first routing rule whose condition holds picks the team; the team's method (or the rule's) picks
the person among those who can take a lead now: active, not out of office, under capacity, and, when
the spec asks for working hours, inside them if anyone is. Round robin is fair over time: the person
whose last assignment is oldest goes next, and ties are broken by a hash of the lead and the person,
never by seniority or id order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from accord.domain.rule_eval import predicate
from accord.spec import catalog
from accord.spec.model import Person, Spec
from accord.spec.rule_ast import Rule
from accord.spec.rules import parse

ROUTABLE_ROLES = frozenset({"sdr", "ae", "cs", "marketer"})
"""Roles that take leads; managers and leaders are escalated to, not routed to."""


@dataclass(frozen=True)
class RepState:
    """What routing needs to know about a person right now."""

    person_id: str
    open_leads: int = 0  # open Tier 1 leads owned
    last_assigned: int | None = None  # epoch seconds of their latest assignment
    in_hours: bool = True


@dataclass(frozen=True)
class Decision:
    """A routing outcome: who, by which rule and method, and why, in words a rep manager reads."""

    owner: str | None
    team: str | None
    rule: str | None
    method: str | None
    why: str
    candidates: tuple[str, ...] = ()


@dataclass
class Router:
    """Routing rules compiled once per spec."""

    spec: Spec
    rules: list[tuple[str, Rule]] = field(init=False)
    columns: frozenset[str] = field(init=False)  # what the rules read of a lead's row

    def __post_init__(self) -> None:
        scope = catalog.routing_scope(self.spec.model_dump(mode="json", by_alias=True))
        self.rules = [(r.id, parse(r.when, scope)) for r in self.spec.routing.rules]
        self.columns = frozenset(c for _, rule in self.rules for c in rule.columns())
        self.tests = [(rule_id, predicate(rule)) for rule_id, rule in self.rules]  # compiled once

    def capacity(self, person_id: str, team_id: str) -> int | None:
        person = self.spec.people[person_id]
        team = self.spec.teams[team_id]
        for value in (person.capacity, team.capacity, self.spec.routing.capacity):
            if value is not None:
                return value
        return None

    def eligible(self, person_id: str, team_id: str, on: date, state: RepState) -> tuple[bool, str]:
        person: Person = self.spec.people[person_id]
        if not person.active:
            return False, "inactive"
        if any(a.start <= on <= a.end for a in person.out_of_office):
            return False, "out of office"
        cap = self.capacity(person_id, team_id)
        if cap is not None and state.open_leads >= cap:
            return False, f"at capacity ({state.open_leads}/{cap})"
        return True, ""

    def route(
        self,
        lead_id: str,
        row: Mapping[str, Any],
        *,
        on: date,
        reps: Mapping[str, RepState],
        account_owner: str | None = None,
    ) -> Decision:
        """Decide an owner for a lead whose rule row (routing scope columns) is ``row``."""
        for rule_id, test in self.tests:
            if not test(row):
                continue
            spec_rule = next(r for r in self.spec.routing.rules if r.id == rule_id)
            team_id = spec_rule.team
            method = spec_rule.method or self.spec.teams[team_id].routing
            return self._pick(lead_id, rule_id, team_id, method, spec_rule.fallback, on, reps, account_owner)
        return Decision(None, None, None, None, "no routing rule matched; add a catch-all rule (when: true)")

    def _pick(
        self,
        lead_id: str,
        rule_id: str,
        team_id: str,
        method: str,
        fallback: str | None,
        on: date,
        reps: Mapping[str, RepState],
        account_owner: str | None,
    ) -> Decision:
        team = self.spec.teams[team_id]
        members = [m for m in team.members if self.spec.people[m].role in ROUTABLE_ROLES] or list(
            team.members
        )
        refused: dict[str, str] = {}
        ok: list[str] = []
        for m in members:
            fine, why = self.eligible(m, team_id, on, reps.get(m, RepState(m)))
            if fine:
                ok.append(m)
            else:
                refused[m] = why
        if method == "account_owner":
            if account_owner and account_owner in self.spec.people:
                fine, why = self.eligible(
                    account_owner, team_id, on, reps.get(account_owner, RepState(account_owner))
                )
                if fine:
                    return Decision(
                        account_owner,
                        team_id,
                        rule_id,
                        "account_owner",
                        f"rule {rule_id}: {self.spec.people[account_owner].name} owns the account",
                        (account_owner,),
                    )
                refused[account_owner] = why
            method = fallback or "round_robin"
            lead_in = f"account owner unavailable ({refused.get(account_owner or '', 'none')}); "
        else:
            lead_in = ""
        if not ok:
            detail = ", ".join(f"{m}: {w}" for m, w in sorted(refused.items())) or "no members"
            return Decision(
                None, team_id, rule_id, method, f"rule {rule_id}: nobody in {team_id} can take it ({detail})"
            )
        in_hours = [m for m in ok if reps.get(m, RepState(m)).in_hours]
        pool = in_hours if (self.spec.routing.working_hours_only and in_hours) else ok
        chosen = _choose(lead_id, pool, method, reps)
        state = reps.get(chosen, RepState(chosen))
        basis = {
            "round_robin": "longest since last assignment",
            "load_balanced": f"fewest open Tier 1 leads ({state.open_leads})",
        }.get(method, method)
        return Decision(
            chosen,
            team_id,
            rule_id,
            method,
            f"rule {rule_id} -> team {team_id}, {lead_in}{method}: {self.spec.people[chosen].name}, {basis}",
            tuple(pool),
        )


def _tie(lead_id: str, person_id: str) -> str:
    return hashlib.sha256(f"{lead_id}|{person_id}".encode()).hexdigest()


def _choose(lead_id: str, pool: list[str], method: str, reps: Mapping[str, RepState]) -> str:
    def recency(m: str) -> int:
        last = reps.get(m, RepState(m)).last_assigned
        return -1 if last is None else last

    key: Callable[[str], tuple[Any, ...]]
    if method == "load_balanced":

        def key(m: str) -> tuple[Any, ...]:
            return (reps.get(m, RepState(m)).open_leads, recency(m), _tie(lead_id, m))
    else:

        def key(m: str) -> tuple[Any, ...]:
            return (recency(m), _tie(lead_id, m))

    return min(pool, key=key)
