"""The REST API over real HTTP against a real `accord serve` process on the 300-contact demo.

Tests run in file order on one server per store (the DuckDB file, then PostgreSQL): the report
comparisons come first, while the served ledger still equals the pristine demo file they are compared
with (so on PostgreSQL they also prove both stores answer the same numbers); later tests add events.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from accord import service
from accord.api.permissions import matrix_markdown
from accord.reports.base import Filters
from tests.api_server import (
    REPO_DOCS,
    Server,
    Store,
    client,
    copy_demo,
    is_problem,
    make_keys,
    pristine_demo,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, api_store: Store
) -> Iterator[tuple[Server, dict[str, str]]]:
    root = copy_demo(tmp_path_factory.mktemp("api") / "ws", api_store)
    keys = make_keys(root, store=api_store)
    server = Server(root, store=api_store).start()
    try:
        yield server, keys
    finally:
        server.stop()


@pytest.fixture(scope="module")
def admin(served: tuple[Server, dict[str, str]]) -> Iterator[httpx.Client]:
    server, keys = served
    with client(keys["admin"], base_url=server.url) as c:
        yield c


def event(
    eid: str, contact: str, kind: str = "pricing_view", at: str = "2026-11-02T11:00:00Z", **kw: Any
) -> dict[str, Any]:
    return {"event_id": eid, "occurred_at": at, "type": kind, "contact_id": contact, **kw}


# ---- reports first: the served ledger is still the pristine demo ----------------------------------


@pytest.mark.parametrize(
    ("name", "query", "options"),
    [
        ("scorecard", {}, {}),
        ("funnel", {"by": "source"}, {"by": "source"}),
        ("tiers", {}, {}),
        ("pipeline", {}, {}),
        ("agreement", {}, {}),
    ],
)
def test_report_json_equals_the_service(
    admin: httpx.Client, name: str, query: dict[str, str], options: dict[str, Any]
) -> None:
    expected = service.report(service.locate(pristine_demo()), name, Filters(), **options).to_dict()
    got = admin.get(f"/reports/{name}", params=query)
    assert got.status_code == 200, got.text
    assert got.json() == expected


def test_report_period_and_errors(admin: httpx.Client) -> None:
    ws = service.locate(pristine_demo())
    zone_filters = admin.get("/reports/scorecard", params={"from": "2026-09-01", "to": "2026-10-31"})
    assert zone_filters.status_code == 200
    assert zone_filters.json()["filters"]["from"] == "2026-09-01"
    answers = ",".join(f"q{i}:{i % 3}" for i in range(1, 11))
    assert admin.get("/reports/diagnostic", params={"answers": answers}).status_code == 200
    is_problem(admin.get("/reports/diagnostic", params={"answers": "q1:7"}), 400)
    listed = admin.get("/reports").json()
    assert {r["name"] for r in listed["reports"]} >= {"funnel", "scorecard", "agreement"}
    unknown = is_problem(admin.get("/reports/funel"), 404)
    assert "funnel" in unknown["detail"]
    is_problem(admin.get("/reports/scorecard", params={"by": "source"}), 400)
    is_problem(admin.get("/reports/scorecard", params={"from": "2026-10-02", "to": "2026-10-01"}), 400)
    is_problem(admin.get("/reports/scorecard", params={"from": "yesterday"}), 422)
    assert ws.spec.workspace.name


# ---- ingest ---------------------------------------------------------------------------------------


def test_ingest_one_then_repeat_then_conflict(admin: httpx.Client) -> None:
    first = admin.post("/events", json=event("api-t1", "con-000011", topic="pricing"))
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["stored"] == 1 and body["items"][0]["status"] == "stored"
    (decision,) = body["decisions"]
    assert decision["contact_id"] == "con-000011"
    assert {"score", "tier", "motion", "stage", "route", "sla_deadline", "drivers", "clocks"} <= set(decision)
    again = admin.post("/events", json=event("api-t1", "con-000011", topic="pricing"))
    assert again.status_code == 200 and again.json()["duplicates"] == 1
    assert again.json()["decisions"][0]["score"] == decision["score"]  # nothing changed
    clash = is_problem(admin.post("/events", json=event("api-t1", "con-000011", topic="other")), 409)
    assert "different content" in clash["detail"] and clash["errors"][0]["event_id"] == "api-t1"


def test_ingest_batch_reports_every_item(admin: httpx.Client) -> None:
    batch = [
        event("api-b1", "con-000012", "demo_request"),
        event("api-b1", "con-000012", "demo_request"),  # repeated inside the request
        event("api-t1", "con-000011", topic="other"),  # conflicts with the stored api-t1
        {"event_id": "api-b3", "occurred_at": "2026-11-02T11:00:00Z", "type": "page_view"},  # names nobody
        event("api-b4", "con-000013", "webinar_attended"),
    ]
    got = admin.post("/events", json={"events": batch}, params={"decide": "false"})
    assert got.status_code == 200, got.text
    body = got.json()
    assert [i["status"] for i in body["items"]] == ["stored", "duplicate", "conflict", "rejected", "stored"]
    assert body["items"][2]["problem"]["status"] == 409
    assert body["items"][3]["problem"]["status"] == 422
    assert "needs contact_id" in body["items"][3]["reason"]
    assert (body["stored"], body["duplicates"], body["conflicts"], body["rejected"]) == (2, 1, 1, 1)
    assert body["decisions"] == []
    resend = admin.post("/events", json={"events": batch}, params={"decide": "false"}).json()
    assert resend["stored"] == 0 and resend["duplicates"] == 3


def test_a_malformed_item_is_refused_alone(admin: httpx.Client) -> None:
    """One bad event in a connector's batch once sent the whole batch back (422, nothing stored)."""
    batch: list[Any] = [
        event("api-m1", "con-000014"),
        event("api-m2", "con-000014", at="2026-11-02T11:00:00"),  # no zone
        {**event("api-m3", "con-000014"), "contactid": "x"},  # a typo'd field
        "not an event",
        event("api-m1", "con-000014"),  # repeats item 0, after the refused ones
        event("api-m5", "con-000015"),
        event("api-m5", "con-000015", topic="pricing"),  # item 5's id with other content
    ]
    got = admin.post("/events", json={"events": batch}, params={"decide": "true"})
    assert got.status_code == 200, got.text
    body = got.json()
    items = body["items"]
    assert [i["index"] for i in items] == list(range(7))
    statuses = ["stored", "rejected", "rejected", "rejected", "duplicate", "stored", "rejected"]
    assert [i["status"] for i in items] == statuses
    assert [i["event_id"] for i in items] == [
        "api-m1",
        "api-m2",
        "api-m3",
        None,
        "api-m1",
        "api-m5",
        "api-m5",
    ]
    assert items[1]["reason"].startswith("events.1.occurred_at: ") and "timezone" in items[1]["reason"]
    assert "events.2.contactid" in items[2]["reason"]
    assert items[3]["problem"]["status"] == 422 and items[3]["reason"].startswith("events.3")
    assert items[4]["reason"] == "repeats item 0"
    # numbered as the request's items, not as the well-formed ones the ledger staged (it said "row 3")
    assert "repeats item 5 with different values" in items[6]["reason"], items[6]
    assert (body["stored"], body["duplicates"], body["rejected"]) == (2, 1, 4)
    assert [d["contact_id"] for d in body["decisions"]] == ["con-000014", "con-000015"]
    fixed = admin.post("/events", json={"events": [event("api-m2", "con-000014"), *batch[:1]]}).json()
    assert [i["status"] for i in fixed["items"]] == ["stored", "duplicate"]
    only_bad = admin.post("/events", json={"events": ["x", {"type": "page_view"}]})
    assert only_bad.status_code == 200 and only_bad.json()["rejected"] == 2


