"""Every cell of the permission matrix over real HTTP, then the domain rule on top of it.

For each action, one endpoint is called by a key of every role with a request that cannot do harm:
a body the route would refuse (422) if the caller passes the permission check. FastAPI checks the
caller before it reports a bad body, so an allowed role gets 2xx or a 4xx other than 403, and a denied
role gets exactly 403. Only the `run` action does real work (a derive), for the two roles allowed it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from accord.api.permissions import MATRIX, Action, Role
from tests.api_server import Server, Store, client, copy_demo, is_problem, make_keys

pytestmark = pytest.mark.slow

Call = Callable[[httpx.Client], httpx.Response]
CALLS: dict[Action, Call] = {
    Action.read: lambda c: c.get("/leads", params={"limit": 1}),
    Action.ingest: lambda c: c.post("/events", json={}),
    Action.disposition: lambda c: c.post("/contacts/con-000060/reject", json={}),
    Action.touch: lambda c: c.post("/contacts/con-000060/touches", json={}),
    Action.validate_spec: lambda c: c.post(
        "/spec/validate", content="a: [", headers={"content-type": "text/yaml"}
    ),
    Action.change_spec: lambda c: c.put("/spec", content="a: [", headers={"content-type": "text/yaml"}),
    Action.run: lambda c: c.post("/run/derive"),
    Action.manage_keys: lambda c: c.get("/keys"),
    Action.read_audit: lambda c: c.get("/audit", params={"limit": 1}),
    Action.propose_change: lambda c: c.post("/proposals", json={}),
    Action.decide_change: lambda c: c.post("/proposals/p404/approve"),
}


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, api_store: Store
) -> Iterator[tuple[Server, dict[str, str]]]:
    root = copy_demo(tmp_path_factory.mktemp("perm") / "ws", api_store)
    keys = make_keys(root, store=api_store)
    extra = make_keys(root, {"rep": "lee", "sales_manager": "hugo"}, api_store)
    keys.update({"rep_lee": extra["rep"], "manager_hugo": extra["sales_manager"]})
    server = Server(root, store=api_store).start()
    try:
        admin = client(keys["admin"], base_url=server.url)
        for i, (contact, owner) in enumerate(
            [("con-000060", "sam"), ("con-000061", "sam"), ("con-000062", "lee"), ("con-000063", "sam")]
        ):
            assigned = {"event_id": f"perm-a{i}", "occurred_at": "2026-11-02T09:00:00Z", "type": "assigned",
                        "contact_id": contact, "actor_id": owner}  # fmt: skip
            assert admin.post("/events", json=assigned, params={"decide": "false"}).status_code == 201
        admin.close()
        yield server, keys
    finally:
        server.stop()


def test_every_action_is_covered() -> None:
    assert set(CALLS) == set(Action) == set(MATRIX)


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
@pytest.mark.parametrize("action", list(Action), ids=lambda a: a.value)
def test_matrix_cell(served: tuple[Server, dict[str, str]], action: Action, role: Role) -> None:
    server, keys = served
    with client(keys[role.value], base_url=server.url) as c:
        response = CALLS[action](c)
    if role in MATRIX[action]:
        assert response.status_code != 403, (action, role, response.text[:300])
        assert response.status_code < 500
    else:
        body = is_problem(response, 403)
        assert role.value in body["detail"]


def test_rep_dispositions_only_their_own_leads(served: tuple[Server, dict[str, str]]) -> None:
    server, keys = served
    with client(keys["rep"], base_url=server.url) as sam, client(keys["rep_lee"], base_url=server.url) as lee:
        refused = is_problem(lee.post("/contacts/con-000061/accept", json={}), 403)
        assert "only sam (the owner) or marco (their manager)" in refused["detail"]
        is_problem(lee.post("/contacts/con-000061/touches", json={"type": "call_attempt"}), 403)
        is_problem(sam.post("/contacts/con-000062/accept", json={}), 403)
        assert sam.post("/contacts/con-000061/accept", json={}).status_code == 201
        assert lee.post("/contacts/con-000062/touches", json={"type": "email_sent"}).status_code == 201


def test_manager_acts_on_their_teams_leads_only(served: tuple[Server, dict[str, str]]) -> None:
    server, keys = served
    marco = client(keys["sales_manager"], base_url=server.url)
    hugo = client(keys["manager_hugo"], base_url=server.url)
    with marco, hugo:
        is_problem(hugo.post("/contacts/con-000063/reject", json={"reason_code": "bad_fit"}), 403)
        assert marco.post("/contacts/con-000063/reject", json={"reason_code": "bad_fit"}).status_code == 201
        assert marco.get("/queue/sam").status_code == 200
        assert marco.get("/queue/marco").status_code == 200
        is_problem(marco.get("/queue/tom"), 403)
        assert hugo.get("/queue/tom").status_code == 200


def test_queue_reading_by_role(served: tuple[Server, dict[str, str]]) -> None:
    server, keys = served
    with client(keys["rep"], base_url=server.url) as sam:
        assert sam.get("/queue/sam").status_code == 200
        is_problem(sam.get("/queue/lee"), 403)
    for role in ("admin", "revops", "marketing", "viewer"):
        with client(keys[role], base_url=server.url) as c:
            assert c.get("/queue/lee").status_code == 200, role


def test_the_queues_listed_are_those_the_caller_may_open_with_their_sizes(
    served: tuple[Server, dict[str, str]],
) -> None:
    server, keys = served

    def listed(role: str) -> list[tuple[str, int]]:
        with client(keys[role], base_url=server.url) as c:
            found = c.get("/queues")
            assert found.status_code == 200, found.text
            pairs = [(q["owner"], q["open_leads"]) for q in found.json()["queues"]]
            for owner, n in pairs:  # each one opens, and its count is what it lists
                assert len(c.get(f"/queue/{owner}").json()["items"]) == n, (role, owner)
            return pairs

    sam = listed("rep")
    assert [owner for owner, _ in sam] == ["sam"] and sam[0][1] >= 3  # the module assigned him three
    marco = dict(listed("sales_manager"))
    assert {"marco", "sam", "lee"} <= set(marco) and "tom" not in marco  # tom is not in his team
    everyone = listed("viewer")
    assert {"sam", "lee", "tom", "marco", "hugo"} <= {owner for owner, _ in everyone}
    assert [n for _, n in everyone] == sorted((n for _, n in everyone), reverse=True)  # fullest first
    assert listed("admin") == everyone


def test_viewer_only_reads(served: tuple[Server, dict[str, str]]) -> None:
    server, keys = served
    with client(keys["viewer"], base_url=server.url) as viewer:
        for path in (
            "/leads",
            "/contacts/con-000060",
            "/accounts/acc-00002",
            "/reports",
            "/spec",
            "/queue/sam",
        ):
            assert viewer.get(path).status_code == 200, path
        writes = [
            viewer.post(
                "/events", json={"occurred_at": "2026-11-02T09:00:00Z", "type": "x", "contact_id": "c"}
            ),
            viewer.post("/contacts/con-000060/accept", json={}),
            viewer.post("/contacts/con-000060/touches", json={"type": "call_attempt"}),
            viewer.post("/spec/validate", content="a: 1", headers={"content-type": "text/yaml"}),
            viewer.put("/spec", content="a: 1", headers={"content-type": "text/yaml"}),
            viewer.post("/run/tick"),
            viewer.post("/run/derive"),
            viewer.post("/keys", json={"person": "sam", "role": "admin"}),
            viewer.delete("/keys/anything"),
        ]
        assert [w.status_code for w in writes] == [403] * len(writes)
        is_problem(viewer.get("/audit"), 403)
