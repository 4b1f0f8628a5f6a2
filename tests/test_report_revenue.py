"""Attribution, tier validation and the revenue plan on worlds small enough to count by hand."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from accord.reports.base import Filters
from accord.reports.stats import lift_interval, wilson
from tests.report_world import DAY, T0, Event, at, build, fill, insert, new_workspace, rows, write_derived

PLAN_2026 = (
    (
        "start: 2027-01-01\n  end: 2027-12-31\n  target: 12000000",
        "start: 2026-01-01\n  end: 2026-12-31\n  target: 120000",
    ),
    (
        "{quarter: 2027-Q1, marketing: 2900000, sales: 2600000}",
        "{quarter: 2026-Q1, marketing: 5000, sales: 4000}",
    ),
)


def t(days: float) -> int:
    return T0 + round(days * DAY)


Row = dict[str, Any]


def opp(opp_id: str, account: str, contact: str | None, created: float, amount: float, **extra: Any) -> Row:
    return {"opportunity_id": opp_id, "account_id": account, "contact_id": contact, "created_at": at(created),
            "amount": amount, "owner_id": "jon", **extra}  # fmt: skip


def won(opp_id: str, account: str, contact: str | None, created: float, closed: float, amount: float) -> Row:
    return opp(opp_id, account, contact, created, amount, stage="closed_won", is_closed=True, is_won=True,
               closed_at=at(closed))  # fmt: skip


def lost(opp_id: str, account: str, contact: str | None, created: float, closed: float, amount: float) -> Row:
    return opp(opp_id, account, contact, created, amount, stage="closed_lost", is_closed=True, is_won=False,
               closed_at=at(closed), loss_reason="price")  # fmt: skip


# ---- attribution -----------------------------------------------------------------------------------


def _attribution_world(tmp_path: Path):  # type: ignore[no-untyped-def]
    """o1 (a1, 1000): page_view d0 (first), webinar d50 (campaign camp_w), call d55; created d60, won d90.
    o2 (a2, 3000): call d10 (first: sales), email_click d100 (channel email); created d120, won d150.
    o3 (a2, 500) lost; o4 (a1, 7000) won on d200, outside a period ending on d180."""
    ws = new_workspace(tmp_path)
    with ws.ledger() as ledger:
        contacts = {"c1": {"account_id": "a1"}, "c2": {"account_id": "a1"}, "c3": {"account_id": "a2"}}
        fill(ledger, contacts, {"a1": {"segment": "mid_market"}, "a2": {"segment": "enterprise"}}, [
            Event("e1", t(0), "page_view", "c1", "a1"),
            Event("e2", t(50), "webinar_attended", "c2", "a1", campaign_id="camp_w"),
            Event("e3", t(55), "call_attempt", "c1", "a1", actor_id="jon"),
            Event("e4", t(10), "call_attempt", "c3", "a2", actor_id="jon"),
            Event("e5", t(100), "email_click", "c3", "a2", props={"channel": "email"}),
            Event("e6", t(130), "page_view", "c3", "a2"),  # after o2 was created: not a touch of o2
        ])  # fmt: skip
        insert(ledger, "campaigns", [{"campaign_id": "camp_w", "name": "Webinar", "channel": "webinar"}])
        insert(ledger, "opportunities", [
            won("o1", "a1", "c1", 60, 90, 1000), won("o2", "a2", "c3", 120, 150, 3000),
            lost("o3", "a2", "c3", 125, 160, 500), won("o4", "a1", "c2", 170, 200, 7000),
        ])  # fmt: skip
        write_derived(ledger, at(250))
    return ws


def test_sourced_influenced_and_credit_by_hand(tmp_path: Path) -> None:
    ws = _attribution_world(tmp_path)
    report = build(ws, "attribution", Filters(since=t(0), until=t(180)))
    summary = {r["metric"]: r for r in rows(report, "summary")}
    assert summary["closed-won"]["amount"] == 4000 and summary["closed-won"]["deals"] == 2
    assert summary["marketing-sourced"]["amount"] == 1000  # o1's first touch was a page view
    assert summary["marketing-sourced"]["share"] == pytest.approx(0.25)
    assert summary["marketing-influenced"]["amount"] == 4000  # both had a marketing touch in 90 days
    assert summary["marketing-sourced"]["status"] == "below target"  # starter target 40%
    first = {r["channel"]: (r["count"], r["amount"]) for r in rows(report, "first_touch")}
    assert first == {"direct / unattributed": (1, 1000), "sales outreach": (1, 3000)}
    linear = {r["channel"]: (r["count"], r["amount"]) for r in rows(report, "linear")}
    assert linear["email"] == (1, pytest.approx(3000))
    for channel in ("direct / unattributed", "webinar", "sales outreach"):
        assert linear[channel] == (1, pytest.approx(1000 / 3))  # o1: three touches in its window
    assert sum(r["amount"] for r in rows(report, "linear")) == pytest.approx(4000)


def test_a_deal_counts_the_amount_it_closed_at(tmp_path: Path) -> None:
    """A renewal or an expansion after the win carries its own amount, not the deal's."""
    ws = _attribution_world(tmp_path)
    with ws.ledger() as ledger:
        fill(ledger, {}, {}, [
            Event("w1", t(90), "closed_won", account_id="a1", opportunity_id="o1", props={"amount": 1000}),
            Event("x1", t(120), "expanded", account_id="a1", opportunity_id="o1", props={"amount": 400}),
            Event("r1", t(170), "renewed", account_id="a1", opportunity_id="o1", props={"amount": 900}),
            Event("a2", t(130), "amount_changed", "c3", "a2", opportunity_id="o2", props={"amount": 3300}),
        ])  # fmt: skip
    report = build(ws, "attribution", Filters(since=t(0), until=t(180)))
    summary = {r["metric"]: r for r in rows(report, "summary")}
    assert summary["closed-won"]["amount"] == 1000 + 3300  # o2's correction before its win counts
    assert summary["marketing-sourced"]["amount"] == 1000


