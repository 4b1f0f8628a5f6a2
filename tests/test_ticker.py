"""The server's background tick derives again only when something was written, or after a while."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from accord import service
from accord.api.app import REDERIVE_EVERY, Ticker
from tests.test_handoffs import ny, workspace


def _runs(ws: service.Workspace) -> int:
    with ws.ledger(read_only=True) as ledger:
        row = ledger.con.execute("SELECT count(*) FROM derive_runs").fetchone()
    return int(row[0]) if row else 0


def test_the_background_tick_skips_a_derive_when_nothing_was_written(tmp_path: Path) -> None:
    """Deriving the demo holds the write lock for 10 to 30 s: once a minute with nothing new, ingest
    waited for most of every minute."""
    root = workspace(tmp_path).root
    held = service.hold(root)
    moments = iter([ny(11, 23, 9, 30), ny(11, 23, 9, 31), ny(11, 23, 9, 32), ny(11, 23, 9, 33)])
    now: list[datetime] = [next(moments)]
    ticker = Ticker(held, lambda: now[0], every=60)
    try:
        ticker.tick_once()  # first: derives, routes c1 (writes its assignment)
        assert ticker.last["derived"] and ticker.last["written"]["assigned"] == 1, ticker.last
        now[0] = next(moments)
        ticker.tick_once()  # the assignment was written after the derive: derived once more
        assert ticker.last["derived"] and sum(ticker.last["written"].values()) == 0, ticker.last
        runs = _runs(held)
        now[0] = next(moments)
        ticker.tick_once()  # nothing new: the clocks advance on the last derive
        assert not ticker.last["derived"] and "error" not in ticker.last, ticker.last
        assert _runs(held) == runs
        service.touch(held, "c1", _owner(held), "call_attempt", now=now[0])
        now[0] = next(moments)
        ticker.tick_once()  # a touch was written: derived again
        assert ticker.last["derived"] and _runs(held) == runs + 1
        now[0] = now[0] + REDERIVE_EVERY + timedelta(seconds=1)
        ticker.tick_once()  # nothing new, but the last derive is old: derived again
        assert ticker.last["derived"] and _runs(held) == runs + 2
    finally:
        held.close()


def _owner(ws: service.Workspace) -> str:
    with ws.ledger(read_only=True) as ledger:
        row = ledger.con.execute("SELECT actor_id FROM events WHERE type = 'assigned'").fetchone()
    assert row is not None
    return str(row[0])