def test_ingest_refuses_bad_bodies(admin: httpx.Client) -> None:
    naive = event("api-x", "con-000011", at="2026-11-02T11:00:00")  # no zone
    problem = is_problem(admin.post("/events", json=naive), 422)
    # one problem, at the field: not the batch shape's "events: Field required" and four "Extra inputs"
    assert [e["path"] for e in problem["errors"]] == ["body.occurred_at"], problem
    assert problem["detail"] == "1 problem in the request"
    is_problem(admin.post("/events", json={"events": []}), 422)
    many = is_problem(admin.post("/events", json={"events": [event(f"e{i}", "c") for i in range(1001)]}), 422)
    assert [e["path"] for e in many["errors"]] == ["body"], many
    assert "1 to 1000 events, not 1001" in many["errors"][0]["message"]
    as_text = admin.post(
        "/events", content=json.dumps(event("api-t", "con-000011")), headers={"content-type": "text/plain"}
    )
    assert "Content-Type: application/json" in is_problem(as_text, 415)["hint"]
    is_problem(admin.post("/events", content=b"{not json", headers={"content-type": "application/json"}), 422)
    unknown_field = is_problem(
        admin.post("/events", json={**event("api-y", "con-000011"), "contactid": "x"}), 422
    )
    assert [e["path"] for e in unknown_field["errors"]] == ["body.contactid"], unknown_field
    nul = is_problem(admin.post("/events", json=event("api-nul", "con-000011\u0000")), 422)
    padded = is_problem(admin.post("/events", json=event("api-pad", " con-000011")), 422)
    assert padded["errors"][0]["path"] == "body.contact_id" and "space" in padded["errors"][0]["message"]
    assert any("control character" in e["message"] for e in nul["errors"])
    # a body over 8 MB is refused before it is read whole (a 100 MB batch once took 1.3 GB)
    huge = event("api-huge", "con-000011", properties={"blob": "x" * (9 * 1024 * 1024)})
    too_large = is_problem(admin.post("/events", json=huge), 413)
    assert "8 MB" in too_large["detail"]
    big_spec = admin.post("/spec/validate", content=b"x: " + b"y" * (9 * 1024 * 1024))
    assert "events" not in (is_problem(big_spec, 413).get("hint") or "")
    assert admin.get("/spec").status_code == 200  # the connection and the server carry on