def test_window_decides_influence(tmp_path: Path) -> None:
    ws = _attribution_world(tmp_path)
    period = Filters(since=t(0), until=t(180))
    narrow = {r["metric"]: r for r in rows(build(ws, "attribution", period, window_days=5), "summary")}
    assert (
        narrow["marketing-influenced"]["amount"] == 0
    )  # o1 only a call in [55, 60]; o2 nothing in [115, 120]
    assert narrow["marketing-sourced"]["amount"] == 1000  # first touch does not depend on the window
    segment = {
        r["metric"]: r for r in rows(build(ws, "attribution", Filters(segment="enterprise")), "summary")
    }
    assert segment["closed-won"]["amount"] == 3000  # o2 only


def test_a_capture_form_sources_its_channel_and_dense_visits_make_sourced_equal_influenced(
    tmp_path: Path,
) -> None:
    """Counted by hand (docs/metrics.md, Attribution, "Why sourced can equal influenced"):

    o1 (a1, 2000): lead-capture form d0 (channel paid_search), page views d20, d70; created d80.
    o2 (a2, 1000): page view d5 (no campaign, no channel), page view d50; created d60.
    o3 (a3, 4000): created d30 with no recorded touch before it (history starts later).
    Won 7000. Sourced: o1 + o2 = 3000 (both first touches are engagement). Influenced within 90
    days: o1 + o2 = 3000, the same deals: every deal with a history has visits in the window.
    First touch: paid_search 2000 (the form's channel), direct / unattributed 1000 (o2).
    With a 25-day window o1 keeps its d70 visit (influenced), o2's last visit is 10 days before
    creation (influenced): 3000; with 5 days neither: sourced 3000, influenced 0.
    """
    ws = new_workspace(tmp_path)
    with ws.ledger() as ledger:
        contacts = {"c1": {"account_id": "a1"}, "c2": {"account_id": "a2"}, "c3": {"account_id": "a3"}}
        form = {"form": "lead_capture", "lead_source": "paid_search", "channel": "paid_search"}
        fill(ledger, contacts, {"a1": {}, "a2": {}, "a3": {}}, [
            Event("f1", t(0), "form_submit", "c1", "a1", props=form),
            Event("p1", t(20), "page_view", "c1", "a1"),
            Event("p2", t(70), "page_view", "c1", "a1"),
            Event("p3", t(5), "page_view", "c2", "a2"),
            Event("p4", t(50), "page_view", "c2", "a2"),
            Event("p5", t(40), "page_view", "c3", "a3"),  # after o3's creation: no touch of o3
        ])  # fmt: skip
        insert(ledger, "opportunities", [
            won("o1", "a1", "c1", 80, 100, 2000), won("o2", "a2", "c2", 60, 90, 1000),
            won("o3", "a3", "c3", 30, 95, 4000),
        ])  # fmt: skip
        write_derived(ledger, at(250))

    def summary(**options: Any) -> dict[str, tuple[int, float]]:
        got = rows(build(ws, "attribution", **options), "summary")
        return {r["metric"]: (r["deals"], r["amount"]) for r in got}

    assert summary() == {"closed-won": (3, 7000), "marketing-sourced": (2, 3000),
                         "marketing-influenced": (2, 3000)}  # fmt: skip
    first = {r["channel"]: (r["count"], r["amount"]) for r in rows(build(ws, "attribution"), "first_touch")}
    assert first == {"paid_search": (1, 2000), "direct / unattributed": (1, 1000)}
    assert summary(window_days=25)["marketing-influenced"] == (2, 3000)
    assert summary(window_days=5) == {"closed-won": (3, 7000), "marketing-sourced": (2, 3000),
                                      "marketing-influenced": (0, 0)}  # fmt: skip


