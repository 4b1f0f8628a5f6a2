"""Backtest figures on a hand-built world, and the demo scenario end to end through the CLI:
a proposal that raises the MQL threshold shows its backtest, cannot activate with one approval,
activates with both, appears in the change log, and is judged against what happened."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from accord import service
from accord.cli.main import app
from accord.governance import changelog as changelog_module
from accord.governance.figures import measure
from accord.handoffs.tick import append
from accord.spec.load import spec_hash
from tests.report_world import DAY, T0, at, insert, new_workspace, write_derived

DEMO_AS_OF = "2026-06-30T00:00:00Z"
TIER_1 = "fit >= 30 AND intent >= 25"


def score(contact: str, days: float, tier: str) -> dict[str, object]:
    return {"contact_id": contact, "at": at(days), "tier": tier}


def test_figures_match_a_hand_built_history(tmp_path: Path) -> None:
    ws = new_workspace(tmp_path)
    with ws.ledger() as ledger:
        insert(ledger, "contacts", [{"contact_id": f"c{i}"} for i in range(1, 7)])
        write_derived(
            ledger,
            at(14),
            leads=[{"contact_id": "c1", "tier": "Tier 1"}, {"contact_id": "c2", "tier": "Tier 1"},
                   {"contact_id": "c3", "tier": "Tier 2"}, {"contact_id": "c4", "tier": "Tier 3"}],
            scores=[score("c1", -1, "Tier 2"), score("c1", 1, "Tier 1"), score("c1", 3, "Tier 2"),
                    score("c1", 9, "Tier 1"), score("c2", 2, "Tier 1"), score("c3", -2, "Tier 1"),
                    score("c3", 4, "Tier 1"), score("c4", 15, "Tier 1")],
            stages=[("contact", "c1", "evaluation", at(1), None, None, False),
                    ("contact", "c2", "evaluation", at(2), None, None, False),
                    ("contact", "c5", "evaluation", at(20), None, None, False)],
        )  # fmt: skip
        events = [("c1", "rejected", 2), ("c2", "rejected", 3), ("c2", "accepted", 5), ("c6", "accepted", 4)]
        append(ledger, [{"event_id": f"e{i}", "occurred_at": at(d), "type": kind, "contact_id": c,
                         "actor_id": "sam", "source": "test", "properties": {}}
                        for i, (c, kind, d) in enumerate(events)], "test")  # fmt: skip
        f = measure(ledger, ws.spec, "v", since=T0, until=T0 + 14 * DAY)
    assert [(t.tier, t.leads, t.share) for t in f.tiers] == [("Tier 1", 2, 0.5), ("Tier 2", 1, 0.25),
                                                             ("Tier 3", 1, 0.25)]  # fmt: skip
    # entries into Tier 1 in the two weeks: c1 (day 1), c2 (day 2), c1 again (day 9); c3 stayed, c4 is late
    assert (f.top_weekly, f.top_per_week) == ([2, 1], 1.5)
    # a Tier 1 lead holds a rep for its motion's longest SLA (48h): 1.5 x 2/7 open at once
    assert f.open_at_once == 0.43 and (f.reps, f.capacity, f.reps_needed) == (10, 40, 1)
    assert (f.mqls, f.mql_per_week) == (2, 1.0)
    # the latest disposition in the period of each MQL: c1 rejected, c2 accepted; c6 was never an MQL
    assert (f.acceptance, f.dispositioned) == (0.5, 2)


@pytest.fixture(scope="module")
def demo_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("governance") / "demo"
    service.build_demo(root, contacts=300, seed=3, as_of=_instant(DEMO_AS_OF))
    return root


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_raising_the_mql_threshold_on_the_demo_world(
    demo_world: Path, tmp_path: Path, cli: CliRunner
) -> None:
    root = tmp_path / "demo"
    shutil.copytree(demo_world, root)
    w = ["-w", str(root)]
    spec_text = (root / "accord.yaml").read_text(encoding="utf-8")
    proposed = tmp_path / "hotter.yaml"
    proposed.write_text(spec_text.replace(TIER_1, "fit >= 30 AND intent >= 40"), encoding="utf-8")
    t0 = "2026-03-02T10:00:00Z"  # months before the world ends, so the 30/90-day checks can be measured

    made = cli.invoke(app, ["propose", str(proposed), "--why", "fewer, hotter MQLs", "--as", "priya",
                            "--format", "json", "--now", t0, *w])  # fmt: skip
    assert made.exit_code == 0, made.output
    p = json.loads(made.output)
    bt = p["backtest"]
    before, after = bt["active"], bt["proposed"]
    assert p["id"] == "p1" and p["diff"][0]["summary"] == "tiers[Tier 1].when: intent >= 25 -> 40"
    assert bt["as_of"].startswith("2026-06-30") and bt["weeks"] == 12
    assert after["top_per_week"] < before["top_per_week"]
    assert after["mql_per_week"] <= before["mql_per_week"]
    assert after["sla_per_week"]["first_touch"] < before["sla_per_week"]["first_touch"]
    assert sum(t["leads"] for t in after["tiers"]) == sum(t["leads"] for t in before["tiers"]) > 0
    assert bt["moved"] >= 1 and bt["movers"][0]["before_tier"] == "Tier 1"
    assert bt["movers"][0]["after_tier"] != "Tier 1" and bt["movers"][0]["after_drivers"]
    # the backtest never touched what the workspace derived
    with service.Workspace(root).ledger(read_only=True) as ledger:
        stamped = {
            r[0] for r in ledger.con.execute("SELECT DISTINCT spec_version FROM derived_leads").fetchall()
        }
    assert stamped == {spec_hash(service.Workspace(root).spec)}

    shown = cli.invoke(app, ["proposal", "p1", *w])
    assert (
        shown.exit_code == 0
        and "Expected MQL acceptance" in shown.output
        and "Tier 1 entries" in shown.output
    )

    one = cli.invoke(app, ["approve", "p1", "--as", "dana", "--now", t0, *w])
    assert one.exit_code == 0 and "waiting for: omar" in one.output
    assert (root / "accord.yaml").read_text(encoding="utf-8") == spec_text  # not active yet
    listed = cli.invoke(app, ["proposals", "--format", "json", *w])
    assert [(x["id"], x["state"]) for x in json.loads(listed.output)] == [("p1", "open")]

    both = cli.invoke(app, ["approve", "p1", "--as", "omar", "--now", t0, *w])
    assert both.exit_code == 0 and "p1 is in force" in both.output
    assert "intent >= 40" in (root / "accord.yaml").read_text(encoding="utf-8")

    due = cli.invoke(app, ["changelog", "--format", "json", "--now", "2026-03-20T00:00:00Z", *w])
    log = json.loads(due.output)
    entry = log["entries"][-1]
    assert entry["proposal"]["id"] == "p1" and entry["activation"]["approvers"] == ["dana", "omar"]
    assert [c["status"] for c in entry["checks"]] == ["not yet due", "not yet due"]

    derived = cli.invoke(app, ["derive", "--as-of", DEMO_AS_OF, *w])
    assert derived.exit_code == 0, derived.output
    later = cli.invoke(app, ["changelog", "--format", "json", "--now", DEMO_AS_OF, *w])
    checks = json.loads(later.output)["entries"][-1]["checks"]
    assert [c["status"] for c in checks] == ["measured", "measured"]
    mql = next(line for line in checks[0]["lines"] if line["metric"] == "MQLs per week")
    assert mql["predicted"] == after["mql_per_week"] and mql["before"] == before["mql_per_week"]
    with service.Workspace(root).ledger(read_only=True) as ledger:
        entered = ledger.con.execute(
            "SELECT count(*) FROM derived_stages WHERE entity_type = 'contact' AND stage = 'evaluation' "
            "AND entered_at >= ?::TIMESTAMPTZ AND entered_at < ?::TIMESTAMPTZ + INTERVAL 30 DAY",
            [t0, t0],
        ).fetchall()[0][0]
    assert mql["actual"] == round(entered / (30 / 7), 2)
    measured = set(changelog_module._MEASURED)
    md = cli.invoke(app, ["changelog", "--format", "md", "--now", DEMO_AS_OF, *w])
    assert md.exit_code == 0 and "proposal p1, approved by dana, omar" in md.output
    assert set(changelog_module._MEASURED) == measured  # the same derive: measured once, read twice
    assert cli.invoke(app, ["derive", "--as-of", DEMO_AS_OF, *w]).exit_code == 0
    again = cli.invoke(app, ["changelog", "--format", "json", "--now", DEMO_AS_OF, *w])
    assert json.loads(again.output)["entries"][-1]["checks"] == checks  # a new derive: measured again
    assert len(set(changelog_module._MEASURED) - measured) == 2
    assert "tiers[Tier 1].when: intent >= 25 -> 40" in md.output and "| measured |" in md.output


def test_cli_errors_say_what_to_do(workspace: service.Workspace, tmp_path: Path, cli: CliRunner) -> None:
    w = ["-w", str(workspace.root)]
    bad = tmp_path / "bad.yaml"
    bad.write_text(workspace.spec_path.read_text().replace("tier = 'Tier 1'", "tier = 'Tier1'"))
    refused = cli.invoke(app, ["propose", str(bad), "--why", "x", "--no-backtest", *w])
    assert (
        refused.exit_code == 2 and "bad.yaml:" in refused.output and "did you mean 'Tier 1'" in refused.output
    )
    assert cli.invoke(app, ["propose", str(tmp_path / "none.yaml"), "--why", "x", *w]).exit_code == 2
    good = tmp_path / "good.yaml"
    good.write_text(workspace.spec_path.read_text().replace(TIER_1, "fit >= 30 AND intent >= 30"))
    made = cli.invoke(app, ["propose", str(good), "--why", "hotter", "--as", "lena", "--no-backtest", *w])
    assert made.exit_code == 0 and "proposed as p1" in made.output
    stranger = cli.invoke(app, ["approve", "p1", "--as", "sam", *w])
    assert stranger.exit_code == 2 and "dana, omar" in stranger.output
    typo = cli.invoke(app, ["approve", "p2", "--as", "dana", *w])
    assert typo.exit_code == 2 and "p1" in typo.output
    no_reason = cli.invoke(app, ["reject", "p1", "--as", "omar", *w])
    assert no_reason.exit_code == 2 and "--reason" in no_reason.output
    rejected = cli.invoke(app, ["reject", "p1", "--as", "omar", "--reason", "too few leads", *w])
    assert rejected.exit_code == 0 and "rejected p1 as omar: too few leads" in rejected.output
    neither = cli.invoke(app, ["reject", "p1", *w])
    assert neither.exit_code == 2 and "--by PERSON" in neither.output
    log = cli.invoke(app, ["changelog", *w])
    assert log.exit_code == 0 and "too few leads" in log.output.replace("\n", " ")
