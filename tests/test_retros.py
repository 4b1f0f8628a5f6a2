"""Campaign retrospectives: the scorecard frozen beside what the team said, changes as owned dated actions,
idempotent recording, clear refusals, overdue judged on an injected day, the CLI, and the demo end to end."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from accord import service
from accord.cli.main import app
from accord.demo.reviews import interview_picks, retro_plan
from accord.domain.reviews import parse_change
from accord.errors import WorkspaceError
from accord.service.retros import RetroResult, close_action, list_actions, record_retro
from tests.report_world import at, build, insert, rows, write_derived
from tests.test_report_campaigns import CID, _opp, _world

WORKED = ["The compliance webinar reached security reviewers"]
STALLED = ["Follow-up after the webinar took three days"]
CHANGES = [
    "Call webinar attendees within one business day; owner=marco; due=2026-03-20",
    "Publish a security questionnaire pack; due=2026-04-15; owner=lena",
]


def _retro(ws: service.Workspace, **more: object) -> RetroResult:
    given: dict[str, object] = {"milestone": "Launch", "worked": WORKED, "stalled": STALLED,
                                "changes": CHANGES, "by": "priya", "now": at(62)}  # fmt: skip
    given.update(more)
    return record_retro(ws, CID, **given)  # type: ignore[arg-type]


def _events(ws: service.Workspace) -> int:
    with ws.ledger(read_only=True) as ledger:
        return int(ledger.con.execute("SELECT count(*) FROM events").fetchone()[0])  # type: ignore[index]


def test_a_retro_freezes_the_scorecard_and_turns_changes_into_owned_actions(tmp_path: Path) -> None:
    ws = _world(tmp_path)
    result = _retro(ws)
    retro = result.retro
    assert result.new and retro.milestone == "Launch" and retro.facilitator == "priya"
    # held on day 62, the last derive is day 60: the team saw the scorecard as of day 60
    assert retro.scorecard_as_of == int(at(60).timestamp())
    primary = retro.scorecard[0]
    assert (primary["result"], primary["actual"], primary["status"]) == (
        "Pipeline (primary outcome)", 150000.0, "behind pace",
    )  # fmt: skip
    assert [r["actual"] for r in retro.scorecard[1:]] == [150000.0, 2.0, 2.0]  # pipeline, meetings, MQLs
    got = [(a.text, a.owner, a.due, a.campaign) for a in result.actions]
    assert got == [
        ("Call webinar attendees within one business day", "marco", date(2026, 3, 20), CID),
        ("Publish a security questionnaire pack", "lena", date(2026, 4, 15), CID),
    ]
    assert retro.changes == [a.action_id for a in result.actions]
    report = build(ws, "campaigns", campaign=CID)
    [row] = rows(report, f"{CID}.retros")
    assert (row["milestone"], row["held"], row["actions"]) == ("Launch", date(2026, 3, 8), 2)
    assert row["scorecard"] == "150,000 of 750,000 (behind pace)"
    owners = [r["owner"] for r in rows(report, f"{CID}.actions")]
    assert owners == ["Marco Bianchi", "Lena Vogel"]


def test_recording_twice_changes_nothing_and_other_words_are_refused(tmp_path: Path) -> None:
    ws = _world(tmp_path)
    first = _retro(ws)
    before = _events(ws)
    again = _retro(ws, now=at(70))  # same words a week later
    assert not again.new and _events(ws) == before
    assert again.retro.event_id == first.retro.event_id and again.retro.held_at == first.retro.held_at
    with pytest.raises(WorkspaceError, match="already has a 'Launch' retrospective") as caught:
        _retro(ws, worked=["Something else entirely"])
    assert caught.value.hint and "another milestone" in caught.value.hint
    assert _events(ws) == before
    other = _retro(ws, milestone="Launch 2", worked=["Something else entirely"])
    assert other.new and _events(ws) == before + 3  # the retro and its two actions


def test_the_frozen_scorecard_does_not_move_when_later_events_arrive(tmp_path: Path) -> None:
    ws = _world(tmp_path)
    _retro(ws)
    with ws.ledger() as ledger:  # a 200k deal at a1 (touched day 5) created day 61, and a new derive
        insert(ledger, "opportunities", [_opp("o7", "discovery", 200000.0, 61, account_id="a1")])
        write_derived(ledger, at(70))
    live = {r["result"]: r["actual"] for r in rows(build(ws, "campaigns"), f"{CID}.scorecard")}
    assert live["Pipeline (primary outcome)"] == 350000.0
    report = build(ws, "retros")
    frozen = {r["result"]: r["actual"] for r in rows(report, "frozen")}
    assert frozen["Pipeline (primary outcome)"] == 150000.0
    assert rows(report, "retros")[0]["scorecard"] == "150,000 of 750,000 (behind pace)"


def test_an_earlier_retro_freezes_the_scorecard_at_its_own_instant(tmp_path: Path) -> None:
    ws = _world(tmp_path)
    retro = _retro(ws, milestone="Week 3", now=at(21), changes=[]).retro
    assert retro.scorecard_as_of == int(at(21).timestamp())
    # by day 21: o1 (100k, day 8) and o3 (30k, day 20) count; o6 (day 45) is not created yet
    assert retro.scorecard[0]["actual"] == 130000.0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            "Fix routing; owner=marko; due=2026-03-20",
            "owner of 'Fix routing' 'marko' .*did you mean 'marco'",
        ),
        (
            "Fix routing; owner=marco; due=2026-03-01",
            "due 2026-03-01, before the retrospective \\(2026-03-08\\)",
        ),
        ("Fix routing; owner=marco", "missing due="),
        ("Fix routing; owner=marco; due=soon", "due 'soon' is not a date"),
        ("Fix routing; who=marco; due=2026-03-20", "cannot read 'who=marco'"),
    ],
)
def test_bad_changes_are_refused_naming_what_to_fix(tmp_path: Path, change: str, message: str) -> None:
    ws = _world(tmp_path)
    with pytest.raises(WorkspaceError, match=message):
        _retro(ws, changes=[change])
    assert _events(ws) == 8  # nothing written


def test_other_refusals_say_what_to_do(tmp_path: Path) -> None:
    ws = _world(tmp_path)
    with pytest.raises(WorkspaceError, match="did you mean 'security_pipeline_h1'"):
        record_retro(ws, "security_pipline_h1", milestone="x", worked=["a"], now=at(62))
    with pytest.raises(WorkspaceError, match="which milestone") as caught:
        _retro(ws, milestone=None)
    assert caught.value.hint and "--close" in caught.value.hint
    with pytest.raises(WorkspaceError, match="'close' is the closing retrospective") as caught:
        _retro(ws, milestone="Close")
    assert caught.value.hint == "use --close instead"
    with pytest.raises(WorkspaceError, match="empty retrospective"):
        _retro(ws, worked=[" "], stalled=[], changes=[])
    with pytest.raises(WorkspaceError, match="starts on 2026-01-05"):
        _retro(ws, now=at(-3))
    with pytest.raises(WorkspaceError, match=r"--by 'pryia' is not a person.*did you mean 'priya'"):
        _retro(ws, by="pryia")


def test_a_change_line_reads_in_any_order() -> None:
    change = parse_change("  Send AEs the touched accounts ;due=2026-05-01; owner = kai ")
    assert (change.text, change.owner, change.due) == (
        "Send AEs the touched accounts",
        "kai",
        date(2026, 5, 1),
    )


def test_actions_are_overdue_by_the_injected_day_and_close_once(tmp_path: Path) -> None:
    ws = _world(tmp_path)
    first, second = _retro(ws).actions
    found, today = list_actions(ws, now=at(70))  # 2026-03-16: nothing due yet
    assert today == date(2026, 3, 16) and [a.status(today) for a in found] == ["open", "open"]
    found, today = list_actions(ws, now=at(80))  # 2026-03-26: the first was due 2026-03-20
    assert [(a.action_id, a.status(today), a.days_overdue(today)) for a in found] == [
        (first.action_id, "overdue", 6), (second.action_id, "open", 0),
    ]  # fmt: skip
    done = close_action(ws, first.action_id, note="Routed to SDR queue", by="marco", now=at(81))
    assert done.new and done.action.done_by == "marco" and done.action.note == "Routed to SDR queue"
    before = _events(ws)
    assert not close_action(ws, first.action_id, now=at(90)).new and _events(ws) == before
    found, _ = list_actions(ws, open_only=True, now=at(80))
    assert [a.action_id for a in found] == [second.action_id]
    assert list_actions(ws, owner="lena", now=at(80))[0] == [second]
    with pytest.raises(WorkspaceError, match="did you mean"):
        close_action(ws, first.action_id[:-1] + "x")
    with pytest.raises(WorkspaceError, match=r"--owner 'lenna' is not a person.*did you mean 'lena'"):
        list_actions(ws, owner="lenna")


def test_reports_flag_overdue_actions_and_a_missing_closing_retro(tmp_path: Path) -> None:
    ws = _world(tmp_path)
    first, _ = _retro(ws).actions
    with ws.ledger() as ledger:
        write_derived(ledger, at(100))  # 2026-04-15: the charter ended on 2026-03-31
    report = build(ws, "retros")
    assert report.section("retros").flags == [
        "Security-led pipeline, H1: ended on 2026-03-31 with no closing retrospective "
        "(`accord retro security_pipeline_h1 --close ...`)"
    ]
    assert report.section("actions").flags == [
        f"Overdue: action {first.action_id} 'Call webinar attendees within one business day' (Marco Bianchi) "
        "is 26 days overdue (due 2026-03-20)"
    ]
    campaign = build(ws, "campaigns")
    assert any("26 days overdue" in f for f in campaign.section(f"{CID}.actions").flags)
    record_retro(ws, CID, close=True, worked=["Pipeline came from mid-market"], now=at(101))
    closed = build(ws, "retros")
    assert closed.section("retros").flags == []
    assert [r["milestone"] for r in rows(closed, "retros")] == ["Launch", "close"]


def test_cli_retro_actions_and_done(tmp_path: Path, cli: CliRunner) -> None:
    ws = _world(tmp_path)
    w = ["-w", str(ws.root)]
    args = ["retro", CID, "--milestone", "Launch", "--worked", WORKED[0], "--stalled", STALLED[0],
            "--change", CHANGES[0], "--change", CHANGES[1], "--by", "priya",
            "--at", at(62).isoformat()]  # fmt: skip
    result = cli.invoke(app, [*args, *w])
    assert result.exit_code == 0, result.output
    assert "recorded the 'Launch' retrospective" in result.output and "2 actions" in result.output
    assert "nothing written" in cli.invoke(app, [*args, *w]).output
    listed = cli.invoke(app, ["actions", "--open", "--now", at(80).isoformat(), *w])
    ids = [a.action_id for a in list_actions(ws, now=at(80))[0]]
    assert listed.exit_code == 0 and "overdue" in listed.output and ids[0] in listed.output
    done = cli.invoke(app, ["action", "done", ids[0], "--note", "done", "--by", "marco", *w])
    assert done.exit_code == 0 and "done" in done.output
    assert ids[0] not in cli.invoke(app, ["actions", "--open", *w]).output
    bad = cli.invoke(
        app, ["retro", CID, "--milestone", "Q2", "--change", "X; owner=marko; due=2027-01-01", *w]
    )
    assert bad.exit_code == 2 and "did you mean 'marco'" in bad.output


def test_cli_retro_from_a_file(tmp_path: Path, cli: CliRunner) -> None:
    ws = _world(tmp_path)
    doc = tmp_path / "retro.yaml"
    doc.write_text(
        "close: true\nworked: [Webinar reached reviewers]\nstalled: [Slow follow-up]\n"
        "changes:\n  - {text: Call attendees in a day, owner: marco, due: 2026-04-30}\n"
        "  - Publish the questionnaire pack; owner=lena; due=2026-05-15\n"
    )
    result = cli.invoke(
        app, ["retro", CID, "--from-file", str(doc), "--at", at(62).isoformat(), "-w", str(ws.root)]
    )
    assert result.exit_code == 0, result.output
    [retro] = rows(build(ws, "retros"), "retros")
    assert (retro["milestone"], retro["actions"]) == ("close", 2)
    doc.write_text("closing: true\n")
    bad = cli.invoke(app, ["retro", CID, "--from-file", str(doc), "-w", str(ws.root)])
    assert bad.exit_code == 2 and "unknown key closing" in bad.output


# ---- the demo, end to end ---------------------------------------------------------------------------

DEMO_AS_OF = datetime(2026, 10, 15, 15, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> service.Workspace:
    root = tmp_path_factory.mktemp("retro-demo") / "demo"
    return service.build_demo(root, contacts=200, seed=5, as_of=DEMO_AS_OF).workspace


def test_the_demo_has_a_retro_with_owned_actions_and_loss_interviews(demo: service.Workspace) -> None:
    report = build(demo, "retros")
    [retro] = rows(report, "retros")
    assert retro["campaign"] == CID and retro["milestone"] == "mid-campaign" and retro["actions"] == 3
    actions = rows(report, "actions")
    known = set(demo.spec.people)
    assert all(a["owner"] in {demo.spec.people[p].name for p in known} for a in actions)
    assert sorted(a["status"] for a in actions) == ["done", "open", "overdue"]
    assert report.section("actions").flags and rows(report, "frozen")
    campaign = build(demo, "campaigns", campaign=CID)
    assert len(rows(campaign, f"{CID}.retros")) == 1 and len(rows(campaign, f"{CID}.actions")) == 2
    losses = build(demo, "losses")
    evidence = rows(losses, "interviews")
    assert 1 <= len(evidence) <= 6
    assert sum(r["interviewed"] for r in rows(losses, "patterns")) == len(evidence)
    assert all(r["fit_weakened"].startswith("\u201c") for r in evidence)


def test_the_demo_reviews_follow_the_seed() -> None:
    owners = ["dana", "omar", "priya"]
    plan = retro_plan(5, date(2026, 1, 5), date(2026, 10, 15), owners)
    assert plan == retro_plan(5, date(2026, 1, 5), date(2026, 10, 15), owners)
    assert plan is not None and plan.held == date(2026, 5, 26)  # 141 of the 283 days run
    assert [owner for _, owner, _ in plan.changes] == owners
    assert retro_plan(5, date(2026, 1, 5), date(2026, 1, 20), owners) is None  # too early for a retro
    lost = [f"opp-{i:05d}" for i in range(40)]
    assert interview_picks(5, lost) == interview_picks(5, lost) != interview_picks(6, lost)
    assert len(interview_picks(5, lost)) == 6 and interview_picks(5, []) == []
