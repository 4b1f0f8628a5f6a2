"""Watch rules on a hand-built world derived once: each check fires just past its threshold and not at
it, the two-consecutive-weeks rule, one firing per period however often the tick runs, delivery to
the owner by webhook, acknowledgement with a note (CLI), and two rules firing on the demo world."""

from __future__ import annotations

import functools
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from accord import service
from accord.cli.main import app
from accord.domain.records import Event
from accord.errors import AccordError
from accord.spec.model import Spec, WatchRule
from accord.watch.rules import evaluate, tick_watch
from tests.harness import fill
from tests.play_world import DEMO_AS_OF, copy_of, demo_copy, send
from tests.scratch import process_dir
from tests.test_handoffs import Receiver, hot_lead_events

NY = ZoneInfo("America/New_York")
AS_OF = datetime(2026, 11, 25, 12, tzinfo=NY)  # Wednesday: W47 (16-23 Nov) is the last complete week
SECRET = "s3cret-for-tests"


def ny(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=NY)


def t(moment: datetime) -> int:
    return int(moment.timestamp())


def _events() -> list[Event]:
    out: list[Event] = []
    # Four MQLs on Tue 17 Nov (W47): demo requests at 10:00, 11:00, 13:00, 14:00, routed 4..7 minutes later.
    for i, hour in enumerate((10, 11, 13, 14)):
        c = f"m{i}"
        mql = ny(11, 17, hour)
        out += hot_lead_events(c, mql + timedelta(hours=1))
        out.append(Event(f"{c}-as", t(mql + timedelta(minutes=4 + i)), "assigned", c, "a1", actor_id="sam"))
        out.append(
            Event(f"{c}-call", t(mql + timedelta(minutes=20)), "call_attempt", c, "a1", actor_id="sam")
        )
    # Six more first-touch clocks in W47: five met, one never touched (9 met, 1 breached = 90%).
    for i in range(6):
        c = f"f{i}"
        start = ny(11, 18, 10, 5 * i)
        out.append(Event(f"{c}-as", t(start), "assigned", c, "a1", actor_id="lee"))
        if i:
            out.append(
                Event(f"{c}-call", t(start + timedelta(minutes=30)), "call_attempt", c, "a1", actor_id="lee")
            )
    # Dispositions: W46 3 accepted / 1 rejected (75%), W47 2 / 2 (50%).
    for i, (kind, day) in enumerate(
        [("accepted", 10)] * 3 + [("rejected", 11)] + [("accepted", 19)] * 2 + [("rejected", 19)] * 2
    ):
        props = {"reason_code": "no_budget"} if kind == "rejected" else {}
        out.append(Event(f"d{i}", t(ny(11, day, 15)), kind, f"d{i}", "a1", actor_id="sam", props=props))
    # Three open deals created 30 days ago with no next action: one stall reason, three deals.
    for i in range(3):
        out.append(
            Event(
                f"o{i}",
                t(ny(10, 26, 10)),
                "opp_created",
                None,
                "a1",
                opportunity_id=f"o{i}",
                actor_id="rosa",
                props={"stage": "discovery", "amount": 20000},
            )
        )
    # Decks rebuilt from scratch in October: twice for one cell, once for another.
    for i, (stage, role) in enumerate(
        [("evaluation", "security_reviewer")] * 2 + [("opportunity", "procurement")]
    ):
        out.append(
            Event(
                f"r{i}",
                t(ny(10, 5 + i, 11)),
                "content_rebuilt",
                None,
                "a1",
                actor_id="rosa",
                props={"stage": stage, "committee_role": role},
            )
        )
    return out  # fmt: skip


@functools.cache
def _root() -> Path:
    ws = service.init_workspace(process_dir("accord-watch-") / "ws")
    person = {"account_id": "a1", "seniority": "vp", "committee_role": "champion", "country": "US"}
    contacts = {f"m{i}": {**person, "region": "na"} for i in range(4)}
    with ws.ledger() as ledger:
        fill(ledger, contacts, {"a1": {"name": "Acme", "employees": 800, "industry": "software"}}, _events())
    service.run_derive(ws, as_of=AS_OF)
    return ws.root


