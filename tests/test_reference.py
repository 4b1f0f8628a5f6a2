"""The reference derive pins docs/derive.md: hand-computed examples, then properties on random ledgers.

Every expected number below is worked out in a comment from the contract, not copied from a run, so
a change in the reference that breaks the contract fails here before the engine is compared with it.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accord.domain.journey import (
    JourneyPoint,
    StageRow,
    Trigger,
    account_history,
    blocked_until,
    opportunity_history,
    wake_ups,
    walk,
)
from accord.domain.reference import (
    Driver,
    Event,
    PointState,
    ReferenceResult,
    derive_reference,
    resolve_account,
)
from accord.domain.timeline import day_start, local_day, round2, utc_offset
from accord.spec.load import parse_spec
from accord.spec.model import Spec

DAY = 86400
HOUR = 3600
NY = ZoneInfo("America/New_York")
T0 = int(datetime(2026, 6, 1, 12, tzinfo=UTC).timestamp())  # 08:00 in New York (EDT)

COMMON = """
accord: 1
workspace: {name: Test, timezone: America/New_York}
calendars:
  office: {timezone: America/New_York, hours: {mon-fri: ["09:00-17:00"]}}
people:
  mia: {name: Mia, role: marketing_leader}
  sol: {name: Sol, role: sales_leader}
teams:
  mkt: {function: marketing, members: [mia]}
  sales: {function: sales, members: [sol]}
buying_committee:
  - {id: economic_buyer, label: Economic buyer}
  - {id: champion, label: Champion}
  - {id: end_user, label: End user}
motions:
  call: {name: Call}
  wait: {name: Wait}
reason_codes:
  - {id: bad_fit, label: Bad fit}
  - {id: bad_timing, label: Bad timing, recycle_after: 90d}
pipeline:
  deal_threshold: 0
  stages:
    - {id: discovery, name: Discovery}
    - {id: qualification, name: Qualification}
    - {id: proposal, name: Proposal}
    - {id: won, name: Won, outcome: won}
    - {id: lost, name: Lost, outcome: lost}
governance: {owners: [mia, sol], tie_breaker: sol}
agreement: {mql_stage: mql, accepted_stage: sal}
"""

FEATURES = """
features:
  engaged: {count: "type IN ('page_view', 'email_click')", window: all}
  webinars: {count: "type = 'webinar_attended'", window: all}
  demos: {count: "type = 'demo_request'", window: 60d}
  opps: {count: "type = 'opp_created'", window: all}
  won: {count: "type = 'closed_won'", window: all}
"""

FIT = """
  fit:
    cap: 50
    rules:
      - {when: "employees >= 100", points: 30, label: company size}
      - {when: "seniority = 'vp'", points: 25, label: senior buyer}
      - {when: "account.country = 'US'", points: 0.1, label: served region}
"""

INTENT = """
  intent:
    half_life: 14d
    signals:
      - {when: "type = 'demo_request'", points: 25, label: demo request}
      - {when: "type = 'pricing_view'", points: 10, label: pricing page}
"""

TIERS = """
tiers:
  - {name: Hot, when: "fit >= 30 AND intent >= 25", motion: call}
  - {name: Warm, when: "fit >= 15 OR intent >= 15", motion: wait}
"""

# Stage numbers: aware 0, consider 1, webinar 2 (optional), mql 3, sal 4, opp 5, customer 6;
# a regression target's seq is len(stages) + 1 = 8.
JOURNEY = """
journey:
  stages:
    - {id: aware, name: Aware, entry: "engaged >= 1", owner: mkt, kpi: engagement_rate}
    - {id: consider, name: Consider, entry: "engaged >= 2", owner: mkt, kpi: stage_progression_rate}
    - {id: webinar, name: Webinar, optional: true, entry: "webinars >= 1", owner: mkt, kpi: engagement_rate}
    - {id: mql, name: MQL, entry: "demos >= 1", owner: mkt, kpi: mql_to_sql_conversion}
    - {id: sal, name: SAL, entry: "disposition = 'accepted'", owner: sales, kpi: speed_to_lead}
    - {id: opp, name: Opportunity, entry: "opps >= 1", owner: sales, kpi: pipeline_creation}
    - {id: customer, name: Customer, entry: "won >= 1", owner: sales, kpi: win_rate}
  regressions:
    - {from: [sal], to: consider, on: rejected, recycle_after: 30d}
    - {from: [mql, sal], to: aware, on: [rejected, recycled]}
    - {from: [opp], to: consider, on: closed_lost, recycle_after: 90d}