# ---- tier validation -------------------------------------------------------------------------------


def _tier_world(tmp_path: Path):  # type: ignore[no-untyped-def]
    """c1: Tier 2 d0, Tier 1 d5, opportunity d10.  c2: Tier 1 d0, never converts.
    c3: Tier 3 d0, opportunity d15, Tier 1 d20 (after converting: does not count).
    c4: Tier 2, never converts.  c5: Tier 2 d0, opportunity d30.  c6: no tier ever."""
    ws = new_workspace(tmp_path)
    with ws.ledger() as ledger:
        fill(ledger, {f"c{i}": {"account_id": "a1"} for i in range(1, 7)}, {"a1": {}}, [])
        scores = [
            ("c1", 0, "Tier 2"), ("c1", 5, "Tier 1"), ("c2", 0, "Tier 1"), ("c3", 0, "Tier 3"),
            ("c3", 20, "Tier 1"), ("c4", 0, "Tier 2"), ("c5", 0, "Tier 2"), ("c6", 0, None),
        ]  # fmt: skip
        c = "contact"
        write_derived(
            ledger, at(60),
            scores=[{"contact_id": cid, "at": at(d), "tier": tier} for cid, d, tier in scores],
            stages=[(c, "c1", "opportunity", at(10), None, None, False),
                    (c, "c3", "opportunity", at(15), None, None, False),
                    (c, "c5", "opportunity", at(30), None, None, False)],
        )  # fmt: skip
    return ws


def test_tier_classes_rates_and_lift_by_hand(tmp_path: Path) -> None:
    ws = _tier_world(tmp_path)
    report = build(ws, "tiers")
    got = {r["tier"]: r for r in rows(report, "tiers")}
    assert (got["Tier 1"]["n"], got["Tier 1"]["converted"]) == (2, 1)  # c1 yes, c2 no
    assert (got["Tier 2"]["n"], got["Tier 2"]["converted"]) == (2, 1)  # c4 no, c5 yes
    assert (got["Tier 3"]["n"], got["Tier 3"]["converted"]) == (1, 1)  # c3: its Tier 1 came after
    base = got["All leads (baseline)"]
    assert (base["n"], base["converted"]) == (6, 3)  # c6 counts only in the baseline
    assert got["Tier 1"]["lift"] == pytest.approx(1.0)
    assert (got["Tier 1"]["ci_low"], got["Tier 1"]["ci_high"]) == pytest.approx(wilson(1, 2))
    assert (got["Tier 1"]["lift_low"], got["Tier 1"]["lift_high"]) == pytest.approx(lift_interval(1, 2, 3, 6))
    assert any("not above the baseline" in f for f in report.section("tiers").flags)


def test_tier_horizon_counts_from_the_tier(tmp_path: Path) -> None:
    ws = _tier_world(tmp_path)
    got = {r["tier"]: r for r in rows(build(ws, "tiers", horizon_days=7), "tiers")}
    assert got["Tier 1"]["converted"] == 1  # c1: Tier 1 on d5, opportunity d10
    assert got["Tier 3"]["converted"] == 0  # c3: 15 days after its Tier 3
    assert got["All leads (baseline)"]["converted"] == 1
    assert not any("not above" in f for f in build(ws, "tiers", horizon_days=7).section("tiers").flags)


