"""The CLI as a user meets it: exit codes, messages that say what to do, docs that match the code."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from typer.testing import CliRunner

from accord.cli.app import literal
from accord.cli.main import app
from accord.cli.reference import cli_reference
from accord.ledger.schema import SCHEMA_VERSION
from accord.spec.reference import spec_reference

REPO = Path(__file__).resolve().parent.parent


def test_init_validate_status(cli: CliRunner, tmp_path: Path) -> None:
    ws = tmp_path / "acme"
    result = cli.invoke(app, ["init", str(ws)])
    assert result.exit_code == 0, result.output
    assert (ws / "accord.yaml").exists() and (ws / "accord.duckdb").exists()
    again = cli.invoke(app, ["init", str(ws)])
    assert again.exit_code == 2 and "already holds a workspace" in again.output
    ok = cli.invoke(app, ["validate", str(ws / "accord.yaml")])
    assert ok.exit_code == 0 and ok.output.startswith("OK")
    status = cli.invoke(app, ["status", "-w", str(ws)])
    assert status.exit_code == 0
    assert f"ledger schema v{SCHEMA_VERSION}" in status.output


def test_errors_are_one_line_with_a_hint_and_exit_2(tmp_path: Path) -> None:
    """Run the real entry point in its own process, as a user would."""
    proc = subprocess.run(
        [sys.executable, "-m", "accord.cli", "status", "-w", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "is not an Accord workspace" in proc.stderr and "hint: create one with" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_validate_reports_every_problem(tmp_path: Path, starter_text: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        starter_text.replace(
            "owner: marketing\n      kpi: engagement_rate", "owner: marketting\n      kpi: engagement_rat"
        ),
        encoding="utf-8",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "accord.cli", "validate", str(bad)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert f"{bad}:" in proc.stderr
    assert "unknown team 'marketting'" in proc.stderr and "did you mean 'marketing'?" in proc.stderr
    assert "unknown KPI 'engagement_rat'" in proc.stderr


def test_import_prints_counts_notes_and_rejects(cli: CliRunner, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    cli.invoke(app, ["init", str(ws)])
    file = tmp_path / "events.csv"
    file.write_text(
        "event_id,occurred_at,type,contact_id\ne1,2026-07-01,page_view,c1\ne2,nope,page_view,c1\n"
    )
    result = cli.invoke(app, ["import", "events", str(file), "-w", str(ws)])
    assert result.exit_code == 0, result.output
    assert "imported" in result.output and "rejected" in result.output
    assert "row 2:" in result.output and "refused rows with reasons:" in result.output
    bad_map = cli.invoke(app, ["import", "events", str(file), "-w", str(ws), "--map", "occurred_at"])
    assert bad_map.exit_code == 2 and "TARGET=VALUE" in bad_map.output
    bad_preset = cli.invoke(app, ["import", "events", str(file), "-w", str(ws), "--preset", "maven-pipelin"])
    assert bad_preset.exit_code == 2 and "did you mean 'maven-pipeline'" in bad_preset.output


def test_files_that_cannot_be_written_are_refused_before_the_work(cli: CliRunner, tmp_path: Path) -> None:
    """Exit 2 with the flag and the path named, not an internal error after an import committed."""
    ws = tmp_path / "ws"
    cli.invoke(app, ["init", str(ws)])
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder")
    file = tmp_path / "events.csv"
    file.write_text(
        "event_id,occurred_at,type,contact_id\ne1,2026-07-01,page_view,c1\ne2,nope,page_view,c1\n"
    )
    imported = cli.invoke(
        app, ["import", "events", str(file), "-w", str(ws), "--rejects", str(blocker / "r.csv")]
    )
    assert imported.exit_code == 2, imported.output
    assert f"--rejects {blocker / 'r.csv'}: {blocker} is a file" in imported.output
    status = cli.invoke(app, ["status", "-w", str(ws)])
    assert "last imports" not in status.output  # nothing stored
    for path, says in (
        (blocker / "x.csv", f"{blocker} is a file"),
        (tmp_path, f"--output {tmp_path} is a folder"),
        (tmp_path / "missing" / "x.csv", f"the folder {tmp_path / 'missing'} does not exist"),
    ):
        report = cli.invoke(app, ["report", "funnel", "-f", "csv", "-o", str(path), "-w", str(ws)])
        assert report.exit_code == 2, report.output
        assert says in report.output and "internal error" not in report.output
    review = cli.invoke(app, ["review", "-o", str(blocker / "r.md"), "-w", str(ws)])
    assert review.exit_code == 2 and f"--out {blocker / 'r.md'}" in review.output


def test_a_workspace_held_by_another_process_is_named(cli: CliRunner, tmp_path: Path) -> None:
    """While `accord serve` holds a workspace, other commands are refused by DuckDB's lock; the refusal
    names the process holding it and what to do, not DuckDB's raw lock error alone."""
    ws = tmp_path / "held"
    assert cli.invoke(app, ["init", str(ws)]).exit_code == 0
    hold = "import duckdb, sys, time\nc = duckdb.connect(sys.argv[1])\nprint('held', flush=True)\n"
    hold += "time.sleep(120)"
    holder = subprocess.Popen(
        [sys.executable, "-c", hold, str(ws / "accord.duckdb")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        result = cli.invoke(app, ["status", "-w", str(ws)])
        assert result.exit_code == 2, result.output
        assert f"another process holds it (PID {holder.pid}, " in result.output
        assert "accord serve" in result.output and "internal error" not in result.output
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    assert cli.invoke(app, ["status", "-w", str(ws)]).exit_code == 0


def test_text_from_users_prints_as_typed(cli: CliRunner, tmp_path: Path) -> None:
    """A CRM's contact named 'Ann [/b]' once made every `accord leads` and `accord explain` end in a
    traceback (Rich read the name as markup), and an alert id's ':watch:' printed as an emoji."""
    ws = tmp_path / "ws"
    cli.invoke(app, ["init", str(ws)])
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("contact_id,first_name,last_name\nc1,Ann [/b],:thumbs_up: [bold]x\n")
    events = tmp_path / "events.csv"
    events.write_text("event_id,occurred_at,type,contact_id\ne1,2026-07-01T10:00:00Z,pricing_view,c1\n")
    for kind, file in (("contacts", contacts), ("events", events)):
        assert cli.invoke(app, ["import", kind, str(file), "-w", str(ws)]).exit_code == 0
    assert cli.invoke(app, ["derive", "-w", str(ws), "--as-of", "2026-07-02T00:00:00Z"]).exit_code == 0
    for args in (["leads"], ["explain", "c1"]):
        shown = cli.invoke(app, [*args, "-w", str(ws)])
        assert shown.exit_code == 0, shown.output
        assert "Ann [/b]" in shown.output and ":thumbs_up:" in shown.output, shown.output


def test_help_teaches(cli: CliRunner) -> None:
    result = cli.invoke(app, ["import", "--help"])
    assert result.exit_code == 0
    for phrase in ("TARGET=COLUMN", "--preset", "--date-format", "--dry-run", "idempotent"):
        assert phrase in result.output
    assert "maven-pipeline" in cli.invoke(app, ["presets"]).output


def test_help_paragraphs_are_not_broken_mid_sentence(cli: CliRunner, monkeypatch: Any) -> None:
    """Typer keeps a docstring's line breaks after its first paragraph: a paragraph wrapped at 100
    columns in the source read ragged in a terminal. Rendered wide, each prose paragraph of every
    command's help is one line; examples and the report list keep their lines."""
    import typer.main
    import typer.rich_utils

    monkeypatch.setattr(typer.rich_utils, "MAX_WIDTH", 1000)
    root = typer.main.get_command(app)
    checked = 0

    def walk(command: Any, path: list[str]) -> None:
        nonlocal checked
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, name])
        if not path or not command.help:
            return
        shown = cli.invoke(app, [*path, "--help"]).output
        lines = [line.strip() for line in shown.splitlines()]
        for paragraph in inspect.cleandoc(command.help).split("\n\n")[1:]:
            if literal(paragraph):
                for line in paragraph.splitlines():
                    assert line.strip() in lines, (path, line)
            else:
                assert " ".join(paragraph.split()) in lines, (path, paragraph)
            checked += 1

    walk(root, [])
    assert checked >= 15