"""
REG_SEQ = 8


def make_spec(fit: str = FIT, intent: str = INTENT, committee: str = "", extra: str = "") -> Spec:
    return parse_spec(COMMON + FEATURES + "scoring:" + fit + intent + committee + TIERS + JOURNEY + extra)


SPEC = make_spec()
STAGES = [s.id for s in SPEC.journey.stages]
SENIOR_US = {"c1": {"account_id": "a1", "seniority": "vp"}}
BIG_US = {"a1": {"employees": 500, "country": "US"}}


def ev(event_id: str, ts: int, type_: str, contact: str | None = "c1", **kw: Any) -> Event:
    return Event(event_id, ts, type_, contact_id=contact, **kw)


def derive(
    spec: Spec,
    events: list[Event],
    as_of: int,
    contacts: Mapping[str, Mapping[str, Any]] | None = None,
    accounts: Mapping[str, Mapping[str, Any]] | None = None,
) -> ReferenceResult:
    return derive_reference(
        spec,
        SENIOR_US if contacts is None else contacts,
        BIG_US if accounts is None else accounts,
        events,
        as_of,
    )


def at(result: ReferenceResult, ts: int, contact: str = "c1") -> PointState:
    return next(p for p in result.points if p.contact_id == contact and p.ts == ts)


def rows_of(result: ReferenceResult, entity_type: str, entity_id: str) -> list[StageRow]:
    return [r for r in result.stages if r.entity_type == entity_type and r.entity_id == entity_id]


def brief(rows: list[StageRow]) -> list[tuple[str, int, int, int | None, bool]]:
    return [(r.stage, r.seq, r.entered_at, r.exited_at, r.skipped) for r in rows]


def sums_to(drivers: list[Driver]) -> float:
    return round2(sum(d.points for d in drivers))


# ---- time -----------------------------------------------------------------------------------------


def test_round2_rounds_halves_up_as_written() -> None:
    assert round2(0.125) == 0.13  # floor(12.5 + 0.5) = 13; Python's round gives 0.12
    assert round2(-0.125) == -0.12  # floor(-12.5 + 0.5) = -12
    # The formula works on the binary double: 2.675 * 100 rounds to exactly 267.5, so 2.68 (Python's
    # round says 2.67); 1.005 * 100 is 100.49999999999999, so 1.0. Engines must compute it the same way.
    assert round2(2.675) == 2.68
    assert round2(1.005) == 1.0
    assert round2(0.1 + 0.2) == 0.3
    assert round2(-0.0) == 0.0


def test_local_days_follow_daylight_saving() -> None:
    # 2026-03-08: New York springs forward at 02:00 EST (-5h) to 03:00 EDT (-4h); that day has 23 hours.
    before = int(datetime(2026, 3, 8, 0, 30, tzinfo=NY).timestamp())
    assert utc_offset(before, "America/New_York") == -5 * HOUR
    late = int(datetime(2026, 3, 8, 23, 30, tzinfo=NY).timestamp())
    assert utc_offset(late, "America/New_York") == -4 * HOUR
    assert local_day(before, "America/New_York") == local_day(late, "America/New_York")
    assert local_day(late, "UTC") == local_day(before, "UTC") + 1  # 03:30 UTC on March 9
    assert day_start(date(2026, 3, 9), "America/New_York") == late + 30 * 60
    assert day_start(date(2026, 3, 9), "America/New_York") - day_start(
        date(2026, 3, 8), "America/New_York"
    ) == (23 * HOUR)


def test_day_start_when_midnight_is_skipped_or_repeated() -> None:
    # Havana 2015-03-08: 00:00 CST (-5) jumps to 01:00 CDT (-4); midnight does not exist. fold=0 reads it
    # with -5, i.e. 05:00 UTC, which is the jump itself: the first instant of that local date.
    skipped = day_start(date(2015, 3, 8), "America/Havana")
    assert skipped == int(datetime(2015, 3, 8, 5, tzinfo=UTC).timestamp())
    assert local_day(skipped, "America/Havana") == local_day(skipped - 1, "America/Havana") + 1
    # Havana 2015-11-01: 01:00 CDT falls back to 00:00 CST, so midnight happens twice; fold=0 takes the
    # first (CDT, -4): 04:00 UTC, again the first instant of the date.
    repeated = day_start(date(2015, 11, 1), "America/Havana")
    assert repeated == int(datetime(2015, 11, 1, 4, tzinfo=UTC).timestamp())
    assert local_day(repeated, "America/Havana") == local_day(repeated - 1, "America/Havana") + 1


# ---- intent -----------------------------------------------------------------------------------------


def test_decay_after_exactly_one_and_two_half_lives() -> None:
    events = [ev("e1", T0, "pricing_view")]
    # At T0: 10 * 2^0 = 10. One half-life (14d) later: 10 * 2^-1 = 5. Two: 10 * 2^-2 = 2.5.
    assert at(derive(SPEC, events, T0), T0).intent == 10.0
    one = derive(SPEC, events, T0 + 14 * DAY)
    assert at(one, T0 + 14 * DAY).intent == 5.0
    two = derive(SPEC, events, T0 + 28 * DAY)
    assert at(two, T0 + 28 * DAY).intent == 2.5
    signal = next(d for d in two.drivers["c1"] if d.key == "intent:1")
    # count: events with t - 30d < ts <= t: T0 is 28 days back, so 1; last_ts the latest event.
    assert (signal.label, signal.points, signal.count, signal.last_ts) == ("pricing page", 2.5, 1, T0)
    later = derive(SPEC, events, T0 + 30 * DAY)
    signal = next(d for d in later.drivers["c1"] if d.key == "intent:1")
    assert signal.count == 0  # exactly 30 days back is outside t - 30d < ts


CAPPED_INTENT = """
  intent:
    half_life: 14d
    cap: 30
    signals:
      - {when: "type = 'demo_request'", points: 25, cap: 25, label: demo request}
      - {when: "type = 'pricing_view'", points: 10, cap: 16, label: pricing page}
