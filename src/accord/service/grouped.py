"""Writes that arrive together share one transaction.

Every write to the ledger ends in a durable commit, which costs about the same for one row as for a
hundred. A server answering many small requests (one event each, one audit row each) spends most of
its write time on those commits and queues behind them. A :class:`GroupWriter` lets whoever finds
the writer idle commit everything queued so far, while later arrivals wait for the next round: each
caller still returns only once its own rows are committed, so nothing is acknowledged before it is
stored.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar


@dataclass
class Waiting:
    """One caller's part of a group: set done (and error, if the group's write failed) by the writer."""

    done: bool = False
    error: BaseException | None = None
    # Released to wake the part's caller: its group is written, or it leads the next one. Held from
    # the moment the part is queued (see GroupWriter.run).
    wake: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)


W = TypeVar("W", bound=Waiting)


class GroupWriter(Generic[W]):
    """Runs ``write`` over the parts queued while the previous write ran, in arrival order.

    ``fits(group, part)`` may keep a part out of a group (it then goes in the next one); the first
    part queued always fits, so every part is written eventually. At most ``most`` parts a group.

    Each waiting caller sleeps on its own lock, and a finished write wakes exactly its group's
    callers and the caller that leads the next write. A condition notified for all woke every
    waiting request thread after each write (some thirty on a loaded server), each to find it was
    not yet its turn, and those wake-ups kept the next write waiting for the interpreter.
    """

    def __init__(
        self,
        write: Callable[[list[W]], None],
        *,
        fits: Callable[[list[W], W], bool] | None = None,
        most: int = 64,
    ) -> None:
        self.write, self.fits, self.most = write, fits, most
        self.lock = threading.Lock()
        self.queue: list[W] = []
        self.busy = False

    def run(self, mine: W) -> None:
        """Queue ``mine`` and return once it is written; raise what the write of its group raised."""
        mine.wake.acquire()  # a fresh part's lock is free: released once, by whoever wakes it
        with self.lock:
            self.queue.append(mine)
            lead = not self.busy
            self.busy = True
        if not lead:
            mine.wake.acquire()  # woken when written, or to lead the next write
        if not mine.done:
            self._lead()
        if mine.error is not None:
            raise mine.error

    def _lead(self) -> None:
        """Write the next group (the leader's own part is the first queued, so it is in it); wake its
        callers, and hand the writer to the first part still queued, if any."""
        with self.lock:
            group = self._take()
        try:
            self.write(group)
        except BaseException as exc:  # every part of the group answers with the failure
            for part in group:
                part.error = exc
        finally:
            with self.lock:
                for part in group:
                    part.done = True
                after = self.queue[0] if self.queue else None
                self.busy = after is not None
            for part in group[1:]:
                part.wake.release()
            if after is not None:
                after.wake.release()

    def _take(self) -> list[W]:
        group: list[W] = []
        for part in list(self.queue):
            if len(group) < self.most and (not group or self.fits is None or self.fits(group, part)):
                group.append(part)
                self.queue.remove(part)
        return group
