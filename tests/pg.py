"""A throwaway PostgreSQL 15 cluster for the tests that run the ledger on PostgreSQL.

initdb refuses root, so as root the cluster is made and run as the ``postgres`` user; it listens on
127.0.0.1 only, on a free port, with its sockets in the temporary folder, and stops at the end.
Missing binaries skip those tests on a laptop and fail them in CI (``make system-deps`` installs them).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_BIN = Path(os.environ.get("ACCORD_PG_BIN", "/usr/lib/postgresql/15/bin"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(args: list[str], as_postgres: bool) -> None:
    command = ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(args)] if as_postgres else args
    subprocess.run(command, check=True, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """The URL of a fresh cluster shared by the session; each test takes its own schema."""
    if not (PG_BIN / "initdb").exists():
        message = (
            f"PostgreSQL 15 binaries not found in {PG_BIN}: run `make system-deps` (installs postgresql)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    as_postgres = os.geteuid() == 0
    root = Path(tempfile.mkdtemp(prefix="accord-pg-"))
    (root / "sock").mkdir()
    if as_postgres:
        shutil.chown(root, "postgres", "postgres")
        shutil.chown(root / "sock", "postgres", "postgres")
    data, port = root / "data", _free_port()
    pg_ctl = [str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w"]
    _run([str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
          "--locale=C.UTF-8"], as_postgres)  # fmt: skip
    options = f"'-c listen_addresses=127.0.0.1 -p {port} -k {root / 'sock'} -c fsync=off'"
    _run([*pg_ctl, "-o", options, "start"], as_postgres)
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        _run([*pg_ctl, "-m", "fast", "stop"], as_postgres)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def on_postgres(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point this test's workspaces at PostgreSQL, in a schema of its own; returns the schema key."""
    key = f"t{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("ACCORD_DATABASE_URL", pg_url)
    monkeypatch.setenv("ACCORD_DATABASE_SCHEMA", key)
    return key
