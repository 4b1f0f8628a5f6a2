"""Plays end to end on small hand-computed worlds with an injected clock: enrolment, due dates in
business hours over a holiday and a weekend, steps done and missed, exits, idempotent ticks, the
handoff context on the assignment (and its webhook), the queue, explain, the plays report, and the
demo world's Tier 1 leads arriving with a next step and a talk track."""

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
from accord.errors import SpecError
from accord.spec.load import parse_spec
from tests.harness import fill
from tests.play_world import DEMO_AS_OF, advance_plays, copy_of, demo_copy, send
from tests.scratch import process_dir
from tests.test_handoffs import Receiver, hot_lead_events

NY = ZoneInfo("America/New_York")
SECRET = "s3cret-for-tests"


def ny(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=NY)


def world(tmp_path: Path, extra: str = "") -> service.Workspace:
    """The starter agreement and one hot lead (demo request on Mon 23 Nov, 08:00 New York)."""
    ws = service.init_workspace(tmp_path / "ws", spec_text=service.STARTER_SPEC.read_text() + extra)
    events = [
        *hot_lead_events("c1", ny(11, 23, 9)),
        Event("c1-5", int(ny(11, 20, 15).timestamp()), "content_download", "c1", "a1", content_id="wp-1"),
    ]
    contacts = {"c1": {"account_id": "a1", "seniority": "vp", "committee_role": "champion", "country": "US",
                       "region": "na", "first_name": "Ana", "last_name": "Lopez"}}  # fmt: skip
    accounts = {"a1": {"name": "Acme", "employees": 800, "industry": "software"}}
    with ws.ledger() as ledger:
        fill(ledger, contacts, accounts, events)
        ledger.con.execute(
            "INSERT INTO content_assets (content_id, title, attributes, content_hash, updated_at) "
            "VALUES ('wp-1', 'Pricing guide', '{}', 'x', now())"
        )
    return ws


@functools.cache
def _ticked_root() -> tuple[Path, str]:
    """The one-lead world ticked once at Mon 23 Nov 09:30 (routed, in its play); copied per test."""
    ws = world(process_dir("accord-plays-"))
    owner = service.run_tick(ws, now=ny(11, 23, 9, 30)).routed[0][1].owner
    assert owner is not None
    return ws.root, owner


def ticked(tmp_path: Path) -> tuple[service.Workspace, str]:
    root, owner = _ticked_root()
    return copy_of(root, tmp_path), owner


def play_events(ws: service.Workspace) -> list[tuple[str, datetime, dict[str, Any]]]:
    with ws.ledger(read_only=True) as ledger:
        rows = ledger.con.execute(
            "SELECT type, occurred_at, properties FROM events WHERE type LIKE 'play_%' "
            "ORDER BY occurred_at, event_id"
        ).fetchall()
    return [(t, at.astimezone(NY), json.loads(p)) for t, at, p in rows]


def test_lead_enters_the_play_with_tasks_dated_in_business_hours_over_a_holiday_and_a_weekend(
    tmp_path: Path,
) -> None:
    ws, owner = ticked(tmp_path)
    ((kind, at, props),) = play_events(ws)  # demo request tops intent: the general play, not security's
    assert kind == "play_entered" and at == ny(11, 23, 9, 30) and props["play"] == "mql_follow_up"
    due = {t["step"]: datetime.fromtimestamp(t["due"], NY) for t in props["tasks"]}
    assert due == {
        "call": ny(11, 23, 10, 30),  # 1 business hour
        "email": ny(11, 23, 14, 30),  # 4 h: 2.5 before lunch, 1.5 after
        "meeting": ny(11, 25, 9, 30),  # 2 working days of 7.5 h
        "follow_up_1": ny(11, 27, 9, 30),  # 3 days: Thanksgiving (Thu 26) does not count
        "follow_up_2": ny(11, 30, 9, 30),  # over the weekend
        "follow_up_3": ny(12, 1, 9, 30),
    }
    assert {t["owner"] for t in props["tasks"]} == {owner}
    assert "why-now driver" in props["talk_track"]
    again = advance_plays(ws, ny(11, 23, 9, 30))
    assert again.entered == [] and sum(again.written.values()) == 0
    assert len(play_events(ws)) == 1