# ---- revenue plan ----------------------------------------------------------------------------------


def _plan_world(tmp_path: Path, extra: tuple[tuple[str, str], ...] = ()):  # type: ignore[no-untyped-def]
    ws = new_workspace(tmp_path, PLAN_2026 + extra)
    with ws.ledger() as ledger:
        calls = [Event(f"call{i}", t(i), "call_attempt", "c1", "a1", actor_id="jon") for i in range(8)]
        fill(ledger, {f"c{i}": {"account_id": "a1"} for i in range(1, 5)}, {"a1": {}}, calls)
        insert(ledger, "opportunities", [
            won("o1", "a1", "c1", 0, 30, 1000), won("o2", "a1", "c1", 10, 50, 3000),
            lost("o3", "a1", "c2", 20, 40, 500), opp("o4", "a1", "c1", 100, 2000, stage="proposal"),
        ])  # fmt: skip
        insert(ledger, "campaigns", [{"campaign_id": "k1", "name": "K", "cost": 400.0,
                                      "start_date": at(1).date()}])  # fmt: skip
        c = "contact"
        write_derived(ledger, at(180), stages=[
            (c, "c1", "evaluation", at(0), at(1), "sales_accepted", False),
            (c, "c1", "sales_accepted", at(1), at(2), "opportunity", False),
            (c, "c1", "opportunity", at(2), None, None, False),
            (c, "c2", "evaluation", at(0), at(1), "sales_accepted", False),
            (c, "c2", "sales_accepted", at(1), None, None, False),
            (c, "c3", "evaluation", at(0), None, None, False),
            (c, "c4", "evaluation", at(0), None, None, False),
        ])  # fmt: skip
    return ws


def test_plan_backward_from_the_target(tmp_path: Path) -> None:
    report = build(_plan_world(tmp_path), "plan")
    used = {r["key"]: r["used"] for r in rows(report, "inputs")}
    assert used["win_rate"] == pytest.approx(2 / 3)
    assert used["avg_deal_size"] == pytest.approx(2000)
    assert used["cycle_days"] == pytest.approx(35)  # median of 30 and 40
    assert used["rate_evaluation_sales_accepted"] == pytest.approx(0.5)
    assert used["rate_sales_accepted_opportunity"] == pytest.approx(0.5)
    assert used["opportunities_per_contact"] == pytest.approx(4.0)  # 4 created, 1 contact at opportunity
    assert used["activities_per_opportunity"] == pytest.approx(2.0)  # 8 calls / 4 opportunities
    assert used["cost_per_mql"] == pytest.approx(100.0)  # 400 / 4 MQLs
    lines = {r["line"]: r["total"] for r in rows(report, "plan")}
    assert lines["Won deals needed"] == pytest.approx(60)  # 120000 / 2000
    assert lines["Opportunities needed"] == pytest.approx(90)  # 60 / (2/3)
    assert lines["Contacts reaching opportunity"] == pytest.approx(22.5)
    assert lines["Contacts reaching sales_accepted"] == pytest.approx(45)
    assert lines["Contacts reaching evaluation"] == pytest.approx(90)
    assert lines["Rep activities"] == pytest.approx(180)
    assert lines["Marketing spend"] == pytest.approx(9000)
    assert lines["Required pipeline (target x coverage)"] == pytest.approx(360000)
    actual = {r["line"]: r for r in rows(report, "actual")}
    start = T0 - 4 * DAY - 12 * 3600  # 2026-01-01 00:00 UTC
    elapsed = (t(180) - start) / (365 * DAY)
    assert actual["Closed-won revenue"]["actual"] == 4000
    assert actual["Closed-won revenue"]["plan_to_date"] == pytest.approx(120000 * elapsed)
    assert actual["Closed-won revenue"]["status"] == "behind"
    [forecast] = rows(report, "forecasts")
    assert forecast["variance"] == pytest.approx(0.25) and forecast["actual"] == 4000
    assert (forecast["marketing_error"], forecast["sales_error"]) == (pytest.approx(0.25), 0)


