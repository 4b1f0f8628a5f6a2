"""Buying episodes: an account goes in market and several of its people show high intent.

A burst spreads pricing, security and comparison visits over several distinct days, so it is what a
pattern rule ("2 distinct days in 30 days") is meant to catch, unlike a tourist's single click. The
CRM's old rules are replayed over each burst to date the moment it would have been handed to Sales.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from accord.demo.clock import DAY, HOUR, I64, SEC
from accord.demo.context import Ctx
from accord.demo.engagement import active_from, sigmoid
from accord.demo.kinds import Kinds
from accord.demo.market import IDX, Accounts, Contacts
from accord.demo.org import Library
from accord.demo.words import BUY_MIX, TOPICS

_FIT = re.compile(r"\bfit\s*>=?\s*(\d+(?:\.\d+)?)")
_INTENT = re.compile(r"\bintent\s*>=?\s*(\d+(?:\.\d+)?)")


@dataclass(frozen=True)
class Handoff:
    """The thresholds of the first human-worked tier, read from the spec where it says so."""

    fit: float
    intent: float
    days: int
    window: int
    half_life: int
    cap: float

    @classmethod
    def of(cls, ctx: Ctx) -> Handoff:
        spec = ctx.spec
        human = [t for t in spec.tiers if spec.motions.get(t.motion) and spec.motions[t.motion].human]
        text = (human or spec.tiers)[0].when
        fit, intent = _FIT.search(text), _INTENT.search(text)
        need = spec.scoring.intent.require
        return cls(
            fit=float(fit.group(1)) if fit else 30.0,
            intent=float(intent.group(1)) if intent else 25.0,
            days=need.distinct_days if need else 1,
            window=int(need.window.total_seconds()) * SEC if need else 30 * DAY,
            half_life=int(spec.scoring.intent.half_life.total_seconds()) * SEC,
            cap=spec.scoring.intent.cap or float("inf"),
        )


def episodes(ctx: Ctx, acc: Accounts, con: Contacts) -> tuple[IDX, I64]:
    """Who bursts, and when: members of in-market accounts around the account's moment, plus a
    few lone enthusiasts elsewhere."""
    rng = ctx.rng
    n, a = len(con.ids), con.account
    in_market = rng.random(len(acc.ids)) < sigmoid(-1.75 + 1.0 * acc.prop)
    moment = ctx.start + (rng.random(len(acc.ids)) * (ctx.as_of - ctx.start - 3 * DAY))
    join = in_market[a] & (rng.random(n) < sigmoid(-0.55 + 1.0 * (con.prop - acc.prop[a])))
    order = np.lexsort((-con.prop, a))
    leaders = order[np.r_[True, a[order][1:] != a[order][:-1]]]
    join[leaders[in_market[a[leaders]]]] = True
    solo = ~in_market[a] & (rng.random(n) < sigmoid(-4.6 + 1.0 * con.prop))
    who = np.flatnonzero(join | solo)
    lone = ctx.start + rng.random(len(who)) * (ctx.as_of - ctx.start)
    when = np.where(in_market[a[who]], moment[a[who]] + rng.normal(0, 6 * DAY, len(who)), lone)
    when = np.maximum(when.astype(np.int64), active_from(ctx, con)[who] + HOUR)
    keep = when < ctx.as_of - HOUR
    return who[keep], when[keep]


def play(ctx: Ctx, con: Contacts, kinds: Kinds, lib: Library, who: IDX, start: I64, rule: Handoff) -> I64:
    """Emit each burst's events; return when the old rules would have fired (-1 = never)."""
    rng = ctx.rng
    n = len(who)
    n_days = 2 + rng.binomial(3, 0.45, n)
    gaps = 1 + rng.poisson(2.0, (n, 5))
    gaps[:, 0] = 0
    offset = np.cumsum(gaps, axis=1)
    burst, k = np.nonzero(np.arange(5)[None, :] < n_days[:, None])
    zone = con.zone[who[burst]]
    day = ctx.zones.local_day(zone, start[burst] + offset[burst, k] * DAY)
    minute = np.clip(rng.normal(np.where(rng.random(len(k)) < 0.5, 10.5, 14.5), 1.4), 7.5, 19)
    moment = ctx.zones.to_utc(zone, day, (minute * HOUR).astype(np.int64))
    moment = np.where(k == 0, start[burst], np.maximum(moment, start[burst] + k * DAY))
    per_day = 2 + rng.poisson(1.4, len(k))
    row = np.repeat(np.arange(len(k)), per_day)
    j = np.arange(len(row)) - np.repeat(np.cumsum(per_day) - per_day, per_day)
    at = moment[row] + j * rng.integers(40, 300, len(row)) * SEC + rng.integers(0, 30, len(row))
    anchors = np.array([kinds.pricing, kinds.security, kinds.compare[0], kinds.demo])
    anchor = anchors[rng.choice(4, len(row), p=[0.5, 0.2, 0.2, 0.1])]
    anchor = np.where((anchor == kinds.demo) & (k[row] == 0), kinds.pricing, anchor)
    buy = np.array(BUY_MIX) * np.isin(np.array(TOPICS), ["careers", "blog", "pricing"], invert=True)
    page = kinds.pages(rng.choice(len(TOPICS), len(row), p=buy / buy.sum()), rng.random(len(row)))
    asset = lib.downloadable[rng.integers(0, len(lib.downloadable), len(row))]
    others = np.stack([page, np.full(len(row), kinds.pricing), np.full(len(row), kinds.security),
                       np.array(kinds.compare)[rng.integers(0, 3, len(row))],
                       kinds.download[asset], np.full(len(row), kinds.contact_form),
                       np.full(len(row), kinds.demo)])  # fmt: skip
    pick = rng.choice(7, len(row), p=[0.62, 0.12, 0.07, 0.06, 0.06, 0.03, 0.04])
    kind = np.where(j == 0, anchor, others[pick, np.arange(len(row))])
    content = np.where(kind == kinds.download[asset], asset, -1)
    c = who[burst[row]]
    ok = at < ctx.as_of
    kinds.emit(ctx.log, at[ok], kind[ok], contact=c[ok], account=con.account[c[ok]],
               content=content[ok])  # fmt: skip
    return _qualify(ctx, con, kinds, who, burst[row][ok], at[ok], kind[ok], rule)


