"""SLA clocks and routing on hand-made cases: statuses, business deadlines, escalation, fairness."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from accord.domain.calendar import BusinessCalendar
from accord.domain.clocks import Clock, Clocks, Happening
from accord.domain.routing import RepState, Router
from accord.spec.model import Spec

NY = ZoneInfo("America/New_York")


def ny(month: int, day: int, hour: int, minute: int = 0) -> int:
    return int(datetime(2026, month, day, hour, minute, tzinfo=NY).timestamp())


def clocks(spec: Spec) -> Clocks:
    cal = BusinessCalendar.from_spec(spec.calendars["us_east"], years=[2026])
    return Clocks(spec, lambda _owner: cal)


def by_sla(spec: Spec, events: list[Happening], as_of: int) -> dict[str, list[Clock]]:
    out: dict[str, list[Clock]] = {}
    for c in clocks(spec).for_contact("c1", events, as_of):
        out.setdefault(c.sla, []).append(c)
    return out


def test_first_touch_met_within_one_business_hour(starter_spec: Spec) -> None:
    events = [
        Happening(ny(11, 20, 16, 45), "assigned", "sam"),
        Happening(ny(11, 23, 9, 10), "call_attempt", "sam"),
    ]
    (ft,) = by_sla(starter_spec, events, ny(11, 23, 12))["first_touch"]
    assert ft.deadline == ny(11, 23, 9, 15)  # 45 min Friday + 15 min Monday
    assert ft.status == "met" and ft.elapsed == 55 * 60
    assert ft.escalations == []


def test_touch_by_someone_else_does_not_stop_the_clock(starter_spec: Spec) -> None:
    events = [
        Happening(ny(11, 23, 10), "assigned", "sam"),
        Happening(ny(11, 23, 10, 5), "call_attempt", "lee"),
    ]
    (ft,) = by_sla(starter_spec, events, ny(11, 23, 10, 50))["first_touch"]
    assert ft.status == "at_risk"  # 45 min elapsed of 60: less than 25% left
    assert ft.at_risk_at == ny(11, 23, 10, 45)


def test_breach_escalates_owner_manager_tie_breaker(starter_spec: Spec) -> None:
    events = [Happening(ny(11, 23, 11, 30), "assigned", "sam")]
    (ft,) = by_sla(starter_spec, events, ny(11, 23, 16))["first_touch"]
    assert ft.status == "breached" and ft.deadline == ny(11, 23, 13, 30)  # lunch 12-13 does not count
    assert [(e.link, e.to, e.due) for e in ft.escalations] == [
        ("owner", "sam", ny(11, 23, 13, 30)), ("manager", "marco", ny(11, 23, 14, 30)),
        ("tie_breaker", "priya", ny(11, 23, 15, 30))]  # fmt: skip
    late = [*events, Happening(ny(11, 23, 14), "email_sent", "sam")]
    (ft,) = by_sla(starter_spec, late, ny(11, 23, 16))["first_touch"]
    assert ft.status == "breached" and [e.link for e in ft.escalations] == ["owner"]


def test_reassignment_restarts_the_clock_for_the_new_owner(starter_spec: Spec) -> None:
    events = [Happening(ny(11, 23, 9), "assigned", "sam"), Happening(ny(11, 23, 9, 30), "assigned", "lee"),
              Happening(ny(11, 23, 9, 40), "call_attempt", "lee")]  # fmt: skip
    first, second = by_sla(starter_spec, events, ny(11, 23, 12))["first_touch"]
    assert (first.owner, first.status) == ("sam", "reassigned")
    assert (second.owner, second.status, second.elapsed) == ("lee", "met", 600)


def test_a_lead_given_back_ends_its_clocks(starter_spec: Spec) -> None:
    """A rejected lead leaves the rep's queue: its first-touch clock must not breach and escalate to
    the manager later (it once stayed open, one more than the queues held). In time it is neither met
    nor breached; already late, it stays breached."""
    t = ny(11, 23, 9)
    early = [Happening(t, "assigned", "sam"), Happening(t + 600, "rejected", "sam")]
    clocks_of = by_sla(starter_spec, early, ny(11, 25, 9))
    (ft,) = clocks_of["first_touch"]
    assert (ft.status, ft.superseded_at, ft.escalations) == ("given_back", t + 600, [])
    (disp,) = clocks_of["disposition"]
    assert disp.status == "met"  # a rejection is the disposition it asks for
    late = [Happening(t, "assigned", "sam"), Happening(ny(11, 23, 10, 30), "recycled", "marco")]
    (ft,) = by_sla(starter_spec, late, ny(11, 25, 9))["first_touch"]
    assert ft.status == "breached" and [e.link for e in ft.escalations] == ["owner"]
    touched = [*early[:1], Happening(t + 60, "call_attempt", "sam"), early[1]]
    (ft,) = by_sla(starter_spec, touched, ny(11, 25, 9))["first_touch"]
    assert (ft.status, ft.stopped_at) == ("met", t + 60)


def test_disposition_clock_counts_wall_clock_hours(starter_spec: Spec) -> None:
    events = [Happening(ny(11, 20, 16), "assigned", "sam"), Happening(ny(11, 23, 9), "accepted", "sam")]
    (disp,) = by_sla(starter_spec, events, ny(11, 24, 9))["disposition"]
    assert disp.deadline == ny(11, 22, 16) and disp.status == "breached"  # 48 h over the weekend


def test_attempt_cadence(starter_spec: Spec) -> None:
    t = ny(11, 23, 9)
    events = [Happening(t, "assigned", "sam"), Happening(t + 600, "call_attempt", "sam"),
              Happening(t + 3600, "email_sent", "sam")]  # fmt: skip
    (ft,) = by_sla(starter_spec, events, ny(11, 23, 12))["first_touch"]
    assert (ft.attempts, ft.cadence_status) == (2, "open")
    (ft,) = by_sla(starter_spec, [*events, Happening(ny(11, 24, 10), "call_attempt", "sam")], ny(11, 26, 9))[
        "first_touch"
    ]
    assert ft.cadence_status == "met"
    (ft,) = by_sla(starter_spec, events, ny(11, 27, 12))["first_touch"]  # 2 business days later
    assert ft.cadence_status == "breached"


def test_round_robin_is_fair_and_skips_who_cannot_take_leads(starter_spec: Spec) -> None:
    router = Router(starter_spec)
    row = {"region": "na", "account__employees": 300}
    reps = {"sam": RepState("sam", last_assigned=100), "lee": RepState("lee", last_assigned=50),
            "ana": RepState("ana", last_assigned=None)}  # fmt: skip
    d = router.route("L1", row, on=date(2026, 11, 23), reps=reps)
    assert (d.owner, d.team, d.rule) == ("ana", "sdr_na", "default")  # never assigned goes first
    assert "fewest open Tier 1" in d.why  # sdr_na is load balanced
    # ana is out of office over Christmas; managers never get leads
    d = router.route("L2", row, on=date(2026, 12, 24), reps=reps)
    assert d.owner in {"sam", "lee"} and "marco" not in d.candidates and "ana" not in d.candidates
    # everyone at capacity: nobody, and the reason says so
    full = {m: RepState(m, open_leads=40) for m in ("sam", "lee", "ana")}
    d = router.route("L3", row, on=date(2026, 11, 23), reps=full)
    assert d.owner is None and "at capacity (40/40)" in d.why


def test_emea_and_account_owner_rules(starter_spec: Spec) -> None:
    router = Router(starter_spec)
    emea = router.route("L1", {"region": "emea"}, on=date(2026, 11, 23), reps={})
    assert emea.team == "sdr_emea" and emea.owner in {"tom", "ines"}
    big = {"account__owner_id": "rosa", "account__employees": 9000, "region": "na"}
    d = router.route("L2", big, on=date(2026, 11, 23), reps={}, account_owner="rosa")
    assert (d.owner, d.method) == ("rosa", "account_owner") and "owns the account" in d.why
    busy = {"rosa": RepState("rosa", open_leads=99)}
    d = router.route("L3", big, on=date(2026, 11, 23), reps=busy, account_owner="rosa")
    assert d.owner == "jon" and "account owner unavailable" in d.why


def test_round_robin_spreads_evenly_over_time(starter_spec: Spec) -> None:
    router = Router(starter_spec)
    reps = {m: RepState(m) for m in ("tom", "ines")}
    counts = {"tom": 0, "ines": 0}
    for i in range(40):
        d = router.route(f"L{i}", {"region": "emea"}, on=date(2026, 11, 23), reps=reps)
        assert d.owner is not None
        counts[d.owner] += 1
        reps[d.owner] = RepState(d.owner, last_assigned=i)
    assert counts == {"tom": 20, "ines": 20}
