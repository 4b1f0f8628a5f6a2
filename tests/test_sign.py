"""Signing the agreement: owners only, once per version, and a new version needs new signatures."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from accord.cli.main import app
from tests.report_world import at, build, new_workspace, rows, write_derived


def test_owners_sign_each_version_once(tmp_path: Path) -> None:
    ws = new_workspace(tmp_path)
    runner = CliRunner()
    first = runner.invoke(app, ["sign", "dana", "--now", "2026-03-02T10:00:00Z", "-w", str(ws.root)])
    assert first.exit_code == 0 and "signed version 2027.1 as dana" in first.output and "omar" in first.output
    again = runner.invoke(app, ["sign", "dana", "-w", str(ws.root)])
    assert again.exit_code == 0 and "already signed" in again.output
    stranger = runner.invoke(app, ["sign", "sam", "-w", str(ws.root)])
    assert stranger.exit_code == 2 and "not a governance owner" in stranger.output
    with ws.ledger() as ledger:
        n = ledger.con.execute("SELECT count(*) FROM events WHERE type = 'agreement_signed'").fetchall()[0][0]
        assert n == 1
        write_derived(ledger, at(100))
    signed = {r["owner"]: r["status"] for r in rows(build(ws, "agreement"), "sign_offs")}
    assert signed == {"Dana Whitfield": "signed", "Omar Haddad": "not signed"}
    # a new version of the text needs new signatures
    ws.spec_path.write_text(ws.spec_path.read_text().replace('version: "2027.1"', 'version: "2027.2"'))
    fresh = type(ws)(ws.root)
    statuses = {r["owner"]: r["status"] for r in rows(build(fresh, "agreement"), "sign_offs")}
    assert statuses["Dana Whitfield"] == "signed an earlier version"
    again = runner.invoke(app, ["sign", "dana", "-w", str(ws.root)])
    assert again.exit_code == 0 and "signed version 2027.2" in again.output
