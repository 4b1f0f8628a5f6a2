"""The two public CRM data sets import as they are: quirks reported, nothing dropped silently."""

from __future__ import annotations

from pathlib import Path

import pytest

from accord import service
from accord.ledger.importer import ImportReport, ImportRequest


def run(
    ws: service.Workspace, kind: str, file: Path, preset: str | None = None, **kw: object
) -> ImportReport:
    return service.import_file(ws, ImportRequest(file=file, kind=kind, preset=preset, **kw))  # type: ignore[arg-type]


def count(ws: service.Workspace, sql: str) -> int:
    with ws.ledger(read_only=True) as ledger:
        return int(ledger.con.execute(sql).fetchall()[0][0])


def accounted(report: ImportReport) -> bool:
    return report.imported + report.updated + report.duplicates + report.rejected == report.rows_read


@pytest.fixture
def maven(
    workspace: service.Workspace, shared_data: Path
) -> tuple[service.Workspace, dict[str, ImportReport]]:
    folder = shared_data / "maven-crm-pipeline"
    reports = {
        "products": run(workspace, "products", folder / "products.csv", "maven-products"),
        "accounts": run(workspace, "accounts", folder / "accounts.csv", "maven-accounts"),
        "teams": run(workspace, "users", folder / "sales_teams.csv", "maven-teams"),
        "pipeline": run(workspace, "opportunities", folder / "sales_pipeline.csv", "maven-pipeline"),
    }
    return workspace, reports


def test_maven_imports_every_row_and_reports_its_quirks(
    maven: tuple[service.Workspace, dict[str, ImportReport]],
) -> None:
    ws, reports = maven
    pipeline = reports["pipeline"]
    assert (pipeline.rows_read, pipeline.imported, pipeline.rejected) == (8800, 8800, 0)
    assert count(ws, "SELECT count(*) FROM opportunities") == 8800
    notes = "\n".join(pipeline.notes)
    assert "product 'GTXPro' (1480 rows) is not in products; matched to 'GTX Pro'" in notes
    assert "500 Prospecting deals have no engage_date" in notes
    assert "account -> account_id: empty in 1425 rows" in notes
    assert count(ws, "SELECT count(*) FROM opportunities WHERE product = 'GTX Pro'") == 1480
    # won and lost deals become closed events; engaged deals an opp_created event
    assert count(ws, "SELECT count(*) FROM events WHERE type = 'closed_won'") == 4238
    assert count(ws, "SELECT count(*) FROM events WHERE type = 'closed_lost'") == 2473
    assert count(ws, "SELECT count(*) FROM events WHERE type = 'opp_created'") == 8300
    assert pipeline.events_written == 4238 + 2473 + 8300
    won = count(ws, "SELECT sum(amount) FROM opportunities WHERE is_won")
    assert won == count(
        ws, "SELECT sum(CAST(properties->>'amount' AS DOUBLE)) FROM events WHERE type = 'closed_won'"
    )
    accounts = reports["accounts"]
    assert accounts.imported == 85
    assert any("'technolgy' (12 rows) looks misspelt, perhaps 'technology'" in n for n in accounts.notes)
    assert (
        count(ws, "SELECT annual_revenue FROM accounts WHERE account_id = 'Acme Corporation'") == 1100040000
    )
    teams = reports["teams"]
    assert teams.rows_read == 35 and teams.imported == 41  # 35 agents + 6 managers named only as managers
    assert any("6 managers appear only in the manager column" in n for n in teams.notes)
    assert count(ws, "SELECT count(*) FROM users WHERE manager_id IS NOT NULL") == 35


def test_maven_second_import_changes_nothing(
    maven: tuple[service.Workspace, dict[str, ImportReport]],
    shared_data: Path,
) -> None:
    ws, _ = maven
    with ws.ledger(read_only=True) as ledger:
        before = ledger.fingerprint()
    again = run(
        ws, "opportunities", shared_data / "maven-crm-pipeline" / "sales_pipeline.csv", "maven-pipeline"
    )
    assert (again.imported, again.updated, again.duplicates, again.events_written) == (0, 0, 8800, 0)
    with ws.ledger(read_only=True) as ledger:
        assert ledger.fingerprint() == before


def test_pipeline_before_products_says_what_it_could_not_check(
    workspace: service.Workspace,
    shared_data: Path,
) -> None:
    report = run(
        workspace,
        "opportunities",
        shared_data / "maven-crm-pipeline" / "sales_pipeline.csv",
        "maven-pipeline",
    )
    notes = "\n".join(report.notes)
    assert "products are not in the ledger yet" in notes
    assert "accounts named by deals are not in the ledger" in notes
    assert "sales agents are not users in the ledger" in notes
    assert count(workspace, "SELECT count(*) FROM opportunities WHERE product = 'GTXPro'") == 1480


def test_olist_imports_every_row_and_reports_its_quirks(
    workspace: service.Workspace,
    shared_data: Path,
) -> None:
    folder = shared_data / "olist-marketing-funnel"
    mqls = run(
        workspace,
        "contacts",
        folder / "olist_marketing_qualified_leads_dataset.csv",
        "olist-mqls",
        timezone="America/Sao_Paulo",
    )
    assert (mqls.rows_read, mqls.imported, mqls.rejected, mqls.events_written) == (8000, 8000, 0, 8000)
    assert accounted(mqls)
    assert any("created_at: dates read as DD-MM-YYYY" in n for n in mqls.notes)
    assert any("origin -> lead_source: empty in 60 rows" in n for n in mqls.notes)
    deals = run(
        workspace,
        "opportunities",
        folder / "olist_closed_deals_dataset.csv",
        "olist-closed-deals",
        timezone="America/Sao_Paulo",
    )
    assert (deals.rows_read, deals.imported, deals.rejected, deals.events_written) == (842, 842, 0, 842)
    notes = "\n".join(deals.notes)
    assert "average_stock: 32 values a spreadsheet had turned into dates were restored" in notes
    assert "no deal amount" in notes
    assert (
        count(workspace, "SELECT count(*) FROM opportunities WHERE attributes->>'average_stock' = '1-5'")
        == 10
    )
    assert (
        count(workspace, "SELECT count(*) FROM opportunities WHERE attributes->>'average_stock' = '5-20'")
        == 22
    )
    # 26-02-2018 19:58 in Sao Paulo (UTC-3) is 22:58 UTC
    assert (
        count(
            workspace,
            "SELECT count(*) FROM events WHERE event_id = 'olist:won:5420aad7fec3549a85876ba1c529bd84' "
            "AND occurred_at = TIMESTAMPTZ '2018-02-26 22:58:00+00'",
        )
        == 1
    )
    # every closed deal links to a lead that was imported first
    assert not any("the ledger does not hold yet" in n for n in deals.notes)


def test_olist_generic_import_flags_the_spreadsheet_damage(
    workspace: service.Workspace,
    shared_data: Path,
) -> None:
    """Without the preset, the importer still reads the file as it is and says what looks wrong."""
    report = run(
        workspace,
        "opportunities",
        shared_data / "olist-marketing-funnel" / "olist_closed_deals_dataset.csv",
        columns={"opportunity_id": "mql_id", "closed_at": "won_date"},
    )
    assert report.imported == 842 and report.rejected == 0
    notes = "\n".join(report.notes)
    assert "average_stock: 32 values look like ranges a spreadsheet turned into dates" in notes
    assert "closed_at: dates read as DD-MM-YYYY" in notes