def test_generated_docs_are_current() -> None:
    """docs/spec-reference.md and docs/cli.md are generated; regenerate with `make docs`."""
    assert (REPO / "docs" / "spec-reference.md").read_text(encoding="utf-8") == spec_reference()
    assert (REPO / "docs" / "cli.md").read_text(encoding="utf-8") == cli_reference(app)


def test_every_spec_key_is_documented() -> None:
    """Each key of every spec section has a description, and the reference lists it."""
    from accord.spec.model import Spec
    from accord.spec.reference import _collect

    reference = spec_reference()
    models: list[type[BaseModel]] = []
    _collect(Spec, models)
    assert len(models) > 30
    for model in models:
        for name, info in model.model_fields.items():
            assert info.description, f"{model.__name__}.{name} has no description"
            assert f"| `{info.alias or name}` |" in reference


def test_demo_builds_a_workspace_that_validates(cli: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "demo"
    args = ["demo", str(target), "--contacts", "300", "--seed", "3", "--as-of", "2026-11-02T12:00:00Z"]
    result = cli.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "What to try next" in result.output
    from accord import service

    ws = service.locate(target)
    info = service.status(ws)
    assert info["counts"]["contacts"] == 300
    assert info["counts"]["events"] > 10_000
    assert cli.invoke(app, ["validate", str(ws.spec_path)]).exit_code == 0
    again = cli.invoke(app, args)
    assert again.exit_code == 2 and "--force" in again.output
    assert cli.invoke(app, [*args, "--force"]).exit_code == 0
    assert service.status(ws)["counts"] == info["counts"]
