"""Campaign charters: the scorecard counted by hand, charter and RACI checks, and a clear unknown-id error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from accord import service
from accord.errors import ReportError
from accord.reports.base import Filters
from accord.reports.campaigns import campaigns
from accord.reports.data import ReportData
from accord.spec.model import Campaign, Raci
from tests.report_world import Event, at, build, fill, insert, new_workspace, rows, write_derived

CID = "security_pipeline_h1"
WINDOW = [("start: 2027-01-05\n    end: 2027-06-30", "start: 2026-01-05\n    end: 2026-03-31")]


def _t(days: float) -> int:
    return int(at(days).timestamp())


def _opp(oid: str, stage: str, amount: float, created: float, **more: Any) -> dict[str, Any]:
    return {"opportunity_id": oid, "stage": stage, "amount": amount, "created_at": at(created), **more}


def _world(tmp_path: Path) -> service.Workspace:
    """The starter charter (touches of security_pipeline_h1 and webinar_security count) run from day 0 to
    day 85 (2026-01-05 to 2026-03-31), seen on day 60. By hand:

    touches: c1 (account a1) day 5; account a2 day 10; c5 (no account) day 40; c4 only by another campaign.
    opportunities: o1 a1 day 8 100k (a1 touched day 5: counts); o2 a2 day 9 50k (touched only later);
    o3 a2 day 20 30k won (counts, booked); o4 a3 day 15 (other campaign); o5 a1 day -10 (before the
    window); o6 contact c5 day 45 20k (counts through the contact) -> pipeline 150k, bookings 30k, 3 opps.
    MQLs: c1 day 6 (after its touch), c3 day 12 (a2 touched day 10) count; c2 day 3 is before a1's touch.
    meetings: c2 day 7 (a1 touched) and account a2 day 11 count; c1 day 4 is before the touch; c4 never.
    """
    ws = new_workspace(tmp_path, WINDOW)
    events = [
        Event(
            "t1", _t(5), "webinar_attended", contact_id="c1", account_id="a1", campaign_id="webinar_security"
        ),
        Event("t2", _t(10), "email_click", account_id="a2", campaign_id=CID),
        Event("t3", _t(1), "email_click", contact_id="c4", campaign_id="always_on_nurture"),
        Event("t4", _t(40), "webinar_attended", contact_id="c5", campaign_id="webinar_security"),
        Event("m1", _t(7), "meeting_held", contact_id="c2", actor_id="sam"),
        Event("m2", _t(11), "meeting_held", account_id="a2", actor_id="sam"),
        Event("m3", _t(4), "meeting_held", contact_id="c1", actor_id="sam"),
        Event("m4", _t(30), "meeting_held", contact_id="c4", actor_id="sam"),
    ]
    contacts = {
        "c1": {"account_id": "a1"},
        "c2": {"account_id": "a1"},
        "c3": {"account_id": "a2"},
        "c4": {"account_id": "a3"},
        "c5": {},
    }
    with ws.ledger() as ledger:
        fill(ledger, contacts, {"a1": {}, "a2": {}, "a3": {}}, events)
        insert(ledger, "opportunities", [
            _opp("o1", "discovery", 100000.0, 8, account_id="a1"),
            _opp("o2", "discovery", 50000.0, 9, account_id="a2"),
            _opp("o3", "closed_won", 30000.0, 20, account_id="a2", closed_at=at(50)),
            _opp("o4", "proposal", 70000.0, 15, account_id="a3"),
            _opp("o5", "proposal", 90000.0, -10, account_id="a1"),
            _opp("o6", "discovery", 20000.0, 45, contact_id="c5"),
        ])  # fmt: skip
        insert(ledger, "users", [{"user_id": "zed", "name": "Zed Ledger"}])
        c = "contact"
        write_derived(ledger, at(60), stages=[
            (c, "c1", "evaluation", at(6), None, None, False),
            (c, "c2", "evaluation", at(3), None, None, False),
            (c, "c3", "evaluation", at(12), None, None, False),
            (c, "c4", "evaluation", at(20), None, None, False),
        ])  # fmt: skip
    return ws


def test_scorecard_by_hand(tmp_path: Path) -> None:
    report = build(_world(tmp_path), "campaigns")
    card = {r["result"]: r for r in rows(report, f"{CID}.scorecard")}
    primary = card["Pipeline (primary outcome)"]
    assert (primary["measure"], primary["unit"], primary["target"]) == ("pipeline_created", "USD", 750000)
    assert primary["actual"] == pytest.approx(150000.0)
    assert primary["progress"] == pytest.approx(0.2)
    # day 60 of an 86-day window (from midnight New York): ~70% of the goal is due, 20% is in
    assert primary["status"] == "behind pace"
    assert card["qualified pipeline created"]["actual"] == pytest.approx(150000.0)
    assert card["meetings held at accounts the campaign reached"]["actual"] == 2
    assert card["MQLs after a campaign touch"]["actual"] == 2
    notes = " ".join(report.section(f"{CID}.scorecard").notes)
    assert "security_pipeline_h1, webinar_security" in notes and "before the" in notes


def test_bookings_and_opportunities_measures(tmp_path: Path) -> None:
    ws = _world(tmp_path)
    with ws.ledger(read_only=True) as ledger:
        data = ReportData(ledger, ws.spec, Filters())
        charter = ws.spec.campaigns[CID]
        krs = [
            kr.model_copy(update={"measure": m, "target": 10.0})
            for kr, m in zip(
                charter.okrs[0].key_results, ("bookings", "opportunities_created", "mqls"), strict=True
            )
        ]
        okr = charter.okrs[0].model_copy(update={"key_results": krs})
        spec = ws.spec.model_copy(update={"campaigns": {CID: charter.model_copy(update={"okrs": [okr]})}})
        report = campaigns(ReportData(ledger, spec, Filters()), campaign=CID)
        got = [(r["measure"], r["actual"], r["status"]) for r in rows(report, f"{CID}.scorecard")[1:]]
        assert got == [
            ("bookings", 30000.0, "met"),
            ("opportunities_created", 3.0, "behind pace"),
            ("mqls", 2.0, "behind pace"),
        ]
        assert data.as_of == _t(60)


def test_a_sound_charter_has_no_flags(tmp_path: Path) -> None:
    report = build(_world(tmp_path), "campaigns", campaign=CID)
    for key in ("charter", "raci", "scorecard"):
        assert report.section(f"{CID}.{key}").flags == []
    checks = {r["check"]: r for r in rows(report, f"{CID}.charter")}
    assert checks["Window"]["value"] == "2026-01-05 to 2026-03-31 (running, day 61 of 86)"
    assert checks["Ledger campaigns counted"]["status"] == "ok"


@pytest.fixture
def broken(tmp_path: Path) -> Iterator[Any]:
    """The world's spec with a charter no loader would pass: built past validation, as an API might."""
    ws = _world(tmp_path)
    charter = ws.spec.campaigns[CID]
    raci = [
        Raci.model_construct(
            activity="Launch",
            responsible=[],
            accountable=["dana", "omar"],  # type: ignore[arg-type]  # two Accountables, on purpose
            consulted=["ghost"],
            informed=[],
        ),
        Raci(activity="Sales play", responsible=["marco"], accountable="sdr_na"),
        Raci(activity="Reporting", responsible=["priya", "zed"], accountable="priya"),
    ]  # fmt: skip
    bad = charter.model_copy(
        update={"raci": raci, "problem": None, "owner": "nobody", "ledger_ids": ["ghost_campaign"]}
    )
    spec = ws.spec.model_copy(update={"campaigns": {CID: bad}})
    with ws.ledger(read_only=True) as ledger:
        yield campaigns(ReportData(ledger, spec, Filters()))