def test_plan_assumptions_override_measured_rates(tmp_path: Path) -> None:
    override = (("  forecasts:\n", "  assumptions: {win_rate: 0.5}\n  forecasts:\n"),)
    report = build(_plan_world(tmp_path, override), "plan")
    win = next(r for r in rows(report, "inputs") if r["key"] == "win_rate")
    assert (win["measured"], win["used"], win["source"]) == (pytest.approx(2 / 3), 0.5, "assumption")
    lines = {r["line"]: r["total"] for r in rows(report, "plan")}
    assert lines["Opportunities needed"] == pytest.approx(120)


# ---- scorecard -------------------------------------------------------------------------------------


def test_scorecard_by_hand(tmp_path: Path) -> None:
    """The attribution world (o1 1000, o2 3000, o4 7000 won; o3 lost) inside a 2026 plan of 120,000, plus
    o5 open (10,900 in proposal) that used a mapped asset, dispositions, and stage histories."""
    ws = _attribution_world(tmp_path)
    text = ws.spec_path.read_text()
    for old, new in PLAN_2026:
        text = text.replace(old, new)
    ws.spec_path.write_text(text)
    ws = type(ws)(ws.root)  # a fresh handle reads the edited spec
    dispositions = (
        [("accepted", 250 - 20 + i) for i in range(3)]  # two weeks before: 3 accepted (above target)
        + [("rejected", 250 - 10)]  # last week but one: 1 rejected
        + [("accepted", 250 - 3), ("rejected", 250 - 2), ("rejected", 250 - 1)]  # last week: 1 of 3
    )
    with ws.ledger() as ledger:
        fill(ledger, {}, {}, [
            *(Event(f"d{i}", t(day), kind, "c1", "a1", actor_id="jon", props={"reason_code": "bad_fit"}
                    if kind == "rejected" else {}) for i, (kind, day) in enumerate(dispositions)),
            Event("share1", t(215), "content_shared", "c2", "a1", opportunity_id="o5", content_id="ast1",
                  actor_id="jon"),
        ])  # fmt: skip
        insert(ledger, "opportunities", [opp("o5", "a1", "c2", 210, 10900, stage="proposal")])
        insert(ledger, "content", [{"content_id": "ast1", "title": "Security brief", "stage": "evaluation",
                                    "committee_role": "security_reviewer", "created_at": at(1)}])  # fmt: skip
        c = "contact"
        write_derived(ledger, at(250), stages=[
            (c, "c1", "awareness", at(0), None, None, False),
            (c, "c3", "awareness", at(5), at(5), "evaluation", True),
            (c, "c3", "evaluation", at(5), None, None, False),
        ])  # fmt: skip
    report = build(ws, "scorecard")
    got = {r["metric"]: r for r in rows(report, "scorecard")}
    acceptance = got["MQL acceptance rate"]
    assert acceptance["value"] == pytest.approx(4 / 7) and acceptance["status"] == "below target"
    assert got["First-touch SLA compliance"]["status"] == "no data"  # no clocks in this world
    assert got["Marketing-sourced closed-won"]["value"] == pytest.approx(
        8000 / 11000
    )  # o1 and o4 (a1's page view)
    assert got["Marketing-influenced closed-won"]["value"] == pytest.approx(4000 / 11000)  # o1, o2
    assert got["Forecast variance between teams"]["value"] == pytest.approx(0.25)
    assert got["Pipeline coverage"]["value"] == pytest.approx(10900 / (120000 - 11000))
    assert got["Content utilization in active deals"]["value"] == pytest.approx(1.0)
    assert got["Win rate (by entry state below)"]["value"] == pytest.approx(3 / 4)
    flags = report.section("scorecard").flags
    assert any("2 weeks in a row" in f for f in flags)
    [stage] = rows(report, "coverage")
    assert (stage["stage"], stage["deals"], stage["amount"]) == ("proposal", 1, 10900)
    assert stage["weighted"] == pytest.approx(10900 * 0.6)
    entry = {r["entry_state"]: (r["closed"], r["won"]) for r in rows(report, "win_rate_by_entry")}
    assert entry == {"awareness": (1, 1), "evaluation": (2, 1), "(no journey)": (1, 1)}
