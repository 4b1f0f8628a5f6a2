"""Everyday marketing engagement: site sessions, emails, webinars, events, one-click tourists.

Volume and the share of buying-minded topics rise with the hidden propensity; timing follows each
contact's week (few weekends, mostly office hours in their zone). One-click tourists exist so that
a pattern requirement ("intent on 2 distinct days") has something to block.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from accord.demo.clock import DAY, HOUR, I64, MIN, SEC, weekday
from accord.demo.context import Ctx
from accord.demo.kinds import Kinds
from accord.demo.market import F64, IDX, Contacts
from accord.demo.org import Campaigns, Library
from accord.demo.tables import Cat, dumps
from accord.demo.words import BROWSE_MIX, BUY_MIX, LEAD_SOURCES, TOPICS


def sigmoid(x: npt.ArrayLike) -> F64:
    """Propensity (a log-odds) to probability, elementwise."""
    result: F64 = 1 / (1 + np.exp(-np.asarray(x, dtype=np.float64)))
    return result


def odds(x: float) -> float:
    """The scalar :func:`sigmoid`, for per-deal decisions."""
    return 1 / (1 + math.exp(-x))


def local_moments(ctx: Ctx, zone: IDX, lo: I64, hi: I64, office: float = 0.85) -> I64:
    """Instants between ``lo`` and ``hi``, moved off weekends and mostly into office hours.

    Moving a moment can push it just outside the range; callers drop those rather than pile
    events onto the boundary.
    """
    rng, n = ctx.rng, len(zone)
    t = lo + (rng.random(n) * np.maximum(hi - lo, 1)).astype(np.int64)
    day = ctx.zones.local_day(zone, t)
    wd = weekday(day)
    move = (wd >= 5) & (rng.random(n) < 0.85)
    day = np.where(move, day - wd + rng.integers(0, 5, n), day)
    peak = np.where(rng.random(n) < 0.5, 10.5, 14.75) * HOUR
    busy = np.clip(rng.normal(peak, 1.5 * HOUR), 7.5 * HOUR, 18.5 * HOUR)
    minute = np.where(rng.random(n) < office, busy, rng.random(n) * DAY).astype(np.int64)
    return ctx.zones.to_utc(zone, day, minute)


def active_from(ctx: Ctx, con: Contacts) -> I64:
    return np.maximum(con.created, ctx.start)


def sessions(ctx: Ctx, con: Contacts, kinds: Kinds, camp: Campaigns, lib: Library) -> None:
    """Site visits: a few pages per visit, topics by who is reading, some via paid search."""
    rng = ctx.rng
    frm = active_from(ctx, con)
    weeks = (ctx.as_of - frm) / (7 * DAY)
    rate = np.exp(-0.75 + 0.45 * con.prop + rng.normal(0, 0.7, len(con.ids)))
    per_contact = rng.poisson(np.clip(rate, 0.02, 12) * weeks)
    who = np.repeat(np.arange(len(con.ids)), per_contact)
    start = local_moments(ctx, con.zone[who], frm[who], np.full(len(who), ctx.as_of))
    ok = (start >= frm[who]) & (start < ctx.as_of)
    who, start = who[ok], start[ok]
    buying = rng.random(len(who)) < 0.85 * sigmoid(con.prop[who] - 0.3)
    pages = 1 + rng.poisson(np.where(buying, 1.8, 1.1))
    row = np.repeat(np.arange(len(who)), pages)
    step = np.arange(len(row)) - np.repeat(np.cumsum(pages) - pages, pages)
    gap = rng.integers(30, 240, len(who)) * SEC
    at = start[row] + step * gap[row] + rng.integers(0, 20, len(row)) * SEC
    mix = np.array([BROWSE_MIX, BUY_MIX])
    cum = np.cumsum(mix / mix.sum(axis=1, keepdims=True), axis=1)[buying[row].astype(int)]
    topic = np.minimum((rng.random((len(row), 1)) > cum).sum(axis=1), len(TOPICS) - 1)
    kind = kinds.pages(topic.astype(np.intp), rng.random(len(row)))
    campaign = np.full(len(row), -1, dtype=np.int64)
    first = step == 0
    for c in range(len(camp.ids)):
        live = (at >= camp.start[c]) & (at < camp.end[c])
        if camp.channel[c] == "paid_search":
            campaign[live & first & (rng.random(len(row)) < 0.15)] = c
        elif camp.topic[c] == "security" and camp.channel[c] != "webinar":
            campaign[live & (topic == TOPICS.index("security")) & (rng.random(len(row)) < 0.4)] = c
    kinds.emit(ctx.log, at, kind, contact=who[row], account=con.account[who[row]],
               campaign=campaign)  # fmt: skip
    # now and then a visit reaches a high-intent page, a gated asset or a form
    end = start + pages * gap + MIN
    q = sigmoid(con.prop[who] - 0.3)
    extras = (
        (0.008 + 0.02 * q, np.full(len(who), kinds.pricing)),
        (0.003 + 0.008 * q, np.array(kinds.compare)[rng.integers(0, 3, len(who))]),
        (0.001 + 0.004 * q, np.full(len(who), kinds.security)),
        (0.010, np.full(len(who), kinds.newsletter)),
    )
    for p, extra_kind in extras:
        hit = rng.random(len(who)) < p
        kinds.emit(ctx.log, end[hit], extra_kind[hit], contact=who[hit],
                   account=con.account[who[hit]])  # fmt: skip
    hit = rng.random(len(who)) < 0.025 + 0.04 * q
    asset = lib.downloadable[rng.integers(0, len(lib.downloadable), int(hit.sum()))]
    kinds.emit(ctx.log, end[hit] + MIN, kinds.download[asset], contact=who[hit],
               account=con.account[who[hit]], content=asset)  # fmt: skip


def emails(ctx: Ctx, con: Contacts, kinds: Kinds, camp: Campaigns) -> None:
    """Nurture sends every week: opens by interest, clicks through to a page of the email's topic."""
    rng = ctx.rng
    n = len(con.ids)
    for c in camp.of("email"):
        first = max(int(camp.start[c]), ctx.start)
        first += ((1 - int(weekday(np.array(first // DAY)))) % 7) * DAY + 14 * HOUR
        for k, send in enumerate(range(first, min(int(camp.end[c]), ctx.as_of), 7 * DAY)):
            topic = ("product", "solutions", "customers", "security", "integrations")[k % 5]
            subject = f"{camp.ids[c]}-{k + 1:02d}"
            reached = con.created < send
            opened = reached & (rng.random(n) < sigmoid(-1.55 + 0.55 * con.prop))
            who = np.flatnonzero(opened)
            at = send + (rng.exponential(5 * HOUR, len(who)) + rng.integers(60, 900, len(who))
                         * SEC).astype(np.int64)  # fmt: skip
            props = dumps({"channel": "email", "email": subject, "topic": topic})
            ctx.log.add(at, "email_open", contact=who, account=con.account[who], campaign=c,
                        topic=topic, props=props)  # fmt: skip
            clicked = rng.random(len(who)) < sigmoid(-2.1 + 0.5 * con.prop[who])
            cw, ct = who[clicked], at[clicked] + rng.integers(10, 900, int(clicked.sum())) * SEC
            ctx.log.add(ct, "email_click", contact=cw, account=con.account[cw], campaign=c,
                        topic=topic, props=props)  # fmt: skip
            page = kinds.pages(np.full(len(cw), TOPICS.index(topic)), rng.random(len(cw)))
            kinds.emit(ctx.log, ct + 20 * SEC, page, contact=cw, account=con.account[cw],
                       campaign=np.full(len(cw), c))  # fmt: skip


def programs(ctx: Ctx, con: Contacts, kinds: Kinds, camp: Campaigns, lib: Library) -> None:
    """Webinars, the trade show, content syndication and the SDR outbound sequence."""
    rng = ctx.rng
    n = len(con.ids)
    interest = np.array(TOPICS)[con.interest]
    for c, channel in enumerate(camp.channel):
        if camp.start[c] >= ctx.as_of or camp.end[c] <= ctx.start:
            continue
        lo, hi = max(int(camp.start[c]), ctx.start), min(int(camp.end[c]), ctx.as_of)
        topic = camp.topic[c]
        fan = 0.8 * (interest == topic)
        if channel == "webinar":
            live = min(int(camp.start[c]) + 35 * DAY, int(camp.end[c]) - DAY) // DAY * DAY
            live += 16 * HOUR
            if live < ctx.start + 2 * DAY:
                continue
            reg = (con.created < live - DAY) & (rng.random(n) < sigmoid(-3.1 + 0.7 * con.prop + fan))
            who = np.flatnonzero(reg)
            frm = np.maximum(con.created[who], max(live - 28 * DAY, ctx.start))
            t = local_moments(ctx, con.zone[who], frm, np.full(len(who), live - HOUR))
            t = np.clip(t, frm, live - HOUR)
            props = dumps({"channel": "webinar", "webinar": camp.ids[c]})
            ctx.log.add(t, "webinar_registered", contact=who, account=con.account[who],
                        campaign=c, topic=topic, props=props)  # fmt: skip
            came = rng.random(len(who)) < 0.3 + 0.3 * sigmoid(con.prop[who])
            w = who[came]
            ctx.log.add(live + rng.integers(0, 720, len(w)) * SEC, "webinar_attended", contact=w,
                        account=con.account[w], campaign=c, topic=topic, props=props)  # fmt: skip
        elif channel == "event":
            day = lo + 10 * DAY
            went = (con.created < day) & (rng.random(n) < sigmoid(-4.0 + 0.6 * con.prop + fan))
            w = np.flatnonzero(went)
            t = local_moments(ctx, con.zone[w], np.full(len(w), day), np.full(len(w), day + DAY))
            t = np.clip(t, day, day + DAY)
            ctx.log.add(
                t,
                "event_attended",
                contact=w,
                account=con.account[w],
                campaign=c,
                topic=topic,
                props=dumps({"channel": "event", "event": camp.ids[c]}),
            )
        elif channel == "content_syndication":
            got = (con.created < hi) & (rng.random(n) < sigmoid(-3.4 + 0.3 * con.prop))
            w = np.flatnonzero(got)
            frm = np.maximum(con.created[w], lo)
            t = np.clip(local_moments(ctx, con.zone[w], frm, np.full(len(w), hi)), frm, hi)
            papers = [i for i in lib.downloadable if lib.format[i] == "whitepaper"]
            pool = np.array(papers or list(lib.downloadable))
            asset = pool[rng.integers(0, len(pool), len(w))]
            kinds.emit(ctx.log, t, kinds.download[asset], contact=w, account=con.account[w],
                       campaign=np.full(len(w), c), content=asset)  # fmt: skip
        elif channel == "sdr_outreach":
            _outbound(ctx, con, c, lo, hi, topic)


def _outbound(ctx: Ctx, con: Contacts, c: int, lo: int, hi: int, topic: str) -> None:
    """An SDR sequence: three emails a few business days apart, a handful of replies."""
    rng, staff = ctx.rng, ctx.staff
    n = len(con.ids)
    w = np.flatnonzero((con.created < lo) & (rng.random(n) < 0.05))
    pool = staff.pools["other"]
    rep = np.array(pool.reps)[rng.integers(0, len(pool.reps), len(w))]
    for region, p in staff.pools.items():
        mine = np.array([(con.region[i] == "emea") == (region == "emea") for i in w], dtype=bool)
        rep[mine] = np.array(p.reps)[rng.integers(0, len(p.reps), int(mine.sum()))]
    t = lo + (rng.random(len(w)) * (hi - lo - 10 * DAY)).astype(np.int64)
    props = dumps({"channel": "sdr_outreach", "sequence": "outbound", "topic": topic})
    for step in range(3):
        t = staff.business_add(rep, t, (rng.integers(1, 3, len(w)) * staff.business_day(rep)))
        ctx.log.add(t, "email_sent", contact=w, account=con.account[w], actor=rep, campaign=c,
                    props=props)  # fmt: skip
        replied = rng.random(len(w)) < (0.02 + 0.03 * sigmoid(con.prop[w])) * (step + 1)
        r = np.flatnonzero(replied)
        ctx.log.add(t[r] + rng.integers(1, 30, len(r)) * HOUR, "email_reply", contact=w[r],
                    account=con.account[w[r]], actor=rep[r], campaign=c, props=props)  # fmt: skip


def tourists(ctx: Ctx, con: Contacts, kinds: Kinds) -> None:
    """Low-propensity contacts who click pricing or 'request a demo' once and never return."""
    rng = ctx.rng
    n = len(con.ids)
    w = np.flatnonzero(rng.random(n) < 0.26 * (1 - sigmoid(con.prop)))
    frm = active_from(ctx, con)[w]
    t = local_moments(ctx, con.zone[w], frm, np.full(len(w), ctx.as_of))
    ok = t >= frm
    w, t = w[ok], t[ok]
    kind = np.where(rng.random(len(w)) < 0.15, kinds.demo, kinds.pricing)
    kinds.emit(ctx.log, t, kind, contact=w, account=con.account[w])


def lead_capture(ctx: Ctx, con: Contacts) -> None:
    """The form fill that created each inbound contact inside the history.

    It carries its source as the touch's `channel` too: attribution reads a touch's channel (campaign,
    else `channel`), and a capture form naming its source only as `lead_source` was credited to
    "direct / unattributed" although it is the touch that sourced the lead.
    """
    sources = list(LEAD_SOURCES)
    w = np.flatnonzero((con.created >= ctx.start) & (con.lead_source != sources.index("outbound")))
    props = Cat([dumps({"form": "lead_capture", "lead_source": s, "channel": s}) for s in sources],
                con.lead_source[w])  # fmt: skip
    ctx.log.add(con.created[w], "form_submit", contact=w, account=con.account[w], props=props)
