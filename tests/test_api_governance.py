"""Governed change over real HTTP against a real `accord serve` on the 300-contact demo.

Tests run in file order on one DuckDB server: refusals of bad proposals first, then a proposal that
raises Tier 1's intent bar (with its backtest), a second one an owner rejects, a third one left
open, then the two owners (dana with an admin key, omar with a rep key: the role does not matter,
being a governance owner does) approve the first, which comes into force and into the change log,
and the open one goes stale. Only the first proposal runs a backtest (about 10 s); the rest send
``backtest: false``. The approve -> activate flow runs again on PostgreSQL when it is available.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api_server import Server, Store, client, copy_demo, is_problem, make_keys

pytestmark = pytest.mark.slow

TIER_1 = "fit >= 30 AND intent >= 25"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, str], Path]]:
    root = copy_demo(tmp_path_factory.mktemp("gov") / "ws")
    keys = make_keys(root)
    keys["omar"] = make_keys(root, {"rep": "omar"})["rep"]
    server = Server(root).start()
    try:
        yield server, keys, root
    finally:
        server.stop()


@pytest.fixture(scope="module")
def as_role(served: tuple[Server, dict[str, str], Path]) -> Iterator[dict[str, httpx.Client]]:
    server, keys, _root = served
    clients = {name: client(key, base_url=server.url) for name, key in keys.items()}
    try:
        yield clients
    finally:
        for c in clients.values():
            c.close()


@pytest.fixture(scope="module")
def text(served: tuple[Server, dict[str, str], Path]) -> str:
    """The agreement in force when the module starts."""
    return (served[2] / "accord.yaml").read_text(encoding="utf-8")


def bar(text: str, intent: int) -> str:
    """The agreement with Tier 1's intent threshold moved to ``intent``."""
    assert TIER_1 in text
    return text.replace(TIER_1, f"fit >= 30 AND intent >= {intent}")


def proposal(c: httpx.Client, body: dict[str, Any], status: int = 201) -> dict[str, Any]:
    response = c.post("/proposals", json=body)
    assert response.status_code == status, response.text[:800]
    data: dict[str, Any] = response.json()
    return data


# ---- refusals of a proposal --------------------------------------------------------------------------


def test_an_invalid_spec_is_a_422_with_located_problems(as_role: dict[str, httpx.Client], text: str) -> None:
    c = as_role["revops"]
    broken = text.replace("mql_stage: evaluation", "mql_stage: evalution")
    assert broken != text
    body = is_problem(c.post("/proposals", json={"text": broken, "why": "typo"}), 422)
    (problem,) = body["errors"]
    assert problem["path"] == "agreement.mql_stage"
    assert "evaluation" in problem["hint"] and problem["line"] > 1
    body = is_problem(c.post("/proposals", json={"text": "a: [", "why": "x"}), 422)
    assert body["errors"][0]["line"] == 1
    for weird in ("!!python/object:os.system x", "- a list", "123", "a: !!binary xx"):
        is_problem(c.post("/proposals", json={"text": weird, "why": "x"}), 422)


def test_a_proposal_body_is_checked(as_role: dict[str, httpx.Client], text: str) -> None:
    c = as_role["revops"]
    blank = is_problem(c.post("/proposals", json={"text": bar(text, 35), "why": "   "}), 422)
    assert blank["errors"][0]["path"] == "body.why"
    is_problem(c.post("/proposals", json={"text": bar(text, 35)}), 422)
    is_problem(c.post("/proposals", json={"text": bar(text, 35), "why": "x", "author": "omar"}), 422)
    is_problem(c.post("/proposals", content=b"not json", headers={"content-type": "application/json"}), 422)


def test_the_text_in_force_is_a_409(as_role: dict[str, httpx.Client], text: str) -> None:
    body = is_problem(as_role["revops"].post("/proposals", json={"text": text, "why": "no change"}), 409)
    assert "means the same" in body["detail"]


def test_reading_roles_may_not_propose(as_role: dict[str, httpx.Client], text: str) -> None:
    for role in ("rep", "viewer"):
        body = is_problem(as_role[role].post("/proposals", json={"text": bar(text, 35), "why": "x"}), 403)
        assert role in body["detail"]


# ---- a proposal, its diff and backtest ------------------------------------------------------------


