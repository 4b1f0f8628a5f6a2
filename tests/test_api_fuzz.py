"""Schemathesis over every operation of the live server's OpenAPI, as admin: no input gives a 5xx.

It runs once per store (the DuckDB file, then PostgreSQL), so no input finds a path that only one of
them refuses cleanly (fewer examples on PostgreSQL; see EXAMPLES).

Each operation gets a bounded number of generated requests, valid ones (positive) and invalid ones
(negative), derandomized so a failure reproduces. The two on-demand runs (a derive each, seconds) get
two examples (one on PostgreSQL); ingest is fuzzed without decisions (each costs a real-time
evaluation), then a few with.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.result import Ok

from tests.api_server import Server, Store, copy_demo, make_keys

pytestmark = pytest.mark.slow

EXAMPLES = {"duckdb": 12, "postgres": 4}
"""Per operation and mode. Most generated inputs stop at validation, the same code on both stores, so
PostgreSQL gets a third of them: every operation is still called there with valid and invalid input."""
SLOW = {
    "duckdb": {"POST /api/v1/run/derive": 2, "POST /api/v1/run/tick": 2},
    "postgres": {"POST /api/v1/run/derive": 1, "POST /api/v1/run/tick": 1},
}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, api_store: Store) -> Iterator[tuple[Server, str]]:
    root = copy_demo(tmp_path_factory.mktemp("fuzz") / "ws", api_store)
    key = make_keys(root, {"admin": "dana"}, api_store)["admin"]
    server = Server(root, args=("--rate-per-minute", "100000"), store=api_store).start()
    try:
        yield server, key
    finally:
        server.stop()


def _fuzz(
    operation: Any, key: str, base: str, mode: GenerationMode, examples: int, **fixed: Any
) -> list[str]:
    failures: list[str] = []
    strategy = operation.as_strategy(generation_mode=mode, **fixed)

    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        response = case.call(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60)
        if response.status_code >= 500:
            failures.append(
                f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}"
            )
        elif response.status_code >= 400:
            kind = (response.headers.get("content-type") or [""])[0]
            if not kind.startswith("application/problem+json"):
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code} as {kind}")

    try:
        run()
    except Unsatisfiable:  # nothing to make invalid: an operation without parameters or body
        assert mode == GenerationMode.NEGATIVE
    return failures


def test_no_input_gives_a_server_error(served: tuple[Server, str]) -> None:
    server, key = served
    schema = schemathesis.openapi.from_url(server.url + "/openapi.json")
    failures: list[str] = []
    labels = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"
        labels.append(label)
        examples = SLOW[server.store.kind].get(label, EXAMPLES[server.store.kind])
        fixed: dict[str, Any] = {}
        if label == "POST /api/v1/events":
            fixed["query"] = {"decide": "false"}
            failures += _fuzz(operation, key, server.base, GenerationMode.POSITIVE, 3)  # with decisions
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            failures += _fuzz(operation, key, server.base, mode, examples, **fixed)
    assert len(labels) >= 20, labels
    assert not failures, "\n".join(failures[:20])
