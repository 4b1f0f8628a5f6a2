"""The content report on a world small enough to count by hand."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from accord import service
from accord.cli.main import app
from accord.reports.base import Filters
from accord.reports.content import content_utilization
from accord.reports.data import ReportData
from tests.report_world import DAY, T0, Event, at, build, fill, insert, new_workspace, rows, write_derived

AS_OF = 200  # days after T0 (2026-07-24, noon UTC)
ROLES = ["economic_buyer", "technical_evaluator", "end_user", "procurement", "security_reviewer", "champion"]


def _day(days: int) -> date:
    return date(2026, 1, 5) + timedelta(days=days)  # noon UTC is the same day in New York


def _world(tmp_path: Path) -> service.Workspace:
    """Only evaluation and opportunity need content here; the six starter committee roles.

    asset stage/role                          published  retired  uses in deals
    x1    evaluation / economic_buyer         d0         -        o1 on d111 (names the deal)
    x2    evaluation / economic_buyer         d0         d150     -
    x3    opportunity / security_reviewer     d0         -        o2 on d109 (via c2's account)
    x4    opportunity / champion              d190       -        -
    x5    awareness / end_user (not in map)   d0         -        o4 on d60 (via account acc1)
    x6    (unmapped)                          d0         -        o3 on d160 (names the deal)
    x7    evaluation / technical_evaluator    d109       -        -
    x8    evaluation / end_user               d111       -        -
    x1 shared with acc3 on d140 counts for no deal: o3 was created on d150.

    deals: o1 (acc1, enterprise) open since d100; o2 (acc2) open since d100; o3 (acc3) open since
    d150; o4 (acc1) d50 -> won d120.
    """
    ws = new_workspace(
        tmp_path, [("retire_after: 90d\n", "retire_after: 90d\n  stages: [evaluation, opportunity]\n")]
    )
    with ws.ledger() as ledger:
        fill(
            ledger,
            {"c1": {"account_id": "acc1"}, "c2": {"account_id": "acc2"}},
            {
                "acc1": {"segment": "enterprise"},
                "acc2": {"segment": "mid_market"},
                "acc3": {"segment": "mid_market"},
            },
            [
                Event("u1", T0 + 111 * DAY, "content_shared", opportunity_id="o1", content_id="x1"),
                Event("u2", T0 + 109 * DAY, "content_viewed", contact_id="c2", content_id="x3"),
                Event("u3", T0 + 160 * DAY, "content_viewed", opportunity_id="o3", content_id="x6"),
                Event("u4", T0 + 60 * DAY, "content_shared", account_id="acc1", content_id="x5"),
                Event("u5", T0 + 140 * DAY, "content_shared", account_id="acc3", content_id="x1"),
                Event(
                    "u6", T0 + 150 * DAY, "content_download", account_id="acc2", content_id="x7"
                ),  # not a deal use
            ],
        )
        assets = [
            ("x1", "evaluation", "economic_buyer", 0, None),
            ("x2", "evaluation", "economic_buyer", 0, 150),
            ("x3", "opportunity", "security_reviewer", 0, None),
            ("x4", "opportunity", "champion", 190, None),
            ("x5", "awareness", "end_user", 0, None),
            ("x6", None, None, 0, None),
            ("x7", "evaluation", "technical_evaluator", 109, None),
            ("x8", "evaluation", "end_user", 111, None),
        ]
        insert(ledger, "content", [
            {"content_id": cid, "stage": stage, "committee_role": role, "created_at": at(published),
             "retired_at": None if retired is None else at(retired)}
            for cid, stage, role, published, retired in assets
        ])  # fmt: skip
        insert(ledger, "opportunities", [
            {"opportunity_id": "o1", "account_id": "acc1", "contact_id": "c1", "stage": "discovery",
             "created_at": at(100)},
            {"opportunity_id": "o2", "account_id": "acc2", "stage": "discovery", "created_at": at(100)},
            {"opportunity_id": "o3", "account_id": "acc3", "stage": "discovery", "created_at": at(150)},
            {"opportunity_id": "o4", "account_id": "acc1", "stage": "closed_won", "created_at": at(50),
             "closed_at": at(120)},
        ])  # fmt: skip
        write_derived(ledger, at(AS_OF))
    return ws


def test_gap_matrix_counts_live_mapped_assets(tmp_path: Path) -> None:
    report = build(_world(tmp_path), "content")
    matrix = {r["stage"]: r for r in rows(report, "gap_matrix")}
    assert list(matrix) == ["evaluation", "opportunity"]
    # x2 is retired, x5 maps to a stage outside the map, x6 is unmapped
    assert [matrix["evaluation"][r] for r in ROLES] == [1, 1, 1, 0, 0, 0]  # x1, x7, x8
    assert [matrix["opportunity"][r] for r in ROLES] == [0, 0, 0, 0, 1, 1]  # x3, x4
    assert (matrix["evaluation"]["gaps"], matrix["opportunity"]["gaps"]) == (3, 4)
    gaps = [(r["stage"], r["role"]) for r in rows(report, "gaps")]
    assert gaps == [
        ("evaluation", "procurement"),
        ("evaluation", "security_reviewer"),
        ("evaluation", "champion"),
        ("opportunity", "economic_buyer"),
        ("opportunity", "technical_evaluator"),
        ("opportunity", "end_user"),
        ("opportunity", "procurement"),
    ]
    section = report.section("gap_matrix")
    assert section.flags[0].startswith("7 of 12 stage x role cells have no live asset")
    assert section.notes == ["2 live assets not counted: no stage or role, or one the map does not list."]


def test_utilization_per_asset_and_across_open_deals(tmp_path: Path) -> None:
    ws = _world(tmp_path)
    report = build(ws, "content")
    per = {
        r["content_id"]: (r["deals"], r["last_use"], r["days_since"], r["live"])
        for r in rows(report, "utilization")
    }
    assert per == {
        "x1": (1, _day(111), 89.0, True),  # o1 only: the acc3 share predates o3
        "x3": (1, _day(109), 91.0, True),  # o2, through contact c2's account
        "x5": (1, _day(60), 140.0, True),  # o4, open on d60
        "x6": (1, _day(160), 40.0, True),  # o3
        "x2": (0, None, None, False),
        "x4": (0, None, None, True),
        "x7": (0, None, None, True),  # a download is not a use in a deal
        "x8": (0, None, None, True),
    }
    # open deals o1, o2, o3; o1 used x1 and o2 used x3 (both mapped); o3 used only the unmapped x6
    [active] = rows(report, "active_deals")
    assert (active["open_deals"], active["used"], active["share"]) == (3, 2, pytest.approx(2 / 3))
    with ws.ledger(read_only=True) as ledger:
        assert content_utilization(ReportData(ledger, ws.spec, Filters())) == (2, 3)


def test_retire_list_boundary_89_vs_91_days(tmp_path: Path) -> None:
    report = build(_world(tmp_path), "content")
    got = [(r["content_id"], r["days_unused"], r["why"]) for r in rows(report, "retire")]
    # x1 last used 89 days ago and x8 published 89 days ago stay; x4 is new; x2 is already retired
    assert got == [
        ("x3", 91.0, "last used in a deal 91 days ago"),
        ("x5", 140.0, "last used in a deal 140 days ago"),
        ("x7", 91.0, "never used in a deal, published 91 days ago"),
    ]


def test_segment_filter_counts_only_its_deals(tmp_path: Path) -> None:
    ws = _world(tmp_path)
    report = build(ws, "content", Filters(segment="enterprise"))
    [active] = rows(report, "active_deals")
    assert (active["open_deals"], active["used"]) == (1, 1)  # o1
    retire = {r["content_id"]: r["why"] for r in rows(report, "retire")}
    # x3's and x6's only uses were in mid-market deals (o2, o3): within the segment, never used
    assert retire["x3"] == retire["x6"] == "never used in a deal, published 200 days ago"
    assert set(retire) == {"x3", "x5", "x6", "x7"}  # x5: used in o4 (acc1) 140 days ago


def test_cli_json(tmp_path: Path) -> None:
    ws = _world(tmp_path)
    result = CliRunner().invoke(app, ["report", "content", "-w", str(ws.root), "-f", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    sections = {s["key"]: s for s in doc["sections"]}
    assert sections["active_deals"]["rows"] == [{"open_deals": 3, "used": 2, "share": pytest.approx(2 / 3)}]
    assert [r["content_id"] for r in sections["retire"]["rows"]] == ["x3", "x5", "x7"]
    assert sections["retire"]["rows"][0]["last_use"] == _day(109).isoformat()
