"""The SLA document: every actual counted by hand on four leads, sign-offs, and the real CLI's outputs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from accord import service
from accord.cli.main import app
from accord.reports.base import Report
from accord.spec.load import spec_hash
from tests.report_world import DAY, Event, at, build, fill, new_workspace, write_derived

HOUR = 3600
NINE_NY = 2 * HOUR  # T0 is 12:00 UTC = 07:00 in New York; business hours open at 09:00


def _t(days: float, seconds: int = 0) -> int:
    return int(at(days).timestamp()) + seconds


def _world(tmp_path: Path, signatures: Sequence[tuple[str, str, float]] = ()) -> service.Workspace:
    """Four MQLs assigned to Sam on Monday and Tuesday at 09:00 New York (us_east calendar):

    c1: MQL 3 min before assignment; call after 30 min (met); accepted a day later (met)
    c2: MQL 10 min before; call after 2 business hours (breached); rejected with a reason after 1 day
    c3: MQL 1 min before; email after 10 min (met); rejected without a reason after 3 days (breached)
    c4: MQL 2 min before; call after 20 min (met); accepted after 1.5 days (met)
    c5: passed through the MQL stage (counts in volume, never routed); c6 was an MQL 30 days earlier
    """
    ws = new_workspace(tmp_path)
    mon, tue = _t(0, NINE_NY), _t(1, NINE_NY)
    plan = [
        ("c1", mon, 3, "call_attempt", 30 * 60, "accepted", DAY, None),
        ("c2", mon, 10, "call_attempt", 2 * HOUR, "rejected", DAY, "bad_fit"),
        ("c3", tue, 1, "email_sent", 10 * 60, "rejected", 3 * DAY, None),
        ("c4", tue, 2, "call_attempt", 20 * 60, "accepted", DAY + DAY // 2, None),
    ]
    events: list[Event] = []
    stages: list[tuple[str, str, str, datetime, datetime | None, str | None, bool]] = []
    c = "contact"
    for cid, start, lead_min, touch, after, verdict, verdict_after, reason in plan:
        entered = start - lead_min * 60
        stages.append((c, cid, "evaluation", _dt(entered), None, None, False))
        events += [
            Event(f"{cid}-a", start, "assigned", contact_id=cid, actor_id="sam"),
            Event(f"{cid}-t", start + after, touch, contact_id=cid, actor_id="sam"),
            Event(
                f"{cid}-d", start + verdict_after, verdict, contact_id=cid, actor_id="sam",
                props={"reason_code": reason} if reason else {},
            ),
        ]  # fmt: skip
    stages.append((c, "c5", "evaluation", _dt(mon), _dt(mon), "opportunity", True))
    stages.append((c, "c6", "evaluation", _dt(_t(-30)), None, None, False))
    for person, version, day in signatures:
        events.append(
            Event(
                f"sig-{person}-{day}",
                _t(day),
                "agreement_signed",
                actor_id=person,
                props={"spec_version": version},
            )
        )
    with ws.ledger() as ledger:
        contacts = {f"c{i}": {"account_id": "a1"} for i in range(1, 7)}
        fill(ledger, contacts, {"a1": {"segment": "mid_market"}}, events)
        write_derived(ledger, at(10), stages=stages)
    return ws


def _dt(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _rows(report: Report, key: str) -> dict[str, dict[str, object]]:
    return {r["commitment"]: r for r in report.section(key).records()}


def test_commitments_and_actuals_by_hand(tmp_path: Path) -> None:
    report = build(_world(tmp_path), "agreement")
    marketing = _rows(report, "marketing")
    # 5 MQL entries in the 28 days before day 10 (c1-c4, c5 passing through; c6 is older): 5 / 4 weeks
    assert marketing["MQL volume"]["actual"] == "1.2 per week (5 MQLs)"
    assert marketing["MQL volume"]["agreed"] == "10 per week (±15%: 8.5 to 11.5)"
    assert marketing["MQL volume"]["status"] == "not met"
    # accepted c1, c4; rejected c2, c3 -> 50% against 75%
    assert marketing["Lead quality"]["actual"] == "50% accepted (2 accepted, 2 rejected)"
    assert marketing["Lead quality"]["status"] == "not met"
    # routing minutes 3, 10, 1, 2 -> median 2.5 <= 5 (c5 passed through, so it was never handed over)
    assert marketing["Routing speed"]["actual"] == "median 2.5 min over 4 MQLs"
    assert marketing["Routing speed"]["status"] == "met"
    sales = _rows(report, "sales")
    # first touch: 30, 120, 10, 20 business minutes; only c2 over 60 -> 3 / 4; p50 = (20 + 30) / 2
    assert (
        sales["First touch"]["actual"] == "75% met (3 met, 1 breached); speed-to-lead p50 25.0 business min"
    )
    assert sales["First touch"]["agreed"] == "within 1 business hour of assignment, on at least 90% of MQLs"
    assert sales["First touch"]["status"] == "not met"
    # disposition: 1d, 1d, 3d, 1.5d against 48 hours -> 3 / 4
    assert sales["Disposition feedback"]["actual"] == "75% met (3 met, 1 breached)"
    assert sales["Disposition feedback"]["status"] == "not met"
    assert sales["Rejection reasons"]["actual"] == "50% (1 of 2 rejections)"
    assert sales["Rejection reasons"]["status"] == "not met"
    joint = _rows(report, "joint")
    # week [day -4, day 3): accepted c1, c4, rejected c2 -> 66.7%; week [day 3, day 10): rejected c3 -> 0%
    assert joint["Acceptance held up"]["actual"] == "weekly acceptance, oldest first: 66.7%, 0%"
    assert joint["Acceptance held up"]["status"] == "not met"
    assert any("revisit the MQL criteria" in f for f in report.section("joint").flags)
    assert joint["Disputes escalate to"]["agreed"] == "Priya Raman, then Grace Liu"


def test_terms_and_criteria_come_from_the_spec(tmp_path: Path) -> None:
    report = build(_world(tmp_path), "agreement")
    terms = {r["term"]: r["value"] for r in report.section("terms").records()}
    assert terms["Effective"] == "2027-01-01"
    assert terms["Review cadence"].startswith("monthly review of rejection reasons")
    assert terms["Recalibration cadence"].startswith("quarterly")
    criteria = {r["criterion"]: r["rule"] for r in report.section("mql_criteria").records()}
    assert criteria["Enters Evaluation (MQL)"] == "tier = 'Tier 1'"
    assert criteria["Tier 1 (motion: Human follow-up)"] == "fit >= 30 AND intent >= 25"
    assert "personal email" in " ".join(criteria)


def test_sign_offs_name_the_version(tmp_path: Path) -> None:
    ws = _world(tmp_path, [("dana", "2027.1", -5), ("omar", "2026.4", -40), ("grace", "2027.1", -5)])
    report = build(ws, "agreement")
    got = {
        r["owner"]: (r["status"], str(r["signed_on"]), r["version"])
        for r in report.section("sign_offs").records()
    }
    assert got == {
        "Dana Whitfield": ("signed", "2025-12-31", "2027.1"),  # day -5 at 07:00 New York
        "Omar Haddad": ("signed an earlier version", "2025-11-26", "2026.4"),
    }
    [flag] = report.section("sign_offs").flags
    assert "Omar Haddad" in flag and "Dana Whitfield" not in flag


def test_a_signature_may_name_the_spec_hash(tmp_path: Path) -> None:
    ws = new_workspace(tmp_path)
    digest = spec_hash(ws.spec)
    ws = _world(tmp_path / "again", [("dana", "2027.1", -1), ("omar", digest, -1)])
    report = build(ws, "agreement")
    assert [r["status"] for r in report.section("sign_offs").records()] == ["signed", "signed"]
    assert report.section("sign_offs").flags == []


def test_markdown_and_html_through_the_cli(tmp_path: Path) -> None:
    ws = _world(tmp_path, [("dana", "2027.1", -5)])
    cli = CliRunner()
    md = cli.invoke(app, ["report", "agreement", "-w", str(ws.root), "-f", "md"])
    assert md.exit_code == 0, md.output
    for text in (
        "# Service-level agreement between Marketing and Sales",
        "## 3. Marketing commits to",
        "| MQL volume | 10 per week (±15%: 8.5 to 11.5) | 1.2 per week (5 MQLs) | not met |",
        "| First touch | within 1 business hour of assignment, on at least 90% of MQLs | 75% met",
        "## 6. Sign-offs",
        "| Dana Whitfield | marketing leader | signed | 2025-12-31 | 2027.1 |",
    ):
        assert text in md.output, text
    page = tmp_path / "sla.html"
    html = cli.invoke(app, ["report", "agreement", "-w", str(ws.root), "-f", "html", "-o", str(page)])
    assert html.exit_code == 0, html.output
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!doctype html>")
    assert "<h2>4. Sales commits to</h2>" in text
    assert "<td>Disposition feedback</td><td>accept or reject within 48 hours of assignment" in text
    assert "<td>75% met (3 met, 1 breached)</td><td>not met</td>" in text
    assert "<td>Omar Haddad</td><td>sales leader</td><td>not signed</td>" in text


@pytest.mark.parametrize(
    ("share", "text"), [(0.84, "84%"), (0.896, "89.6%"), (0.9999, "99.9%"), (1.0, "100%")]
)
def test_percentages_never_round_onto_a_target(share: float, text: str) -> None:
    from accord.reports.agreement import pct

    assert pct(share) == text
