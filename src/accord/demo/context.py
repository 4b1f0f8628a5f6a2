"""Shared state of one world being generated, and the revenue team it is generated for.

The team comes from the spec (people, teams, calendars), so the demo's reps are the reps the
agreement routes to, and their activity falls inside the business hours their SLA clocks count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from accord.demo.clock import I64, BusinessClock, Zones
from accord.demo.tables import EventLog
from accord.spec.model import Spec

_SALES_ROLES = ("sales_leader", "cro")
_MARKETING_ROLES = ("marketing_leader", "marketing_ops", "marketer", "cmo")


@dataclass
class Pool:
    """Reps a region's leads go to, with the routing rule and team the CRM recorded."""

    team: str
    rule: str
    reps: list[int]
    managers: list[int]


@dataclass
class Staff:
    """Users (one per spec person) and who plays which part in the simulation."""

    ids: list[str]
    columns: dict[str, list[Any]]
    clocks: list[BusinessClock]
    clock_of: npt.NDArray[np.intp]
    absences: list[list[tuple[int, int]]]
    pools: dict[str, Pool]
    aes: list[int]
    ae_managers: list[int]
    cs: list[int]
    marketers: list[int]

    def available(self, people: list[int], day: int) -> list[int]:
        """Those not out of office on ``day`` (days since epoch); everyone if nobody is."""
        here = [p for p in people if not any(a <= day <= b for a, b in self.absences[p])]
        return here or people

    def business_add(self, actor: npt.NDArray[np.intp], t: I64, duration: I64) -> I64:
        """Business time added on each actor's own calendar."""
        out = np.empty_like(t)
        for c, clock in enumerate(self.clocks):
            mask = self.clock_of[actor] == c
            if mask.any():
                out[mask] = clock.add(t[mask], duration[mask])
        return out

    def business_back(self, actor: npt.NDArray[np.intp], t: I64, duration: I64) -> I64:
        """Each actor's working instant ``duration`` of business time before ``t``."""
        out = np.empty_like(t)
        for c, clock in enumerate(self.clocks):
            mask = self.clock_of[actor] == c
            if mask.any():
                out[mask] = clock.back(t[mask], duration[mask])
        return out

    def business_day(self, actor: npt.NDArray[np.intp]) -> I64:
        """Length of a business day on each actor's calendar."""
        per_day = np.array([c.per_day for c in self.clocks], dtype=np.int64)
        result: I64 = per_day[self.clock_of[actor]]
        return result


@dataclass
class Ctx:
    """Everything the generators share: inputs, the random stream, the growing event log."""

    spec: Spec
    rng: np.random.Generator
    as_of: int
    start: int
    zones: Zones
    staff: Staff
    log: EventLog = field(default_factory=EventLog)
    domain: str = "example.com"


def _team_of(spec: Spec, person: str) -> str | None:
    for team_id, team in spec.teams.items():
        if person in team.members:
            return team_id
    return next((t for t, team in spec.teams.items() if team.manager == person), None)


def company_domain(spec: Spec) -> str:
    """The company's mail domain: the one its people use, else one made from its name."""
    for person in spec.people.values():
        if person.email and "@" in person.email:
            return person.email.split("@", 1)[1].lower()
    slug = re.sub(r"[^a-z0-9]+", "", spec.workspace.name.lower()) or "company"
    return f"{slug}.example"


def build_staff(spec: Spec, start: int, as_of: int) -> Staff:
    first = datetime.fromtimestamp(start / 1e6, tz=UTC).date() - timedelta(days=10)
    last = datetime.fromtimestamp(as_of / 1e6, tz=UTC).date() + timedelta(days=400)
    domain = company_domain(spec)
    ids = list(spec.people)
    columns: dict[str, list[Any]] = {k: [] for k in
                                     ("user_id", "name", "email", "role", "team_id", "manager_id",
                                      "timezone", "active")}  # fmt: skip
    clock_keys: list[str | None] = []
    clock_of: list[int] = []
    absences: list[list[tuple[int, int]]] = []
    epoch = datetime(1970, 1, 1, tzinfo=UTC).date()
    for pid, person in spec.people.items():
        team = _team_of(spec, pid)
        cal_id = person.calendar or (spec.teams[team].calendar if team else None)
        cal_id = cal_id or spec.workspace.calendar
        if cal_id not in spec.calendars:
            cal_id = None
        tz = spec.calendars[cal_id].timezone if cal_id else spec.workspace.timezone
        if cal_id not in clock_keys:
            clock_keys.append(cal_id)
        clock_of.append(clock_keys.index(cal_id))
        absences.append([((a.start - epoch).days, (a.end - epoch).days)
                         for a in person.out_of_office])  # fmt: skip
        values = (pid, person.name, person.email or f"{pid}@{domain}", person.role, team,
                  person.manager, tz, person.active)  # fmt: skip
        for key, value in zip(columns, values, strict=True):
            columns[key].append(value)
    clocks = [
        BusinessClock(spec.calendars[k] if k else None, spec.workspace.timezone, first, last)
        for k in clock_keys
    ]
    active = [i for i, p in enumerate(spec.people.values()) if p.active] or list(range(len(ids)))

    def role(*names: str) -> list[int]:
        return [i for i in active if spec.people[ids[i]].role in names]

    aes = role("ae") or role("ae_manager") or role(*_SALES_ROLES) or active
    marketers = role(*_MARKETING_ROLES) or active
    return Staff(
        ids=ids,
        columns=columns,
        clocks=clocks,
        clock_of=np.array(clock_of, dtype=np.intp),
        absences=absences,
        pools=_pools(spec, ids, active, aes),
        aes=aes,
        ae_managers=role("ae_manager"),
        cs=role("cs", "cs_manager") or aes,
        marketers=marketers,
    )


def _pools(spec: Spec, ids: list[str], active: list[int], aes: list[int]) -> dict[str, Pool]:
    """SDR teams by region: a team is EMEA's if its id or calendar says so, else North America's."""
    index = {p: i for i, p in enumerate(ids)}
    rules = {r.team: r.id for r in spec.routing.rules}
    default_rule = spec.routing.rules[-1].id if spec.routing.rules else "default"
    found: dict[str, Pool] = {}
    for team_id, team in spec.teams.items():
        members = [index[m] for m in team.members if m in index and index[m] in active]
        reps = [m for m in members if spec.people[ids[m]].role == "sdr"]
        managers = [m for m in members if spec.people[ids[m]].role == "sdr_manager"]
        if not reps:
            continue
        zone = spec.calendars[team.calendar].timezone if team.calendar in spec.calendars else ""
        region = "emea" if "emea" in team_id or zone.startswith("Europe/") else "other"
        if region not in found:
            found[region] = Pool(team_id, rules.get(team_id, default_rule), reps, managers)
    if "other" not in found:
        fallback = found.get("emea") or Pool("sales", default_rule, aes or active, [])
        found["other"] = fallback
    found.setdefault("emea", found["other"])
    return found