@pytest.fixture
def ws(tmp_path: Path) -> service.Workspace:
    return copy_of(_root(), tmp_path)


def variant(spec: Spec, rule: WatchRule, **agreement: Any) -> Spec:
    """The spec with only this watch rule and, optionally, other marketing commitments."""
    marketing = spec.agreement.marketing.model_copy(update=agreement)
    return spec.model_copy(
        update={"watch": [rule], "agreement": spec.agreement.model_copy(update={"marketing": marketing})}
    )


def fired(ws: service.Workspace, rule: WatchRule, **agreement: Any) -> list[Any]:
    with ws.ledger(read_only=True) as ledger:
        return evaluate(ledger, variant(ws.spec, rule, **agreement), t(AS_OF))


def rule(check: str, **kw: Any) -> WatchRule:
    return WatchRule(id="w", check=check, owner="dana", **kw)


def test_acceptance_fires_below_target_in_every_one_of_the_weeks(ws: service.Workspace) -> None:
    assert fired(ws, rule("acceptance_rate")) == []  # W46 at 75% exactly is not below the 75% target
    (f,) = fired(ws, rule("acceptance_rate", threshold=0.76))  # both weeks below 76%
    assert f.alert_id == "acc:watch:w:2026-W47" and f.at == t(ny(11, 23, 0))
    assert [w["rate"] for w in f.evidence["weeks"]] == [0.75, 0.5]
    assert [w["period"] for w in f.evidence["weeks"]] == ["2026-W46", "2026-W47"]
    assert "revisit the MQL criteria" in f.message
    (one,) = fired(ws, rule("acceptance_rate", weeks=1))  # a single week: W47's 50% is enough
    assert one.evidence["weeks"][0]["accepted"] == 2 and one.evidence["weeks"][0]["rejected"] == 2


def test_mql_volume_fires_outside_the_band_and_not_on_its_edge(ws: service.Workspace) -> None:
    assert fired(ws, rule("mql_volume"), mql_volume_per_week=4, tolerance=0.0) == []  # 4 of 4
    (low,) = fired(ws, rule("mql_volume"), mql_volume_per_week=5, tolerance=0.15)  # band 4.25-5.75
    assert low.evidence["weeks"][0]["mqls"] == 4 and "below the commitment of 5" in low.message
    (high,) = fired(ws, rule("mql_volume", threshold=3), tolerance=0.0)
    assert "above" in high.message


def test_routing_fires_when_the_median_is_over_the_committed_minutes(ws: service.Workspace) -> None:
    assert fired(ws, rule("routing_speed", threshold=5.5)) == []  # median of 4, 5, 6, 7 is 5.5
    (f,) = fired(ws, rule("routing_speed"), routing_minutes=5)
    assert f.evidence["weeks"][0]["median_minutes"] == 5.5 and f.evidence["weeks"][0]["routed"] == 4
    assert "a median 5.5 minutes for an owner" in f.message


def test_a_long_wait_also_reads_in_hours_or_days() -> None:
    from accord.watch.rules import waited

    assert waited(119.9) == "119.9 minutes"
    assert waited(120) == "120.0 minutes (2.0 hours)"
    assert waited(2879.9) == "2879.9 minutes (48.0 hours)"
    assert waited(2904.9) == "2904.9 minutes (2.0 days)"


def test_first_touch_fires_under_target_and_not_at_it(ws: service.Workspace) -> None:
    assert fired(ws, rule("first_touch_compliance")) == []  # 9 met, 1 breached: 90%, the target
    (f,) = fired(ws, rule("first_touch_compliance", threshold=0.91))
    week = f.evidence["weeks"][0]
    assert (week["met"], week["breached"], week["compliance"]) == (9, 1, 0.9)


def test_stall_pattern_fires_at_three_deals(ws: service.Workspace) -> None:
    (f,) = fired(ws, rule("stall_pattern"))  # pipeline.pattern_min_deals: 3
    assert f.evidence["deals"] == ["o0", "o1", "o2"] and f.evidence["reason"] == "no next action"
    assert f.alert_id == "acc:watch:w:2026-W48:no_next_action"
    assert fired(ws, rule("stall_pattern", threshold=4)) == []