"""


def test_signal_caps_then_the_overall_cap() -> None:
    spec = make_spec(intent=CAPPED_INTENT)
    events = [
        ev("e1", T0, "demo_request"),
        ev("e2", T0, "demo_request"),
        ev("e3", T0, "pricing_view"),
        ev("e4", T0, "pricing_view"),
    ]
    result = derive(spec, events, T0)
    # demo: raw 25 + 25 = 50, capped at 25; pricing: raw 10 + 10 = 20, capped at 16.
    # sum 41 > cap 30, so an intent cap driver of 30 - 41 = -11; intent = 25 + 16 - 11 = 30.
    intent = [d for d in result.drivers["c1"] if d.component == "intent"]
    assert [(d.key, d.label, d.points, d.count) for d in intent] == [
        ("intent:0", "demo request", 25.0, 2),
        ("intent:1", "pricing page", 16.0, 2),
        ("intent:cap", "intent cap (30)", -11.0, None),
    ]
    assert at(result, T0).intent == 30.0


def test_each_event_counts_for_the_first_matching_signal_only() -> None:
    spec = make_spec(
        intent="""
  intent:
    half_life: 14d
    signals:
      - {when: "type = 'demo_request'", points: 25, label: demo request}
      - {when: "type IN ('demo_request', 'pricing_view')", points: 10, label: high intent}
"""
    )
    result = derive(spec, [ev("e1", T0, "demo_request"), ev("e2", T0, "pricing_view")], T0)
    # The demo matches both rules but counts only for the first: demo 25; high intent gets the pricing
    # view alone: 10 (not 20). intent = 35.
    intent = {d.key: (d.points, d.count) for d in result.drivers["c1"] if d.component == "intent"}
    assert intent == {"intent:0": (25.0, 1), "intent:1": (10.0, 1)}
    assert at(result, T0).intent == 35.0


def test_pattern_counts_local_days_across_a_dst_change() -> None:
    spec = make_spec(
        intent="""
  intent:
    half_life: 14d
    require: {distinct_days: 2, window: 30d}
    signals:
      - {when: "type = 'email_click'", points: 2, label: email click}
"""
    )
    a = int(datetime(2026, 3, 8, 0, 30, tzinfo=NY).timestamp())  # 05:30 UTC March 8, local March 8
    b = int(datetime(2026, 3, 8, 23, 30, tzinfo=NY).timestamp())  # 03:30 UTC March 9, local March 8
    c = int(datetime(2026, 3, 9, 0, 30, tzinfo=NY).timestamp())  # 04:30 UTC March 9, local March 9
    assert (b - a, c - a) == (22 * HOUR, 23 * HOUR)  # the 23-hour day
    events = [ev("e1", a, "email_click"), ev("e2", b, "email_click"), ev("e3", c, "email_click")]
    result = derive(spec, events, c)
    # At a: one click, one day: not met; the pattern driver takes back the whole 2.00.
    assert at(result, a).intent == 0.0
    # At b: two clicks but one local day (UTC would see two). Signal: 2*2^(-22/336) + 2 = 3.9113 -> 3.91.
    assert at(result, b).intent == 0.0
    # At c: local March 9 is a second day (a fixed -5h offset would still say March 8: 23:30).
    # 2*2^(-23/336) + 2*2^(-1/336) + 2 = 1.90732 + 1.99588 + 2 = 5.90320 -> 5.9.
    assert at(result, c).intent == 5.9
    before = derive(spec, events[:2], b)
    assert [(d.key, d.label, d.points) for d in before.drivers["c1"] if d.component == "intent"] == [
        ("intent:0", "email click", 3.91),
        ("intent:pattern", "intent pattern not met (1 of 2 distinct days in 30d)", -3.91),
    ]
    # A single click with no signal points left still shows the pattern driver, at zero points.
    empty = derive(spec, [ev("e1", a - 400 * DAY, "email_click")], a)
    pattern = [d for d in empty.drivers["c1"] if d.key == "intent:pattern"]
    # (no intent event in the window at all, so the topic requirement, 1 by default, fails too)
    assert [(d.label, d.points) for d in pattern] == [
        ("intent pattern not met (0 of 2 distinct days, 0 of 1 distinct topics in 30d)", 0.0)
    ]


# ---- committee ------------------------------------------------------------------------------------

COMMITTEE = """
  committee: {window: 60d, points_per_role: 5, cap: 20}
