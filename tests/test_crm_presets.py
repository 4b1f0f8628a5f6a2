"""HubSpot and Salesforce presets, end to end through the CLI, on small hand-written exports.

Each fixture carries the quirks real exports have (blank cells, a date in another format, a stage
the CRM does not ship, a repeated row, a row without an id): the tests pin down exactly what is
stored, which events are written, what is refused and why, and that a second import changes nothing.
Times in the fixtures without a zone are read in the starter workspace's zone, America/New_York.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from accord import service
from accord.cli.main import app
from accord.ledger.presets import PRESETS

DATA = Path(__file__).parent / "data"
HUBSPOT = [
    ("accounts", "hubspot/companies.csv", "hubspot-companies"),
    ("contacts", "hubspot/contacts.csv", "hubspot-contacts"),
    ("opportunities", "hubspot/deals.csv", "hubspot-deals"),
]
SALESFORCE = [
    ("contacts", "salesforce/leads.csv", "salesforce-leads"),
    ("opportunities", "salesforce/opportunities.csv", "salesforce-opportunities"),
    ("events", "salesforce/opportunity_history.csv", "salesforce-opportunity-history"),
    ("events", "salesforce/tasks.csv", "salesforce-tasks"),
]
SALESFORCE_PIPELINE = """pipeline:
  stages:
    - {id: prospecting, name: Prospecting, probability: 10%}
    - {id: qualification, name: Qualification, probability: 20%}
    - {id: value_proposition, name: Value Proposition, probability: 50%}
    - {id: proposal_price_quote, name: Proposal/Price Quote, probability: 75%}
    - {id: negotiation_review, name: Negotiation/Review, probability: 90%}
    - {id: closed_won, name: Closed Won, probability: 100%, outcome: won}
    - {id: closed_lost, name: Closed Lost, probability: 0%, outcome: lost}
"""


def utc(column: str) -> str:
    """A timestamp column as 'YYYY-MM-DD HH:MM:SS' in UTC, whatever the session's zone."""
    return f"strftime({column} AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M:%S')"


def query(ws: Path, sql: str) -> list[tuple[Any, ...]]:
    with service.locate(ws).ledger(read_only=True) as ledger:
        return [tuple(r) for r in ledger.con.execute(sql).fetchall()]


def fingerprint(ws: Path) -> dict[str, tuple[int, str]]:
    with service.locate(ws).ledger(read_only=True) as ledger:
        return ledger.fingerprint()


COUNTS = ("rows read", "imported", "updated", "duplicates (already stored)", "rejected", "events derived")


def run_import(cli: CliRunner, ws: Path, kind: str, file: str, preset: str) -> dict[str, Any]:
    """One import through the CLI: the counts it printed, and its output on one line."""
    result = cli.invoke(app, ["import", kind, str(DATA / file), "--preset", preset, "-w", str(ws)])
    assert result.exit_code == 0, result.output
    printed: dict[str, Any] = {}
    for line in result.output.splitlines():
        label, _, number = line.strip().rpartition(" ")
        if label.strip() in COUNTS:
            printed[label.strip()] = int(number.replace(",", ""))
    printed["output"] = " ".join(result.output.split())  # rich wraps long lines
    return printed


def counts(report: dict[str, Any]) -> tuple[int, ...]:
    """rows read, imported, updated, duplicates, rejected, events written."""
    return tuple(report.get(k, 0) for k in COUNTS)