def test_raci_violations_are_flagged_by_activity(broken: Any) -> None:
    flags = broken.section(f"{CID}.raci").flags
    assert flags == [
        "Security-led pipeline, H1, activity 'Launch': 2 Accountable, needs exactly one",
        "Security-led pipeline, H1, activity 'Launch': no Responsible",
        "Security-led pipeline, H1, activity 'Launch': Consulted 'ghost' is not a known person or team",
        "Security-led pipeline, H1, activity 'Sales play': Accountable 'sdr_na' is a team, not one person",
    ]
    checks = {r["activity"]: r["check"] for r in rows(broken, f"{CID}.raci")}
    assert checks["Reporting"] == "ok"  # zed is a user in the ledger


def test_charter_problems_are_flagged(broken: Any) -> None:
    checks = {r["check"]: r["status"] for r in rows(broken, f"{CID}.charter")}
    assert checks["Owner"] == checks["Problem statement"] == checks["Ledger campaigns counted"] == "problem"
    assert checks["Goal"] == checks["One primary outcome"] == "ok"
    flags = " | ".join(broken.section(f"{CID}.charter").flags)
    assert "owner: nobody (not a known person)" in flags and "not in the ledger: ghost_campaign" in flags
    assert "problem statement: missing" in flags


def test_unknown_campaign_suggests_the_nearest(tmp_path: Path) -> None:
    ws = new_workspace(tmp_path)
    with ws.ledger() as ledger:
        fill(ledger, {}, {}, [])
        write_derived(ledger, at(1))
    with pytest.raises(ReportError, match="did you mean 'security_pipeline_h1'") as caught:
        build(ws, "campaigns", campaign="security_pipline_h1")
    assert caught.value.hint and "security_pipeline_h1" in caught.value.hint


def test_starter_charter_declares_measures_and_ledger_ids(starter_spec: Any) -> None:
    charter: Campaign = starter_spec.campaigns[CID]
    assert charter.ledger_ids == [CID, "webinar_security"]
    assert [kr.measure for okr in charter.okrs for kr in okr.key_results] == [
        "pipeline_created", "meetings_held", "mqls",
    ]  # fmt: skip
