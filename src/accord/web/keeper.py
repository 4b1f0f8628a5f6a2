"""The dashboard keeper: the unfiltered dashboard built before anyone asks, and rebuilt after writes.

Building the revenue dashboard reads every report; the keeper builds it on a thread of its own at
start and whenever a write pokes it, so `/` answers from memory (a build whose data did not change
is a cache hit).
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Request

from accord import service
from accord.reports.base import Filters
from accord.web import dashboard
from accord.web.context import PAGES, _choices, _stamp, log


def _dashboard_view(ws: service.Workspace, filters: Filters) -> dashboard.DashboardView:
    key = (*_stamp(ws), filters)
    return PAGES.get_or_build(key, lambda: dashboard.build(ws, filters))


def _warm(request: Request) -> None:
    """After a write or a sign-in: have the keeper rebuild the unfiltered dashboard now."""
    keeper = getattr(request.app.state, "dashboard_keeper", None)
    if isinstance(keeper, Keeper):
        keeper.poke()


def _build_quietly(ws: service.Workspace) -> None:
    try:
        _dashboard_view(ws, Filters())
        _choices(ws, _stamp(ws))
    except Exception:  # a warm-up is an optimisation; the page builds it again if this failed
        log.debug("dashboard warm-up failed", exc_info=True)


class Keeper:
    """Keeps the unfiltered dashboard built, so `/` answers from memory; one thread, one build at a time.

    It builds once at start for the first visitor, and again when poked (a disposition, a touch or a
    sign-in through the dashboard). While someone has viewed the dashboard in the last ``idle``
    seconds it also looks every ``every`` seconds for new data (the background tick re-derives every
    minute) and rebuilds before anyone asks. A build whose data did not change is a cache hit.
    """

    def __init__(self, ws: service.Workspace, every: float = 10.0, idle: float = 1800.0) -> None:
        self.ws, self.every, self.idle = ws, every, idle
        self.viewed = float("-inf")
        self.poked = True  # build once at start
        self.stop = threading.Event()
        self.wake = threading.Event()
        self.thread = threading.Thread(target=self._run, name="accord-dashboard-keeper", daemon=True)

    def poke(self) -> None:
        self.poked = True
        self.wake.set()

    def _run(self) -> None:
        while not self.stop.is_set():
            if self.poked or time.monotonic() - self.viewed < self.idle:
                self.poked = False
                _build_quietly(self.ws)
            self.wake.wait(self.every)
            self.wake.clear()

    def close(self) -> None:
        self.stop.set()
        self.wake.set()
        self.thread.join(timeout=30)


@asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """Start the keeper with the app; stop it before the app closes the workspace."""
    keeper = Keeper(app.state.workspace)
    app.state.dashboard_keeper = keeper
    keeper.thread.start()
    try:
        yield
    finally:
        keeper.close()