@pytest.mark.parametrize(
    "at", ["0001-01-01T00:00:00+14:00", "1970-01-01T00:00:00Z", "9999-12-31T23:59:59-14:00", 12345]
)
def test_ingest_refuses_instants_out_of_range_before_storing(
    served: tuple[Server, dict[str, str]], admin: httpx.Client, at: Any
) -> None:
    """Once, a year-1 event was stored and then broke every decision of its account (500s)."""
    eid = f"api-range-{at}"
    problem = is_problem(admin.post("/events", json=event(eid, "con-000072", at=at)), 422)
    assert any("1990-01-01 to 2099-12-31" in e["message"] for e in problem["errors"]), problem
    server, keys = served
    with client(keys["rep"], base_url=server.url) as rep:
        touch = rep.post("/contacts/con-000072/touches", json={"type": "call_attempt", "at": at})
    assert "1990-01-01" in str(is_problem(touch, 422)["errors"])
    fine = admin.post("/events", json=event(f"api-range-after-{at}", "con-000073"))
    assert fine.status_code == 201, fine.text
    again = admin.post("/events", json=event(eid, "con-000072", at="2026-11-02T10:00:00Z"))
    assert again.status_code == 201 and again.json()["items"][0]["status"] == "stored", again.text


def test_only_admins_backfill_the_events_accord_writes(
    served: tuple[Server, dict[str, str]], admin: httpx.Client
) -> None:
    """A marketing key once accepted a lead for its owner by posting an `accepted` event, and the
    forged instant stuck in the stage history."""
    server, keys = served
    forged = event("api-forged", "con-000082", "accepted", actor_id="ana")
    with client(keys["marketing"], base_url=server.url) as marketing:
        problem = is_problem(marketing.post("/events", json=forged), 403)
        assert "/accept" in problem["hint"] and problem["errors"][0]["path"] == "events.0.type"
        mixed = {"events": [event("api-ok-1", "con-000082"), {**forged, "type": "sla_breached"}]}
        problem = is_problem(marketing.post("/events", json=mixed), 403)
        assert [e["index"] for e in problem["errors"]] == [1]
        assert marketing.post("/events", json=event("api-ok-1", "con-000082")).status_code == 201
    backfill = admin.post("/events", json=event("api-backfill", "con-000082", "assigned", actor_id="ana"))
    assert backfill.status_code == 201, backfill.text