"""


def test_committee_counts_roles_engaged_in_the_window() -> None:
    spec = make_spec(committee=COMMITTEE)
    t = T0 + 100 * DAY
    contacts = {
        "c1": {"account_id": "a1", "committee_role": "economic_buyer"},
        "c2": {"account_id": "a1", "committee_role": "champion"},
        "c3": {"account_id": "a1", "committee_role": "end_user"},
        "c4": {"account_id": "a1", "committee_role": "champion"},
        "c5": {"account_id": "a2", "committee_role": "end_user"},
    }
    events = [
        ev("e1", t - DAY, "page_view", "c1"),  # in
        ev("e2", t - 59 * DAY, "email_reply", "c2"),  # in: email_reply counts as engaging
        ev("e3", t - 60 * DAY, "page_view", "c3"),  # exactly 60 days back: out at t, in at t - 1
        ev("e4", t - DAY, "email_sent", "c3"),  # rep activity, not engagement
        ev("e5", t - DAY, "page_view", "c4"),  # champion again: one role
        ev("e6", t - DAY, "page_view", "c5"),  # another account
        ev("e7", t - DAY, "page_view", None, account_id="a1"),  # names only the account: no contact, no role
    ]
    result = derive(spec, events, t, contacts, {"a1": {}, "a2": {}})
    # Roles engaged at t: economic buyer (c1), champion (c2, c4): 2 * 5 = 10.
    committee = [d for d in result.drivers["c3"] if d.component == "committee"]
    assert [(d.label, d.points, d.detail) for d in committee] == [
        ("buying committee: 2 roles engaged in 60 days", 10.0, "Economic buyer, Champion")
    ]
    assert at(result, t, "c3").committee == 10.0
    # One second earlier c3's own page view is inside the window: 3 roles, 15 points (cap 20).
    earlier = derive(spec, events, t - 1, contacts, {"a1": {}, "a2": {}})
    assert at(earlier, t - 1, "c3").committee == 15.0
    # c5's account has only c5 engaged: 1 role.
    assert [d.label for d in result.drivers["c5"] if d.component == "committee"] == [
        "buying committee: 1 role engaged in 60 days"
    ]


# ---- fit, drivers, tiers ----------------------------------------------------------------------------


def test_fit_cap_driver_and_driver_order() -> None:
    result = derive(SPEC, [], T0)
    # employees 500 -> 30; vp -> 25; account country US -> 0.1: 55.1 > cap 50, cap driver 50 - 55.1 = -5.1.
    assert [(d.key, d.label, d.points) for d in result.drivers["c1"]] == [
        ("fit:0", "company size", 30.0),
        ("fit:1", "senior buyer", 25.0),
        ("fit:cap", "fit cap (50)", -5.1),
        ("fit:2", "served region", 0.1),
    ]
    point = at(result, T0)
    assert (point.trigger, point.fit, point.intent, point.score) == ("as_of", 50.0, 0.0, 50.0)


def test_drivers_sum_exactly_to_the_score() -> None:
    spec = make_spec(
        fit="""
  fit:
    rules:
      - {when: "seniority = 'vp'", points: 0.1, label: senior}
      - {when: "employees >= 100", points: 0.2, label: size}
      - {when: "employees >= 1000", points: 7, label: large}
""",
        intent="""
  intent:
    half_life: 14d
    signals:
      - {when: "type = 'pricing_view'", points: 0.7, label: pricing page}
