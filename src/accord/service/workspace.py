"""Workspaces: finding, creating and filling one; the demo world."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from accord.errors import WorkspaceError
from accord.ledger.importer import ImportReport, ImportRequest, run_import
from accord.ledger.postgres import DATABASE_SCHEMA_ENV, DATABASE_URL_ENV, PostgresStore
from accord.ledger.store import LEDGER_FILE, Ledger
from accord.spec.load import load_spec, spec_hash
from accord.spec.model import Spec

SPEC_FILE = "accord.yaml"
STARTER_SPEC = Path(__file__).parent.parent / "starter" / "accord.yaml"
WORKSPACE_ENV = "ACCORD_WORKSPACE"

Progress = Callable[[str, float], None]


@dataclass
class Workspace:
    """A folder holding one agreement (accord.yaml) and its ledger (accord.duckdb)."""

    root: Path

    @property
    def spec_path(self) -> Path:
        return self.root / SPEC_FILE

    @property
    def ledger_path(self) -> Path:
        return self.root / LEDGER_FILE

    @cached_property
    def spec(self) -> Spec:
        return load_spec(self.spec_path)

    @property
    def store_key(self) -> str:
        """Which PostgreSQL schema holds this workspace: $ACCORD_DATABASE_SCHEMA, else the folder's name."""
        return os.environ.get(DATABASE_SCHEMA_ENV) or self.root.resolve().name

    def ledger(self, *, read_only: bool = False) -> Ledger:
        """The ledger: PostgreSQL behind a DuckDB working copy when $ACCORD_DATABASE_URL is set."""
        url = database_url()
        if url:
            return Ledger.open_postgres(url, self.store_key, read_only=read_only)
        return Ledger.open(self.ledger_path, read_only=read_only)


def database_url() -> str | None:
    """The PostgreSQL server of a multi-user deployment, if this process is one."""
    return os.environ.get(DATABASE_URL_ENV) or None


def locate(root: str | Path | None = None) -> Workspace:
    """The workspace named, else $ACCORD_WORKSPACE, else the current folder; refused if incomplete."""
    chosen = Path(root or os.environ.get(WORKSPACE_ENV) or ".").expanduser()
    ws = Workspace(chosen)
    needed = (ws.spec_path,) if database_url() else (ws.spec_path, ws.ledger_path)  # PostgreSQL: no file
    if not all(p.exists() for p in needed):
        missing = [p.name for p in needed if not p.exists()]
        raise WorkspaceError(
            f"{chosen.resolve()} is not an Accord workspace (missing {', '.join(missing)})",
            hint="create one with `accord init DIR` or `accord demo DIR`, or pass --workspace DIR",
        )
    return ws


def init_workspace(root: Path, *, force: bool = False, spec_text: str | None = None) -> Workspace:
    """Write the starter agreement and an empty ledger into a new folder."""
    ws = Workspace(root)
    url = database_url()
    stored = _postgres_exists(url, ws.store_key) if url else False
    if ws.spec_path.exists() or ws.ledger_path.exists() or stored:
        if not force:
            raise WorkspaceError(
                f"{root} already holds a workspace",
                hint="pick another folder, or pass --force to start over (deletes its ledger)",
            )
        ws.spec_path.unlink(missing_ok=True)
        ws.ledger_path.unlink(missing_ok=True)
        ws.ledger_path.with_suffix(".duckdb.wal").unlink(missing_ok=True)
        shutil.rmtree(root / "rejects", ignore_errors=True)
        if url and stored:
            store = PostgresStore(url, ws.store_key)
            try:
                store.drop()
            finally:
                store.close()
    root.mkdir(parents=True, exist_ok=True)
    ws.spec_path.write_text(
        spec_text if spec_text is not None else STARTER_SPEC.read_text("utf-8"), encoding="utf-8"
    )
    if url:
        Ledger.open_postgres(url, ws.store_key, create=True).close()
    else:
        Ledger.create(ws.ledger_path).close()
    return ws


def _postgres_exists(url: str, key: str) -> bool:
    store = PostgresStore(url, key)
    try:
        return store.exists()
    finally:
        store.close()


def validate_spec(path: Path) -> tuple[Spec, str]:
    """Load a spec file and return it with its version hash; SpecError lists every problem."""
    spec = load_spec(path)
    return spec, spec_hash(spec)


def import_file(
    ws: Workspace, request: ImportRequest, progress: Callable[[str], None] | None = None
) -> ImportReport:
    with ws.ledger() as ledger:
        return run_import(ledger, ws.spec, request, ws.root, progress)


def status(ws: Workspace) -> dict[str, Any]:
    """What the workspace holds: spec version, schema version, row counts, recent imports."""
    with ws.ledger(read_only=True) as ledger:
        return {
            "workspace": str(ws.root.resolve()),
            "agreement": ws.spec.workspace.name,
            "spec_version": spec_hash(ws.spec),
            "schema_version": ledger.schema_version(),
            "counts": ledger.counts(),
            "imports": ledger.imports()[-5:],
        }