def ordered(ws: service.Workspace) -> list[tuple[datetime, str, str | None]]:
    return sorted((at, k, p.get("step") or p.get("outcome")) for k, at, p in play_events(ws))


def test_steps_done_missed_and_the_exit_are_events_at_the_instant_they_happened(tmp_path: Path) -> None:
    ws, owner = ticked(tmp_path)
    other = next(p for p in ("sam", "lee", "ana") if p != owner)
    service.touch(ws, "c1", owner, "call_attempt", now=ny(11, 23, 10, 15))
    advance_plays(ws, ny(11, 24, 10, 0))
    with ws.ledger() as ledger:  # a colleague's email does not do the owner's task
        fill(
            ledger, {}, {}, [Event("x1", int(ny(11, 23, 11).timestamp()), "email_sent", "c1", actor_id=other)]
        )
    service.touch(ws, "c1", owner, "meeting_booked", now=ny(11, 24, 11, 0))
    advance_plays(ws, ny(11, 27, 12, 0))
    assert ordered(ws) == [
        (ny(11, 23, 9, 30), "play_entered", None),
        (ny(11, 23, 10, 15), "play_step_done", "call"),
        (ny(11, 23, 14, 30), "play_step_missed", "email"),
        (ny(11, 24, 11, 0), "play_exited", "meeting"),
        (ny(11, 24, 11, 0), "play_step_done", "meeting"),
    ]
    exited = next(p for k, _, p in play_events(ws) if k == "play_exited")
    assert exited["cancelled"] == ["follow_up_1", "follow_up_2", "follow_up_3"]
    before = len(play_events(ws))
    advance_plays(ws, ny(11, 27, 12, 0))
    advance_plays(ws, ny(12, 3, 12, 0))
    assert len(play_events(ws)) == before  # ended: nothing more, and no second play in the same stage


def test_a_play_nobody_works_completes_with_every_step_missed(tmp_path: Path) -> None:
    ws, _ = ticked(tmp_path)
    advance_plays(ws, ny(11, 30, 9, 29))
    missed = [p["step"] for k, _, p in play_events(ws) if k == "play_step_missed"]
    assert missed == ["call", "email", "meeting", "follow_up_1"]  # follow_up_2 falls due at 09:30
    assert not [k for k, _, _ in play_events(ws) if k == "play_exited"]
    advance_plays(ws, ny(12, 2, 9, 0))
    exits = [(at, p["outcome"]) for k, at, p in play_events(ws) if k == "play_exited"]
    assert exits == [(ny(12, 1, 9, 30), "completed")]


def test_a_rejection_ends_the_play_as_disqualified(tmp_path: Path) -> None:
    ws, owner = ticked(tmp_path)
    service.disposition(ws, "c1", "reject", owner, at=ny(11, 23, 9, 50), reason="no_budget")
    advance_plays(ws, ny(11, 23, 10, 0))
    ((_, at, props),) = [e for e in play_events(ws) if e[0] == "play_exited"]
    assert at == ny(11, 23, 9, 50) and props["outcome"] == "disqualified"
    assert props["cancelled"][0] == "call"  # due 10:30, after the play ended: cancelled, not missed


def test_the_assignment_carries_the_handoff_context_to_the_webhook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACCORD_WEBHOOK_SECRET", SECRET)
    ws, owner = ticked(tmp_path)
    with Receiver() as receiver:
        hook = (
            f"\nnotifications:\n  webhooks:\n    - {{id: crm, url: '{receiver.url}', max_attempts: 2, "
            "backoff: 1s, events: [assigned, play_entered]}\n"
        )
        ws.spec_path.write_text(ws.spec_path.read_text() + hook)
        send(service.locate(ws.root))
        by_type = {r["event"]["type"]: r["event"] for r in receiver.received}
    assert by_type["assigned"]["actor_id"] == owner
    context = by_type["assigned"]["properties"]["context"]
    assert context["why_now"][0]["label"] == "demo request" and len(context["why_now"]) == 3
    assert context["content"] == [
        {
            "content_id": "wp-1",
            "title": "Pricing guide",
            "type": "content_download",
            "at": "2026-11-20T20:00:00Z",
        }
    ]
    step = context["next_step"]
    assert (
        step["play"] == "mql_follow_up" and step["step"] == "call" and step["due"] == "2026-11-23T15:30:00Z"
    )
    assert "why-now driver" in step["talk_track"] and step["owner"] == owner
    assert by_type["play_entered"]["properties"]["tasks"][0]["step"] == "call"


