"""CRM write-back: files each CRM imports, re-importing cleanly through Accord's own presets."""

from __future__ import annotations

import csv
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from accord import service
from accord.cli.main import app
from accord.ledger.importer import ImportRequest
from accord.service.writeback import writeback
from accord.spec.model import Spec
from accord.writeback.rows import lifecycle_of
from accord.writeback.targets import UPDATABLE
from tests.test_handoffs import SECRET, Receiver

AS_OF = datetime(2026, 10, 15, 15, tzinfo=UTC)
CORE = ("contact_id", "account_id", "email", "first_name", "last_name", "title", "seniority",
        "committee_role", "country", "lead_source", "created_at")  # fmt: skip


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("writeback") / "demo"
    service.build_demo(root, contacts=300, seed=4, as_of=AS_OF)
    return root


@pytest.fixture
def ws(demo_root: Path, tmp_path: Path) -> service.Workspace:
    """A private copy of the demo: write-back remembers what it sent."""
    shutil.copytree(demo_root, tmp_path / "ws")
    return service.locate(tmp_path / "ws")


def rows_of(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def query(ws: service.Workspace, sql: str) -> list[tuple[Any, ...]]:
    with ws.ledger(read_only=True) as ledger:
        return ledger.con.execute(sql).fetchall()


def core(ws: service.Workspace) -> dict[str, tuple[Any, ...]]:
    return {r[0]: r for r in query(ws, f"SELECT {', '.join(CORE)} FROM contacts")}


def test_lifecycle_follows_the_two_handoff_stages(starter_spec: Spec) -> None:
    expected = {"awareness": "lead", "consideration": "lead", "evaluation": "marketingqualifiedlead",
                "sales_accepted": "salesqualifiedlead", "opportunity": "opportunity", "customer": "customer",
                "renewal": "customer", None: "lead"}  # fmt: skip
    assert {s: lifecycle_of(starter_spec, s) for s in expected} == expected


@pytest.mark.parametrize(
    ("target", "preset"), [("hubspot", "hubspot-contacts"), ("salesforce", "salesforce-leads")]
)
def test_a_writeback_file_reimports_cleanly(ws: service.Workspace, target: str, preset: str) -> None:
    before = core(ws)
    derived = dict(query(ws, "SELECT contact_id, score FROM derived_leads"))
    result = writeback(ws, target, now=AS_OF)
    assert result.rows == len(derived) == len(before) and result.unchanged == 0
    path = result.files[0]
    rows = rows_of(path)
    id_col = "Record ID" if target == "hubspot" else "Id"
    score_col = "Accord Score" if target == "hubspot" else "Accord_Score__c"
    assert {r[id_col] for r in rows} == set(derived)
    assert all(float(r[score_col]) == pytest.approx(derived[r[id_col]]) for r in rows)
    tier_one = [r for r in rows if r["Accord Tier" if target == "hubspot" else "Accord_Tier__c"] == "Tier 1"]
    assert tier_one, "the demo has Tier 1 leads"
    drivers = "Accord Drivers" if target == "hubspot" else "Accord_Drivers__c"
    assert all("(+" in r[drivers] for r in tier_one)  # the why-now drivers travel with the lead
    step = "Accord Next Step" if target == "hubspot" else "Accord_Next_Step__c"
    plays = {f"({p.name})" for p in ws.spec.plays}
    assert any(r[step].endswith(tuple(plays)) for r in rows), "a play's next step reaches the CRM"

    report = service.import_file(ws, ImportRequest(file=path, kind="contacts", preset=preset))
    assert report.rejected == 0 and report.imported == 0
    assert report.updated == len(rows)  # the Accord fields are new attributes
    after = core(ws)
    assert after == before  # nothing the file carries differs, nothing it lacks was erased
    attrs = dict(query(ws, "SELECT contact_id, attributes FROM contacts"))
    some = rows[0][id_col]
    assert json.loads(attrs[some])[score_col] == rows[0][score_col]

    again = service.import_file(ws, ImportRequest(file=path, kind="contacts", preset=preset))
    assert again.updated == 0 and again.duplicates == len(rows)


def test_only_changed_rows_go_unless_all(ws: service.Workspace, tmp_path: Path) -> None:
    first = writeback(ws, "hubspot", now=AS_OF, out=tmp_path / "a")
    assert first.rows == 300
    assert writeback(ws, "hubspot", now=AS_OF, out=tmp_path / "b").rows == 0
    with ws.ledger() as ledger:
        moved = ledger.con.execute(
            "SELECT contact_id FROM derived_leads ORDER BY contact_id LIMIT 2"
        ).fetchall()
        for (cid,) in moved:
            ledger.con.execute("UPDATE derived_leads SET score = score + 1 WHERE contact_id = ?", [cid])
    second = writeback(ws, "hubspot", now=AS_OF, out=tmp_path / "c")
    assert second.rows == 2 and second.unchanged == 298
    assert {r["Record ID"] for r in rows_of(second.files[0])} == {cid for (cid,) in moved}
    # each target remembers for itself: Salesforce has received nothing yet
    assert writeback(ws, "salesforce", now=AS_OF, out=tmp_path / "d").rows == 300
    assert writeback(ws, "hubspot", now=AS_OF, out=tmp_path / "e", all_rows=True).rows == 300


def test_salesforce_mapping_maps_only_what_an_update_may_write(ws: service.Workspace, tmp_path: Path) -> None:
    result = writeback(ws, "salesforce", now=AS_OF, out=tmp_path)
    sdl = next(p for p in result.files if p.suffix == ".sdl").read_text().splitlines()
    assert [line.split("=")[0] for line in sdl] == UPDATABLE["salesforce"]
    assert "CreatedDate=CreatedDate" not in sdl and "Id=Id" in sdl


def _hooked(ws: service.Workspace, url: str) -> service.Workspace:
    ws.spec_path.write_text(
        ws.spec_path.read_text() + f"\nnotifications:\n  webhooks:\n    - {{id: crm_sync, url: '{url}'}}\n"
    )
    return service.locate(ws.root)


def test_webhook_batches_are_signed_and_a_failure_is_sent_again(
    ws: service.Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACCORD_WEBHOOK_SECRET", SECRET)
    with Receiver(always_fail=True) as down:
        hooked = _hooked(ws, down.url)
        failed = writeback(hooked, "webhook", webhook="crm_sync", now=AS_OF)
        assert failed.failed == ["batch 1: HTTP 503"] and down.received == []
    with Receiver() as up:
        ws.spec_path.write_text(ws.spec_path.read_text().replace(down.url, up.url))
        hooked = service.locate(ws.root)
        sent = writeback(hooked, "webhook", webhook="crm_sync", now=AS_OF)
        assert sent.failed == [] and sent.rows == 300  # the failed export was not remembered
        assert len(up.received) == 1 and len(up.received[0]["rows"]) == 300  # signature checked by Receiver
        assert up.received[0]["export_id"] == sent.export_id
        row = up.received[0]["rows"][0]
        assert set(row) >= {"contact_id", "stage", "score", "tier", "drivers", "owner", "next_step"}
        assert writeback(hooked, "webhook", webhook="crm_sync", now=AS_OF).rows == 0


def test_bad_requests_explain_themselves(ws: service.Workspace, cli: CliRunner) -> None:
    wrong = cli.invoke(app, ["writeback", "hubspt", "-w", str(ws.root)])
    assert wrong.exit_code == 2 and "did you mean 'hubspot'" in wrong.output
    no_hook = cli.invoke(app, ["writeback", "webhook", "-w", str(ws.root)])
    assert no_hook.exit_code == 2 and "--webhook" in no_hook.output
    done = cli.invoke(app, ["writeback", "hubspot", "--now", "2026-10-15T15:00:00", "-w", str(ws.root)])
    assert done.exit_code == 0 and "300 rows" in done.output and "hubspot-contacts-" in done.output


def test_a_narrow_file_updates_only_its_columns(any_workspace: service.Workspace, tmp_path: Path) -> None:
    """Decision: columns a file does not carry keep their stored values; attributes merge."""
    ws = any_workspace
    full = tmp_path / "full.csv"
    full.write_text('contact_id,email,title,country,attributes\nc1,a@x.example,CTO,DE,"{""tier_hint"": 1}"\n')
    service.import_file(ws, ImportRequest(file=full, kind="contacts"))
    narrow = tmp_path / "narrow.csv"
    narrow.write_text("contact_id,title,note\nc1,VP Engineering,met at summit\n")
    result = service.import_file(ws, ImportRequest(file=narrow, kind="contacts"))
    assert result.updated == 1
    row = query(ws, "SELECT email, title, country, attributes FROM contacts WHERE contact_id = 'c1'")[0]
    assert row[:3] == ("a@x.example", "VP Engineering", "DE")
    assert json.loads(row[3]) == {"tier_hint": 1, "note": "met at summit"}
    changes = query(ws, "SELECT properties FROM events WHERE type = 'record_updated'")
    assert len(changes) == 1 and set(json.loads(changes[0][0])["changes"]) == {"title", "attributes"}
    again = service.import_file(ws, ImportRequest(file=narrow, kind="contacts"))
    assert again.updated == 0 and again.duplicates == 1


def test_the_documented_mapping_is_the_one_written() -> None:
    from accord.writeback.targets import mapping_markdown

    doc = (Path(__file__).resolve().parent.parent / "docs" / "writeback.md").read_text(encoding="utf-8")
    assert mapping_markdown() in doc, "docs/writeback.md is stale: paste mapping_markdown() into it"