@pytest.fixture
def ws(cli: CliRunner, tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    assert cli.invoke(app, ["init", str(root)]).exit_code == 0
    return root


def test_hubspot_exports_import_with_their_quirks(cli: CliRunner, ws: Path) -> None:
    companies, contacts, deals = (run_import(cli, ws, *args) for args in HUBSPOT)

    # rows read, imported, updated, duplicates, rejected, events written
    assert counts(companies) == (5, 4, 0, 0, 1, 0)
    assert "row 4: employees '2,400' is not a whole number" in companies["output"]
    assert query(ws, "SELECT account_id, name, domain, industry, employees, annual_revenue, country, "
                     f"owner_id, {utc('created_at')}, attributes->>'lifecycle_stage' FROM accounts "
                     "ORDER BY 1") == [
        ("9001", "Brightpath", "brightpath.example", "computer_software", 320, 45e6, "United States",
         "Jane Doe", "2024-01-15 15:00:00", "opportunity"),
        ("9002", "Quillsoft", "quillsoft.example", "financial_services", 1200, None, "United Kingdom",
         "Sam Lee", "2024-01-20 14:30:00", "customer"),
        ("9003", "Quill Labs", "quill-labs.example", "research", 45, 3.5e6, "United Kingdom", None,
         "2024-02-01 18:00:00", "lead"),
        ("9006", "Helio Grid", None, "renewables_environment", 80, 9e6, "Germany", "Jane Doe",
         "2024-02-20 05:00:00", "other"),
    ]  # fmt: skip

    # 9 rows: one repeats row 2 exactly, one has another date format, one has no Record ID
    assert counts(contacts) == (9, 6, 0, 1, 2, 0)
    out = contacts["output"]
    assert "row 5: created_at '03/08/2024 10:30' is not a valid timestamp" in out
    assert "row 9: contact_id is empty" in out
    assert "lifecycle stages outside the CRM's defaults: 'trialuser' x1" in out
    assert "1 rows list several companies in 'Associated Company IDs': account_id is the first" in out
    assert "1 companies named here are not in the ledger yet" in out  # 9005 is not in companies.csv
    assert query(ws, "SELECT contact_id, account_id, email, first_name, last_name, title, lead_source, "
                     f"owner_id, {utc('created_at')}, attributes->>'lifecycle_stage', "
                     "attributes->>'Associated Company IDs' FROM contacts ORDER BY 1") == [
        ("101", "9001", "maya.chen@brightpath.example", "Maya", "Chen", "VP Marketing", "organic_search",
         "Jane Doe", "2024-03-04 14:15:00", "marketingqualifiedlead", "9001"),
        ("102", "9001", "tom@brightpath.example", "Tom", "Okafor", "Data Engineer", "paid_search",
         "Jane Doe", "2024-03-05 19:02:00", "lead", "9001"),
        ("103", "9002", "priya.nair@quillsoft.example", "Priya", "Nair", "CTO", "referrals", "Sam Lee",
         "2024-03-06 16:40:00", "salesqualifiedlead", "9002;9003"),
        ("104", None, None, "Luis", "Ortega", "Head of Operations", "direct_traffic", None,
         "2024-03-07 13:00:00", "subscriber", None),
        ("106", "9002", "kenji@quillsoft.example", "Kenji", "Sato", "Procurement Lead", "email_marketing",
         "Sam Lee", "2024-03-09 21:20:00", "trialuser", "9002"),
        # 10 March 2024 is the first day of daylight saving time in New York: UTC-4
        ("107", "9005", "ola@vistaline.example", "Ola", "Nowak", "Marketing Manager", "social_media",
         "Jane Doe", "2024-03-10 16:00:00", "opportunity", "9005"),
    ]  # fmt: skip

    assert counts(deals) == (7, 6, 0, 0, 1, 11)
    out = deals["output"]
    assert "row 7: created_at '20/04/2024 09:00' is not a valid timestamp" in out
    assert "deal stages outside the CRM's defaults: 'verbalyes' x1" in out
    assert "1 closed deals have no Close Date: no closed_won/closed_lost event written" in out
    assert "1 open deals have no 'Date entered current stage'" in out
    assert "1 companies named here are not in the ledger yet" in out  # 9004 was refused above
    assert query(ws, "SELECT opportunity_id, account_id, contact_id, stage, amount, close_date::VARCHAR, "
                     f"{utc('created_at')}, {utc('closed_at')}, is_closed, is_won, loss_reason, owner_id, "
                     "attributes->>'Pipeline' FROM opportunities ORDER BY 1") == [
        ("5001", "9001", "101", "contractsent", 48000.0, "2024-05-31", "2024-03-12 14:00:00", None, False,
         False, None, "Jane Doe", "Sales Pipeline"),
        ("5002", "9002", "103", "closedwon", 125000.0, "2024-04-18", "2024-03-14 13:00:00",
         "2024-04-18 04:00:00", True, True, None, "Sam Lee", "Sales Pipeline"),
        ("5003", "9004", None, "closedlost", 15000.0, "2024-04-02", "2024-03-15 15:30:00",
         "2024-04-02 04:00:00", True, False, "price", "Sam Lee", "Sales Pipeline"),
        ("5004", None, "107", "appointmentscheduled", None, "2024-06-30", "2024-04-01 12:00:00", None,
         False, False, None, "Jane Doe", "Sales Pipeline"),
        ("5005", "9006", None, "verbalyes", 30000.0, "2024-06-15", "2024-04-03 18:00:00", None, False,
         False, None, None, "Sales Pipeline"),
        ("5006", "9001", "101", "closedwon", 8000.0, None, "2024-03-20 14:00:00", None, True, True, None,
         "Jane Doe", "Sales Pipeline"),
    ]  # fmt: skip
    assert query(ws, f"SELECT event_id, type, {utc('occurred_at')}, contact_id, account_id, opportunity_id, "
                     "actor_id, properties->>'stage', source FROM events ORDER BY 1") == [
        ("hubspot:deal:5001:created", "opp_created", "2024-03-12 14:00:00", "101", "9001", "5001",
         None, None, "hubspot"),
        ("hubspot:deal:5001:stage:contractsent:20240422T193000Z", "opp_stage_changed",
         "2024-04-22 19:30:00", "101", "9001", "5001", None, "contractsent", "hubspot"),
        ("hubspot:deal:5002:created", "opp_created", "2024-03-14 13:00:00", "103", "9002", "5002",
         None, None, "hubspot"),
        ("hubspot:deal:5002:won", "closed_won", "2024-04-18 04:00:00", "103", "9002", "5002", None,
         "closedwon", "hubspot"),
        ("hubspot:deal:5003:created", "opp_created", "2024-03-15 15:30:00", None, "9004", "5003",
         None, None, "hubspot"),
        ("hubspot:deal:5003:lost", "closed_lost", "2024-04-02 04:00:00", None, "9004", "5003", None,
         "closedlost", "hubspot"),
        ("hubspot:deal:5004:created", "opp_created", "2024-04-01 12:00:00", "107", None, "5004",
         None, None, "hubspot"),
        # no 'Date entered current stage': the stage is dated at the create date
        ("hubspot:deal:5004:stage:appointmentscheduled:20240401T120000Z", "opp_stage_changed",
         "2024-04-01 12:00:00", "107", None, "5004", None, "appointmentscheduled", "hubspot"),
        ("hubspot:deal:5005:created", "opp_created", "2024-04-03 18:00:00", None, "9006", "5005", None,
         None, "hubspot"),
        ("hubspot:deal:5005:stage:verbalyes:20240420T130000Z", "opp_stage_changed",
         "2024-04-20 13:00:00", None, "9006", "5005", None, "verbalyes", "hubspot"),
        ("hubspot:deal:5006:created", "opp_created", "2024-03-20 14:00:00", "101", "9001", "5006",
         None, None, "hubspot"),
    ]  # fmt: skip

    before = fingerprint(ws)
    again = [run_import(cli, ws, *args) for args in HUBSPOT]
    assert [counts(r) for r in again] == [(5, 0, 0, 4, 1, 0), (9, 0, 0, 7, 2, 0), (7, 0, 0, 6, 1, 0)]
    assert fingerprint(ws) == before


def test_salesforce_exports_import_with_their_quirks(cli: CliRunner, ws: Path) -> None:
    leads, opportunities, history, tasks = (run_import(cli, ws, *args) for args in SALESFORCE)

    assert counts(leads) == (7, 6, 0, 0, 1, 2)
    out = leads["output"]
    assert "row 7: created_at '2024-13-01T10:00:00.000Z' is not a valid timestamp" in out
    assert "2 converted leads (IsConverted) became accepted events" in out
    assert "1 converted leads have no ConvertedDate that reads as a date" in out
    assert query(ws, "SELECT contact_id, account_id, email, first_name, last_name, title, lead_source, "
                     f"owner_id, {utc('created_at')}, attributes->>'Status' FROM contacts ORDER BY 1") == [
        ("00Q5g00000LdA01", "0015g00000Ac001", "maria.silva@acmeco.example", "Maria", "Silva",
         "Director of IT", "web", "0055g00000Us001", "2024-03-04 14:15:00", "Closed - Converted"),
        ("00Q5g00000LdA02", None, "j.wright@finlo.example", "James", "Wright", "CFO", "partner_referral",
         "0055g00000Us001", "2024-03-05 09:02:11", "Working - Contacted"),
        ("00Q5g00000LdA03", None, None, "Aiko", "Tanaka", "Analyst", "purchased_list", "0055g00000Us002",
         "2024-03-05 10:30:00", "Open - Not Contacted"),
        ("00Q5g00000LdA04", "0015g00000Ac002", "omar@dunecraft.example", "Omar", "Farouk", "VP Sales",
         "phone_inquiry", "0055g00000Us002", "2024-03-06 16:45:00", "Closed - Converted"),
        ("00Q5g00000LdA05", None, "lena@kraftwerk.example", "Lena", "Fischer", "Head of Data", None,
         "0055g00000Us001", "2024-03-07 08:20:00", "Closed - Not Converted"),
        ("00Q5g00000LdA06", "0015g00000Ac003", "chris@lumen.example", "Chris", "Park", "Engineer", "web",
         "0055g00000Us002", "2024-03-08 11:00:00", "Closed - Converted"),
    ]  # fmt: skip

    assert counts(opportunities) == (6, 5, 0, 0, 1, 9)
    out = opportunities["output"]
    assert "row 6: close_date '5/17/2024' is not a valid date" in out
    assert "stages outside the CRM's defaults: 'verbal_commit' x1" in out
    assert "1 open opportunities have no LastStageChangeDate" in out
    assert query(ws, "SELECT opportunity_id, account_id, name, stage, amount, close_date::VARCHAR, "
                     f"{utc('created_at')}, {utc('closed_at')}, is_closed, is_won, owner_id, next_action, "
                     "lead_source, attributes->>'Type' FROM opportunities ORDER BY 1") == [
        ("0065g00000Op001", "0015g00000Ac001", "AcmeCo - Analytics Suite", "closed_won", 84000.0,
         "2024-04-26", "2024-03-06 15:00:00", "2024-04-26 04:00:00", True, True, "0055g00000Us001", None,
         "web", "New Business"),
        ("0065g00000Op002", "0015g00000Ac002", "Dunecraft - Pilot", "negotiation_review", 36000.0,
         "2024-06-14", "2024-03-09 10:00:00", None, False, False, "0055g00000Us002", "Send revised quote",
         "phone_inquiry", "New Business"),
        ("0065g00000Op003", "0015g00000Ac003", "Lumen - Team plan", "closed_lost", 12000.0, "2024-04-30",
         "2024-03-12 09:30:00", "2024-04-30 04:00:00", True, False, "0055g00000Us002", None, "web",
         "New Business"),
        ("0065g00000Op004", "0015g00000Ac001", "AcmeCo - Add-on seats", "proposal_price_quote", None,
         "2024-07-31", "2024-04-02 12:00:00", None, False, False, "0055g00000Us001", "Book pricing call",
         None, "Existing Business"),
        ("0065g00000Op005", "0015g00000Ac004", "Finlo - Platform", "verbal_commit", 150000.0, "2024-06-28",
         "2024-04-10 08:15:00", None, False, False, "0055g00000Us001", None, "partner_referral",
         "New Business"),
    ]  # fmt: skip

    assert counts(history) == (11, 10, 0, 0, 1, 0)
    out = history["output"]
    assert "row 11: occurred_at is empty" in out
    assert "1 rows have no StageName: stored, but they move no stage" in out
    assert "1 rows keep the stage of the row before them" in out

    assert counts(tasks) == (9, 7, 0, 0, 2, 0)
    out = tasks["output"]
    assert "row 6: needs contact_id, account_id or opportunity_id" in out
    assert "row 8: occurred_at '3/7/2024 4:10 PM' is not a valid timestamp" in out
    assert "2 tasks are not completed calls, emails or meetings" in out
    assert "1 tasks point (WhatId) at records other than accounts, opportunities and campaigns" in out
    assert "columns this preset reads are not in the file (read as empty)" not in out  # all expected there

    assert query(ws, f"SELECT event_id, type, {utc('occurred_at')}, contact_id, account_id, opportunity_id, "
                     "campaign_id, actor_id, properties->>'stage', properties->>'amount' FROM events "
                     "ORDER BY 1") == [
        ("salesforce:0065g00000Op001:created", "opp_created", "2024-03-06 15:00:00", None,
         "0015g00000Ac001", "0065g00000Op001", None, None, None, None),
        ("salesforce:0065g00000Op001:won", "closed_won", "2024-04-26 04:00:00", None, "0015g00000Ac001",
         "0065g00000Op001", None, None, "closed_won", None),
        ("salesforce:0065g00000Op002:created", "opp_created", "2024-03-09 10:00:00", None,
         "0015g00000Ac002", "0065g00000Op002", None, None, None, None),
        ("salesforce:0065g00000Op002:stage:negotiation_review:20240502T132000Z", "opp_stage_changed",
         "2024-05-02 13:20:00", None, "0015g00000Ac002", "0065g00000Op002", None, None, "negotiation_review",
         None),
        ("salesforce:0065g00000Op003:created", "opp_created", "2024-03-12 09:30:00", None,
         "0015g00000Ac003", "0065g00000Op003", None, None, None, None),
        ("salesforce:0065g00000Op003:lost", "closed_lost", "2024-04-30 04:00:00", None, "0015g00000Ac003",
         "0065g00000Op003", None, None, "closed_lost", None),
        ("salesforce:0065g00000Op004:created", "opp_created", "2024-04-02 12:00:00", None,
         "0015g00000Ac001", "0065g00000Op004", None, None, None, None),
        ("salesforce:0065g00000Op005:created", "opp_created", "2024-04-10 08:15:00", None,
         "0015g00000Ac004", "0065g00000Op005", None, None, None, None),
        ("salesforce:0065g00000Op005:stage:verbal_commit:20240520T100000Z", "opp_stage_changed",
         "2024-05-20 10:00:00", None, "0015g00000Ac004", "0065g00000Op005", None, None, "verbal_commit",
         None),
        ("salesforce:0085g00000Hs001", "opp_stage_changed", "2024-03-06 15:00:00", None, None,
         "0065g00000Op001", None, "0055g00000Us001", "prospecting", "60000"),
        ("salesforce:0085g00000Hs002", "opp_stage_changed", "2024-03-20 10:00:00", None, None,
         "0065g00000Op001", None, "0055g00000Us001", "value_proposition", "60000"),
        ("salesforce:0085g00000Hs003", "opp_stage_changed", "2024-04-02 11:00:00", None, None,
         "0065g00000Op001", None, "0055g00000Us001", "value_proposition", "84000"),
        ("salesforce:0085g00000Hs004", "opp_stage_changed", "2024-04-26 17:45:00", None, None,
         "0065g00000Op001", None, "0055g00000Us001", "closed_won", "84000"),
        ("salesforce:0085g00000Hs005", "opp_stage_changed", "2024-03-09 10:00:00", None, None,
         "0065g00000Op002", None, "0055g00000Us002", "qualification", "30000"),
        ("salesforce:0085g00000Hs006", "opp_stage_changed", "2024-05-02 13:20:00", None, None,
         "0065g00000Op002", None, "0055g00000Us002", "negotiation_review", "36000"),
        ("salesforce:0085g00000Hs007", "opp_stage_changed", "2024-03-12 09:30:00", None, None,
         "0065g00000Op003", None, "0055g00000Us002", "prospecting", "12000"),
        ("salesforce:0085g00000Hs008", "opp_stage_changed", "2024-04-30 16:00:00", None, None,
         "0065g00000Op003", None, "0055g00000Us002", "closed_lost", "12000"),
        ("salesforce:0085g00000Hs009", "opp_stage_changed", "2024-05-20 10:00:00", None, None,
         "0065g00000Op005", None, "0055g00000Us001", "verbal_commit", "150000"),
        ("salesforce:0085g00000Hs010", "opp_stage_changed", "2024-04-15 09:00:00", None, None,
         "0065g00000Op004", None, "0055g00000Us001", None, "45000"),
        # ConvertedDate is a date: midnight in New York
        ("salesforce:00Q5g00000LdA01:converted", "accepted", "2024-03-06 05:00:00", "00Q5g00000LdA01",
         "0015g00000Ac001", "0065g00000Op001", None, "0055g00000Us001", None, None),
        # written month-first (03/08/2024): 8 March
        ("salesforce:00Q5g00000LdA04:converted", "accepted", "2024-03-08 05:00:00", "00Q5g00000LdA04",
         "0015g00000Ac002", None, None, "0055g00000Us002", None, None),
        # CompletedDateTime when exported, else CreatedDate
        ("salesforce:00T5g00000Tk001", "call_attempt", "2024-03-04 14:41:30", "00Q5g00000LdA01", None,
         None, None, "0055g00000Us001", None, None),
        ("salesforce:00T5g00000Tk002", "email_sent", "2024-03-04 15:05:00", "00Q5g00000LdA01", None, None,
         None, "0055g00000Us001", None, None),
        ("salesforce:00T5g00000Tk003", "meeting_booked", "2024-03-05 09:00:00", "00Q5g00000LdA01", None,
         "0065g00000Op001", None, "0055g00000Us001", None, None),
        # not started: a planned call is not a touch
        ("salesforce:00T5g00000Tk004", "task", "2024-03-05 09:30:00", "00Q5g00000LdA02", None, None, None,
         "0055g00000Us001", None, None),
        ("salesforce:00T5g00000Tk005", "task", "2024-03-10 11:00:00", "0035g00000Cn002", "0015g00000Ac002",
         None, None, "0055g00000Us002", None, None),
        ("salesforce:00T5g00000Tk007", "call_attempt", "2024-03-07 15:15:00", "00Q5g00000LdA04", None, None,
         "7015g00000Cp001", "0055g00000Us002", None, None),
        ("salesforce:00T5g00000Tk009", "email_sent", "2024-04-30 10:00:00", "0035g00000Cn001", None, None,
         None, "0055g00000Us001", None, None),
    ]  # fmt: skip
    # nothing in a file is dropped: a task's own fields stay in its properties
    assert query(ws, "SELECT properties->>'Subject', properties->>'WhatId', properties->>'Status' "
                     "FROM events WHERE event_id = 'salesforce:00T5g00000Tk009'") == [
        ("Email: case follow-up", "5005g00000Cs001", "Completed")
    ]  # fmt: skip

    before = fingerprint(ws)
    again = [run_import(cli, ws, *args) for args in SALESFORCE]
    assert [counts(r) for r in again] == [
        (7, 0, 0, 6, 1, 0), (6, 0, 0, 5, 1, 0), (11, 0, 0, 10, 1, 0), (9, 0, 0, 7, 2, 0)
    ]  # fmt: skip
    assert fingerprint(ws) == before


def test_next_weeks_hubspot_export_adds_facts_without_clashes(
    cli: CliRunner, ws: Path, tmp_path: Path
) -> None:
    """A later export of the same deals: an owner reassigned, a deal moved on, one won. Records are
    updated, the new facts become new events, and nothing already stored clashes."""
    for args in HUBSPOT:
        run_import(cli, ws, *args)
    text = (DATA / "hubspot/deals.csv").read_text(encoding="utf-8")
    later = (
        text.replace("Sales Pipeline,Jane Doe,9001,101;102", "Sales Pipeline,Sam Lee,9001,101;102")
        .replace("Appointment Scheduled,,2024-06-30", "Qualified To Buy,,2024-06-30")
        .replace("Jane Doe,,107,,\n", "Jane Doe,,107,,2024-05-06 10:00\n")
        .replace("Verbal Yes,30000,2024-06-15", "Closed Won,30000,2024-05-10")
    )
    assert later.count("\n") == text.count("\n") and later != text
    folder = tmp_path / "next"
    folder.mkdir()
    (folder / "deals.csv").write_text(later, encoding="utf-8")
    result = cli.invoke(
        app,
        ["import", "opportunities", str(folder / "deals.csv"), "--preset", "hubspot-deals", "-w", str(ws)],
    )
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "updated 3" in out and "duplicates (already stored) 3" in out and "rejected 1" in out
    assert query(ws, "SELECT opportunity_id, owner_id, stage, is_won FROM opportunities "
                     "WHERE opportunity_id IN ('5001', '5004', '5005') ORDER BY 1") == [
        ("5001", "Sam Lee", "contractsent", False),
        ("5004", "Jane Doe", "qualifiedtobuy", False),
        ("5005", None, "closedwon", True),
    ]  # fmt: skip
    assert query(ws, f"SELECT event_id, {utc('occurred_at')} FROM events WHERE source = 'hubspot' "
                     "AND event_id IN ('hubspot:deal:5004:stage:qualifiedtobuy:20240506T140000Z', "
                     "'hubspot:deal:5005:won') ORDER BY 1") == [
        ("hubspot:deal:5004:stage:qualifiedtobuy:20240506T140000Z", "2024-05-06 14:00:00"),
        ("hubspot:deal:5005:won", "2024-05-10 04:00:00"),
    ]  # fmt: skip
    # the old values are kept as record_updated events, written by Accord itself
    assert query(ws, "SELECT count(*) FROM events WHERE type = 'record_updated'") == [(3,)]


def test_salesforce_stage_history_derives_one_move_per_stage_change(cli: CliRunner, ws: Path) -> None:
    """Rows that only change an amount move no stage; the close beats the stage change it repeats."""
    spec = ws / "accord.yaml"
    text = spec.read_text(encoding="utf-8")
    start, end = text.index("pipeline:\n"), text.index("  deal_threshold:")
    spec.write_text(text[:start] + SALESFORCE_PIPELINE + text[end:], encoding="utf-8")
    assert cli.invoke(app, ["validate", str(spec)]).exit_code == 0
    for args in SALESFORCE:
        run_import(cli, ws, *args)
    result = cli.invoke(app, ["derive", "--as-of", "2024-06-01T00:00:00Z", "-w", str(ws)])
    assert result.exit_code == 0, result.output
    history = query(
        ws,
        f"SELECT entity_id, stage, {utc('entered_at')}, skipped FROM derived_stages "
        "WHERE entity_type = 'opportunity' ORDER BY entity_id, entered_at, seq",
    )
    assert history == [
        ("0065g00000Op001", "prospecting", "2024-03-06 15:00:00", False),
        # a forward jump records the open stages passed over as skipped
        ("0065g00000Op001", "qualification", "2024-03-20 10:00:00", True),
        ("0065g00000Op001", "value_proposition", "2024-03-20 10:00:00", False),
        # Hs003 (amount only) moved nothing; the close (CloseDate, midnight) comes before Hs004 repeats it
        ("0065g00000Op001", "proposal_price_quote", "2024-04-26 04:00:00", True),
        ("0065g00000Op001", "negotiation_review", "2024-04-26 04:00:00", True),
        ("0065g00000Op001", "closed_won", "2024-04-26 04:00:00", False),
        # created and first history row in the same second: one move, to the history's stage
        ("0065g00000Op002", "prospecting", "2024-03-09 10:00:00", True),
        ("0065g00000Op002", "qualification", "2024-03-09 10:00:00", False),
        ("0065g00000Op002", "value_proposition", "2024-05-02 13:20:00", True),
        ("0065g00000Op002", "proposal_price_quote", "2024-05-02 13:20:00", True),
        ("0065g00000Op002", "negotiation_review", "2024-05-02 13:20:00", False),
        ("0065g00000Op003", "prospecting", "2024-03-12 09:30:00", False),
        ("0065g00000Op003", "closed_lost", "2024-04-30 04:00:00", False),
        # Hs010 has no stage and Hs011 was refused: still where it was created
        ("0065g00000Op004", "prospecting", "2024-04-02 12:00:00", False),
        # 'verbal_commit' is not a stage of this pipeline: counted by derive and left out
        ("0065g00000Op005", "prospecting", "2024-04-10 08:15:00", False),
    ]


def test_exports_without_optional_columns_still_import(cli: CliRunner, ws: Path, tmp_path: Path) -> None:
    """A narrower export reads its missing columns as empty and says which; a missing id is an error."""
    narrow = tmp_path / "deals.csv"
    narrow.write_text("Record ID,Deal Name,Amount,Create Date\n7001,Solo deal,500,2024-05-02 09:00\n")
    result = cli.invoke(
        app, ["import", "opportunities", str(narrow), "--preset", "hubspot-deals", "-w", str(ws)]
    )
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert (
        "columns this preset reads are not in the file (read as empty): Associated Company IDs, "
        "Associated Contact IDs, Close Date, Deal Stage" in out
    )
    assert query(ws, "SELECT opportunity_id, stage, is_closed, amount FROM opportunities") == [
        ("7001", None, None, 500.0)
    ]
    assert query(ws, "SELECT event_id FROM events") == [("hubspot:deal:7001:created",)]

    no_id = tmp_path / "tasks.csv"
    no_id.write_text("Subject,Status,CreatedDate\nCall,Completed,2024-05-02T09:00:00Z\n")
    bad = cli.invoke(app, ["import", "contacts", str(no_id), "--preset", "salesforce-leads", "-w", str(ws)])
    assert bad.exit_code == 2
    assert "no column 'Id' in the file" in " ".join(bad.output.split())


def test_presets_are_listed(cli: CliRunner) -> None:
    names = ("hubspot-contacts", "hubspot-companies", "hubspot-deals", "salesforce-leads",
             "salesforce-opportunities", "salesforce-opportunity-history", "salesforce-tasks")  # fmt: skip
    assert set(names) <= set(PRESETS)
    assert "hubspot-contacts" in cli.invoke(app, ["presets"]).output


def test_the_import_log_adds_up_to_the_rows_read(cli: CliRunner, ws: Path) -> None:
    """Every row read is imported, updated, a duplicate (of the ledger or of an earlier row of the same
    file) or rejected, in the import log as in what the command prints."""
    for kind, file, preset in (
        ("accounts", "hubspot/companies.csv", "hubspot-companies"),
        ("contacts", "hubspot/contacts.csv", "hubspot-contacts"),
        ("opportunities", "hubspot/deals.csv", "hubspot-deals"),
    ):
        for _ in range(2):
            printed = run_import(cli, ws, kind, file, preset)
            with service.locate(ws).ledger(read_only=True) as ledger:
                log = ledger.con.execute(
                    "SELECT rows_read, imported, updated, duplicates, rejected FROM imports "
                    "ORDER BY finished_at DESC LIMIT 1"
                ).fetchall()[0]
            rows_read, imported, updated, duplicates, rejected = log
            assert imported + updated + duplicates + rejected == rows_read, (file, log)
            shown = counts(printed)
            assert (rows_read, imported, updated, duplicates, rejected) == shown[:5]
