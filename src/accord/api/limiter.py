"""Per-key token buckets: a burst up to the per-minute budget, refilled evenly over the minute.

In memory and per process: ``accord serve`` is one process, and a restart forgiving a minute of budget
is harmless. Measured on wall time (``time.monotonic``), not the injectable business clock: the limit
protects the server, whose load happens in real time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Limiter:
    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = max(1, int(per_minute))
        self.rate = self.per_minute / 60.0
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill)
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Spend one token; 0 when allowed, else the seconds until a token is available."""
        with self._lock:
            t = self.clock()
            tokens, last = self._buckets.get(key, (float(self.per_minute), t))
            tokens = min(float(self.per_minute), tokens + (t - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, t)
                return 0.0
            self._buckets[key] = (tokens, t)
            return (1.0 - tokens) / self.rate
