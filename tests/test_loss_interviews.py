"""Loss interviews: recorded only for closed-lost deals, idempotent, and fed into the loss post-mortem
(counted per pattern area, quoted by role, placing losses whose CRM reason is missing or 'other')."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from accord import service
from accord.cli.main import app
from accord.domain.reviews import QUESTIONS, shorten
from accord.errors import WorkspaceError
from accord.service.retros import record_interview
from tests.report_world import at, build, insert, rows
from tests.test_report_pipeline import _closed_world

ANSWERS = {
    "problem": "Quarter-end reporting across regions was manual",
    "committee": "Finance and IT; we only ever spoke to operations",
    "fit_weakened": "When IT asked for single sign-on and it was a paid add-on",
    "competitor": "They bundled sign-on and priced per team, not per seat",
    "easier_yes": "Sign-on included and a price that grows with use",
}


def _interview(ws: service.Workspace, opp: str, **more: Any) -> Any:
    given: dict[str, Any] = {"by": "priya", "answers": ANSWERS, "now": at(210)}
    given.update(more)
    return record_interview(ws, opp, **given)


def _events(ws: service.Workspace) -> int:
    with ws.ledger(read_only=True) as ledger:
        found = ledger.con.execute("SELECT count(*) FROM events").fetchone()
        return int(found[0]) if found else 0


def test_no_interviews_leave_the_post_mortem_as_it_was(tmp_path: Path) -> None:
    report = build(_closed_world(tmp_path), "losses")
    areas = {(r["quarter"], r["area"]): (r["deals"], r["interviewed"], r["by_interview"])
             for r in rows(report, "patterns")}  # fmt: skip
    assert areas[("2026-Q1", "pricing")] == (3, 0, 0) and areas[("2026-Q2", "(no reason)")] == (1, 0, 0)
    assert rows(report, "interviews") == []
    assert "Loss interviews: 0 of 7 lost deals interviewed (2026-Q1 0 of 4, 2026-Q2 0 of 3)" in " ".join(
        report.section("patterns").notes
    )


def test_interviews_place_losses_with_no_reason_and_count_per_area(tmp_path: Path) -> None:
    """By hand (the world of test_report_pipeline): Q1 pricing d4 d6 d7, no reason d8; Q2 competitor
    d9 d10 (sales_motion), budget_cut d11 (not in the spec). Interviews: d8 -> pricing, d11 ->
    sales_motion, d9 -> product (its CRM reason keeps it in sales_motion), d4 with no area."""
    ws = _closed_world(tmp_path)
    _interview(ws, "d8", area="pricing")
    _interview(ws, "d11", area="sales_motion", role="economic_buyer")
    _interview(ws, "d9", area="product")
    _interview(ws, "d4")
    report = build(ws, "losses")
    areas = {(r["quarter"], r["area"]): (r["deals"], r["amount"], r["structural"], r["interviewed"],
                                         r["by_interview"]) for r in rows(report, "patterns")}  # fmt: skip
    assert areas == {
        ("2026-Q1", "pricing"): (4, 10000, True, 2, 1),  # d4, d6, d7 + d8 (placed by its interview)
        ("2026-Q2", "sales_motion"): (3, 18000, True, 2, 1),  # d9, d10 + d11: now structural
    }
    # the CRM data gap is still reported: the reason table keeps d8 and d11 under "(no reason)"
    reasons = [(r["quarter"], r["reason"], r["deals"]) for r in rows(report, "reasons")]
    assert ("2026-Q1", "(no reason)", 1) in reasons and ("2026-Q2", "(no reason)", 1) in reasons
    changes = {(r["quarter"], r["area"]): r["reasons"] for r in rows(report, "changes")}
    assert changes == {("2026-Q1", "pricing"): "no reason, interview, price",
                       ("2026-Q2", "sales_motion"): "budget_cut, competitor"}  # fmt: skip
    notes = " ".join(report.section("patterns").notes)
    assert "4 of 7 lost deals interviewed (2026-Q1 2 of 4, 2026-Q2 2 of 3)" in notes
    assert "missing, not in the spec, or in the 'other' area" in notes


def test_evidence_is_quoted_and_attributed_to_a_role_never_a_person(tmp_path: Path) -> None:
    ws = _closed_world(tmp_path)
    _interview(ws, "d11", area="sales_motion", role="economic_buyer")
    _interview(ws, "d8", area="pricing")
    evidence = rows(build(ws, "losses"), "interviews")
    assert [(r["quarter"], r["area"], r["role"], r["reason"]) for r in evidence] == [
        ("2026-Q1", "pricing", "buyer", "(none)"),  # d8 has no contact: no committee role known
        ("2026-Q2", "sales_motion", "Economic buyer", "budget_cut"),
    ]
    assert evidence[0]["fit_weakened"] == f"\u201c{ANSWERS['fit_weakened']}\u201d"
    assert set(QUESTIONS) <= set(evidence[0])
    flat = json.dumps(evidence)
    assert "priya" not in flat and "Priya" not in flat and "jon" not in flat  # no interviewer, no rep


def test_the_latest_interview_naming_an_area_decides(tmp_path: Path) -> None:
    ws = _closed_world(tmp_path)
    _interview(ws, "d8", area="qualification", now=at(205))
    _interview(ws, "d8", area="pricing", by="dana", now=at(206))
    _interview(ws, "d8", by="lena", now=at(207))  # names no area: does not override
    areas = {(r["quarter"], r["area"]): r["interviewed"] for r in rows(build(ws, "losses"), "patterns")}
    assert areas[("2026-Q1", "pricing")] == 1 and ("2026-Q1", "qualification") not in areas


def test_a_deal_contact_gives_the_default_role(tmp_path: Path) -> None:
    ws = _closed_world(tmp_path)
    with ws.ledger() as ledger:
        ledger.con.execute("UPDATE opportunities SET contact_id = 'c9' WHERE opportunity_id = 'd9'")
        insert(ledger, "contacts", [{"contact_id": "c9", "account_id": "a2", "committee_role": "champion"}])
    assert _interview(ws, "d9").interview.role == "champion"


def test_recording_twice_changes_nothing(tmp_path: Path) -> None:
    ws = _closed_world(tmp_path)
    first = _interview(ws, "d8", area="pricing")
    before = _events(ws)
    again = _interview(ws, "d8", area="pricing", now=at(230))
    assert first.new and not again.new and _events(ws) == before
    assert again.interview.held_at == first.interview.held_at == int(at(210).timestamp())


@pytest.mark.parametrize(
    ("opp", "more", "message"),
    [
        ("d1", {}, "'d1' is won at the interview's date: loss interviews are for closed-lost deals"),
        ("d12", {}, "no opportunity 'd12'; did you mean"),
        ("d8", {"area": "pricng"}, "--area 'pricng' is not a pattern area; did you mean 'pricing'"),
        ("d8", {"area": "other"}, "--area 'other' is not a pattern area"),
        ("d8", {"role": "champ"}, "--role 'champ' is not a buying-committee role; did you mean 'champion'"),
        ("d8", {"by": "prya"}, "--by 'prya' is not a person.*did you mean 'priya'"),
        ("d8", {"answers": {**ANSWERS, "competitor": " ", "easier_yes": None}},
         "missing --competitor, --easier-yes"),
        ("d4", {"now": at(3)}, "'d4' is open .* at the interview's date"),  # d4 closed on day 5
    ],
)  # fmt: skip
def test_refusals_name_what_to_fix(tmp_path: Path, opp: str, more: dict[str, Any], message: str) -> None:
    ws = _closed_world(tmp_path)
    before = _events(ws)
    with pytest.raises(WorkspaceError, match=message):
        _interview(ws, opp, **more)
    assert _events(ws) == before


def test_an_open_deal_is_refused(tmp_path: Path) -> None:
    ws = _closed_world(tmp_path)
    with ws.ledger() as ledger:
        insert(ledger, "opportunities", [{"opportunity_id": "d20", "stage": "proposal", "amount": 1.0,
                                          "created_at": at(150)}])  # fmt: skip
    with pytest.raises(WorkspaceError, match=r"'d20' is open \(stage proposal\)") as caught:
        _interview(ws, "d20")
    assert caught.value.hint and "closed_lost" in caught.value.hint


def test_quotes_are_cut_at_a_word() -> None:
    text = "word " * 40
    cut = shorten(text, 30)
    assert len(cut) <= 30 and cut.endswith("\u2026") and not cut.endswith(" \u2026")


def test_cli_interview_then_post_mortem(tmp_path: Path, cli: CliRunner) -> None:
    ws = _closed_world(tmp_path)
    w = ["-w", str(ws.root)]
    flags = [x for k, (flag, _) in QUESTIONS.items() for x in (flag, ANSWERS[k])]
    result = cli.invoke(app, ["interview", "d11", "--by", "priya", "--area", "sales_motion", "--on",
                              "2026-06-10", *flags, *w])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "recorded the loss interview of d11" in result.output
    again = cli.invoke(app, ["interview", "d11", "--by", "priya", "--area", "sales_motion", "--on",
                             "2026-06-10", *flags, *w])  # fmt: skip
    assert "nothing written" in again.output
    doc = json.loads(cli.invoke(app, ["report", "losses", "-f", "json", *w]).output)
    patterns = next(s for s in doc["sections"] if s["key"] == "patterns")["rows"]
    q2 = next(r for r in patterns if r["area"] == "sales_motion")
    assert (q2["deals"], q2["interviewed"], q2["structural"]) == (3, 1, True)
    missing = cli.invoke(app, ["interview", "d8", "--by", "priya", "--problem", "x", *w])
    assert (
        missing.exit_code == 2 and "--committee, --fit-weakened, --competitor, --easier-yes" in missing.output
    )
    nobody = cli.invoke(app, ["interview", "d8", *flags, *w])
    assert nobody.exit_code == 2 and "--by PERSON" in nobody.output


def test_cli_interview_from_a_file(tmp_path: Path, cli: CliRunner) -> None:
    ws = _closed_world(tmp_path)
    doc = tmp_path / "interview.yaml"
    doc.write_text(
        "by: dana\narea: pricing\non: 2026-03-20\n" + "".join(f"{k}: {v}\n" for k, v in ANSWERS.items())
    )
    result = cli.invoke(app, ["interview", "d8", "--from-file", str(doc), "-w", str(ws.root)])
    assert result.exit_code == 0, result.output
    [row] = rows(build(ws, "losses"), "interviews")
    assert (row["area"], row["problem"]) == ("pricing", f"\u201c{ANSWERS['problem']}\u201d")
    doc.write_text("by: dana\nanswer: yes\n")
    bad = cli.invoke(app, ["interview", "d8", "--from-file", str(doc), "-w", str(ws.root)])
    assert bad.exit_code == 2 and "unknown key answer" in bad.output
