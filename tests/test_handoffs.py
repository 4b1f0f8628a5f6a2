"""Handoffs end to end on a real workspace with an injected clock: routing, clocks, escalations,
dispositions, and signed webhooks delivered to a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import json
import re
import threading
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from accord import service
from accord.cli.main import app
from accord.domain.reference import Event
from accord.errors import AccordError
from accord.handoffs.webhooks import SIGNATURE, TIMESTAMP, verify
from accord.service.access import SALES_ROLES
from tests.harness import fill

NY = ZoneInfo("America/New_York")
SECRET = "s3cret-for-tests"


def ny(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=NY)


def ts(moment: datetime) -> int:
    return int(moment.timestamp())


def hot_lead_events(contact: str, start: datetime) -> list[Event]:
    t = ts(start)
    day = 86400
    return [
        Event(f"{contact}-1", t - 4 * day, "email_click", contact, "a1"),
        Event(f"{contact}-2", t - 3 * day, "webinar_attended", contact, "a1", topic="security"),
        Event(f"{contact}-3", t - 2 * day, "pricing_view", contact, "a1", topic="pricing"),
        Event(f"{contact}-4", t - 3600, "demo_request", contact, "a1", topic="demo"),
    ]


def workspace(tmp_path: Path, spec_edit: tuple[str, str] | None = None) -> service.Workspace:
    text = service.STARTER_SPEC.read_text()
    if spec_edit:
        assert spec_edit[0] in text
        text = text.replace(*spec_edit)
    ws = service.init_workspace(tmp_path / "ws", spec_text=text)
    contacts = {
        "c1": {
            "account_id": "a1",
            "seniority": "vp",
            "committee_role": "champion",
            "country": "US",
            "region": "na",
            "first_name": "Ana",
            "last_name": "Lopez",
        }
    }
    accounts = {"a1": {"name": "Acme", "employees": 800, "industry": "software"}}
    with ws.ledger() as ledger:
        fill(ledger, contacts, accounts, hot_lead_events("c1", ny(11, 23, 9)))
    return ws


def events_of(ws: service.Workspace, kind: str) -> list[dict[str, Any]]:
    with ws.ledger(read_only=True) as ledger:
        cursor = ledger.con.execute(
            "SELECT event_id, occurred_at, actor_id, source, properties FROM events WHERE type = ? "
            "ORDER BY occurred_at, event_id",
            [kind],
        )
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def test_tick_routes_once_and_escalates_along_the_chain(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    first = service.run_tick(ws, now=ny(11, 23, 9, 30))
    assert [c for c, _ in first.routed] == ["c1"]
    (assigned,) = events_of(ws, "assigned")
    props = json.loads(assigned["properties"])
    assert assigned["source"] == "accord" and assigned["actor_id"] in {"sam", "lee", "ana"}
    assert props["rule"] == "default" and props["team"] == "sdr_na" and "load_balanced" in props["why"]
    again = service.run_tick(ws, now=ny(11, 23, 9, 30))
    assert again.routed == [] and sum(again.written.values()) == 0  # twice: nothing new
    owner = assigned["actor_id"]
    # 09:30 + 1 business hour = 10:30 deadline; 10:15 at risk; nobody touches the lead
    service.run_tick(ws, now=ny(11, 23, 12, 40))
    assert [e["event_id"].split(":")[1] for e in events_of(ws, "sla_at_risk")] == ["risk"]
    (breach,) = events_of(ws, "sla_breached")
    assert breach["occurred_at"] == ny(11, 23, 10, 30)
    escalations = events_of(ws, "escalated")
    assert [(e["actor_id"], e["occurred_at"]) for e in escalations] == [
        (owner, ny(11, 23, 10, 30)),
        ("marco", ny(11, 23, 11, 30)),
    ]  # lunch 12-13 delays the third
    service.run_tick(ws, now=ny(11, 23, 13, 40))
    assert [e["actor_id"] for e in events_of(ws, "escalated")] == [owner, "marco", "priya"]
    assert service.run_tick(ws, now=ny(11, 23, 13, 40)).written == {
        "assigned": 0,
        "sla_at_risk": 0,
        "sla_breached": 0,
        "escalated": 0,
    }
    # back in time, a tick would write assignments and breaches behind the ones stored: refused
    stored = events_of(ws, "escalated")
    with pytest.raises(AccordError, match="already holds handoff events up to 2026-11-23 18:30:00 UTC"):
        service.run_tick(ws, now=ny(11, 23, 12, 0))
    assert events_of(ws, "escalated") == stored


def test_dispositions_are_checked_and_move_the_stage(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    service.run_tick(ws, now=ny(11, 23, 9, 30))
    owner = events_of(ws, "assigned")[0]["actor_id"]
    other = next(p for p in ("sam", "lee", "ana") if p != owner)
    with pytest.raises(AccordError, match=f"only {owner} \\(the owner\\) or marco \\(their manager\\)"):
        service.disposition(ws, "c1", "accept", other, at=ny(11, 23, 10))
    with pytest.raises(AccordError, match="needs a reason code"):
        service.disposition(ws, "c1", "reject", owner, at=ny(11, 23, 10))
    with pytest.raises(AccordError) as caught:
        service.disposition(ws, "c1", "reject", owner, reason="bad_fitt", at=ny(11, 23, 10))
    assert "did you mean 'bad_fit'" in (caught.value.hint or "")
    done = service.disposition(ws, "c1", "reject", owner, reason="bad_timing", at=ny(11, 23, 10))
    assert done.type == "rejected" and done.reason_code == "bad_timing"
    with pytest.raises(AccordError, match="already rejected"):
        service.disposition(ws, "c1", "accept", "marco", at=ny(11, 23, 10, 5))
    service.run_derive(ws, as_of=ny(11, 23, 10, 10))
    info = service.explain(ws, "c1")
    assert info.lead["stage"] == "consideration"  # rejected: back to nurture for 90 days (bad_timing)
    assert [r["stage"] for r in info.stages][-2:] == ["evaluation", "consideration"]
    sla = service.sla(ws, now=ny(11, 23, 10, 10))
    first_touch = next(line for line in sla.lines if line.sla == "first_touch")
    assert first_touch.counts["breached"] == 0
    assert sla.acceptance["rejected"] == 1 and sla.reasons[0][0] == "bad_timing"
    # `accord sla` once showed no target for disposition while the agreement held it to 90%
    assert {line.sla: line.target for line in sla.lines} == {"first_touch": 0.9, "disposition": 0.9}


def test_recycled_lead_comes_back_on_its_date(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    service.run_tick(ws, now=ny(11, 23, 9, 30))
    owner = events_of(ws, "assigned")[0]["actor_id"]
    service.disposition(ws, "c1", "recycle", owner, recycle_on=date(2026, 11, 25), at=ny(11, 23, 10))
    service.run_derive(ws, as_of=ny(11, 24, 12))
    assert service.explain(ws, "c1").lead["stage"] == "consideration"
    with ws.ledger() as ledger:  # still hot on the 25th: new intent keeps it Tier 1
        fill(ledger, {}, {}, [Event("c1-5", ts(ny(11, 24, 15)), "pricing_view", "c1", "a1", topic="pricing")])
    service.run_derive(ws, as_of=ny(11, 25, 12))
    info = service.explain(ws, "c1")
    assert info.lead["stage"] == "evaluation"
    back = info.stages[-1]
    assert back["entered_at"] == datetime(2026, 11, 25, tzinfo=NY)  # the wake-up at the recycle date


def test_owner_out_of_office_is_rerouted_and_the_clock_restarts(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    service.run_tick(ws, now=ny(11, 23, 9, 30))
    owner = events_of(ws, "assigned")[0]["actor_id"]
    text = ws.spec_path.read_text()
    line = next(x for x in text.splitlines() if x.startswith(f"  {owner}:"))
    if "out_of_office" in line:
        away = line.replace("from: 2026-12-21, to: 2027-01-01", "from: 2026-11-23, to: 2026-11-30")
    else:
        away = line[:-1] + ", out_of_office: [{from: 2026-11-23, to: 2026-11-30}]}"
    ws.spec_path.write_text(text.replace(line, away))
    ws = service.locate(ws.root)
    result = service.run_tick(ws, now=ny(11, 23, 9, 50))
    ((contact, decision),) = result.routed
    assert contact == "c1" and decision.owner != owner
    second = events_of(ws, "assigned")[1]
    assert json.loads(second["properties"])["reassigned_from"] == owner
    first_touch = service.sla(ws, now=ny(11, 23, 9, 55)).lines[0]
    assert first_touch.sla == "first_touch"
    assert first_touch.counts["reassigned"] == 1 and first_touch.counts["open"] == 1


def test_the_queues_pointed_to_follow_the_role_and_keep_leads_held_outside_sales(
    workspace: service.Workspace,
) -> None:
    people = workspace.spec.people
    sales = sorted(pid for pid, p in people.items() if p.role in SALES_ROLES)
    outside = next(pid for pid, p in people.items() if p.role not in SALES_ROLES)
    assert service.readable_queues(workspace, "sam", "rep", holding=[outside]) == ["sam"]
    assert service.readable_queues(workspace, "dana", "admin") == sales
    # a lead held by someone outside sales stays in sight; an id the agreement does not know cannot be
    # opened (GET /queue/{owner} answers 404), so it is not offered
    held = service.readable_queues(workspace, "dana", "viewer", holding=[outside, "nobody"])
    assert held == sorted([*sales, outside])


def test_cli_tick_queue_sla_and_dispositions(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    cli = CliRunner()
    run = cli.invoke(
        app, ["tick", "-w", str(ws.root), "--now", "2026-11-23T14:30:00Z"], env={"COLUMNS": "160"}
    )
    assert run.exit_code == 0, run.output
    assert "assigned c1 ->" in run.output and "new events:" in run.output
    ahead = cli.invoke(app, ["tick", "-w", str(ws.root), "--now", "2099-01-01T00:00:00Z"])
    assert ahead.exit_code == 2 and "in the future" in ahead.output, ahead.output
    owner = events_of(ws, "assigned")[0]["actor_id"]
    q = cli.invoke(
        app, ["queue", owner, "-w", str(ws.root), "--now", "2026-11-23T14:45:00Z"], env={"COLUMNS": "200"}
    )
    assert q.exit_code == 0 and "c1" in q.output and "first_touch open" in q.output
    every = cli.invoke(
        app, ["queue", "-w", str(ws.root), "--now", "2026-11-23T14:45:00Z"], env={"COLUMNS": "200"}
    )
    assert every.exit_code == 0, every.output
    assert "Queues: 1 open leads" in every.output and "accord queue OWNER" in every.output
    rows = re.findall(r"^\W*(\w+)\W.*\W(\d+)\W*$", every.output, re.MULTILINE)
    assert rows[0] == (owner, "1") and all(n == "0" for _, n in rows[1:]), rows  # c1's holder first
    assert len(rows) == len({pid for pid, p in ws.spec.people.items() if p.role in SALES_ROLES})
    bad = cli.invoke(app, ["queue", "samm", "-w", str(ws.root)])
    assert bad.exit_code == 2 and "did you mean 'sam'" in bad.output
    rej = cli.invoke(app, ["reject", "c1", "--by", owner, "--reason", "no_budget", "-w", str(ws.root)])
    assert rej.exit_code == 0 and "rejected c1" in rej.output
    twice = cli.invoke(app, ["accept", "c1", "--by", owner, "-w", str(ws.root)])
    assert twice.exit_code == 2 and "already rejected" in twice.output
    report = cli.invoke(app, ["sla", "-w", str(ws.root)], env={"COLUMNS": "160"})
    assert report.exit_code == 0 and "MQL acceptance: 0%" in report.output and "no_budget" in report.output


# ---- webhooks against a real receiver --------------------------------------------------------------


class Receiver:
    """A real HTTP server on 127.0.0.1 that checks signatures and can fail on purpose."""

    def __init__(self, fail_first: int = 0, always_fail: bool = False) -> None:
        self.received: list[dict[str, Any]] = []
        self.attempts = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.attempts += 1
                valid = verify(SECRET, self.headers[TIMESTAMP], body, self.headers[SIGNATURE])
                if not valid or always_fail or outer.attempts <= fail_first:
                    self.send_response(401 if not valid else 503)
                    self.end_headers()
                    return
                outer.received.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def secret(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("ACCORD_WEBHOOK_SECRET", SECRET)
    return SECRET


def hooked(tmp_path: Path, url: str, attempts: int = 4) -> service.Workspace:
    hook = (
        f"\nnotifications:\n  webhooks:\n    - {{id: sync, url: '{url}', max_attempts: {attempts}, "
        "backoff: 1s, events: [assigned, escalated]}\n"
    )
    ws = workspace(tmp_path)
    ws.spec_path.write_text(ws.spec_path.read_text() + hook)
    return service.locate(ws.root)


def deliveries(ws: service.Workspace) -> list[tuple[str, int, str, int | None]]:
    with ws.ledger(read_only=True) as ledger:
        return ledger.con.execute(
            "SELECT event_id, attempt, outcome, http_status FROM webhook_deliveries "
            "ORDER BY event_id, attempt"
        ).fetchall()


def test_webhooks_are_signed_retried_and_every_attempt_recorded(tmp_path: Path, secret: str) -> None:
    with Receiver(fail_first=2) as receiver:
        ws = hooked(tmp_path, receiver.url)
        result = service.run_tick(ws, now=ny(11, 23, 9, 30))
        assert result.delivery is not None and result.delivery.sent == {"sync": 1}
        (got,) = receiver.received
        assert got["event"]["type"] == "assigned" and got["event"]["contact_id"] == "c1"
        assert got["event"]["properties"]["rule"] == "default"
        rows = deliveries(ws)
        assert [(a, o, s) for _, a, o, s in rows] == [
            (1, "failed", 503),
            (2, "failed", 503),
            (3, "sent", 204),
        ]
        # the next tick sends what became due (escalations) and never the assignment again
        service.run_tick(ws, now=ny(11, 23, 11, 0))
        types = [r["event"]["type"] for r in receiver.received]
        assert types == ["assigned", "escalated"]


def test_webhook_that_never_answers_is_given_up_after_its_attempts(tmp_path: Path, secret: str) -> None:
    with Receiver(always_fail=True) as receiver:
        ws = hooked(tmp_path, receiver.url, attempts=3)
        result = service.run_tick(ws, now=ny(11, 23, 9, 30))
        assert result.delivery is not None and result.delivery.gave_up == {"sync": 1}
        assert [o for _, _, o, _ in deliveries(ws)] == ["failed", "failed", "gave_up"]
        assert receiver.attempts == 3
        service.run_tick(ws, now=ny(11, 23, 9, 31))
        assert receiver.attempts == 3  # given up: not tried again


def test_webhooks_without_a_secret_send_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ACCORD_WEBHOOK_SECRET", raising=False)
    with Receiver() as receiver:
        ws = hooked(tmp_path, receiver.url)
        result = service.run_tick(ws, now=ny(11, 23, 9, 30))
        assert (
            result.delivery is not None
            and "ACCORD_WEBHOOK_SECRET is not set" in result.delivery.skipped["sync"]
        )
        assert receiver.attempts == 0 and deliveries(ws) == []


def test_the_demo_world_exercises_every_handoff(tmp_path: Path) -> None:
    as_of = datetime(2026, 11, 2, 12, tzinfo=UTC)
    result = service.build_demo(tmp_path / "demo", contacts=800, seed=4, as_of=as_of)
    ws = result.workspace
    report = service.sla(ws, now=as_of)
    first_touch = next(line for line in report.lines if line.sla == "first_touch")
    assert first_touch.counts["met"] > 0 and first_touch.counts["breached"] > 0
    assert 0.5 < (first_touch.compliance or 0) < 1
    assert set(report.escalations) == {"owner", "manager", "tie_breaker"}
    assert report.acceptance["rejected"] > 0 and len(report.reasons) >= 3
    assert report.speed["n"] > 0 and report.speed["p50_minutes"] <= report.speed["p90_minutes"]
    with ws.ledger(read_only=True) as ledger:
        came_back = ledger.con.execute(
            "SELECT count(DISTINCT a.entity_id) FROM derived_stages a "
            "JOIN derived_stages b USING (entity_id) "
            "WHERE a.entity_type = 'contact' AND b.entity_type = 'contact' AND a.stage = 'consideration' "
            "AND a.seq > 10 AND b.stage = 'evaluation' AND b.entered_at > a.entered_at"
        ).fetchall()[0][0]
    assert came_back > 0  # rejected or recycled leads that qualified again