def test_propose_a_higher_tier_1_bar_with_its_backtest(as_role: dict[str, httpx.Client], text: str) -> None:
    p = proposal(as_role["revops"], {"text": bar(text, 35), "why": "Fewer, hotter MQLs"})
    assert (p["id"], p["state"], p["author"], p["why"]) == ("p1", "open", "priya", "Fewer, hotter MQLs")
    assert p["owners"] == ["dana", "omar"] and p["waiting_for"] == ["dana", "omar"]
    (change,) = p["diff"]
    assert change["kind"] == "threshold" and change["summary"] == "tiers[Tier 1].when: intent >= 25 -> 35"
    b = p["backtest"]
    assert b["weeks"] == 12 and len(b["active"]["top_weekly"]) == 12
    assert b["proposed"]["top_per_week"] < b["active"]["top_per_week"]  # a higher bar, fewer entries
    assert b["moved"] >= 1 and b["movers"][0]["before_drivers"]
    assert "text" not in p
    again = is_problem(
        as_role["admin"].post("/proposals", json={"text": bar(text, 35), "why": "me too"}), 409
    )
    assert "already proposed as p1" in again["detail"]


def test_two_more_proposals_without_backtest(as_role: dict[str, httpx.Client], text: str) -> None:
    p2 = proposal(as_role["marketing"], {"text": bar(text, 30), "why": "A gentler bar", "backtest": False})
    p3 = proposal(as_role["sales_manager"], {"text": bar(text, 28), "why": "Barely", "backtest": False})
    assert (p2["id"], p2["author"], p2["backtest"]) == ("p2", "lena", None)
    assert (p3["id"], p3["author"]) == ("p3", "marco")


def test_list_and_get(as_role: dict[str, httpx.Client], text: str) -> None:
    listed = as_role["viewer"].get("/proposals")
    assert listed.status_code == 200
    assert [(p["id"], p["state"]) for p in listed.json()["proposals"]] == [
        ("p1", "open"),
        ("p2", "open"),
        ("p3", "open"),
    ]
    one = as_role["rep"].get("/proposals/p1")
    assert one.status_code == 200
    assert one.json()["proposed_at"].endswith("Z")  # UTC with a Z, as every instant the API answers
    assert one.json()["text"] == bar(text, 35) and one.json()["backtest"]["movers"]
    missing = is_problem(as_role["viewer"].get("/proposals/p9"), 404)
    assert "no proposal 'p9'" in missing["detail"] and "p1" in missing["hint"]


# ---- sign-off ---------------------------------------------------------------------------------------


def test_only_governance_owners_decide(as_role: dict[str, httpx.Client]) -> None:
    for role in ("revops", "marketing", "sales_manager", "rep"):
        body = is_problem(as_role[role].post("/proposals/p1/approve"), 403)
        assert "not a governance owner" in body["detail"] and "dana, omar" in body["hint"]
        is_problem(as_role[role].post("/proposals/p1/reject", json={"reason": "no"}), 403)
    is_problem(as_role["viewer"].post("/proposals/p1/approve"), 403)  # the role: a viewer only reads
    is_problem(as_role["admin"].post("/proposals/p9/approve"), 404)
    is_problem(as_role["admin"].post("/proposals/p9/reject", json={"reason": "no"}), 404)


def test_a_rejection_needs_a_reason_and_closes_the_proposal(as_role: dict[str, httpx.Client]) -> None:
    omar, dana = as_role["omar"], as_role["admin"]
    is_problem(omar.post("/proposals/p2/reject", json={}), 422)
    is_problem(omar.post("/proposals/p2/reject", json={"reason": "  "}), 422)
    done = omar.post("/proposals/p2/reject", json={"reason": "too many reps needed"})
    assert done.status_code == 200, done.text
    assert done.json()["new"] and done.json()["proposal"]["state"] == "rejected"
    assert omar.post("/proposals/p2/reject", json={"reason": "again"}).json()["new"] is False
    closed = is_problem(dana.post("/proposals/p2/approve"), 409)
    assert "rejected by omar" in closed["detail"]
    is_problem(dana.post("/proposals/p2/reject", json={"reason": "me too"}), 409)


