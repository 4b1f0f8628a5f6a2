"""The CRM's side of the handoff: assignment, the SDR's touches, the disposition, the meeting.

Delays are drawn in the SDR's business time, because that is what the first-touch SLA measures:
about a quarter within 5 minutes, most within the hour, a tail of slow ones and a few never
touched. Acceptance rises with the hidden propensity, and rejections carry a reason that fits why.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accord.demo.clock import DAY, HOUR, I64, MIN, SEC
from accord.demo.context import Ctx
from accord.demo.engagement import sigmoid
from accord.demo.market import IDX, Contacts, centre
from accord.demo.tables import Cat, dumps

_REJECT_WEIGHTS: dict[str, float] = {
    "bad_timing": 0.25, "unresponsive": 0.22, "no_budget": 0.15, "wrong_person": 0.12,
    "duplicate": 0.06, "competitor": 0.06, "bad_fit": 0.14,
}  # fmt: skip


@dataclass
class Handoffs:
    """One row per assignment; times are -1 when the step did not happen before as-of."""

    contact: IDX
    sdr: IDX
    assigned: I64
    outcome: list[str | None]
    reason: list[str | None]
    decided: I64
    recycle_on: I64  # day since epoch, -1 when not recycled
    held: I64


def assign(ctx: Ctx, con: Contacts, who: IDX, qualified: I64, fit_min: float) -> Handoffs:
    """Hand each qualified lead to an SDR of its region and play the handoff out to as-of."""
    rng, staff, log = ctx.rng, ctx.staff, ctx.log
    n = len(who)
    at = qualified + rng.integers(20, 240, n) * SEC
    acct = con.account[who]
    sdr = np.empty(n, dtype=np.intp)
    pool_names = list(staff.pools)
    pool_of = np.empty(n, dtype=np.intp)
    for i in range(n):
        name = "emea" if con.region[who[i]] == "emea" else "other"
        pool = staff.pools[name]
        day = int(at[i] // DAY)
        reps, bosses = staff.available(pool.reps, day), staff.available(pool.managers, day)
        take_boss = bool(bosses) and rng.random() < 0.08
        team = bosses if take_boss else reps
        sdr[i] = team[int(rng.integers(len(team)))]
        pool_of[i] = pool_names.index(name)
    pools = [staff.pools[p] for p in pool_names]
    log.add(at, "assigned", contact=who, account=acct, actor=sdr,
            props=Cat([dumps({"rule": p.rule, "team": p.team}) for p in pools], pool_of))  # fmt: skip

    bucket = rng.choice(4, n, p=[0.25, 0.595, 0.125, 0.03])
    lows, highs = np.array([0.4, 5.2, 61, 0]) * MIN, np.array([5, 60, 61, 0]) * MIN
    delay = (lows[bucket] + rng.random(n) * (highs[bucket] - lows[bucket])).astype(np.int64)
    slow = bucket == 2
    late = rng.exponential(0.7, int(slow.sum())) * staff.business_day(sdr[slow])
    delay[slow] += late.astype(np.int64)
    touched = bucket < 3
    touch = staff.business_add(sdr, at, delay)
    call = rng.random(n) < 0.55
    log.add(touch[touched], Cat(["call_attempt", "email_sent"], (~call[touched]).astype(np.intp)),
            contact=who[touched], account=acct[touched], actor=sdr[touched])  # fmt: skip

    prop = con.prop[who]
    fit = con.fit[who]
    p_accept = sigmoid(1.4 + 0.9 * (prop - centre(con)) + 0.04 * (fit - 35)
                       - 1.6 * (fit < fit_min))  # fmt: skip
    accepted = rng.random(n) < p_accept
    recycled = ~accepted & (rng.random(n) < 0.3)
    reason = _reasons(ctx, con, who, at, fit < fit_min, ~accepted & ~recycled)
    unresponsive = np.array([r == "unresponsive" for r in reason], dtype=bool)
    # the disposition clock is wall time (48h): on-time decisions land in the last working
    # moment before the drawn delay, late ones in the first working moment after it
    mix = rng.choice(3, n, p=[0.67, 0.31, 0.02])
    mix[unresponsive] = np.where(rng.random(int(unresponsive.sum())) < 0.9, 1, 2)
    lo, hi = np.array([0.3, 24, 49])[mix] * HOUR, np.array([24, 47.5, 96])[mix] * HOUR
    due = at + (lo + rng.random(n) * (hi - lo)).astype(np.int64)
    due = np.where(mix == 2, staff.business_add(sdr, due, np.ones(n, np.int64)),
                   staff.business_back(sdr, due, rng.integers(0, 90, n) * MIN))  # fmt: skip
    decided = np.maximum(due, staff.business_add(sdr, touch, rng.integers(3, 40, n) * MIN))
    _attempts(ctx, con, who, sdr, touch, decided, touched, unresponsive, accepted & call)

    outcome: list[str | None] = []
    recycle_on = np.full(n, -1, dtype=np.int64)
    props: list[str] = []
    for i in range(n):
        if not touched[i] or decided[i] >= ctx.as_of:
            outcome.append(None)
            continue
        if accepted[i]:
            outcome.append("accepted")
            props.append("{}")
        elif recycled[i]:
            outcome.append("recycled")
            recycle_on[i] = decided[i] // DAY + int(rng.integers(30, 91))
            props.append(dumps({"recycle_on": str(np.datetime64(int(recycle_on[i]), "D"))}))
        else:
            outcome.append("rejected")
            props.append(dumps({"reason_code": reason[i]}))
    done = np.array([o is not None for o in outcome], dtype=bool)
    log.add(decided[done], [o for o in outcome if o is not None], contact=who[done],
            account=acct[done], actor=sdr[done], props=props)  # fmt: skip
    held = _meetings(ctx, con, who, sdr, decided, done & accepted)
    return Handoffs(who, sdr, at, outcome, reason, np.where(done, decided, -1), recycle_on, held)


def _reasons(ctx: Ctx, con: Contacts, who: IDX, at: I64, poor_fit: np.ndarray,
             rejected: np.ndarray) -> list[str | None]:  # fmt: skip
    """A reason that fits the lead: poor fit for poor fits, duplicates when a colleague was just
    handed over, timing or silence otherwise; only ids the spec knows."""
    rng = ctx.rng
    known = [r.id for r in ctx.spec.reason_codes]
    acct = con.account[who]
    order = np.lexsort((at, acct))
    recent = np.zeros(len(who), dtype=bool)
    same = acct[order][1:] == acct[order][:-1]
    recent[order[1:]] = same & (at[order][1:] - at[order][:-1] < 21 * DAY)
    out: list[str | None] = []
    for i in range(len(who)):
        if not rejected[i]:
            out.append(None)
            continue
        weights = dict(_REJECT_WEIGHTS)
        if poor_fit[i]:
            weights["bad_fit"] = 3.0
        if recent[i]:
            weights["duplicate"] = 1.2
        names = [r for r in weights if r in known] or known
        w = np.array([weights.get(r, 0.1) for r in names])
        out.append(names[int(rng.choice(len(names), p=w / w.sum()))])
    return out


def _attempts(ctx: Ctx, con: Contacts, who: IDX, sdr: IDX, touch: I64, decided: I64,
              touched: np.ndarray, unresponsive: np.ndarray, connected: np.ndarray) -> None:  # fmt: skip
    """The cadence after the first touch: more attempts for the silent ones, a connect for some."""
    rng, staff = ctx.rng, ctx.staff
    n = len(who)
    extra = np.where(unresponsive, rng.integers(2, 5, n), rng.integers(0, 3, n)) * touched
    rows = np.repeat(np.arange(n), extra)
    gap = (rng.uniform(0.15, 0.8, len(rows)) * staff.business_day(sdr[rows])).astype(np.int64)
    step = np.arange(len(rows)) - np.repeat(np.cumsum(extra) - extra, extra) + 1
    at = staff.business_add(sdr[rows], touch[rows], gap * step)
    ok = at < decided[rows]
    kind = Cat(["call_attempt", "email_sent"], rng.integers(0, 2, len(rows)).astype(np.intp))
    kind = Cat(kind.vocab, kind.codes[ok])
    r = rows[ok]
    ctx.log.add(at[ok], kind, contact=who[r], account=con.account[who[r]], actor=sdr[r])
    c = np.flatnonzero(connected & touched & (rng.random(n) < 0.6))
    ctx.log.add(touch[c] + rng.integers(20, 90, len(c)) * SEC, "call_connected", contact=who[c],
                account=con.account[who[c]], actor=sdr[c])  # fmt: skip


def _meetings(ctx: Ctx, con: Contacts, who: IDX, sdr: IDX, decided: I64, accepted: np.ndarray) -> I64:
    """Booked after acceptance, held days later; some no-shows, half of them rebooked."""
    rng, staff, log = ctx.rng, ctx.staff, ctx.log
    n = len(who)
    day = staff.business_day(sdr)
    booked = staff.business_add(sdr, decided, (rng.uniform(0.01, 1.0, n) * day).astype(np.int64))
    meet = staff.business_add(sdr, booked, (rng.uniform(1, 6, n) * day).astype(np.int64))
    books = accepted & (rng.random(n) < 0.92)
    props = dumps({"meeting": "discovery"})
    log.add(booked[books], "meeting_booked", contact=who[books], account=con.account[who[books]],
            actor=sdr[books], props=props)  # fmt: skip
    no_show = books & (rng.random(n) < 0.12)
    log.add(meet[no_show], "meeting_no_show", contact=who[no_show],
            account=con.account[who[no_show]], actor=sdr[no_show], props=props)  # fmt: skip
    again = no_show & (rng.random(n) < 0.5)
    rebook = staff.business_add(sdr, meet, (rng.uniform(0.05, 1.0, n) * day).astype(np.int64))
    log.add(rebook[again], "meeting_booked", contact=who[again], account=con.account[who[again]],
            actor=sdr[again], props=props)  # fmt: skip
    meet = np.where(again, staff.business_add(sdr, rebook, (rng.uniform(1, 5, n) * day)
                                              .astype(np.int64)), meet)  # fmt: skip
    held = (books & ~no_show) | again
    held &= booked < ctx.as_of
    log.add(meet[held], "meeting_held", contact=who[held], account=con.account[who[held]],
            actor=sdr[held], props=props)  # fmt: skip
    return np.where(held & (meet < ctx.as_of), meet, -1)


def returning(ctx: Ctx, first: Handoffs) -> tuple[IDX, I64]:
    """Rejected-for-now and recycled leads that come back in market months later."""
    rng = ctx.rng
    later = ("bad_timing", "unresponsive", "no_budget")
    pairs = enumerate(zip(first.outcome, first.reason, strict=True))
    back = [i for i, (o, r) in pairs if o == "recycled" or (o == "rejected" and r in later)]
    idx = np.array(back, dtype=np.intp)
    idx = idx[rng.random(len(idx)) < 0.4]
    after = np.maximum(first.recycle_on[idx] * DAY, first.decided[idx] + 30 * DAY)
    when = after + (rng.uniform(0, 100, len(idx)) * DAY).astype(np.int64) + 10 * HOUR
    keep = when < ctx.as_of - DAY
    return first.contact[idx[keep]], when[keep]


def merge(a: Handoffs, b: Handoffs) -> Handoffs:
    return Handoffs(
        contact=np.concatenate([a.contact, b.contact]),
        sdr=np.concatenate([a.sdr, b.sdr]),
        assigned=np.concatenate([a.assigned, b.assigned]),
        outcome=a.outcome + b.outcome,
        reason=a.reason + b.reason,
        decided=np.concatenate([a.decided, b.decided]),
        recycle_on=np.concatenate([a.recycle_on, b.recycle_on]),
        held=np.concatenate([a.held, b.held]),
    )


def owners(con: Contacts, h: Handoffs, before: int) -> None:
    """Contact owner = the SDR of the contact's latest assignment."""
    order = np.argsort(h.assigned, kind="stable")
    ok = order[h.assigned[order] < before]
    con.owner[h.contact[ok]] = h.sdr[ok]
