"""The example workspaces on the real public data: Accord's figures against pandas on the raw files.

Each workspace is built the way examples/README.md tells a user to build it (the example spec, the
presets, a derive as of the end of the data), and its reports are compared with figures computed
here from the CSV files with a few lines of pandas. The expected side never calls Accord code.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd  # type: ignore[import-untyped]  # no pandas-stubs in the venv
import pytest
from typer.testing import CliRunner

from accord import service
from accord.cli.main import app
from accord.ledger.importer import ImportRequest
from accord.reports.registry import REPORTS
from tests.report_world import build, rows

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
OLIST_AS_OF = datetime(2019, 1, 1, tzinfo=UTC)  # last won_date is 2018-11-14
MAVEN_AS_OF = datetime(2018, 1, 1, tzinfo=UTC)  # last close_date is 2017-12-31
DERIVE_SECONDS: dict[str, float] = {}


def workspace(
    root: Path, example: str, imports: list[tuple[str, Path, str]], as_of: datetime
) -> service.Workspace:
    """A workspace with the example's spec, the files imported with their presets, derived at as_of."""
    spec = (EXAMPLES / example / "accord.yaml").read_text(encoding="utf-8")
    ws = service.init_workspace(root, spec_text=spec)
    for kind, file, preset in imports:
        report = service.import_file(ws, ImportRequest(file=file, kind=kind, preset=preset))
        assert report.rejected == 0, report.rejects[:3]
    started = time.perf_counter()
    service.run_derive(ws, as_of=as_of)
    DERIVE_SECONDS[example] = time.perf_counter() - started
    return ws


