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
from dataclasses import dataclass
from typing import Generic, TypeVar


@dataclass
class Waiting:
    """One caller's part of a group: set done (and error, if the group's write failed) by the writer."""

    done: bool = False
    error: BaseException | None = None


W = TypeVar("W", bound=Waiting)


class GroupWriter(Generic[W]):
    """Runs ``write`` over the parts queued while the previous write ran, in arrival order.

    ``fits(group, part)`` may keep a part out of a group (it then goes in the next one); the first
    part queued always fits, so every part is written eventually. At most ``most`` parts a group.
    """

    def __init__(
        self,
        write: Callable[[list[W]], None],
        *,
        fits: Callable[[list[W], W], bool] | None = None,
        most: int = 64,
    ) -> None:
        self.write, self.fits, self.most = write, fits, most
        self.cond = threading.Condition()
        self.queue: list[W] = []
        self.busy = False

    def run(self, mine: W) -> None:
        """Queue ``mine`` and return once it is written; raise what the write of its group raised."""
        with self.cond:
            self.queue.append(mine)
            while not mine.done:
                if self.busy:
                    self.cond.wait()
                    continue
                self.busy = True
                group = self._take()
                self.cond.release()
                try:
                    self.write(group)
                except BaseException as exc:  # every part of the group answers with the failure
                    for part in group:
                        part.error = exc
                finally:
                    self.cond.acquire()
                    for part in group:
                        part.done = True
                    self.busy = False
                    self.cond.notify_all()
        if mine.error is not None:
            raise mine.error

    def _take(self) -> list[W]:
        group: list[W] = []
        for part in list(self.queue):
            if len(group) < self.most and (not group or self.fits is None or self.fits(group, part)):
                group.append(part)
                self.queue.remove(part)
        return group
