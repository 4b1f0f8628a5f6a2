"""The agreement's text as a use case: read it, check a proposal, replace it atomically.

A proposed spec is validated completely before anything changes; the file is then replaced by an
atomic rename, so a reader sees the old text or the new one, never half of each. The ledger is not
touched: derived tables keep the version they were derived with until the next derive.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass

from accord.service.hosted import HostedWorkspace
from accord.service.workspace import Workspace
from accord.spec.load import parse_spec, spec_hash


@dataclass(frozen=True)
class SpecText:
    """The text, the version it declares (``version:``, else its hash) and its content hash."""

    text: str
    version: str
    hash: str
    name: str


def read_spec(ws: Workspace) -> SpecText:
    text = ws.spec_path.read_text(encoding="utf-8")
    spec = ws.spec
    digest = spec_hash(spec)
    return SpecText(text, spec.version or digest, digest, spec.workspace.name)


def check_spec(text: str) -> tuple[str, str]:
    """(declared version, hash) of a proposed spec; SpecError lists every problem with path, line, hint."""
    spec = parse_spec(text, "proposed spec")
    digest = spec_hash(spec)
    return spec.version or digest, digest


def replace_spec(ws: Workspace, text: str) -> tuple[str, str]:
    """Validate, then swap the spec file in one rename; returns (old hash, new hash)."""
    from accord.service.hosted import writing

    _, new_hash = check_spec(text)
    with writing(ws):
        return _swap(ws, text, new_hash)


def _swap(ws: Workspace, text: str, new_hash: str) -> tuple[str, str]:
    old = read_spec(ws).hash
    folder = ws.spec_path.parent
    fd, tmp = tempfile.mkstemp(prefix=".accord-", suffix=".yaml", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, ws.spec_path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    if isinstance(ws, HostedWorkspace):
        ws.reload_spec()
    else:
        ws.__dict__.pop("spec", None)
    return old, new_hash