@pytest.fixture(scope="module")
def olist(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> service.Workspace:
    folder = shared_data / "olist-marketing-funnel"
    return workspace(
        tmp_path_factory.mktemp("olist") / "ws",
        "olist",
        [
            ("contacts", folder / "olist_marketing_qualified_leads_dataset.csv", "olist-mqls"),
            ("opportunities", folder / "olist_closed_deals_dataset.csv", "olist-closed-deals"),
        ],
        OLIST_AS_OF,
    )


@pytest.fixture(scope="module")
def maven(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> service.Workspace:
    folder = shared_data / "maven-crm-pipeline"
    return workspace(
        tmp_path_factory.mktemp("maven") / "ws",
        "maven",
        [
            ("products", folder / "products.csv", "maven-products"),
            ("accounts", folder / "accounts.csv", "maven-accounts"),
            ("users", folder / "sales_teams.csv", "maven-teams"),
            ("opportunities", folder / "sales_pipeline.csv", "maven-pipeline"),
        ],
        MAVEN_AS_OF,
    )


# ---- expected figures, from the raw files ----------------------------------------------------------


def olist_leads(folder: Path) -> pd.DataFrame:
    """One row per MQL: origin, when it first reached the MQL stage, when it was won, days between.

    Dates are Sao Paulo local time (the workspace zone): a midnight that daylight saving skips moves
    forward, an hour it repeats is read as standard time. One lead was won the day before its first
    contact date: it passes through the MQL stage when it is won, so it counts with 0 days.
    """
    zone = {"nonexistent": "shift_forward", "ambiguous": False}
    mqls = pd.read_csv(folder / "olist_marketing_qualified_leads_dataset.csv")
    deals = pd.read_csv(folder / "olist_closed_deals_dataset.csv")
    mqls["first"] = pd.to_datetime(mqls.first_contact_date, format="%d-%m-%Y").dt.tz_localize(
        "America/Sao_Paulo", **zone
    )
    deals["won"] = pd.to_datetime(deals.won_date, format="%d-%m-%Y %H:%M").dt.tz_localize(
        "America/Sao_Paulo", **zone
    )
    leads = mqls.merge(deals[["mql_id", "won"]], on="mql_id", how="left")
    leads["origin"] = leads.origin.fillna("(none)")
    reached = leads[["first", "won"]].min(axis=1)
    leads["days"] = (leads.won - reached).dt.total_seconds() / 86400
    return leads


def maven_deals(folder: Path) -> pd.DataFrame:
    deals = pd.read_csv(folder / "sales_pipeline.csv", parse_dates=["engage_date", "close_date"])
    teams = pd.read_csv(folder / "sales_teams.csv")
    deals = deals.merge(teams, on="sales_agent", how="left")
    deals["days"] = (deals.close_date - deals.engage_date).dt.days
    return deals


# ---- Olist ---------------------------------------------------------------------------------------


def test_olist_mql_to_won_conversion_by_origin(olist: service.Workspace, shared_data: Path) -> None:
    leads = olist_leads(shared_data / "olist-marketing-funnel")
    expected = {
        origin: (len(group), int(group.won.notna().sum()), group.days.median())
        for origin, group in leads.groupby("origin")
    }
    report = build(olist, "funnel", from_stage="evaluation", to_stage="customer", by="source")
    got = {r["group"]: (r["n"], r["converted"], r["median_days"]) for r in rows(report, "conversion")}
    assert set(got) == set(expected)
    for origin, (n, won, days) in expected.items():
        assert got[origin][:2] == (n, won), origin
        assert got[origin][2] == pytest.approx(days, abs=1e-6), origin
    assert {r["group"]: r["rate"] for r in rows(report, "conversion")}["organic_search"] == pytest.approx(
        271 / 2296
    )


def test_olist_overall_conversion_and_velocity(olist: service.Workspace, shared_data: Path) -> None:
    leads = olist_leads(shared_data / "olist-marketing-funnel")
    report = build(olist, "funnel", from_stage="evaluation", to_stage="customer")
    (overall,) = rows(report, "conversion")
    assert (overall["n"], overall["converted"]) == (len(leads), int(leads.won.notna().sum())) == (8000, 842)
    assert overall["rate"] == pytest.approx(842 / 8000)
    # velocity: median days from first contact (reaching the MQL stage) to the won date
    assert overall["median_days"] == pytest.approx(leads.days.median(), abs=1e-6)
    assert overall["median_days"] == pytest.approx(14.67118, abs=1e-5)


# ---- Maven ---------------------------------------------------------------------------------------


def test_maven_win_rate_overall_and_by_manager(maven: service.Workspace, shared_data: Path) -> None:
    deals = maven_deals(shared_data / "maven-crm-pipeline")
    closed = deals[deals.deal_stage.isin(["Won", "Lost"])]
    assert closed.manager.notna().all() and closed.close_date.notna().all()
    expected = {
        manager: ((group.deal_stage == "Won").sum(), (group.deal_stage == "Lost").sum())
        for manager, group in closed.groupby("manager")
    }
    expected["(all)"] = ((closed.deal_stage == "Won").sum(), (closed.deal_stage == "Lost").sum())
    report = build(maven, "deals", by="manager")
    got = {r["group"]: r for r in rows(report, "deals")}
    assert set(got) == set(expected)
    for group, (won, lost) in expected.items():
        assert (got[group]["won"], got[group]["lost"]) == (won, lost), group
        assert got[group]["win_rate"] == pytest.approx(won / (won + lost)), group
    assert got["(all)"]["win_rate"] == pytest.approx(4238 / 6711)


def test_maven_engage_to_close_days(maven: service.Workspace, shared_data: Path) -> None:
    """Cycle time: median days from engage_date (the deal's creation) to close_date, won and lost apart."""
    deals = maven_deals(shared_data / "maven-crm-pipeline")
    won, lost = deals[deals.deal_stage == "Won"], deals[deals.deal_stage == "Lost"]
    report = build(maven, "deals", by="manager")
    got = {r["group"]: r for r in rows(report, "deals")}
    assert (got["(all)"]["days_to_win"], got["(all)"]["days_to_loss"]) == (
        won.days.median(),
        lost.days.median(),
    )
    assert (won.days.median(), lost.days.median()) == (57, 14)
    for manager in won.manager.unique():
        assert got[manager]["days_to_win"] == won[won.manager == manager].days.median(), manager
        assert got[manager]["days_to_loss"] == lost[lost.manager == manager].days.median(), manager


def test_maven_open_deals_stalled_21_days(maven: service.Workspace, shared_data: Path) -> None:
    """Stalled = open with no stage movement for 21+ days at the report's instant (2018-01-01).

    An Engaging deal's stage date is its engage_date. Prospecting deals have no date at all: the
    pipeline report does not count them as stalled or as moving; it lists each in the stalled
    section with the status 'cannot tell' and says how many there are in a note.
    """
    deals = maven_deals(shared_data / "maven-crm-pipeline")
    engaging = deals[deals.deal_stage == "Engaging"]
    as_of = pd.Timestamp(MAVEN_AS_OF.replace(tzinfo=None))
    expected_stalled = set(engaging[(as_of - engaging.engage_date).dt.days >= 21].opportunity_id)
    prospecting = set(deals[deals.deal_stage == "Prospecting"].opportunity_id)

    report = build(maven, "pipeline")
    stalled = rows(report, "stalled")
    by_status: dict[str, set[str]] = {}
    for r in stalled:
        by_status.setdefault(r["status"], set()).add(r["deal"])
    assert by_status["stalled"] == expected_stalled
    assert len(expected_stalled) == 1577
    assert by_status["cannot tell"] == prospecting and len(prospecting) == 500
    assert set(by_status) == {"stalled", "cannot tell"}
    assert any("500 open deals have no stage date" in n for n in report.section("stalled").notes)


def test_real_data_derives_in_reasonable_time(olist: service.Workspace, maven: service.Workspace) -> None:
    """8,000 Olist contacts and 8,800 Maven deals derive in seconds, not minutes."""
    print(f"derive seconds: {DERIVE_SECONDS}")
    assert DERIVE_SECONDS["olist"] < 30 and DERIVE_SECONDS["maven"] < 30


# ---- the example specs themselves ----------------------------------------------------------------


@pytest.mark.parametrize("example", ["olist", "maven"])
def test_example_specs_validate(example: str) -> None:
    result = CliRunner().invoke(app, ["validate", str(EXAMPLES / example / "accord.yaml")])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_every_report_runs_on_both_data_sets(
    olist: service.Workspace, maven: service.Workspace, name: str
) -> None:
    """Real exports lack much of what the demo has (no touches, no clocks, no content): every report
    must still answer, with its sections present, rather than fail."""
    for ws in (olist, maven):
        report = build(ws, name)
        assert report.sections and report.to_json() and report.to_markdown()
        assert all(len(row) == len(s.columns) for s in report.sections for row in s.rows)
