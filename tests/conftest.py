"""Shared fixtures: real DuckDB files in temporary folders, the starter spec, the shared CRM data."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

import accord
from accord import service
from accord.spec.load import load_spec
from accord.spec.model import Spec
from tests.api_server import Store

pytest_plugins = ["tests.pg"]

# pytest-xdist workers start with COLUMNS=80, which Rich would fix as the CLI console's width when
# accord.cli is first imported; each CLI test sets the width it needs per invocation instead.
os.environ.pop("COLUMNS", None)

SLOW_FIRST = (
    "test_api_fuzz.py",
    "test_slice_cache.py",
    "test_calibrate.py",
    "test_engine_parity.py",
    "test_ledger.py",
    "test_spark_parity.py",
    "test_api_permissions.py",
    "test_handoffs.py",
    "test_api.py",
    "test_api_kill.py",
    "test_commit_paths.py",
)
"""The files that take longest: 45 s or more each, their tests' times summed over a full run
(2026-11-25). `make test` hands whole files to two workers in collection order; started last, two of
these kept one worker busy for minutes while the other sat idle. Started first, the short files fill
in around them."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(SLOW_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest keep their order


STARTER = Path(accord.__file__).parent / "starter" / "accord.yaml"
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def starter_text() -> str:
    return STARTER.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def starter_spec() -> Spec:
    return load_spec(STARTER)


@pytest.fixture
def workspace(tmp_path: Path) -> service.Workspace:
    """A fresh workspace: starter spec and an empty ledger on disk."""
    return service.init_workspace(tmp_path / "ws")


@pytest.fixture(params=["duckdb", "postgres"])
def any_workspace(request: pytest.FixtureRequest, tmp_path: Path) -> service.Workspace:
    """A fresh workspace on each store: a DuckDB file, then PostgreSQL behind a DuckDB working copy."""
    if request.param == "postgres":
        request.getfixturevalue("on_postgres")
    return service.init_workspace(tmp_path / "ws")


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def api_store(request: pytest.FixtureRequest) -> Store:
    """Each API module runs once per store: the DuckDB file, then PostgreSQL in a schema of its own."""
    if request.param == "postgres":
        return Store.postgres(request.getfixturevalue("pg_url"))
    return Store()


@pytest.fixture(scope="session")
def java() -> None:
    """Tests that start a JVM: in CI a missing Java fails them (`make test` installs it), elsewhere it
    skips them with the package to install."""
    if os.environ.get("JAVA_HOME") or shutil.which("java") or Path("/usr/lib/jvm").exists():
        return
    if os.environ.get("CI"):
        pytest.fail("Java is missing: `make test` installs openjdk-17-jre-headless")
    pytest.skip("Java is missing (install openjdk-17-jre-headless)")


@pytest.fixture
def cli() -> CliRunner:
    return CliRunner()


def _shared_data() -> Path | None:
    candidates = [
        os.environ.get("ACCORD_SHARED_DATA"),
        REPO.parent / "shared" / "data",
        Path("/work/shared/data"),
    ]
    for candidate in candidates:
        if candidate and (Path(candidate) / "olist-marketing-funnel").is_dir():
            return Path(candidate)
    return None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The public CRM data sets; in CI their absence is a failure, never a skip."""
    found = _shared_data()
    if found is None:
        message = (
            "shared CRM data not found: set ACCORD_SHARED_DATA to the folder holding olist-marketing-funnel/"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found
