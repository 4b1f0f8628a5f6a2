"""The funnel on a world small enough to count by hand."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from accord.domain.reference import Event
from accord.errors import ReportError
from accord.reports.base import Filters
from accord.reports.stats import km_median, wilson
from tests.report_world import DAY, T0, at, build, fill, new_workspace, rows, write_derived


def _world(tmp_path: Path, events: Sequence[Event] = ()):  # type: ignore[no-untyped-def]
    """Five contacts through evaluation -> sales_accepted -> opportunity, by hand:

    c1: evaluation d0, sales_accepted d2, opportunity d10 (open)
    c2: evaluation d1, sales_accepted d3 skipped-through to opportunity d3
    c3: evaluation d2, still there
    c4: evaluation d40 (outside a January period), sales_accepted d45
    c5: awareness only
    """
    ws = new_workspace(tmp_path)
    with ws.ledger() as ledger:
        contacts = {
            "c1": {"lead_source": "webinar", "account_id": "a1"},
            "c2": {"lead_source": "paid_search", "account_id": "a1"},
            "c3": {"lead_source": "webinar", "account_id": "a2"},
            "c4": {"lead_source": "webinar", "account_id": "a2"},
            "c5": {"lead_source": "paid_search", "account_id": "a2"},
        }
        accounts = {"a1": {"segment": "mid_market"}, "a2": {"segment": "enterprise"}}
        fill(ledger, contacts, accounts, events)
        c = "contact"
        write_derived(ledger, at(60), stages=[
            (c, "c1", "evaluation", at(0), at(2), "sales_accepted", False),
            (c, "c1", "sales_accepted", at(2), at(10), "opportunity", False),
            (c, "c1", "opportunity", at(10), None, None, False),
            (c, "c2", "evaluation", at(1), at(3), "sales_accepted", False),
            (c, "c2", "sales_accepted", at(3), at(3), "opportunity", True),
            (c, "c2", "opportunity", at(3), None, None, False),
            (c, "c3", "evaluation", at(2), None, None, False),
            (c, "c4", "evaluation", at(40), at(45), "sales_accepted", False),
            (c, "c4", "sales_accepted", at(45), None, None, False),
            (c, "c5", "awareness", at(0), None, None, False),
        ])  # fmt: skip
    return ws


def test_cohort_conversion_counts_skips_and_horizon(tmp_path: Path) -> None:
    ws = _world(tmp_path)
    report = build(ws, "funnel", from_stage="evaluation", to_stage="opportunity")
    [row] = rows(report, "conversion")
    # reached evaluation: c1..c4 (4); reached opportunity after: c1 (d10), c2 (d3, via a skip)
    assert (row["n"], row["converted"]) == (4, 2)
    assert row["rate"] == pytest.approx(0.5)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(wilson(2, 4))
    assert row["median_days"] == pytest.approx((10 + 2) / 2)  # c1 10 days, c2 2 days
    horizon = build(ws, "funnel", from_stage="evaluation", to_stage="opportunity", horizon_days=5)
    [row] = rows(horizon, "conversion")
    assert (row["n"], row["converted"], row["maturing"]) == (4, 1, 0)  # c1 took 10 days


def test_period_and_dimension_filters(tmp_path: Path) -> None:
    ws = _world(tmp_path)
    january = Filters(since=T0 - DAY, until=T0 + 20 * DAY)
    report = build(ws, "funnel", january, from_stage="evaluation", to_stage="sales_accepted", by="source")
    got = {r["group"]: (r["n"], r["converted"]) for r in rows(report, "conversion")}
    assert got == {"paid_search": (1, 1), "webinar": (2, 1)}  # c4 reached evaluation on day 40
    seg = build(
        ws, "funnel", Filters(segment="enterprise"), from_stage="evaluation", to_stage="sales_accepted"
    )
    [row] = rows(seg, "conversion")
    assert (row["n"], row["converted"]) == (2, 1)  # c3, c4


def test_owner_is_whom_routing_assigned(tmp_path: Path) -> None:
    """A lead's owner is whom its latest assignment up to the report's instant went to, else the CRM's
    owner. The derived lead's `assigned` flag once stood in for the owner: every routed lead was owned
    by `True`, so `--by owner` failed to sort and `--team` left routed leads out."""
    ws = _world(tmp_path, [
        Event("as1", T0 + DAY, "assigned", contact_id="c1", actor_id="lee"),
        Event("as2", T0 + 2 * DAY, "assigned", contact_id="c1", actor_id="sam"),  # reassigned: sam's
        Event("as3", T0 + 2 * DAY, "assigned", contact_id="c2", actor_id="tom"),
        Event("as4", T0 + 70 * DAY, "assigned", contact_id="c3", actor_id="tom"),  # after the derive
    ])  # fmt: skip
    with ws.ledger() as ledger:
        ledger.con.execute("UPDATE contacts SET owner_id = 'rosa' WHERE contact_id IN ('c2', 'c4')")
    report = build(ws, "funnel", from_stage="evaluation", to_stage="sales_accepted", by="owner")
    got = {r["group"]: (r["n"], r["converted"]) for r in rows(report, "conversion")}
    # c1 sam, c2 tom (routing over the CRM's rosa), c3 nobody yet (its assignment is later), c4 rosa
    assert got == {"sam": (1, 1), "tom": (1, 1), "(none)": (1, 0), "rosa": (1, 1)}
    na = build(ws, "funnel", Filters(team="sdr_na"), from_stage="evaluation", to_stage="sales_accepted")
    [row] = rows(na, "conversion")
    assert (row["n"], row["converted"]) == (1, 1)  # c1, sam's; lee no longer holds it


def test_time_in_stage_censors_open_rows(tmp_path: Path) -> None:
    ws = _world(tmp_path)
    report = build(ws, "funnel")
    tis = {r["stage"]: r for r in rows(report, "time_in_stage")}
    ev = tis["evaluation"]
    # evaluation rows: c1 2d, c2 2d, c4 5d (exited), c3 open for 58 days (censored)
    assert (ev["entered"], ev["exited"], ev["open"]) == (4, 3, 1)
    assert ev["median_days"] == pytest.approx(km_median([2, 2, 5, 58], [True, True, True, False]))
    assert ev["median_days"] == pytest.approx(2.0)
    # sales_accepted: c2's row is skipped and left out; c1 8d exited, c4 open 15 days
    sa = tis["sales_accepted"]
    assert (sa["entered"], sa["exited"], sa["open"]) == (2, 1, 1)
    assert sa["median_days"] == pytest.approx(8.0)  # 2 at risk at day 8, one leaves: S = 1/2


def test_km_median_by_hand() -> None:
    # exits at 1, 3; censored at 2; at risk 4,3,1 -> S(1)=3/4, S(3)=3/4*(1-1/2)=3/8 -> median 3
    assert km_median([1, 2, 3, 4], [True, False, True, False]) == 3
    assert km_median([5], [False]) is None
    low, high = wilson(0, 10)
    assert low == 0.0 and high == pytest.approx(0.2775, abs=1e-4)


def test_bad_options_say_what_to_do(tmp_path: Path) -> None:
    ws = _world(tmp_path)
    with pytest.raises(ReportError, match="no journey stage 'evaluaton'"):
        build(ws, "funnel", from_stage="evaluaton")
    with pytest.raises(ReportError, match="does not come after"):
        build(ws, "funnel", from_stage="opportunity", to_stage="evaluation")
    with pytest.raises(ReportError, match="unknown dimension"):
        build(ws, "funnel", by="colour")


def test_the_cli_bounds_days_filters_and_horizon(tmp_path: Path) -> None:
    """The CLI shares the API's bounds: a day outside 1900-2200 or a filter value nothing holds is
    refused naming the flag, and so is a horizon of no days (it made every conversion 0%)."""
    from typer.testing import CliRunner

    from accord.cli.main import app

    ws = _world(tmp_path)
    w = ["-w", str(ws.root), "-f", "json"]

    def run(*args: str) -> str:
        result = CliRunner().invoke(app, ["report", "funnel", *args, *w])
        assert result.exit_code == 2, result.output
        return " ".join(result.output.split())

    assert "--to 9999-12-31 is out of range" in run("--to", "9999-12-31")
    assert "from 1900-01-01 to 2200-12-31" in run("--from", "0001-01-01")
    assert "unknown segment 'galactic'" in run("--segment", "galactic")
    assert "known segment values: enterprise, mid_market" in run("--segment", "galactic")
    assert "unknown source 'radio'" in run("--source", "radio")
    assert "--horizon -5 is not a number of days" in run("--horizon", "-5")
    assert "--horizon 0 is not a number of days" in run("--horizon", "0")
    with pytest.raises(ReportError, match="is not a number of days"):
        build(ws, "tiers", horizon_days=-1)
    from accord import service

    with pytest.raises(ReportError, match="unknown team 'nobody'"):  # every caller, not only the CLI
        service.report(ws, "funnel", Filters(team="nobody"))
    ok = CliRunner().invoke(app, ["report", "funnel", "--segment", "enterprise", "--to", "2200-12-31", *w])
    assert ok.exit_code == 0, ok.output


def test_histories_follow_time_not_seq(tmp_path: Path) -> None:
    """After a move back the engine's seq is not in time order (docs/derive.md orders rows by time)."""
    from accord.reports.data import ReportData

    ws = new_workspace(tmp_path)
    with ws.ledger() as ledger:
        fill(ledger, {"c1": {"account_id": "a1"}}, {"a1": {}}, [])
        c = "contact"
        write_derived(ledger, at(30), stages=[
            (c, "c1", "consideration", at(0), at(5), "opportunity", False, 1),
            (c, "c1", "opportunity", at(5), at(9), "consideration", False, 4),
            (c, "c1", "consideration", at(9), None, None, False, 2),
        ])  # fmt: skip
        data = ReportData(ledger, ws.spec, Filters())
        history = data.contact_stages["c1"]
        assert [r.stage for r in history] == ["consideration", "opportunity", "consideration"]
        assert history[-1].exited_at is None


def test_reports_say_when_the_spec_changed_since_derive(tmp_path: Path) -> None:
    ws = _world(tmp_path)
    assert not any("spec changed" in n for n in build(ws, "funnel").sections[0].notes)
    ws.spec_path.write_text(ws.spec_path.read_text().replace("stalled_after: 21d", "stalled_after: 14d"))
    fresh = type(ws)(ws.root)
    assert "spec changed since the last derive" in build(fresh, "funnel").sections[0].notes[0]