def test_content_rebuilt_more_than_once_a_month_is_a_gap(ws: service.Workspace) -> None:
    (f,) = fired(ws, rule("content_rebuilds"))  # more than 1 in October, for one cell only
    assert (f.evidence["stage"], f.evidence["role"], f.evidence["rebuilds"]) == (
        "evaluation",
        "security_reviewer",
        2,
    )
    assert f.period == "2026-10" and f.evidence["by"] == ["rosa"]
    assert fired(ws, rule("content_rebuilds", threshold=2)) == []


def test_a_firing_is_written_once_sent_to_its_owner_and_acknowledged_with_a_note(
    ws: service.Workspace, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACCORD_WEBHOOK_SECRET", SECRET)
    spec_text = ws.spec_path.read_text().replace(
        "  - {id: acceptance_slipping, check: acceptance_rate, owner: dana}",
        "  - {id: acceptance_slipping, check: acceptance_rate, owner: dana, weeks: 1}",
    )
    with Receiver() as receiver:
        hook = (
            f"\nnotifications:\n  webhooks:\n    - {{id: ops, url: '{receiver.url}', events: [watch_fired]}}"
        )
        ws.spec_path.write_text(spec_text + hook + "\n")
        ws = service.locate(ws.root)
        with ws.ledger() as ledger:
            first = tick_watch(ledger, ws.spec, t(AS_OF))
            assert tick_watch(ledger, ws.spec, t(AS_OF) + 3600) == []  # same periods: nothing new
        send(ws)
        got = {r["event"]["properties"]["rule"]: r["event"] for r in receiver.received}
    every_rule = {
        "acceptance_slipping",
        "mql_volume_off_plan",
        "routing_slow",
        "structural_stall",
        "content_gap",
    }
    assert {f.rule for f in first} == every_rule  # first touch: 9 of 10 met is on target
    acceptance = got["acceptance_slipping"]
    assert (
        acceptance["actor_id"] == "dana"
        and acceptance["properties"]["owner_email"] == "dana@northwind.example"
    )
    assert acceptance["properties"]["evidence"]["weeks"][0]["rate"] == 0.5
    listed = cli.invoke(app, ["alerts", "--json", "-w", str(ws.root)])
    assert listed.exit_code == 0 and len(json.loads(listed.output)) == 5
    refused = cli.invoke(app, ["ack", "acceptance_slipping:2026-W47", "--by", "sam", "--note", "ok", "-w",
                               str(ws.root)])  # fmt: skip
    assert refused.exit_code == 2 and "sam may not acknowledge" in refused.output
    done = cli.invoke(app, ["ack", "acceptance_slipping:2026-W47", "--by", "dana", "--note",
                            "criteria review booked for Monday", "-w", str(ws.root)])  # fmt: skip
    assert done.exit_code == 0, done.output
    open_now = json.loads(cli.invoke(app, ["alerts", "--json", "-w", str(ws.root)]).output)
    assert {a["rule"] for a in open_now} == every_rule - {"acceptance_slipping"}
    every = json.loads(cli.invoke(app, ["alerts", "--all", "--json", "-w", str(ws.root)]).output)
    acked = next(a for a in every if a["rule"] == "acceptance_slipping")
    assert acked["acknowledged_by"] == "dana" and acked["note"] == "criteria review booked for Monday"
    with pytest.raises(AccordError, match="already acknowledged by dana"):
        service.acknowledge_alert(ws, "acceptance_slipping:2026-W47", "omar", "me too")
    with pytest.raises(AccordError, match="needs a note"):
        service.acknowledge_alert(ws, "structural_stall:2026-W48:no_next_action", "omar", " ")
    grace = service.acknowledge_alert(ws, "acc:watch:structural_stall:2026-W48:no_next_action", "grace", "ok")
    assert grace.acknowledged_by == "grace"  # omar's manager may acknowledge for him


def test_two_watch_rules_fire_on_the_demo_world_a_week_on(tmp_path: Path) -> None:
    demo = demo_copy(tmp_path)
    with demo.ledger() as ledger:
        fired_now = tick_watch(ledger, demo.spec, t(DEMO_AS_OF + timedelta(days=7)))
    rules = {f.rule for f in fired_now}
    assert {"mql_volume_off_plan", "first_touch_slipping"} <= rules, rules
    touch = next(f for f in fired_now if f.rule == "first_touch_slipping")
    assert touch.evidence["weeks"][0]["breached"] >= 1 and touch.owner == "marco"
    done = service.acknowledge_alert(demo, touch.alert_id, "marco", "walked the breaches in stand-up")
    assert not done.open and {a.rule for a in service.list_alerts(demo, open_only=True)} >= {
        "mql_volume_off_plan"
    }


def test_alerts_through_the_api_and_the_dashboard(ws: service.Workspace) -> None:
    import warnings

    from accord.api.app import create_app

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
        from fastapi.testclient import TestClient
    with ws.ledger() as ledger:
        tick_watch(ledger, ws.spec, t(AS_OF))
    keys = {p: service.create_key(ws, p, role, "watch test")[1]
            for p, role in (("dana", "marketing"), ("sam", "rep"), ("grace", "viewer"))}  # fmt: skip
    with TestClient(create_app(ws.root, now=lambda: AS_OF)) as client:
        listed = client.get("/api/v1/alerts", headers={"X-API-Key": keys["sam"]}).json()["alerts"]
        assert {a["rule"] for a in listed} >= {"mql_volume_off_plan", "structural_stall"}
        volume = next(a for a in listed if a["rule"] == "mql_volume_off_plan")
        assert volume["evidence"]["weeks"][0]["mqls"] == 4 and volume["open"]
        path = f"/api/v1/alerts/{volume['alert_id']}/ack"
        refused = client.post(path, json={"note": "fine"}, headers={"X-API-Key": keys["sam"]})
        assert refused.status_code == 403 and "may not acknowledge" in refused.json()["detail"]
        assert refused.json()["type"].endswith("/forbidden")  # typed as every other refusal
        assert client.post(path, json={"note": "x"}, headers={"X-API-Key": keys["grace"]}).status_code == 403
        # a viewer is refused before the body is read; an unknown alert is a 404
        assert client.post(path, json={}, headers={"X-API-Key": keys["grace"]}).status_code == 403
        missing = client.post(
            "/api/v1/alerts/nosuch/ack", json={"note": "x"}, headers={"X-API-Key": keys["dana"]}
        )
        assert missing.status_code == 404 and "no alert 'nosuch'" in missing.json()["detail"]
        done = client.post(path, json={"note": "campaign moved"}, headers={"X-API-Key": keys["dana"]})
        assert done.status_code == 201 and done.json()["acknowledged_by"] == "dana"
        assert (
            client.post(path, json={"note": "again"}, headers={"X-API-Key": keys["dana"]}).status_code == 409
        )
        browser = TestClient(client.app)
        assert (
            browser.post(
                "/login", data={"key": keys["dana"], "next": "/"}, follow_redirects=False
            ).status_code
            == 303
        )
        queue = " ".join(browser.get("/queue").text.split())
        left = len(listed) - 1
        assert f"{left} watch alert" in queue and "read and acknowledge" in queue  # the banner
        page = browser.get("/alerts").text
        stall = next(a["alert_id"] for a in listed if a["rule"] == "structural_stall")
        assert f'value="{stall}"' in page and "Acknowledge" in page
        # the form is drawn only for whoever the service would accept: not a viewer, not a rep
        for who in ("sam", "grace"):
            other = TestClient(client.app)
            other.post("/login", data={"key": keys[who], "next": "/"}, follow_redirects=False)
            theirs = other.get("/alerts").text
            assert f'data-alert="{stall}"' in theirs, who  # the alert is listed
            assert 'data-action="ack"' not in theirs, who
            assert "acknowledges it" in " ".join(theirs.split()), who
        answer = browser.post("/alerts/ack", data={"alert_id": stall, "note": "on the post-mortem agenda"},
                              follow_redirects=False)  # fmt: skip
        assert answer.status_code == 303
    assert not next(a for a in service.list_alerts(ws) if a.alert_id == stall).open
