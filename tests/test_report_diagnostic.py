"""The 0-20 diagnostic: answers files, the interactive prompt, score bands, and the data's answers by hand."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from accord import service
from accord.cli.main import app
from accord.errors import ReportError
from accord.reports.base import Filters
from accord.reports.data import ReportData
from accord.reports.diagnostic import diagnostic
from accord.reports.questionnaire import QUESTIONS, STEPS, ask, band, load_answers
from tests.report_world import Event, at, build, fill, insert, new_workspace, rows, write_derived

HOUR = 3600


def _t(days: float, seconds: int = 0) -> int:
    return int(at(days).timestamp()) + seconds


def _world(tmp_path: Path, *, signed: bool = False) -> service.Workspace:
    """As of day 100 (the 90-day period is [day 10, day 100)), by hand:

    Q1 written; signed by Dana and Omar for 2027.1 only when ``signed``.
    Q2 two leads assigned Monday day 91 at 10:00 New York, touched after 20 minutes, accepted next day.
    Q5 live assets k1-k4: k1, k2 mapped to a known stage and role; k3's stage and k4's role missing;
       k5 retired (not live) -> 2 of 4 = 50%.
    Q6 k1 shared on deal o1 on day 80 (inside the 90-day retire window); k3, k4 unused but published
       day 20, so none is past the rule.
    Q8 open deals o1 (day 10), o2 (day 20) stalled; o1's next action is due after day 100 (2026-04-15),
       o2's was due 2026-04-01 (overdue counts as missing) -> 50%;
       o3 created day 95 is not stalled.
    Q9 lost in the period: o4 with a reason, o5 without -> 50%; o6 lost before the period; o7 won.
    """
    ws = new_workspace(tmp_path)
    start = _t(91, 14 * HOUR - 12 * HOUR)  # 14:00 UTC = 10:00 New York (daylight time)
    events = []
    for cid in ("c1", "c2"):
        events += [
            Event(f"{cid}-a", start, "assigned", contact_id=cid, actor_id="sam"),
            Event(f"{cid}-t", start + 20 * 60, "call_attempt", contact_id=cid, actor_id="sam"),
            Event(f"{cid}-d", start + 86400, "accepted", contact_id=cid, actor_id="sam"),
        ]
    events.append(
        Event("use-1", _t(80), "content_shared", opportunity_id="o1", content_id="k1", actor_id="rosa")
    )
    if signed:
        events += [
            Event("sig-dana", _t(50), "agreement_signed", actor_id="dana", props={"spec_version": "2027.1"}),
            Event("sig-omar", _t(51), "agreement_signed", actor_id="omar", props={"spec_version": "2027.1"}),
        ]
    with ws.ledger() as ledger:
        fill(ledger, {"c1": {"account_id": "a1"}, "c2": {"account_id": "a1"}}, {"a1": {}}, events)
        insert(ledger, "content", [
            {"content_id": "k1", "stage": "evaluation", "committee_role": "economic_buyer",
             "created_at": at(0)},
            {"content_id": "k2", "stage": "opportunity", "committee_role": "security_reviewer"},
            {"content_id": "k3", "stage": "webinars", "committee_role": "champion", "created_at": at(20)},
            {"content_id": "k4", "stage": "consideration", "created_at": at(20)},
            {"content_id": "k5", "stage": "evaluation", "committee_role": "end_user", "retired_at": at(50)},
        ])  # fmt: skip
        opp = {"account_id": "a1", "amount": 10000.0}
        insert(ledger, "opportunities", [
            {**opp, "opportunity_id": "o1", "stage": "discovery", "owner_id": "rosa", "created_at": at(10),
             "next_action": "Call the CFO", "next_action_due": date(2026, 4, 20)},
            {**opp, "opportunity_id": "o2", "stage": "proposal", "owner_id": "jon", "created_at": at(20),
             "next_action": "Send the proposal", "next_action_due": date(2026, 4, 1)},
            {**opp, "opportunity_id": "o3", "stage": "discovery", "owner_id": "jon", "created_at": at(95)},
            {**opp, "opportunity_id": "o4", "stage": "closed_lost", "owner_id": "jon", "created_at": at(5),
             "closed_at": at(50), "loss_reason": "price"},
            {**opp, "opportunity_id": "o5", "stage": "closed_lost", "owner_id": "jon", "created_at": at(5),
             "closed_at": at(60)},
            {**opp, "opportunity_id": "o6", "stage": "closed_lost", "owner_id": "jon", "created_at": at(-60),
             "closed_at": at(-50)},
            {**opp, "opportunity_id": "o7", "stage": "closed_won", "owner_id": "rosa", "created_at": at(5),
             "closed_at": at(70)},
        ])  # fmt: skip
        write_derived(ledger, at(100))
    return ws


def test_q6_agrees_with_the_content_reports_retire_list(tmp_path: Path) -> None:
    """Q6 once answered "assets unused for 90 days are retired" while the content report listed assets
    past that rule: an asset published on day 5 and never used is due by day 100, so "partly"."""
    ws = _world(tmp_path)
    with ws.ledger() as ledger:
        insert(ledger, "content", [
            {"content_id": "k6", "stage": "evaluation", "committee_role": "champion", "created_at": at(5)}
        ])  # fmt: skip
    report = build(ws, "diagnostic")
    assert _data_says(report)[6] == 1
    evidence = {r["number"]: r["evidence"] for r in rows(report, "questions")}[6]
    assert "yet 1 live assets are past it (the content report's retire list: k6)" in evidence
    retire = rows(build(ws, "content"), "retire")
    assert [r["content_id"] for r in retire] == ["k6"]


def _data_says(report: Any) -> dict[int, object]:
    return {r["number"]: r["data"] for r in rows(report, "questions")}


def test_the_data_answers_seven_questions(tmp_path: Path) -> None:
    report = build(_world(tmp_path), "diagnostic")
    says = _data_says(report)
    assert says == {
        1: 1, 2: 2, 3: 2, 4: "not measurable", 5: 1, 6: 2, 7: "not measurable", 8: 1, 9: 1,
        10: "not measurable",
    }  # fmt: skip
    evidence = {r["number"]: r["evidence"] for r in rows(report, "questions")}
    assert "Dana Whitfield has not signed" in evidence[1]
    assert evidence[2].startswith(
        "first-touch compliance 100% of 2 clocks (target 90%, within 1 business hour)"
    )
    assert "2 of 4 live assets (50%)" in evidence[5]
    assert "1 content uses on 1 deals in the last 90 days" in evidence[6]
    assert "1 of 2 deals stalled 21+ days (50%)" in evidence[8] and "lacking: o2" in evidence[8]
    assert "1 of 2 deals lost" in evidence[9]
    [score] = rows(report, "score")
    # 1 + 2 + 2 + 1 + 2 + 1 + 1 = 10, the unmeasurable three count 0
    assert (score["basis"], score["total"], score["step"]) == ("what the data says", 10, 3)
    assert any("Q4, Q7, Q10 count 0" in n for n in report.section("score").notes)
    assert all(r["yours"] is None for r in rows(report, "questions"))


def test_both_signatures_make_q1_a_two(tmp_path: Path) -> None:
    report = build(_world(tmp_path, signed=True), "diagnostic")
    assert _data_says(report)[1] == 2


@pytest.fixture
def data(tmp_path: Path) -> Iterator[ReportData]:
    ws = _world(tmp_path)
    with ws.ledger(read_only=True) as ledger:
        yield ReportData(ledger, ws.spec, Filters())


def _answers(total: int) -> dict[int, int]:
    """Ten answers that add up to ``total``: twos first, then a one, then zeros."""
    values = [2] * (total // 2) + [1] * (total % 2)
    values += [0] * (10 - len(values))
    return dict(enumerate(values, 1))


@pytest.mark.parametrize(
    ("total", "step"), [(0, 1), (4, 1), (5, 2), (9, 2), (10, 3), (15, 3), (16, 6), (20, 6)]
)
def test_bands_at_their_boundaries(total: int, step: int) -> None:
    assert band(total)[1] == step


def test_your_answers_make_the_score_and_flag_two_point_gaps(data: ReportData) -> None:
    for total, step in ((4, 1), (5, 2), (9, 2), (10, 3), (15, 3), (16, 6)):
        report = diagnostic(data, answers=_answers(total))
        first, second = rows(report, "score")
        assert (first["basis"], first["total"], first["step"]) == ("your answers", total, step)
        assert (second["basis"], second["total"]) == ("what the data says", 10)
    report = diagnostic(data, answers={**_answers(0), 5: 2, 6: 1})
    flags = report.section("questions").flags
    # data says Q2, Q3, Q6 = 2: answering 0 to Q2 and Q3 is two points apart; Q6 (1) and Q5 (2 vs 1) are not
    assert [f.split(":")[0] for f in flags] == ["Q2", "Q3"]
    assert {r["number"]: r["yours"] for r in rows(report, "questions")}[5] == 2


def test_questions_cover_the_six_steps() -> None:
    assert [q.number for q in QUESTIONS] == list(range(1, 11))
    assert {q.step for q in QUESTIONS} <= set(STEPS)
    assert [q.number for q in QUESTIONS if not q.measurable] == [4, 7, 10]


# ---- answers files -------------------------------------------------------------------------------


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_answers_from_yaml_and_json(tmp_path: Path) -> None:
    yaml_file = _write(tmp_path, "a.yaml", "\n".join(f"q{i}: {i % 3}" for i in range(1, 11)))
    assert load_answers(yaml_file) == {i: i % 3 for i in range(1, 11)}
    json_file = _write(tmp_path, "a.json", json.dumps([2, 2, 1, 0, 1, 2, 0, 1, 2, 2]))
    assert load_answers(json_file)[3] == 1


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("q1: 3\n" + "".join(f"q{i}: 1\n" for i in range(2, 11)), ["q1: 3 is not an answer", "0, 1 or 2"]),
        ("".join(f"q{i}: 1\n" for i in range(1, 10)), ["missing q10"]),
        (
            "".join(f"q{i}: 1\n" for i in range(1, 11)) + "qq5: 2\n",
            ["unknown key 'qq5'", "did you mean 'q5'"],
        ),
        ("q1: maybe\n", ["q1: 'maybe' is not an answer", "missing q2"]),
        ("q1: yes\n", ["q1: a yes/no value is not an answer"]),
        ("[1, 2, 0]\n", ["needs 10 numbers, got 3"]),
        ("just text\n", ["expected a mapping"]),
        ("q1: [\n", ["not valid YAML"]),
        ("", ["empty"]),
    ],
)
def test_answers_file_errors_name_the_file_and_key(tmp_path: Path, text: str, words: list[str]) -> None:
    path = _write(tmp_path, "answers.yaml", text)
    with pytest.raises(ReportError) as caught:
        load_answers(path)
    message = caught.value.message
    assert message.startswith(f"{path}:")
    for word in words:
        assert word in message
    assert caught.value.hint and "q1: 2" in caught.value.hint


def test_missing_file_and_bad_json(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="no such answers file"):
        load_answers(tmp_path / "nope.yaml")
    with pytest.raises(ReportError, match=r"a\.json: not valid JSON \(line 1"):
        load_answers(_write(tmp_path, "a.json", "{q1: 2}"))


def test_the_cli_refuses_a_bad_answers_file_in_one_line(tmp_path: Path) -> None:
    ws = _world(tmp_path)
    path = _write(tmp_path, "answers.yaml", "".join(f"q{i}: 1\n" for i in range(1, 10)) + "q10: 3\n")
    result = CliRunner().invoke(app, ["report", "diagnostic", "-w", str(ws.root), "--answers", str(path)])
    assert result.exit_code == 2
    assert "answers.yaml: q10: 3 is not an answer" in result.output and "Traceback" not in result.output
    good = _write(tmp_path, "good.yaml", "".join(f"q{i}: 2\n" for i in range(1, 11)))
    ok = CliRunner().invoke(
        app, ["report", "diagnostic", "-w", str(ws.root), "--answers", str(good), "-f", "json"]
    )
    assert ok.exit_code == 0, ok.output
    score = json.loads(ok.output)["sections"][1]["rows"][0]
    assert (score["total"], score["step"]) == (20, 6)


# ---- asking --------------------------------------------------------------------------------------


class Scripted(Console):
    """A console whose user types the given lines, then nothing more."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__(file=io.StringIO(), width=120)
        self.lines = list(lines)

    def input(self, prompt: Any = "", **_: Any) -> str:
        self.print(prompt, end="")
        if not self.lines:
            raise EOFError
        return self.lines.pop(0)


def test_ask_reasks_until_0_1_or_2() -> None:
    console = Scripted(["maybe", "3", "2", "1", "0", "2", "2", "1", "1", "0", "2", " 1 "])
    answers = ask(console)
    assert answers == {1: 2, 2: 1, 3: 0, 4: 2, 5: 2, 6: 1, 7: 1, 8: 0, 9: 2, 10: 1}
    shown = console.file.getvalue()  # type: ignore[attr-defined]
    assert shown.count("Answer 0 (no), 1 (partly) or 2 (yes)") == 2
    assert QUESTIONS[0].text[:40] in shown and "step 2" in shown


def test_ask_stops_when_input_ends_or_keeps_failing() -> None:
    with pytest.raises(ReportError, match="no valid answer to Q3"):
        ask(Scripted(["1", "2"]))
    with pytest.raises(ReportError, match="no valid answer to Q1"):
        ask(Scripted(["x"] * 10))
    stream = io.StringIO("2\n2\n")
    with pytest.raises(ReportError, match="Q3"):
        ask(Console(file=io.StringIO()), stream=stream)