def test_decision_equals_batch_derive(admin: httpx.Client) -> None:
    contact = "con-000020"
    got = admin.post(
        "/events",
        json={
            "events": [
                event("api-d1", contact, "pricing_view", topic="pricing"),
                event("api-d2", contact, "demo_request"),
            ]
        },
    )
    assert got.status_code == 200, got.text
    (decision,) = got.json()["decisions"]
    derived = admin.post("/run/derive")
    assert derived.status_code == 200, derived.text
    lead = admin.get(f"/contacts/{contact}").json()
    for key in ("score", "fit", "intent", "committee", "tier", "motion", "stage"):
        assert decision[key] == lead["lead"][key], key
    top = [(d["label"], d["points"]) for d in lead["drivers"][:5]]
    assert [(d["label"], d["points"]) for d in decision["drivers"]] == top
    # the handoff context a rep acts on: the why-now drivers are the lead's top drivers
    why_now = [(d["label"], d["points"]) for d in lead["context"]["why_now"]]
    assert why_now and why_now == top[: len(why_now)]
    assert lead["derived"]["stale"] is False


def test_route_and_clock_of_an_assigned_lead(admin: httpx.Client) -> None:
    contact = "con-000030"
    admin.post(
        "/events", json=event("api-as1", contact, "assigned", at="2026-11-02T10:00:00Z", actor_id="sam")
    )
    got = admin.post("/events", json=event("api-as2", contact, "page_view", at="2026-11-02T11:30:00Z"))
    (decision,) = got.json()["decisions"]
    assert decision["route"]["owner"] == "sam" and decision["route"]["status"] == "assigned"
    assert decision["sla_deadline"] is not None
    assert {c["sla"] for c in decision["clocks"]} <= {"first_touch", "disposition"}
    # every instant an answer carries is UTC text, the handoff's too
    handoff = admin.get(f"/contacts/{contact}").json()["handoff"]
    assert handoff == {"type": "assigned", "by": "sam", "at": "2026-11-02T10:00:00Z"}
    queue = admin.get("/queue/sam").json()
    assert contact in {i["contact_id"] for i in queue["items"]}
    mine = next(i for i in queue["items"] if i["contact_id"] == contact)
    assert mine["context"] is not None and isinstance(mine["context"]["why_now"], list)


# ---- dispositions, touches --------------------------------------------------------------------


def test_dispositions_by_owner_and_refusals(
    served: tuple[Server, dict[str, str]], admin: httpx.Client
) -> None:
    server, keys = served
    for i, contact in enumerate(["con-000040", "con-000041", "con-000042"]):
        admin.post(
            "/events",
            json=event(f"api-own{i}", contact, "assigned", at="2026-11-02T09:00:00Z", actor_id="sam"),
        )
    with client(keys["rep"], base_url=server.url) as sam:
        touched = sam.post("/contacts/con-000040/touches", json={"type": "call_attempt"})
        assert touched.status_code == 201, touched.text
        once = {"type": "email_sent", "event_id": "api-touch1", "at": "2026-11-02T09:30:00Z"}
        first = sam.post("/contacts/con-000040/touches", json=once)
        assert first.status_code == 201 and first.json()["new"] is True, first.text
        # a retry answers with the touch as stored: its instant, not the retry's
        again = sam.post(
            "/contacts/con-000040/touches", json={"type": "email_sent", "event_id": "api-touch1"}
        )
        assert again.status_code == 200, again.text
        assert again.json()["at"] == "2026-11-02T09:30:00Z" and again.json()["new"] is False
        nul = sam.post("/contacts/con-000040/touches", json={"type": "call_attempt", "event_id": "t\u0000"})
        assert any("control character" in e["message"] for e in is_problem(nul, 422)["errors"])
        assert sam.post("/contacts/con-000040/accept", json={}).status_code == 201
        twice = is_problem(sam.post("/contacts/con-000040/accept", json={}), 409)
        assert "already accepted" in twice["detail"]
        no_reason = is_problem(sam.post("/contacts/con-000041/reject", json={}), 422)
        assert any("reason_code" in e["path"] for e in no_reason["errors"])
        bad_code = is_problem(sam.post("/contacts/con-000041/reject", json={"reason_code": "bad_fitt"}), 400)
        assert "bad_fit" in (bad_code.get("hint") or "")
        assert sam.post("/contacts/con-000041/reject", json={"reason_code": "bad_fit"}).status_code == 201
        past = is_problem(sam.post("/contacts/con-000042/recycle", json={"until": "2026-10-01"}), 400)
        assert "future" in past["detail"]
        assert sam.post("/contacts/con-000042/recycle", json={"until": "2027-01-15"}).status_code == 201
        is_problem(sam.post("/contacts/con-000999/accept", json={}), 404)
        is_problem(sam.post("/contacts/con-000050/accept", json={}), 409)  # nobody owns it


