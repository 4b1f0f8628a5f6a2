"""A real `accord serve` process on a free 127.0.0.1 port, for the API tests over real HTTP.

The demo workspace (300 contacts, seed 5) is built once per test process and copied per module, so
each module gets a pristine ledger in milliseconds instead of the ten seconds a build takes. Keys are
created in-process before the server starts (DuckDB lets one process hold the file).

Each API module runs once per store (:class:`Store`): the DuckDB file, and PostgreSQL in a schema of
the module's own, filled from the same pristine demo file, so both servers start from equal ledgers.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from accord import service
from accord.ledger.postgres import DATABASE_SCHEMA_ENV, DATABASE_URL_ENV
from accord.ledger.store import LEDGER_FILE, Ledger
from accord.service.hosted import hold
from tests.scratch import process_dir

AS_OF = datetime(2026, 11, 2, 12, tzinfo=UTC)
NOW = "2026-11-02T12:00:00Z"
ACCORD = Path(sys.executable).parent / "accord"
REPO_DOCS = Path(__file__).resolve().parent.parent / "docs"
ROLES = {  # role -> the person its test key belongs to
    "admin": "dana",
    "revops": "priya",
    "marketing": "lena",
    "sales_manager": "marco",
    "rep": "sam",
    "viewer": "grace",
}
_PRISTINE: dict[str, Path] = {}


def pristine_demo() -> Path:
    """The demo workspace, built once per test process; never served, never changed (copy it)."""
    if "demo" not in _PRISTINE:
        parent = process_dir("accord-api-demo-")
        atexit.register(shutil.rmtree, parent, ignore_errors=True)
        root = parent / "demo"
        service.build_demo(root, contacts=300, seed=5, as_of=AS_OF)
        _PRISTINE["demo"] = root
    return _PRISTINE["demo"]


@dataclass(frozen=True)
class Store:
    """Where a test workspace's ledger lives: the DuckDB file, or a PostgreSQL schema of its own."""

    kind: str = "duckdb"
    url: str | None = None
    schema: str | None = None

    @classmethod
    def postgres(cls, url: str) -> Store:
        return cls("postgres", url, f"t{uuid.uuid4().hex[:12]}")

    def another(self) -> Store:
        """The same kind of store for another workspace (on PostgreSQL: a schema of its own)."""
        return Store.postgres(self.url) if self.url else Store()

    @property
    def env(self) -> dict[str, str]:
        """What a server process needs in its environment to open this store."""
        if self.url is None or self.schema is None:
            return {}
        return {DATABASE_URL_ENV: self.url, DATABASE_SCHEMA_ENV: self.schema}

    @contextmanager
    def active(self) -> Iterator[None]:
        """This process opens workspaces on this store for the duration (and only then)."""
        saved = {k: os.environ.get(k) for k in (DATABASE_URL_ENV, DATABASE_SCHEMA_ENV)}
        for k in saved:
            os.environ.pop(k, None)
        os.environ.update(self.env)
        try:
            yield
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def copy_demo(dest: Path, store: Store | None = None) -> Path:
    """A pristine copy of the demo on ``store``: the folder, and on PostgreSQL every table of the file."""
    shutil.copytree(pristine_demo(), dest)
    if store is None or store.kind == "duckdb":
        return dest
    source = dest / LEDGER_FILE
    assert store.url and store.schema
    with Ledger.open_postgres(store.url, store.schema, create=True) as ledger:
        declared = set(ledger.copy.declared)  # tables the migrations made; the rest are derived
        ledger.con.execute(f"ATTACH '{source}' AS pristine (READ_ONLY)")
        found = ledger.con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'pristine'"
        ).fetchall()
        with ledger.transaction():
            for (table,) in found:
                if table in declared:
                    if table == "accord_migrations":
                        continue  # the schema's own, written by its migrations
                    ledger.con.execute(f"INSERT INTO {table} SELECT * FROM pristine.{table}")
                    ledger.replicate(table, upsert=False)
                else:
                    ledger.con.execute(f"CREATE TABLE {table} AS SELECT * FROM pristine.{table}")
                    ledger.replace_stored(table)
        ledger.con.execute("DETACH pristine")
    source.unlink()  # the server must read PostgreSQL; a stray file would hide a wrong setting
    return dest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_keys(root: Path, people: dict[str, str] | None = None, store: Store | None = None) -> dict[str, str]:
    """One key per role (role -> full key), made before the server holds the ledger.

    The workspace is held as a server holds it, so PostgreSQL loads its working copy once, not twice
    per key.
    """
    with (store or Store()).active():
        ws = hold(root)
        try:
            return {
                role: service.create_key(ws, person, role, f"test {role}")[1]
                for role, person in (people or ROLES).items()
            }
        finally:
            ws.close()


@dataclass
class Server:
    """`accord serve` in a subprocess; ``url`` is the API root (…/api/v1)."""

    root: Path
    port: int = field(default_factory=free_port)
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    store: Store = field(default_factory=Store)
    proc: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return self.base + "/api/v1"

    def start(self, timeout: float = 90.0) -> Server:
        drop = {"ACCORD_TEST_FAULT", DATABASE_URL_ENV, DATABASE_SCHEMA_ENV}
        env = {k: v for k, v in os.environ.items() if k not in drop}
        env.update({"ACCORD_NOW": NOW, **self.store.env, **self.env})
        self.log = self.root.parent / f"serve-{self.port}.log"
        handle = self.log.open("ab")
        command = [str(ACCORD), "serve", "--port", str(self.port), "--tick-every", "0", "-w", str(self.root)]
        self.proc = subprocess.Popen([*command, *self.args], stdout=handle, stderr=subprocess.STDOUT, env=env)
        handle.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"accord serve exited {self.proc.returncode}: {self.log.read_text()[-2000:]}"
                )
            try:
                if httpx.get(self.url + "/health", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"accord serve did not answer /health within {timeout} s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush; what a power cut does to the process."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None


def client(key: str | None, **kw: Any) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(headers=headers, timeout=120.0, **kw)


def is_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """Assert the answer is problem+json with the status; return its body."""
    assert response.status_code == status, (response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert {"type", "title", "status", "detail"} <= set(body)
    return body
