"""An account's events in the order scoring reads them, kept from one real-time decision to the next.

A server decides after every ingest, on the account's whole history. These lists are what lets a
decision touch only what is new: the sequence of events a slice hands out only grows, so what it
gained since the last look is a suffix of arrivals, and a sorted list takes it by insertion instead
of a re-sort. ``accord.domain.lead`` builds and reads them; nothing here evaluates a rule.
"""

from __future__ import annotations

from bisect import bisect_right, insort
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field

from accord.domain.records import Event
from accord.domain.scoring import Seen


def seen_order(s: Seen) -> tuple[int, str]:
    return (s.event.ts, s.event.event_id)


def _seen_ts(s: Seen) -> int:
    return s.event.ts


def put_in_order(items: list[Seen], s: Seen) -> None:
    """Insert in (ts, event_id) order; the usual case, a later event, appends."""
    if items and seen_order(s) < seen_order(items[-1]):
        insort(items, s, key=seen_order)
    else:
        items.append(s)


@dataclass
class View:
    """The seen list made from one sequence of events (held, so its id stays its own)."""

    events: Sequence[Event]
    seen: list[Seen]  # in (ts, event_id) order
    arrival: list[Seen]  # in the order of ``events``: a longer sequence that extends them appends here
    streams: dict[Hashable, Stream] = field(default_factory=dict)  # carried to the view extending it


class Stream:
    """The events one contact's points read out of a view: its account's (or its own, without one).

    Kept with the view and carried to the view that extends it, then caught up with the events that
    arrived since: a decision on a long account history then touches the new events only. ``arrival``
    only ever grows, so a memo that read the first ``taken`` of them knows what is new.
    """

    def __init__(self, keep: Callable[[Seen], bool], view: View) -> None:
        self.keep = keep
        self.items = [s for s in view.seen if keep(s)]  # (ts, event_id) order; replaced, never changed
        self.arrival = [s for s in view.arrival if keep(s)]
        self.consumed = len(view.arrival)

    def catch_up(self, view: View) -> None:
        if self.consumed == len(view.arrival):
            return
        new = [s for s in view.arrival[self.consumed :] if self.keep(s)]
        self.consumed = len(view.arrival)
        if not new:
            return
        self.arrival.extend(new)
        items = list(self.items)  # a memo may hold the old list
        for s in new:
            put_in_order(items, s)
        self.items = items

    def upto(self, as_of: int) -> list[Seen]:
        """The stream's events at or before ``as_of``: a prefix, as they are in time order."""
        items = self.items
        if not items or items[-1].event.ts <= as_of:
            return items
        return items[: bisect_right(items, as_of, key=_seen_ts)]


class SortedSeen:
    """Items in (ts, event_id) order with their instants, for "those in (lo, hi]" by bisection."""

    def __init__(self, items: Sequence[Seen]) -> None:
        self.items = list(items)
        self.ts = [s.event.ts for s in self.items]
        self._shared = False  # the lists are another instance's too: copy them before a change

    def upto(self, t: float) -> int:
        return bisect_right(self.ts, t)

    def between(self, lo: float, hi: int) -> list[Seen]:
        """Items with lo < ts <= hi."""
        return self.items[bisect_right(self.ts, lo) : bisect_right(self.ts, hi)]

    def add(self, s: Seen) -> None:
        """Insert in (ts, event_id) order; the usual case, a later event, appends."""
        if self._shared:
            self.items, self.ts, self._shared = list(self.items), list(self.ts), False
        ts, eid = s.event.ts, s.event.event_id
        i = len(self.ts)
        if i and (self.ts[-1] > ts or (self.ts[-1] == ts and self.items[-1].event.event_id > eid)):
            i = bisect_right(self.ts, ts)
            while i and self.ts[i - 1] == ts and self.items[i - 1].event.event_id > eid:
                i -= 1
        self.items.insert(i, s)
        self.ts.insert(i, ts)

    def copy(self) -> SortedSeen:
        """A copy sharing the lists until either side adds (most lists gain nothing per call)."""
        out = SortedSeen.__new__(SortedSeen)
        out.items, out.ts, out._shared = self.items, self.ts, True
        self._shared = True
        return out