def test_report_after_changes_still_matches_its_shape(admin: httpx.Client) -> None:
    body = admin.get("/reports/scorecard").json()
    assert body["report"] == "scorecard" and body["sections"]


# ---- spec -------------------------------------------------------------------------------------------


def test_spec_read_validate_replace(admin: httpx.Client) -> None:
    spec = admin.get("/spec").json()
    assert spec["version"] and "stages" in spec["text"]
    ok = admin.post("/spec/validate", content=spec["text"], headers={"content-type": "application/yaml"})
    assert ok.status_code == 200 and ok.json() == {
        "ok": True,
        "version": spec["version"],
        "hash": spec["hash"],
    }
    broken = spec["text"].replace("mql_stage: evaluation", "mql_stage: evalution")
    problem = is_problem(
        admin.post("/spec/validate", content=broken, headers={"content-type": "application/yaml"}), 422
    )
    (first,) = [e for e in problem["errors"] if "mql_stage" in e["path"]]
    assert first["line"] and "evaluation" in (first["hint"] or "") + first["message"]
    garbage = is_problem(
        admin.post("/spec/validate", content="a: [", headers={"content-type": "text/yaml"}), 422
    )
    assert garbage["errors"][0]["line"] == 1
    as_json = admin.post("/spec/validate", json={"text": spec["text"]})
    assert as_json.status_code == 200
    is_problem(admin.post("/spec/validate", content=b"\xff\xfe", headers={"content-type": "text/yaml"}), 422)
    is_problem(admin.post("/spec/validate", content="x", headers={"content-type": "image/png"}), 415)
    refused = is_problem(
        admin.put("/spec", content=broken, headers={"content-type": "application/yaml"}), 422
    )
    assert refused["errors"]
    assert admin.get("/spec").json()["hash"] == spec["hash"]  # unchanged
    renamed = spec["text"].replace("name: Northwind Analytics", "name: Northwind Analytics (API)", 1)
    replaced = admin.put("/spec", content=renamed, headers={"content-type": "application/yaml"})
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["previous_hash"] == spec["hash"]
    after = admin.get("/spec").json()
    assert after["hash"] == replaced.json()["hash"] != spec["hash"]
    assert after["name"] == "Northwind Analytics (API)"
    back = admin.put("/spec", content=spec["text"], headers={"content-type": "application/yaml"})
    assert back.json()["hash"] == spec["hash"]


# ---- errors, auth, audit ----------------------------------------------------------------------------


def test_problem_json_shapes(served: tuple[Server, dict[str, str]], admin: httpx.Client) -> None:
    server, _ = served
    assert is_problem(admin.get("/nowhere"), 404)["detail"].startswith("no such path")
    is_problem(admin.delete("/leads"), 405)
    is_problem(admin.get("/contacts/con-999999"), 404)
    is_problem(admin.get("/accounts/acc-nope"), 404)
    is_problem(admin.get("/opportunities/opp-nope"), 404)
    is_problem(admin.get("/leads", params={"tier": "Tier 9"}), 400)
    is_problem(admin.get("/leads", params={"limit": "0"}), 422)
    is_problem(admin.get("/queue/nobody"), 404)
    assert admin.get("/accounts/acc-00002").json()["contacts"]
    missing = is_problem(httpx.get(server.url + "/leads"), 401)
    assert "Authorization" in missing["detail"]
    is_problem(httpx.get(server.url + "/leads", headers={"Authorization": "Bearer acc_nope_nope"}), 401)
    is_problem(httpx.get(server.url + "/leads", headers={"X-API-Key": "garbage"}), 401)


