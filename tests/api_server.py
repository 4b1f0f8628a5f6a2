"""A real `accord serve` process on a free 127.0.0.1 port, for the API tests over real HTTP.

The demo workspace (300 contacts, seed 5) is built once per test process and copied per module, so
each module gets a pristine ledger in milliseconds instead of the ten seconds a build takes. Keys are
created in-process before the server starts (DuckDB lets one process hold the file).
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from accord import service

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
        parent = Path(tempfile.mkdtemp(prefix="accord-api-demo-"))
        atexit.register(shutil.rmtree, parent, ignore_errors=True)
        root = parent / "demo"
        service.build_demo(root, contacts=300, seed=5, as_of=AS_OF)
        _PRISTINE["demo"] = root
    return _PRISTINE["demo"]


def copy_demo(dest: Path) -> Path:
    shutil.copytree(pristine_demo(), dest)
    return dest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_keys(root: Path, people: dict[str, str] | None = None) -> dict[str, str]:
    """One key per role (role -> full key), made before the server holds the ledger."""
    ws = service.locate(root)
    return {
        role: service.create_key(ws, person, role, f"test {role}")[1]
        for role, person in (people or ROLES).items()
    }


@dataclass
class Server:
    """`accord serve` in a subprocess; ``url`` is the API root (…/api/v1)."""

    root: Path
    port: int = field(default_factory=free_port)
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return self.base + "/api/v1"

    def start(self, timeout: float = 90.0) -> Server:
        env = {k: v for k, v in os.environ.items() if k != "ACCORD_TEST_FAULT"}
        env.update({"ACCORD_NOW": NOW, **self.env})
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