def test_queue_explain_and_the_plays_report_show_the_play(tmp_path: Path, cli: CliRunner) -> None:
    ws, owner = ticked(tmp_path)
    wide = {"COLUMNS": "400"}
    result = cli.invoke(app, ["queue", owner, "--now", "2026-11-23T14:40:00Z", "-w", str(ws.root)], env=wide)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "Call within the first-touch SLA" in text and "say:" in text
    explained = cli.invoke(app, ["explain", "c1", "-w", str(ws.root)], env=wide)
    assert explained.exit_code == 0, explained.output
    flat = " ".join(explained.output.split())
    assert "next step (in play: New MQL follow-up)" in flat and "talk track:" in flat
    assert "content engaged: Pricing guide" in flat
    service.touch(ws, "c1", owner, "meeting_booked", now=ny(11, 23, 9, 45))
    service.run_tick(ws, now=ny(11, 23, 10, 0))  # reports read as of the last derive
    report = cli.invoke(app, ["report", "plays", "--format", "json", "-w", str(ws.root)])
    assert report.exit_code == 0, report.output
    doc = json.loads(report.output)
    rows = {r["play"]: r for r in doc["sections"][0]["rows"]}
    assert rows["mql_follow_up"]["entered"] == 1 and rows["mql_follow_up"]["exited"] == 1
    assert rows["mql_follow_up"]["steps_done"] == 1 and rows["security_evaluation"]["entered"] == 0
    assert doc["sections"][1]["rows"] == [{"play": "mql_follow_up", "outcome": "meeting", "contacts": 1}]


@pytest.mark.parametrize(
    ("within", "expected"), [(None, {"new", "risen"}), ("200d", {"old", "new", "risen"})]
)
def test_leads_that_qualified_long_ago_are_not_enrolled_when_plays_start(
    tmp_path: Path, within: str | None, expected: set[str]
) -> None:
    """The first tick once enrolled months-old leads, so a "call within the first-touch SLA" task fell
    due today for a lead whose first touch breached in July. A play starts when the lead qualifies
    (enters its stage, rises to its tier, or is assigned) within its ``enrol_within`` (14 days unless
    set); a tier lost to decay is no qualification."""
    text = service.STARTER_SPEC.read_text()
    if within is not None:
        text = text.replace("  - id: mql_follow_up\n", f"  - id: mql_follow_up\n    enrol_within: {within}\n")
    ws = service.init_workspace(tmp_path / "ws", spec_text=text)
    profile = {"account_id": "a1", "seniority": "vp", "committee_role": "champion", "country": "US"}

    def assigned(contact: str, at: datetime) -> Event:
        return Event(f"{contact}-a", int(at.timestamp()), "assigned", contact, "a1", actor_id="sam")

    events = [
        *hot_lead_events("old", ny(7, 6, 9)),  # Tier 1 in July, decayed to Tier 2 since
        assigned("old", ny(7, 6, 10)),
        *hot_lead_events("new", ny(11, 16, 9)),
        assigned("new", ny(11, 16, 10)),
        *hot_lead_events("risen", ny(7, 6, 9)),
        assigned("risen", ny(7, 6, 10)),
        Event("risen-5", int(ny(11, 19, 9).timestamp()), "pricing_view", "risen", "a1", topic="pricing"),
        Event("risen-6", int(ny(11, 20, 9).timestamp()), "demo_request", "risen", "a1", topic="demo"),
    ]
    accounts = {"a1": {"name": "Acme", "employees": 800, "industry": "software"}}
    with ws.ledger() as ledger:
        fill(ledger, {c: dict(profile) for c in ("old", "new", "risen")}, accounts, events)
    service.run_tick(ws, now=ny(11, 23, 9, 30))
    with ws.ledger(read_only=True) as ledger:
        enrolled = {
            r[0]
            for r in ledger.con.execute(
                "SELECT contact_id FROM events WHERE type = 'play_entered'"
            ).fetchall()
        }
    assert enrolled == expected
    context = service.handoff_context(ws, ["old"], now=ny(11, 23, 9, 30))
    step = context["old"].next_step
    assert (step is not None and step.enrolled) if "old" in expected else step is None