def test_key_by_header_cookie_and_revocation(
    served: tuple[Server, dict[str, str]], admin: httpx.Client
) -> None:
    server, keys = served
    assert httpx.get(server.url + "/spec", headers={"X-API-Key": keys["viewer"]}).status_code == 200
    assert httpx.get(server.url + "/spec", cookies={"accord_key": keys["viewer"]}).status_code == 200
    made = admin.post("/keys", json={"person": "omar", "role": "viewer", "label": "temp"})
    assert made.status_code == 201, made.text
    key, key_id = made.json()["key"], made.json()["key_id"]
    assert httpx.get(server.url + "/spec", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    listed = admin.get("/keys").json()["keys"]
    assert key_id in {k["key_id"] for k in listed} and all("key" not in k and "hash" not in k for k in listed)
    revoked = admin.delete(f"/keys/{key_id}").json()
    assert revoked["revoked_at"].endswith("Z") and revoked["created_at"].endswith("Z")  # as every instant
    is_problem(httpx.get(server.url + "/spec", headers={"Authorization": f"Bearer {key}"}), 401)
    is_problem(admin.post("/keys", json={"person": "nobody", "role": "viewer"}), 400)
    is_problem(admin.post("/keys", json={"person": "omar", "role": "god"}), 422)


def test_every_write_is_audited(served: tuple[Server, dict[str, str]], admin: httpx.Client) -> None:
    server, keys = served
    with client(keys["viewer"], base_url=server.url) as viewer:
        is_problem(viewer.post("/events", json=event("api-aud", "con-000011")), 403)
    admin.post("/events", json=event("api-aud2", "con-000011"), params={"decide": "false"})
    rows = admin.get("/audit", params={"limit": 50}).json()["audit"]
    refused = next(r for r in rows if r["status"] == 403 and r["path"] == "/api/v1/events")
    assert (refused["person"], refused["role"], refused["method"]) == ("grace", "viewer", "POST")
    done = next(r for r in rows if r["status"] == 201 and r["path"] == "/api/v1/events")
    assert done["person"] == "dana" and done["detail"]["stored"] == 1
    assert all(r["method"] != "GET" for r in rows)
    assert {"at", "key_id", "person", "role", "method", "path", "status", "detail"} <= set(rows[0])
    assert all(r["at"].endswith("Z") for r in rows)


def test_health_needs_no_key(served: tuple[Server, dict[str, str]]) -> None:
    server, _ = served
    body = httpx.get(server.url + "/health").json()
    assert body["status"] == "ok" and body["now"] == "2026-11-02T12:00:00Z"
    schema = httpx.get(server.url + "/openapi.json").json()
    assert "/api/v1/events" in schema["paths"]
    # the refusals every keyed operation can give are in the document (they once were not)
    assert {"401", "403", "429", "413"} <= set(schema["paths"]["/api/v1/events"]["post"]["responses"])
    assert {"401", "403", "429"} <= set(schema["paths"]["/api/v1/spec"]["get"]["responses"])
    assert "413" not in schema["paths"]["/api/v1/spec"]["get"]["responses"]
    assert "401" not in schema["paths"]["/api/v1/health"]["get"]["responses"]
    assert httpx.get(server.url + "/docs").status_code == 200


def test_rate_limit_answers_429(tmp_path: Path, api_store: Store) -> None:
    root, store = tmp_path / "small", api_store.another()
    with store.active():
        service.init_workspace(root)
    (key,) = make_keys(root, {"viewer": "dana"}, store).values()
    server = Server(root, args=("--rate-per-minute", "5"), store=store).start()
    try:
        with client(key, base_url=server.url) as c:
            assert [c.get("/spec").status_code for _ in range(5)] == [200] * 5
            limited = is_problem(c.get("/spec"), 429)
            assert "5 requests a minute" in limited["detail"]
            assert int(c.get("/spec").headers["retry-after"]) >= 1
        assert httpx.get(server.url + "/health").status_code == 200  # no key, not metered
        with client("not-a-key", base_url=server.url) as guess:  # guesses share one budget per address
            assert [guess.get("/spec").status_code for _ in range(5)] == [401] * 5
            assert "too many unknown keys" in is_problem(guess.get("/spec"), 429)["detail"]
    finally:
        server.stop()


def test_docs_hold_the_permission_matrix() -> None:
    text = (REPO_DOCS / "api.md").read_text(encoding="utf-8")
    assert matrix_markdown() in text
    tables = [block for block in text.split("\n\n") if block.startswith("| action |")]
    assert tables == [matrix_markdown().rstrip("\n")]
