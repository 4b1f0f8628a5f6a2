"""Report parameters over real HTTP: bounds, known values and names, as exploratory QA found them.

Days far outside any CRM history answered 500 (the next midnight of 9999-12-31 overflowed); unknown
filter values and parameters were echoed back as if they had matched; the report list advertised
``horizon_days`` while the endpoint read ``horizon``. Each answer here is a 4xx that names what to send.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from accord import service
from accord.reports.base import Filters
from accord.reports.data import ReportData
from accord.reports.registry import REPORTS
from tests.api_server import Server, Store, client, copy_demo, is_problem, make_keys, pristine_demo

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def reader(tmp_path_factory: pytest.TempPathFactory, api_store: Store) -> Iterator[httpx.Client]:
    root = copy_demo(tmp_path_factory.mktemp("api-reports") / "ws", api_store)
    keys = make_keys(root, store=api_store)
    server = Server(root, store=api_store).start()
    try:
        with client(keys["viewer"], base_url=server.url) as c:
            yield c
    finally:
        server.stop()


@pytest.fixture(scope="module")
def known() -> dict[str, set[str]]:
    ws = service.locate(pristine_demo())
    with ws.ledger(read_only=True) as ledger:
        return ReportData(ledger, ws.spec, Filters()).filter_values()


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_a_day_far_out_is_refused_naming_the_range(reader: httpx.Client, name: str) -> None:
    body = is_problem(reader.get(f"/reports/{name}", params={"to": "9999-12-31"}), 400)
    assert body["detail"] == "to 9999-12-31 is out of range"
    assert "1900-01-01" in body["hint"] and "2200-12-31" in body["hint"]


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1899-12-31", "2201-01-01"])
def test_the_review_refuses_from_outside_the_range(reader: httpx.Client, day: str) -> None:
    body = is_problem(reader.get("/reports/review", params={"from": day}), 400)
    assert body["detail"].startswith(f"from {day} ")
    assert "1900-01-01 to 2200-12-31" in body["hint"]


def test_the_range_itself_is_served(reader: httpx.Client) -> None:
    edge = reader.get("/reports/scorecard", params={"from": "1900-01-01", "to": "2200-12-31"})
    assert edge.status_code == 200, edge.text
    assert edge.json()["filters"]["from"] is not None
    assert reader.get("/reports").json()["days"] == {"from": "1900-01-01", "to": "2200-12-31"}


@pytest.mark.parametrize("key", ["segment", "team", "source"])
def test_an_unknown_filter_value_names_the_known_ones(
    reader: httpx.Client, known: dict[str, set[str]], key: str
) -> None:
    body = is_problem(reader.get("/reports/scorecard", params={key: "nonsense"}), 400)
    assert body["detail"].startswith(f"unknown {key} 'nonsense'")
    assert known[key] and all(value in body["hint"] for value in known[key])
    value = sorted(known[key])[0]
    good = reader.get("/reports/scorecard", params={key: value})
    assert good.status_code == 200, good.text
    assert good.json()["filters"][key] == value


def test_an_unknown_parameter_names_the_accepted_ones(reader: httpx.Client) -> None:
    body = is_problem(reader.get("/reports/funnel", params={"foo": "bar"}), 400)
    assert body["detail"] == "unknown query parameter: foo"
    for name in ("from", "to", "segment", "by", "horizon", "window", "answers"):
        assert name in body["hint"]
    assert "horizon_days" not in body["hint"]


def test_the_advertised_options_are_the_accepted_ones(reader: httpx.Client) -> None:
    listed = {r["name"]: r["options"] for r in reader.get("/reports").json()["reports"]}
    assert listed["funnel"] == ["from_stage", "to_stage", "by", "horizon"]
    assert listed["attribution"] == ["window"]
    assert listed["review"] == ["horizon"]
    samples = {"from_stage": "evaluation", "to_stage": "opportunity", "by": "source", "horizon": "30",
               "window": "30", "threshold": "50000", "campaign": "webinar_security"}  # fmt: skip
    for name in ("funnel", "tiers", "attribution", "pipeline"):
        for option in listed[name]:
            answer = reader.get(f"/reports/{name}", params={option: samples[option]})
            assert answer.status_code == 200, (name, option, answer.text)


def test_old_spellings_are_read_as_the_same_option(reader: httpx.Client) -> None:
    new = reader.get("/reports/funnel", params={"horizon": "5"}).json()
    old = reader.get("/reports/funnel", params={"horizon_days": "5"}).json()
    unlimited = reader.get("/reports/funnel").json()
    assert new == old and new != unlimited
    short = reader.get("/reports/attribution", params={"window": "5"}).json()
    assert short == reader.get("/reports/attribution", params={"window_days": "5"}).json()
    is_problem(reader.get("/reports/funnel", params={"horizon": "5", "horizon_days": "6"}), 400)


@pytest.mark.parametrize("query", [{"horizon": "-5"}, {"horizon_days": "-5"}, {"horizon": "0"}])
def test_no_days_or_fewer_is_refused(reader: httpx.Client, query: dict[str, str]) -> None:
    body = is_problem(reader.get("/reports/funnel", params=query), 422)
    assert body["errors"][0]["path"].endswith(next(iter(query)))


def test_errors_name_query_parameters_not_cli_flags(reader: httpx.Client) -> None:
    extra = is_problem(reader.get("/reports/scorecard", params={"from_stage": "evaluation"}), 400)
    assert extra["detail"] == "report 'scorecard' does not take from_stage"
    assert extra["hint"] == "its own options: none"
    funnel = is_problem(reader.get("/reports/attribution", params={"horizon": "30"}), 400)
    assert funnel["detail"] == "report 'attribution' does not take horizon"
    assert funnel["hint"] == "its own options: window"
    by = is_problem(reader.get("/reports/funnel", params={"by": "colour"}), 400)
    assert by["detail"].startswith("by: unknown dimension")
    for body in (extra, funnel, by):
        assert "--" not in body["detail"] + (body.get("hint") or "")