def test_play_mistakes_are_located_with_a_hint(starter_text: str) -> None:
    bad = starter_text.replace(
        "audience: \"stage = 'evaluation' AND assigned\"", "audience: \"stage = 'evalution' AND asigned\""
    ).replace("done_on: meeting_held}", "done_on: meeting_hled}")
    with pytest.raises(SpecError) as caught:
        parse_spec(bad, "accord.yaml")
    text = "\n".join(caught.value.lines())
    assert "plays[1].audience" in text and "did you mean 'evaluation'" in text
    assert "plays[2].steps[0].done_on[0]: unknown event type 'meeting_hled'" in text
    assert "did you mean 'meeting_held'" in text
    assert parse_spec(starter_text.split("\nplays:")[0] + "\n").plays == []  # older specs still load


def test_demo_tier_one_leads_arrive_with_a_next_step_and_talk_track(tmp_path: Path) -> None:
    demo = demo_copy(tmp_path)
    with demo.ledger(read_only=True) as ledger:
        arrivals = ledger.con.execute(
            "SELECT contact_id, properties FROM events WHERE type = 'assigned' AND source = 'accord'"
        ).fetchall()
        tier_one = {
            r[0]
            for r in ledger.con.execute(
                "SELECT contact_id FROM derived_leads WHERE tier = 'Tier 1'"
            ).fetchall()
        }
    assert arrivals and {c for c, _ in arrivals} <= tier_one
    for _, raw in arrivals:
        step = json.loads(raw)["context"]["next_step"]
        assert step["action"] and step["talk_track"] and step["due"] and step["owner"]
    queued = service.handoff_context(demo, [c for c, _ in arrivals], now=DEMO_AS_OF)
    assert all(ctx.next_step is not None and ctx.next_step.enrolled for ctx in queued.values())
    later = advance_plays(demo, DEMO_AS_OF + timedelta(days=7))
    assert later.written["play_step_missed"] > 0  # nobody in the generated world works these tasks


def test_the_dashboard_queue_and_lead_page_show_the_next_step(tmp_path: Path) -> None:
    import warnings

    from accord.api.app import create_app

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
        from fastapi.testclient import TestClient
    ws, owner = ticked(tmp_path)
    _, key = service.create_key(ws, owner, "rep", "plays test")
    with TestClient(create_app(ws.root, now=lambda: ny(11, 23, 9, 40))) as client:
        assert (
            client.post("/login", data={"key": key, "next": "/"}, follow_redirects=False).status_code == 303
        )
        queue = " ".join(client.get("/queue").text.split())
        lead = " ".join(client.get("/leads/c1").text.split())
    assert "Next step: <b>Call within the first-touch SLA and open with the why-now driver" in queue
    assert "Talk track: Open with the why-now driver" in queue
    assert "Next step</h2>" in lead and "Content engaged: Pricing guide" in lead


def test_a_play_is_flagged_only_when_its_interval_is_under_the_baseline() -> None:
    """0 of 16 is what every just-started play shows; its 95% interval reaches 3.84 / 19.84 = 19.4%."""
    from accord.reports.plays import below_baseline

    assert below_baseline("New", 0, 16, 0.10) is None
    flag = below_baseline("Old", 0, 40, 0.10)  # interval up to 3.84 / 43.84 = 8.8%
    assert flag == "Old: converts at 0.0% (95% interval up to 8.8%), below the 10.0% of leads outside it"
    assert below_baseline("Same", 12, 40, 0.30) is None and below_baseline("None", 0, 0, 0.1) is None
    assert below_baseline("No baseline", 0, 40, None) is None