def test_the_second_owner_puts_it_in_force(as_role: dict[str, httpx.Client], text: str) -> None:
    dana, omar = as_role["admin"], as_role["omar"]
    first = dana.post("/proposals/p1/approve")
    assert first.status_code == 200, first.text
    assert (first.json()["new"], first.json()["activated"]) == (True, False)
    assert first.json()["proposal"]["waiting_for"] == ["omar"]
    assert dana.post("/proposals/p1/approve").json()["new"] is False
    assert as_role["viewer"].get("/spec").json()["text"] == text
    last = omar.post("/proposals/p1/approve")
    assert last.status_code == 200, last.text
    assert (last.json()["new"], last.json()["activated"]) == (True, True)
    assert last.json()["proposal"]["state"] == "activated"
    assert as_role["viewer"].get("/spec").json()["text"] == bar(text, 35)
    assert omar.post("/proposals/p1/approve").json()["new"] is False  # already in force: nothing to do
    in_force = is_problem(omar.post("/proposals/p1/reject", json={"reason": "changed my mind"}), 409)
    assert "already in force" in in_force["detail"]


def test_an_older_open_proposal_is_stale(as_role: dict[str, httpx.Client]) -> None:
    assert as_role["viewer"].get("/proposals/p3").json()["state"] == "stale"
    stale = is_problem(as_role["admin"].post("/proposals/p3/approve"), 409)
    assert "stale" in stale["detail"]


def test_the_change_log(as_role: dict[str, httpx.Client]) -> None:
    got = as_role["marketing"].get("/changelog")
    assert got.status_code == 200
    log = got.json()
    baseline, latest = log["entries"]  # oldest first, as `accord changelog --format json`
    assert latest["proposal"]["id"] == "p1" and latest["why"] == "Fewer, hotter MQLs"
    assert latest["how"] == "proposal p1, approved by dana, omar"
    assert latest["diff"][0]["kind"] == "threshold"
    assert [(c["days"], c["status"]) for c in latest["checks"]] == [(30, "not yet due"), (90, "not yet due")]
    assert baseline["activation"]["origin"] == "first_seen"
    assert {p["id"]: p["state"] for p in log["closed"]} == {"p2": "rejected", "p3": "stale"}
    assert log["pending"] == []


def test_every_write_is_audited(as_role: dict[str, httpx.Client]) -> None:
    rows = as_role["admin"].get("/audit", params={"limit": 200}).json()["audit"]
    mine = [r for r in rows if "/proposals" in r["path"]]
    seen = {(r["method"], r["path"], r["status"], r["person"]) for r in mine}
    assert ("POST", "/api/v1/proposals", 201, "priya") in seen
    assert ("POST", "/api/v1/proposals/p1/approve", 403, "priya") in seen
    assert ("POST", "/api/v1/proposals/p1/approve", 200, "omar") in seen
    approvals = [r["detail"] for r in mine if r["person"] == "omar" and r["path"].endswith("p1/approve")]
    assert {"proposal_id": "p1", "decision": "approve", "new": True, "activated": True} in [
        {k: d.get(k) for k in ("proposal_id", "decision", "new", "activated")} for d in approvals
    ]


# ---- the approve -> activate flow on PostgreSQL -------------------------------------------------


def test_approve_and_activate_on_postgres(tmp_path: Path, pg_url: str) -> None:
    store = Store.postgres(pg_url)
    root = copy_demo(tmp_path / "pg", store)
    keys = make_keys(root, {"admin": "dana", "rep": "omar"}, store)
    text = (root / "accord.yaml").read_text(encoding="utf-8")
    server = Server(root, store=store).start()
    try:
        with (
            client(keys["admin"], base_url=server.url) as dana,
            client(keys["rep"], base_url=server.url) as omar,
        ):
            p = proposal(dana, {"text": bar(text, 35), "why": "hotter", "backtest": False})
            assert dana.post(f"/proposals/{p['id']}/approve").json()["activated"] is False
            assert omar.post(f"/proposals/{p['id']}/approve").json()["activated"] is True
            assert dana.get("/spec").json()["text"] == bar(text, 35)
            log = dana.get("/changelog").json()
            assert log["entries"][-1]["how"] == f"proposal {p['id']}, approved by dana, omar"
    finally:
        server.stop()