""",
        committee=COMMITTEE,
    )
    t = T0 + 14 * DAY
    result = derive(
        spec,
        [ev("e1", T0, "pricing_view")],
        t,
        {"c1": {"account_id": "a1", "seniority": "vp", "committee_role": "champion"}},
    )
    # fit 0.1 + 0.2 = 0.30000000000000004 in binary -> 0.3; intent 0.7 * 2^-1 = 0.35;
    # committee: the pricing view is engagement 14 days back, 1 role -> 5. Score 0.3 + 0.35 + 5 = 5.65.
    point = at(result, t)
    assert (point.fit, point.intent, point.committee, point.score) == (0.3, 0.35, 5.0, 5.65)
    assert sums_to(result.drivers["c1"]) == point.score
    assert [d.key for d in result.drivers["c1"]] == ["committee", "intent:0", "fit:1", "fit:0"]


def test_first_tier_that_holds_wins_and_none_when_none_holds() -> None:
    contacts = {
        "hot": {"account_id": "a1", "seniority": "vp"},
        "warm": {"account_id": "a2"},
        "cold": {"account_id": "a3"},
    }
    accounts = {"a1": {"employees": 500}, "a2": {"employees": 500}, "a3": {"employees": 10}}
    events = [ev("e1", T0, "demo_request", "hot"), ev("e2", T0, "demo_request", "cold")]
    result = derive(SPEC, events, T0, contacts, accounts)
    # hot: fit 55 -> cap 50, intent 25: Hot (also Warm, but the first tier wins).
    # warm: fit 30, intent 0: Warm. cold: fit 0, intent 25: fit < 30 so not Hot; intent >= 15: Warm.
    assert (at(result, T0, "hot").tier, at(result, T0, "hot").motion) == ("Hot", "call")
    assert (at(result, T0, "warm").tier, at(result, T0, "warm").motion) == ("Warm", "wait")
    assert at(result, T0, "cold").tier == "Warm"
    # Fourteen days later cold's intent is 12.5 < 15 and fit 0: no tier holds, so no tier and no motion.
    later = derive(SPEC, events, T0 + 14 * DAY, contacts, accounts)
    assert (at(later, T0 + 14 * DAY, "cold").tier, at(later, T0 + 14 * DAY, "cold").motion) == (None, None)


def test_disposition_and_assigned_follow_the_latest_handoff() -> None:
    t = T0
    events = [
        ev("e1", t + 1, "assigned"),  # -> (None, True): waiting for a disposition
        ev("e2", t + 2, "accepted"),  # -> (accepted, True)
        ev("e3", t + 3, "rejected"),  # -> (rejected, False)
        ev("e4", t + 4, "assigned"),  # -> (None, True): a new handoff clears the old disposition
        ev("e5", t + 5, "assigned"),
        ev("e6", t + 5, "rejected"),  # same second: the rejection follows the assignment -> (rejected, False)
        ev("e7", t + 6, "rejected"),
        ev("e8", t + 6, "recycled"),  # same second: recycled counts after rejected -> (recycled, False)
        ev("e9", t + 7, "accepted"),
        ev("e10", t + 7, "rejected"),  # same second: rejected counts after accepted -> (rejected, False)
        ev("e11", t + 8, "recycled"),  # -> (recycled, False)
    ]
    result = derive(SPEC, events, t + 8)
    states = [(at(result, t + k).disposition, at(result, t + k).assigned) for k in range(1, 9)]
    assert states == [
        (None, True),
        ("accepted", True),
        ("rejected", False),
        (None, True),
        ("rejected", False),
        ("recycled", False),
        ("rejected", False),
        ("recycled", False),
    ]
    assert at(derive(SPEC, [], t), t).disposition is None and not at(derive(SPEC, [], t), t).assigned


# ---- the stage machine ------------------------------------------------------------------------------

REJECTED = Trigger("rejected", None, None)


def test_forward_jump_flags_skipped_stages_but_not_optional_ones() -> None:
    steps, rows = walk(SPEC, "c1", [JourneyPoint(10, 3)])
    # -1 -> mql (3): aware and consider are passed through; the optional webinar stage is not recorded.
    assert steps == [(10, -1, 3)]
    assert brief(rows) == [
        ("aware", 0, 10, 10, True),
        ("consider", 1, 10, 10, True),
        ("mql", 3, 10, None, False),
    ]
    assert [r.exit_to for r in rows] == ["consider", "mql", None]


def test_regression_needs_the_current_stage_in_from_and_the_first_applicable_wins() -> None:
    # At consider a rejection matches no regression's `from`: nothing happens and nothing is blocked.
    steps, _ = walk(SPEC, "c1", [JourneyPoint(10, 1), JourneyPoint(20, 1, (REJECTED,)), JourneyPoint(21, 3)])
    assert steps == [(10, -1, 1), (20, 1, 1), (21, 1, 3)]
    # At sal both rejection regressions apply; the first in spec order (to consider, 30d) wins.
    steps, rows = walk(SPEC, "c1", [JourneyPoint(10, 4), JourneyPoint(20, 4, (REJECTED,))])
    assert steps[-1] == (20, 4, 1)
    assert (rows[-1].stage, rows[-1].seq, rows[-1].entered_at) == ("consider", REG_SEQ, 20)
    # At mql only the second applies (to aware, no recycle_after): blocked until 20 + 1.
    steps, _ = walk(SPEC, "c1", [JourneyPoint(10, 3), JourneyPoint(20, 3, (REJECTED,)), JourneyPoint(21, 3)])
    assert steps == [(10, -1, 3), (20, 3, 0), (21, 0, 3)]


def test_several_triggers_in_one_second_block_until_the_latest() -> None:
    # Two rejections at sal in the same second: bad_fit keeps the regression's 30d, bad_timing has 90d.
    both = (Trigger("rejected", "bad_fit", None), Trigger("rejected", "bad_timing", None))
    points = [JourneyPoint(10, 4), JourneyPoint(20, 4, both), JourneyPoint(20 + 30 * DAY, 3)]
    steps, _ = walk(SPEC, "c1", [*points, JourneyPoint(20 + 90 * DAY, 3)])
    assert [after for _, _, after in steps] == [4, 1, 1, 3]


def test_forward_move_and_regression_at_the_same_instant() -> None:
    steps, rows = walk(SPEC, "c1", [JourneyPoint(10, 1), JourneyPoint(20, 3, (REJECTED,))])
    # At 20: first forward consider -> mql, then the rejection (mql in the second regression's from)
    # sends it to aware. mql is entered and left at the same instant without being skipped.
    assert steps == [(10, -1, 1), (20, 1, 0)]
    assert [r.stage for r in rows] == ["aware", "consider", "mql", "aware"]
    assert brief(rows) == [
        ("aware", 0, 10, 10, True),
        ("consider", 1, 10, 20, False),
        ("mql", 3, 20, 20, False),
        ("aware", REG_SEQ, 20, None, False),
    ]


def test_blocked_until_takes_the_latest_of_its_three_bounds() -> None:
    to_consider, to_aware = SPEC.journey.regressions[0], SPEC.journey.regressions[1]
    t = T0
    assert blocked_until(SPEC, to_consider, REJECTED, t) == t + 30 * DAY  # the regression's 30d
    assert blocked_until(SPEC, to_aware, REJECTED, t) == t + 1  # no recycle_after: the next second
    timing = Trigger("rejected", "bad_timing", None)  # the reason code's 90d overrides the regression's
    assert blocked_until(SPEC, to_consider, timing, t) == t + 90 * DAY
    assert blocked_until(SPEC, to_aware, timing, t) == t + 90 * DAY
    fit = Trigger("rejected", "bad_fit", None)  # a code without recycle_after keeps the regression's
    assert blocked_until(SPEC, to_consider, fit, t) == t + 30 * DAY
    # recycle_on: the start of that day in New York (EDT, -4h), when it is the latest bound.
    on = Trigger("recycled", None, date(2026, 9, 1))
    assert blocked_until(SPEC, to_aware, on, t) == int(datetime(2026, 9, 1, 4, tzinfo=UTC).timestamp())
    past = Trigger("recycled", None, date(2026, 1, 1))
    assert blocked_until(SPEC, to_aware, past, t) == t + 1
    # wake-ups: one per regression naming the type, applicable or not.
    assert wake_ups(SPEC, t, [REJECTED]) == [t + 1, t + 30 * DAY]
    assert wake_ups(SPEC, t, [timing]) == [t + 90 * DAY]
    assert wake_ups(SPEC, t, [Trigger("closed_lost", None, None)]) == [t + 90 * DAY]


def test_rejection_recycles_and_the_wake_up_reenters_exactly_at_blocked_until() -> None:
    back = T0 + 3 * DAY + 90 * DAY  # blocked_until of the bad_timing rejection at T0 + 3d
    events = [
        ev("e1", T0, "page_view"),  # aware
        ev("e2", T0 + HOUR, "page_view"),  # consider
        ev("e3", T0 + DAY, "demo_request"),  # mql (webinar is optional: not skipped)
        ev("e4", T0 + 2 * DAY, "accepted"),  # sal
        ev("e5", T0 + 3 * DAY, "rejected", props={"reason_code": "bad_timing"}),  # sal -> consider, 90d
        ev("e6", T0 + 80 * DAY, "demo_request"),  # mql's rule holds again, but blocked
        ev("e7", back - 1, "page_view"),  # one second before: still blocked
        ev("e8", T0 + 100 * DAY, "page_view", "c3"),  # a colleague at the same account, aware
    ]
    contacts = {**SENIOR_US, "c3": {"account_id": "a1"}}
    result = derive(SPEC, events, T0 + 100 * DAY, contacts)
    steps = [
        (p.ts - T0, p.trigger, p.candidate, p.stage_pre, p.stage)
        for p in result.points
        if p.contact_id == "c1"
    ]
    assert steps == [
        (0, "event", 0, -1, 0),
        (HOUR, "event", 1, 0, 1),
        (DAY, "event", 3, 1, 3),
        (2 * DAY, "event", 4, 3, 4),
        (3 * DAY, "event", 3, 4, 1),  # disposition rejected: candidate mql < sal; then the regression
        (80 * DAY, "event", 3, 1, 1),
        (93 * DAY - 1, "event", 3, 1, 1),
        (93 * DAY, "wake_up", 3, 1, 3),  # both rejection regressions use the code's 90d: one wake-up
        (100 * DAY, "as_of", 3, 3, 3),
    ]
    assert brief(rows_of(result, "contact", "c1")) == [
        ("aware", 0, T0, T0 + HOUR, False),
        ("consider", 1, T0 + HOUR, T0 + DAY, False),
        ("mql", 3, T0 + DAY, T0 + 2 * DAY, False),
        ("sal", 4, T0 + 2 * DAY, T0 + 3 * DAY, False),
        ("consider", REG_SEQ, T0 + 3 * DAY, back, False),
        ("mql", 3, back, None, False),
    ]
    # The account follows its furthest contact (c1); c3 at aware changes nothing, the rejection drops it.
    assert brief(rows_of(result, "account", "a1")) == [
        ("aware", 0, T0, T0 + HOUR, False),
        ("consider", 1, T0 + HOUR, T0 + DAY, False),
        ("mql", 3, T0 + DAY, T0 + 2 * DAY, False),
        ("sal", 4, T0 + 2 * DAY, T0 + 3 * DAY, False),
        ("consider", REG_SEQ, T0 + 3 * DAY, back, False),
        ("mql", 3, back, None, False),
    ]


def test_recycle_on_blocks_until_the_start_of_that_local_day() -> None:
    events = [
        ev("e1", T0, "demo_request"),  # -1 -> mql
        ev("e2", T0 + DAY, "recycled", props={"recycle_on": "2026-06-10"}),  # mql -> aware
    ]
    result = derive(SPEC, events, T0 + 20 * DAY)
    june10 = int(datetime(2026, 6, 10, 4, tzinfo=UTC).timestamp())  # midnight EDT
    wake = at(result, june10)
    assert (wake.trigger, wake.stage_pre, wake.stage) == ("wake_up", 0, 3)
    # Back at aware, the return to mql passes consider again (skipped), not the optional webinar.
    assert brief(rows_of(result, "contact", "c1"))[-3:] == [
        ("aware", REG_SEQ, T0 + DAY, june10, False),
        ("consider", 1, june10, june10, True),
        ("mql", 3, june10, None, False),
    ]
    assert [p.ts for p in result.points] == [T0, T0 + DAY, june10, T0 + 20 * DAY]


def test_account_rollup_rises_and_drops_with_its_contacts() -> None:
    steps = {
        "c1": [(10, 0), (20, 3), (30, 0)],
        "c2": [(15, 1), (25, 1), (40, 4)],
    }
    # max per instant: 10 -> 0, 15 -> 1, 20 -> 3, 25 -> 3 (no change), 30 -> max(0, 1) = 1 (a drop),
    # 40 -> 4: a rise from consider to sal passes mql (skipped) but not the optional webinar.
    assert brief(account_history(SPEC, "a1", steps)) == [
        ("aware", 0, 10, 15, False),
        ("consider", 1, 15, 20, False),
        ("mql", 3, 20, 30, False),
        ("consider", REG_SEQ, 30, 40, False),
        ("mql", 3, 40, 40, True),
        ("sal", 4, 40, None, False),
    ]


def test_opportunity_history() -> None:
    rows, unknown = opportunity_history(
        SPEC,
        "o1",
        [
            (100, "opp_created", None),  # no stage: the first pipeline stage
            (200, "opp_stage_changed", "proposal"),  # forward: qualification skipped
            (300, "opp_stage_changed", "qualification"),  # back: recorded as it happened
            (350, "opp_stage_changed", None),  # no stage: ignored, not counted
            (400, "opp_stage_changed", "Negotiation"),  # not a stage id: counted, left out
            (450, "amount_changed", None),  # not a stage event
            (500, "closed_lost", None),  # forward to lost: nothing flagged skipped
        ],
    )
    assert unknown == 1
    # Pipeline: discovery 0, qualification 1, proposal 2, won 3, lost 4; a move back has seq 5 + 1 = 6.
    assert brief(rows) == [
        ("discovery", 0, 100, 200, False),
        ("qualification", 1, 200, 200, True),
        ("proposal", 2, 200, 300, False),
        ("qualification", 6, 300, 500, False),
        ("lost", 4, 500, None, False),
    ]
    rows, _ = opportunity_history(
        SPEC, "o2", [(100, "opp_created", "qualification"), (200, "closed_won", None)]
    )
    assert brief(rows) == [
        ("discovery", 0, 100, 100, True),
        ("qualification", 1, 100, 200, False),
        ("proposal", 2, 200, 200, True),
        ("won", 3, 200, None, False),
    ]
    # One second, several events: one move, to the stage of the last in the order created, changed,
    # won, lost.
    rows, _ = opportunity_history(
        SPEC,
        "o3",
        [
            (100, "closed_lost", None),
            (100, "opp_created", "discovery"),
            (100, "opp_stage_changed", "proposal"),
        ],
    )
    assert brief(rows) == [("lost", 4, 100, None, False)]


def test_derive_builds_opportunity_histories_and_counts_unknown_stages() -> None:
    events = [
        ev("e1", T0, "opp_created", None, opportunity_id="o1", props={"stage": "discovery"}),
        ev("e2", T0 + DAY, "opp_stage_changed", None, opportunity_id="o1", props={"stage": "bogus"}),
        ev("e3", T0 + 2 * DAY, "closed_won", None, opportunity_id="o1"),
        ev("e4", T0 + 9 * DAY, "closed_lost", None, opportunity_id="o1"),  # after as-of: ignored
    ]
    result = derive(SPEC, events, T0 + 5 * DAY)
    assert result.unknown_opportunity_stages == 1
    assert [(r.stage, r.skipped) for r in rows_of(result, "opportunity", "o1")] == [
        ("discovery", False),
        ("qualification", True),
        ("proposal", True),
        ("won", False),
    ]
    off = SPEC.model_copy(update={"pipeline": SPEC.pipeline.model_copy(update={"track_history": False})})
    assert rows_of(derive(off, events, T0 + 5 * DAY), "opportunity", "o1") == []


# ---- properties on random ledgers (starter spec) ----------------------------------------------------

TYPES = [
    "page_view", "pricing_view", "demo_request", "email_click", "webinar_attended", "content_download",
    "security_review", "comparison_view", "email_reply", "meeting_held", "email_sent", "assigned",
    "accepted", "rejected", "recycled", "opp_created", "opp_stage_changed", "closed_won", "closed_lost",
    "onboarding_kickoff", "value_milestone", "expanded",
    # handoffs and strong intent again, so that regressions and same-second moves are common
    "accepted", "accepted", "rejected", "rejected", "recycled", "demo_request", "pricing_view",
]  # fmt: skip
START = int(datetime(2026, 3, 1, tzinfo=UTC).timestamp())


@st.composite
def ledgers(draw: st.DrawFn) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]], list[Event], int]:
    contacts: dict[str, dict[str, Any]] = {
        f"c{i}": {
            "account_id": draw(st.sampled_from(["a1", "a1", "a2", None])),
            "seniority": draw(st.sampled_from(["vp", "manager", None])),
            "committee_role": draw(st.sampled_from(["economic_buyer", "champion", "end_user", None])),
            "country": "US",
        }
        for i in range(draw(st.integers(1, 4)))
    }
    accounts: dict[str, dict[str, Any]] = {
        "a1": {"employees": 800, "industry": "software"},
        "a2": {"employees": 50},
    }
    events: list[Event] = []
    for i in range(draw(st.integers(0, 22))):
        kind = draw(st.sampled_from(TYPES))
        props: dict[str, Any] = {}
        if kind == "rejected":
            props["reason_code"] = draw(st.sampled_from(["bad_timing", "no_budget", "unresponsive"]))
        if kind in ("rejected", "recycled") and draw(st.booleans()):
            props["recycle_on"] = (date(2026, 3, 1) + timedelta(days=draw(st.integers(0, 60)))).isoformat()
        if kind in ("opp_created", "opp_stage_changed"):
            props["stage"] = draw(
                st.sampled_from(["discovery", "proposal", "negotiation", "qualified?", None])
            )
        ts = START + draw(st.integers(0, 40)) * draw(st.sampled_from([HOUR, 6 * HOUR, DAY]))
        contact = draw(st.sampled_from([*contacts, None]))
        if events and draw(st.integers(0, 3)) == 0:  # same second, same contact as the previous event
            ts, contact = events[-1].ts, events[-1].contact_id
        events.append(
            Event(
                f"e{i}",
                ts,
                kind,
                contact_id=contact,
                account_id=draw(st.sampled_from(["a1", "a2", None])),
                opportunity_id=draw(st.sampled_from(["o1", "o2", None]))
                if kind.startswith(("opp", "closed"))
                else None,
                topic=draw(st.sampled_from(["pricing", "security", None])),
                props=props,
            )
        )
    as_of = START + draw(st.integers(0, 50)) * DAY
    return contacts, accounts, events, as_of


def _check_history(rows: list[StageRow], stage_count: int, optional: set[str]) -> None:
    """No gaps, no overlaps: each row ends where the next begins, and zero-length rows are explained."""
    assert rows == sorted(rows, key=lambda r: (r.entered_at, r.seq))
    assert len({(r.entered_at, r.seq) for r in rows}) == len(rows)
    for row, nxt in itertools.pairwise(rows):
        assert (row.exited_at, row.exit_to) == (nxt.entered_at, nxt.stage)
        assert row.stage != row.exit_to
        if row.entered_at == row.exited_at and not row.skipped:
            # entered and left in the same second without being skipped: only when a regression (or a
            # move back) follows at that instant
            assert nxt.seq == stage_count + 1 and nxt.entered_at == row.entered_at
    if rows:
        assert rows[-1].exited_at is None and rows[-1].exit_to is None
    assert not any(r.skipped and r.stage in optional for r in rows)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ledger=ledgers(), seed=st.integers(0, 2**16))
def test_reference_invariants(
    starter_spec: Spec,
    ledger: tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]], list[Event], int],
    seed: int,
) -> None:
    contacts, accounts, events, as_of = ledger
    spec = starter_spec
    result = derive_reference(spec, contacts, accounts, events, as_of)

    shuffled = list(events)
    random.Random(seed).shuffle(shuffled)
    assert derive_reference(spec, contacts, accounts, shuffled, as_of) == result

    cap = spec.scoring.intent.cap
    assert cap is not None
    by_contact: dict[str, list[PointState]] = {}
    for p in result.points:
        by_contact.setdefault(p.contact_id, []).append(p)
        assert p.score == round2(p.fit + p.intent + p.committee)
        assert 0 <= p.intent <= cap
        assert p.ts <= as_of
    for cid, points in by_contact.items():
        assert [p.ts for p in points] == sorted({p.ts for p in points})
        assert points[-1].ts == as_of
        assert all(a.stage == b.stage_pre for a, b in itertools.pairwise(points))
        assert sums_to(result.drivers[cid]) == points[-1].score
        history = rows_of(result, "contact", cid)
        assert (history[-1].stage if history else None) == (
            spec.stage_ids()[points[-1].stage] if points[-1].stage >= 0 else None
        )

    stage_count, optional = len(spec.journey.stages), {s.id for s in spec.journey.stages if s.optional}
    entities = {(r.entity_type, r.entity_id) for r in result.stages}
    for kind, entity in entities:
        rows = rows_of(result, kind, entity)
        if kind == "opportunity":
            open_stages = {s.id for s in spec.pipeline.stages if s.outcome == "open"}
            _check_history(rows, len(spec.pipeline.stages), set())
            assert all(r.stage in open_stages for r in rows if r.skipped)
        else:
            _check_history(rows, stage_count, optional)
        if kind == "account":
            # the account's open stage is the furthest final stage among its contacts
            live = [e for e in events if e.ts <= as_of]
            members = [c for c in by_contact if resolve_account(c, contacts.get(c), live) == entity]
            assert rows[-1].stage == spec.stage_ids()[max(by_contact[c][-1].stage for c in members)]


@pytest.mark.parametrize("ts", [START, START + DAY])
def test_a_contact_without_events_is_evaluated_once_at_as_of(starter_spec: Spec, ts: int) -> None:
    result = derive_reference(starter_spec, {"c1": {}}, {}, [], ts)
    assert [(p.ts, p.trigger, p.stage) for p in result.points] == [(ts, "as_of", -1)]
    assert result.stages == []
