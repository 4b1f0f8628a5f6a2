"""Worlds shared by the plays and watch tests, built once per run and copied for each test.

A derive costs seconds; the plays' own logic runs in milliseconds. So the expensive state (a derived
and ticked workspace) is built once and each test works on a copy of its folder.
"""

from __future__ import annotations

import functools
import shutil
from datetime import UTC, datetime
from pathlib import Path

from accord import service
from accord.handoffs.webhooks import dispatch
from accord.plays.engine import PlayTick, tick_plays
from tests.scratch import process_dir

DEMO_AS_OF = datetime(2026, 11, 2, 12, tzinfo=UTC)


@functools.cache
def _demo_root() -> Path:
    root = process_dir("accord-plays-demo-") / "demo"
    service.build_demo(root, contacts=600, seed=4, as_of=DEMO_AS_OF)
    return root


def copy_of(root: Path, tmp_path: Path, name: str = "ws") -> service.Workspace:
    target = tmp_path / name
    shutil.copytree(root, target)
    return service.locate(target)


def demo_copy(tmp_path: Path) -> service.Workspace:
    """The demo world (600 contacts, seed 4) derived and ticked at its last instant, as a fresh copy."""
    return copy_of(_demo_root(), tmp_path, "demo")


def advance_plays(ws: service.Workspace, now: datetime) -> PlayTick:
    """The tick's play step alone: enrol, resolve steps, exit (no derive, no routing)."""
    with ws.ledger() as ledger:
        return tick_plays(ledger, ws.spec, int(now.timestamp()), set())


def send(ws: service.Workspace) -> object:
    with ws.ledger() as ledger:
        return dispatch(ledger, ws.spec)