def _qualify(
    ctx: Ctx, con: Contacts, kinds: Kinds, who: IDX, burst: IDX, at: I64, kind: IDX, rule: Handoff
) -> I64:
    """Replay decayed, capped intent with the distinct-day pattern, burst by burst."""
    order = np.lexsort((at, burst))
    burst, at, kind = burst[order], at[order], kind[order]
    bounds = np.searchsorted(burst, np.arange(len(who) + 1))
    lenient = ctx.rng.random(len(who)) < 0.15
    fit_ok = (con.fit[who] >= rule.fit) | (lenient & (con.fit[who] >= rule.fit - 10))
    points, caps = kinds.points[kind], kinds.caps[kind]
    out = np.full(len(who), -1, dtype=np.int64)
    for b in np.flatnonzero(fit_ok):
        held: dict[str, float] = {}
        days: list[tuple[int, int]] = []
        last = 0
        for t, kd, p, cap in zip(at[bounds[b]:bounds[b + 1]].tolist(),
                                 kind[bounds[b]:bounds[b + 1]].tolist(),
                                 points[bounds[b]:bounds[b + 1]].tolist(),
                                 caps[bounds[b]:bounds[b + 1]].tolist(), strict=True):  # fmt: skip
            if p <= 0:
                continue
            decay = 0.5 ** ((t - last) / rule.half_life) if last else 1.0
            held = {key: v * decay for key, v in held.items()}
            key = kinds.types[kd]
            held[key] = min(cap, held.get(key, 0.0) + p)
            last = t
            days = [d for d in days if d[1] > t - rule.window] + [(t // DAY, t)]
            distinct = len({d for d, _ in days})
            if distinct >= rule.days and min(rule.cap, sum(held.values())) >= rule.intent:
                out[b] = t
                break
    return out
