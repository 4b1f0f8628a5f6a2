"""The market: accounts and their people, each with a hidden propensity to buy.

Propensity is never stored. It drives everything observable (how much a contact engages, whether
it bursts into high intent, whether Sales accepts it, whether the deal is won), so the engine's
scores and tiers have a real signal to find, correlated with, but not equal to, ICP fit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from accord.demo.clock import DAY, HOUR, I64
from accord.demo.context import Ctx
from accord.demo.tables import build, dumps, take, timestamps
from accord.demo.words import (
    COUNTRIES,
    DEPARTMENTS,
    FIRST_NAMES,
    FIT_ROLES,
    INDUSTRIES,
    LAST_NAMES,
    LEAD_SOURCES,
    NAME_HEADS,
    NAME_SUFFIXES,
    NAME_TAILS,
    ROLE_EFFECT,
    SENIORITIES,
    SENIORITY_EFFECT,
    SERVED_COUNTRIES,
    TARGET_INDUSTRIES,
    TOPICS,
    US_ZONE_WEIGHTS,
)

F64 = npt.NDArray[np.float64]
IDX = npt.NDArray[np.intp]
ZONE_NAMES: list[str] = list(dict.fromkeys(z for _, _, zones in COUNTRIES.values() for z in zones))


def _pick(rng: np.random.Generator, weights: dict[str, float], n: int) -> IDX:
    p = np.array(list(weights.values()))
    return rng.choice(len(p), size=n, p=p / p.sum())


@dataclass
class Accounts:
    ids: list[str]
    names: list[str]
    domains: list[str]
    industry: IDX
    employees: I64
    segment: IDX  # 0 smb, 1 mid_market, 2 enterprise
    country: list[str]
    region: list[str]
    zone: IDX
    owner: IDX  # user index, -1 = none
    parent: IDX
    created: I64
    prop: F64


SEGMENTS = ("smb", "mid_market", "enterprise")


@dataclass
class Contacts:
    ids: list[str]
    account: IDX
    first: list[str]
    last: list[str]
    email: list[str]
    title: list[str]
    seniority: IDX
    department: IDX
    role: list[str | None]
    lead_source: IDX
    personal: npt.NDArray[np.bool_]
    created: I64
    zone: IDX
    region: list[str]
    fit: F64  # the starter spec's fit points, as the CRM's old rules approximated them
    prop: F64
    interest: IDX
    owner: IDX


def accounts(ctx: Ctx, n: int) -> Accounts:
    rng = ctx.rng
    pairs = len(NAME_HEADS) * len(NAME_TAILS)
    picks = np.concatenate([rng.permutation(pairs) for _ in range(n // pairs + 1)])[:n]
    industry = _pick(rng, INDUSTRIES, n)
    industries = list(INDUSTRIES)
    names: list[str] = []
    domains: list[str] = []
    for i, k in enumerate(picks):
        head, tail = NAME_HEADS[k // len(NAME_TAILS)], NAME_TAILS[k % len(NAME_TAILS)]
        rnd = f"{i // pairs + 1}" if i >= pairs else ""
        suffixes = NAME_SUFFIXES[industries[industry[i]]]
        names.append(f"{head}{tail}{rnd} {suffixes[(k + i) % len(suffixes)]}")
        domains.append(f"{head.lower()}{tail}{rnd}.com")
    employees = np.clip(np.round(np.exp(rng.normal(5.7, 2.0, n))), 10, 50_000).astype(np.int64)
    segment = np.where(employees < 200, 0, np.where(employees <= 5000, 1, 2)).astype(np.intp)
    country_names = list(COUNTRIES)
    country_idx = _pick(rng, {c: v[0] for c, v in COUNTRIES.items()}, n)
    country = [country_names[c] for c in country_idx]
    region = [COUNTRIES[c][1] for c in country]
    zone = np.empty(n, dtype=np.intp)
    for i, c in enumerate(country):
        zones = COUNTRIES[c][2]
        pick = rng.choice(len(zones), p=US_ZONE_WEIGHTS) if c == "US" else 0
        zone[i] = ZONE_NAMES.index(zones[int(pick)])
    fit = (
        1.0 * (segment == 1)
        + 0.6 * (segment == 2)
        + 0.8 * np.isin(industry, [industries.index(t) for t in TARGET_INDUSTRIES])
        + 0.5 * np.array([c in SERVED_COUNTRIES for c in country])
    )
    prop = (fit - fit.mean()) / (fit.std() or 1.0) + rng.normal(0, 0.75, n)
    owner = np.full(n, -1, dtype=np.intp)
    owned = (segment == 2) & (rng.random(n) < 0.3)
    aes = np.array(ctx.staff.aes)
    owner[owned] = aes[rng.integers(0, len(aes), int(owned.sum()))]
    parent = np.full(n, -1, dtype=np.intp)
    big = np.flatnonzero(segment == 2)
    if len(big):
        child = (segment < 2) & (rng.random(n) < 0.04)
        parent[child] = big[rng.integers(0, len(big), int(child.sum()))]
    created = ctx.start - (rng.uniform(30, 1100, n) * DAY).astype(np.int64)
    return Accounts([f"acc-{i + 1:05d}" for i in range(n)], names, domains, industry, employees,
                    segment, country, region, zone, owner, parent, created, prop)  # fmt: skip


def centre(con: Contacts) -> float:
    """Propensity of a typical lead Sales sees: the pivot of accept, convert and win odds."""
    return float(np.quantile(con.prop, 0.87))


def committee_sizes(rng: np.random.Generator, segment: IDX, total: int) -> I64:
    """Contacts per account (1-12, bigger at bigger companies), summing exactly to ``total``."""
    p = np.array([0.45, 0.62, 0.78])[segment]
    sizes = 1 + rng.binomial(11, p).astype(np.int64)
    while (diff := total - int(sizes.sum())) != 0:
        room = np.flatnonzero(sizes < 12) if diff > 0 else np.flatnonzero(sizes > 1)
        step = rng.choice(room, size=min(abs(diff), len(room)), replace=False)
        sizes[step] += 1 if diff > 0 else -1
    return sizes


def contacts(ctx: Ctx, acc: Accounts, n: int) -> Contacts:
    rng, spec = ctx.rng, ctx.spec
    account = np.repeat(np.arange(len(acc.ids)), committee_sizes(rng, acc.segment, n))
    seniority = _pick(rng, SENIORITIES, n)
    department = _pick(rng, {k: v[0] for k, v in DEPARTMENTS.items()}, n)
    sen_names, dept_names = list(SENIORITIES), list(DEPARTMENTS)
    roles_known = [r.id for r in spec.buying_committee]
    senior = seniority <= 2
    first = rng.integers(0, len(FIRST_NAMES), n)
    last = rng.integers(0, len(LAST_NAMES), n)
    personal = rng.random(n) < 0.05
    u = rng.random((n, 3))
    role: list[str | None] = []
    titles: list[str] = []
    emails: list[str] = []
    seen: set[str] = set()
    for i in range(n):
        _, label, chief, ics, (senior_role, junior_role) = DEPARTMENTS[dept_names[department[i]]]
        sen = sen_names[seniority[i]]
        titles.append({"c_level": chief, "vp": f"VP of {label}", "director": f"Director of {label}",
                       "manager": f"{label} Manager"}.get(sen) or ics[i % len(ics)])  # fmt: skip
        wanted = senior_role if senior[i] else junior_role
        if sen in ("director", "manager") and u[i, 0] < 0.25:
            wanted = "champion"
        if wanted not in roles_known:
            wanted = roles_known[int(u[i, 1] * len(roles_known))]
        role.append(None if u[i, 2] < 0.18 else wanted)
        local = f"{FIRST_NAMES[first[i]]}.{LAST_NAMES[last[i]]}".lower()
        if personal[i]:
            email = f"{local}{1000 + i}@{'gmail.com' if i % 3 else 'yahoo.com'}"
        else:
            email, k = f"{local}@{acc.domains[account[i]]}", 2
            while email in seen:
                email, k = f"{local}{k}@{acc.domains[account[i]]}", k + 1
        seen.add(email)
        emails.append(email)
    country = [acc.country[a] for a in account]
    served = np.array([c in SERVED_COUNTRIES for c in country])
    seg = acc.segment[account]
    target = np.isin(acc.industry[account],
                     [list(INDUSTRIES).index(t) for t in TARGET_INDUSTRIES])  # fmt: skip
    fit_role = np.array([r in FIT_ROLES for r in role])
    fit = np.minimum(50.0, 15.0 * (seg == 1) + 10.0 * (seg == 2) + 10.0 * target + 10.0 * senior
                     + 5.0 * fit_role + 5.0 * served - 10.0 * personal)  # fmt: skip
    role_effect = np.array([ROLE_EFFECT.get(r, 0.0) if r else -0.3 for r in role])
    sen_effect = np.array([SENIORITY_EFFECT[s] for s in sen_names])[seniority]
    prop = acc.prop[account] + sen_effect + role_effect + rng.normal(0, 0.6, n) - 0.5 * personal
    lead_source = _pick(rng, LEAD_SOURCES, n)
    inside = rng.random(n) < 0.45
    created = np.where(
        inside,
        ctx.start + (rng.random(n) ** 0.8 * (ctx.as_of - ctx.start - 2 * DAY)).astype(np.int64),
        ctx.start - (rng.uniform(1, 900, n) * DAY).astype(np.int64),
    )
    created = (created // HOUR) * HOUR + (rng.integers(0, 3600, n) * 1_000_000)
    acc.created = np.minimum(acc.created, _first_per(account, created, len(acc.ids)) - DAY)
    sig = 1 / (1 + np.exp(-prop))
    interest = np.where(rng.random(n) < sig, rng.choice([0, 2, 3, 4, 5], n),
                        rng.choice([7, 0, 4, 2], n)).astype(np.intp)  # fmt: skip
    return Contacts(
        ids=[f"con-{i + 1:06d}" for i in range(n)], account=account,
        first=[FIRST_NAMES[k] for k in first], last=[LAST_NAMES[k] for k in last], email=emails,
        title=titles, seniority=seniority, department=department, role=role,
        lead_source=lead_source, personal=personal, created=created, zone=acc.zone[account],
        region=[acc.region[a] for a in account], fit=fit, prop=prop, interest=interest,
        owner=np.full(n, -1, dtype=np.intp),
    )  # fmt: skip


def _first_per(group: IDX, values: I64, n_groups: int) -> I64:
    out = np.full(n_groups, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(out, group, values)
    return out


def account_table(ctx: Ctx, acc: Accounts) -> pa.Table:
    n = len(acc.ids)
    revenue = np.round(acc.employees * np.exp(ctx.rng.normal(math.log(150_000), 0.5, n)), -4)
    crm = [dumps({"crm": c}) for c in ("salesforce", "hubspot", "dynamics")] + ["{}"]
    uses = ctx.rng.choice(4, n, p=[0.45, 0.3, 0.1, 0.15])
    return build("accounts", {
        "account_id": acc.ids, "name": acc.names, "domain": acc.domains,
        "industry": [list(INDUSTRIES)[i] for i in acc.industry], "employees": acc.employees,
        "annual_revenue": revenue.astype(np.float64), "country": acc.country, "region": acc.region,
        "segment": [SEGMENTS[s] for s in acc.segment],
        "owner_id": _ids(ctx.staff.ids, acc.owner),
        "parent_account_id": [acc.ids[p] if p >= 0 else None for p in acc.parent],
        "created_at": timestamps(acc.created), "source": ["demo"] * n,
        "attributes": take(crm, uses),
    }, n)  # fmt: skip


def contact_table(ctx: Ctx, acc: Accounts, con: Contacts) -> pa.Table:
    n = len(con.ids)
    show = ctx.rng.random(n) < 0.6
    interest = [dumps({"topic_interest": t}) for t in TOPICS] + ["{}"]
    return build("contacts", {
        "contact_id": con.ids, "account_id": [acc.ids[a] for a in con.account],
        "email": con.email, "first_name": con.first, "last_name": con.last, "title": con.title,
        "seniority": [list(SENIORITIES)[s] for s in con.seniority],
        "department": [list(DEPARTMENTS)[d] for d in con.department],
        "committee_role": con.role, "country": [acc.country[a] for a in con.account],
        "region": con.region, "lead_source": [list(LEAD_SOURCES)[s] for s in con.lead_source],
        "owner_id": _ids(ctx.staff.ids, con.owner), "created_at": timestamps(con.created),
        "source": ["demo"] * n,
        "attributes": take(interest, np.where(show, con.interest, len(TOPICS))),
    }, n)  # fmt: skip


def _ids(ids: list[str], index: IDX) -> list[str | None]:
    return [ids[i] if i >= 0 else None for i in index]
