"""Every report on a demo world, through the real command line, in every format; and the reports agree
with each other where they share a number."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from accord import service
from accord.cli.main import app
from accord.reports.registry import REPORTS
from tests.report_world import build

AS_OF = datetime(2026, 10, 15, 15, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> service.Workspace:
    root = tmp_path_factory.mktemp("report-demo") / "demo"
    return service.build_demo(root, contacts=600, seed=3, as_of=AS_OF).workspace


def run(demo: service.Workspace, *args: str) -> str:
    result = CliRunner().invoke(app, ["report", *args, "-w", str(demo.root)])
    assert result.exit_code == 0, result.output
    return result.output


def as_json(demo: service.Workspace, name: str, *args: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(run(demo, name, "-f", "json", *args))
    return data


def records(report: dict[str, Any], key: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = next(s for s in report["sections"] if s["key"] == key)["rows"]
    return found


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_every_report_runs_in_every_format(demo: service.Workspace, name: str, tmp_path: Path) -> None:
    report = as_json(demo, name)
    assert report["report"] == name and report["sections"]
    assert report["as_of"] == "2026-10-15T15:00:00Z"
    for section in report["sections"]:
        keys = [c["key"] for c in section["columns"]]
        assert all(list(row) == keys for row in section["rows"])
    out = tmp_path / f"{name}.html"
    run(demo, name, "-f", "html", "-o", str(out))
    page = out.read_text()
    assert page.startswith("<!doctype html>") and "<script" not in page
    built = build(demo, name)  # the other renderings of the same report, in-process
    assert built.to_dict()["sections"] == report["sections"]
    rows = list(csv.reader(io.StringIO(built.to_csv())))
    assert rows and rows[0][0] == "section"
    assert sum(1 for r in rows if r[0] != "section") == sum(len(s["rows"]) for s in report["sections"])
    assert built.to_markdown().startswith(f"# {report['title']}")


def test_the_terminal_tables(demo: service.Workspace) -> None:
    for name in ("scorecard", "pipeline"):
        table = run(demo, name)
        assert as_json(demo, name)["title"] in table


def test_the_demo_tells_a_story(demo: service.Workspace) -> None:
    """The demo world exercises every report: conversions, wins and losses, content, a plan in progress."""
    funnel = as_json(demo, "funnel")
    assert all(r["n"] > 0 for r in records(funnel, "conversion")[:4])
    deals = as_json(demo, "deals")
    assert any(r["won"] and r["lost"] for r in records(deals, next(s["key"] for s in deals["sections"])))
    plan = as_json(demo, "plan")
    assert any(r["actual"] for r in records(plan, "actual"))
    assert records(plan, "forecasts")


def test_reports_agree_where_they_share_a_number(demo: service.Workspace) -> None:
    scorecard = {r["metric"]: r for r in records(as_json(demo, "scorecard"), "scorecard")}
    attribution = {r["metric"]: r for r in records(as_json(demo, "attribution"), "summary")}
    assert scorecard["Marketing-sourced closed-won"]["value"] == attribution["marketing-sourced"]["share"]
    assert (
        scorecard["Marketing-influenced closed-won"]["value"] == attribution["marketing-influenced"]["share"]
    )
    with demo.ledger(read_only=True) as ledger:
        from accord.handoffs.report import sla_report

        sla = sla_report(ledger, demo.spec, int(AS_OF.timestamp()))
    assert scorecard["MQL acceptance rate"]["value"] == sla.acceptance["rate"]
    first = next(line for line in sla.lines if line.sla == demo.spec.agreement.sales.first_touch_sla)
    assert scorecard["First-touch SLA compliance"]["value"] == first.compliance
    tiers = records(as_json(demo, "tiers"), "tiers")
    baseline = tiers[-1]
    assert 0 < sum(r["n"] for r in tiers[:-1]) <= baseline["n"]  # leads that never held a tier: baseline only
    assert sum(r["converted"] for r in tiers[:-1]) <= baseline["converted"]


def test_filters_narrow_and_bad_options_explain(demo: service.Workspace) -> None:
    whole = records(as_json(demo, "funnel", "--from-stage", "evaluation", "--to-stage", "sales_accepted"),
                    "conversion")[0]  # fmt: skip
    summer = records(as_json(demo, "funnel", "--from-stage", "evaluation", "--to-stage", "sales_accepted",
                             "--from", "2026-06-01", "--to", "2026-08-31"), "conversion")[0]  # fmt: skip
    assert 0 < summer["n"] < whole["n"]
    result = CliRunner().invoke(app, ["report", "funnel", "--to", "2026-01-01", "--from", "2026-02-01",
                                      "-w", str(demo.root)])  # fmt: skip
    assert result.exit_code == 2 and "--to is before --from" in result.output
    result = CliRunner().invoke(app, ["report", "scorecard", "--by", "source", "-w", str(demo.root)])
    assert result.exit_code == 2 and "does not take --by" in result.output
    result = CliRunner().invoke(app, ["report", "funel", "-w", str(demo.root)])
    assert result.exit_code == 2 and "did you mean 'funnel'" in result.output
    result = CliRunner().invoke(app, ["report", "funnel", "--from", "June", "-w", str(demo.root)])
    assert result.exit_code == 2 and "YYYY-MM-DD" in result.output
