"""The server freezes long-lived objects so full collections stay short (api.app.GcSettler); what it
froze as garbage must still be freed, by the periodic sweep."""

from __future__ import annotations

import gc
import time
import weakref

from accord.api.app import GcSettler


class Node:
    """Something that refers to itself: only the cycle collector frees it."""

    def __init__(self) -> None:
        self.me = self


def test_a_cycle_frozen_as_garbage_is_freed_by_the_next_sweep() -> None:
    node = Node()
    ref = weakref.ref(node)
    settler = GcSettler(every=0.05, sweep_every=1.0)
    settler.start()  # collects, then freezes what is alive: the cycle too
    try:
        del node
        time.sleep(0.3)  # several settles: young collections do not walk frozen objects
        assert ref() is not None
        deadline = time.monotonic() + 10
        while ref() is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ref() is None  # the sweep unfroze and collected it
    finally:
        settler.stop.set()
        settler.thread.join(timeout=10)
        gc.unfreeze()
