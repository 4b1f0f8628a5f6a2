"""One contact's derive in milliseconds: the reference's definitions, read from sorted lists.

The reference (``domain.reference``) rescans every event at every evaluation point, which is what
makes it easy to check against docs/derive.md and what makes it quadratic. A real-time decision needs
the same answer for one contact now, inside a request. This module computes exactly the reference's
values (the same functions of ``domain.scoring`` build every driver) but finds the events that count
at an instant by bisecting per-rule lists sorted once by (ts, event_id): every rule is evaluated once
per event instead of once per event per point. A property test holds it equal to the reference.
"""

from __future__ import annotations

import operator
from bisect import bisect_left, bisect_right, insort
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from accord.domain.journey import JourneyPoint, MachineState, StageMachine, StageRow, Trigger, wake_ups
from accord.domain.records import Event, coerce, event_row, read_date
from accord.domain.rule_eval import predicate
from accord.domain.scoring import (
    Driver,
    Seen,
    aggregate,
    committee_driver_of,
    compile_rules,
    engagement_types,
    fit_drivers,
    intent_drivers_at,
    ordered,
    total,
)
from accord.domain.streams import SortedSeen, Stream, View, put_in_order, seen_order
from accord.domain.timeline import SECONDS_PER_DAY, local_day, round2
from accord.spec import catalog
from accord.spec.model import Spec
from accord.spec.rule_ast import Type

HANDOFF_RANK = {"assigned": 0, "accepted": 1, "rejected": 2, "recycled": 3}
"""At equal instants the higher rank counts as the latest: an assignment logged in the same second as
its disposition comes before it, so recycled > rejected > accepted > assigned."""


@dataclass(frozen=True)
class LeadPoint:
    """The contact at one evaluation point, before and after the stage machine."""

    ts: int
    trigger: str  # "event" | "as_of" | "wake_up" (an instant that is several is the first of these)
    features: Mapping[str, float | int | None]
    fit: float
    intent: float
    committee: float
    score: float
    tier: str | None
    motion: str | None
    disposition: str | None
    assigned: bool
    candidate: int
    stage_pre: int
    stage: int


@dataclass(frozen=True)
class LeadResult:
    """Every point of one contact, its drivers as of the last instant, and its stage history.

    The points are made when first read: a real-time decision reads only the last one, and making
    every point of a long history on each request cost more than evaluating the new ones.
    """

    contact_id: str
    drivers: list[Driver]
    history: list[StageRow]
    scored: list[dict[str, Any]] = field(repr=False)
    steps: list[tuple[int, int, int]] = field(repr=False)
    triggers: Mapping[int, str] = field(repr=False)  # instants that are not as-of: event or wake_up

    def point(self, i: int) -> LeadPoint:
        p, (_, before, after) = self.scored[i], self.steps[i]
        return LeadPoint(trigger=self.triggers.get(p["ts"], "as_of"), stage_pre=before, stage=after, **p)

    @cached_property
    def points(self) -> list[LeadPoint]:
        return [self.point(i) for i in range(len(self.scored))]

    @property
    def last(self) -> LeadPoint:
        return self.point(len(self.scored) - 1)


_CACHE_LIMIT = 200_000
"""Events whose rule rows an evaluator keeps (about 1 KB each)."""

_MEMO_LIMIT = 2_000
"""Contacts whose evaluated points an evaluator keeps (the most recently evaluated)."""


@dataclass
class _Memo:
    """What one contact's last evaluation read and computed, to resume from its unchanged prefix."""

    profile: Mapping[str, Any]
    roles: Mapping[str, Any]
    stream: list[Seen]  # what the points read, in (ts, event_id) order
    source: Stream  # the stream it was cut from
    taken: int  # how many of the source's events had arrived then
    complete: bool  # the stream was all of the source (none of its events was after the instant)
    instants: list[int]
    scored: list[dict[str, Any]]  # per instant, the point's values before the stage machine
    steps: list[tuple[int, int, int]]  # per instant, (ts, stage before, stage after)
    states: list[MachineState]  # per instant, the machine after it
    machine: StageMachine  # the machine after the last instant (its entries)
    index: _Index  # the stream sorted into what points read, extended by later calls


def _unchanged_before(memo: _Memo, stream: Sequence[Seen]) -> float:
    """The first instant at which the stream differs from the memo's: points before it still hold."""
    old = memo.stream
    for x, y in zip(old, stream, strict=False):
        a, b = x.event, y.event
        if a is not b and a != b:  # the same objects, mostly: the slice cache hands them out again
            return min(a.ts, b.ts)
    if len(old) == len(stream):
        return float("inf")
    return (old[len(stream)] if len(old) > len(stream) else stream[len(old)]).event.ts


_VIEW_LIMIT = 256
"""Event sequences whose seen lists an evaluator keeps (one per busy account, roughly)."""


class _Index:
    """One contact's stream, sorted into every list its points read.

    Kept with the contact's memo and extended by the events a later call adds (a copy is extended, so
    a reader of the old index is never disturbed), so a decision after an ingest touches the new
    events only instead of re-sorting the account's history.
    """

    def __init__(self, evaluator: LeadEvaluator, contact_id: str) -> None:
        self.evaluator, self.contact_id = evaluator, contact_id
        rules = evaluator.rules
        self.contact_scoped = [f.scope == "contact" for _, f, _ in rules.features]
        self.ids: set[str] = set()
        self.features = [SortedSeen([]) for _ in rules.features]
        self.by_signal = [SortedSeen([]) for _ in evaluator.spec.scoring.intent.signals]
        self.intent = SortedSeen([])
        self.engaged: dict[str, list[int]] = {}  # per contact, the instants it engaged, in order
        self._owned: set[str] = set()  # contacts whose engaged list is this index's alone
        self.handoffs: list[tuple[int, int, str]] = []
        self.triggers: dict[int, list[tuple[str, Trigger]]] = {}
        self.times: set[int] = set()

    def copy(self) -> _Index:
        out = _Index.__new__(_Index)
        out.evaluator, out.contact_id, out.contact_scoped = (
            self.evaluator,
            self.contact_id,
            self.contact_scoped,
        )
        out.ids = set(self.ids)
        out.features = [f.copy() for f in self.features]
        out.by_signal = [f.copy() for f in self.by_signal]
        out.intent = self.intent.copy()
        out.engaged, out._owned, self._owned = dict(self.engaged), set(), set()
        out.handoffs = list(self.handoffs)
        out.triggers = {ts: list(found) for ts, found in self.triggers.items()}
        out.times = set(self.times)
        return out

    def add(self, s: Seen) -> None:
        e, evaluator = s.event, self.evaluator
        self.ids.add(e.event_id)
        mine = e.contact_id == self.contact_id
        for k, hit in enumerate(evaluator._feature_hits(s)):
            if hit and (mine or not self.contact_scoped[k]):
                self.features[k].add(s)
        if e.contact_id and e.type in evaluator.engaging:
            if e.contact_id not in self._owned:
                self.engaged[e.contact_id] = list(self.engaged.get(e.contact_id, ()))
                self._owned.add(e.contact_id)
            insort(self.engaged[e.contact_id], e.ts)
        if not mine:
            return
        self.times.add(e.ts)
        if s.signal is not None:
            self.by_signal[s.signal].add(s)
            self.intent.add(s)
        if e.type in HANDOFF_RANK:
            insort(self.handoffs, (e.ts, HANDOFF_RANK[e.type], e.type))
        if e.type in evaluator.regression_types:
            insort(self.triggers.setdefault(e.ts, []), (e.event_id, trigger_of(e)), key=lambda x: x[0])


def trigger_of(event: Event) -> Trigger:
    """The regression-relevant part of an event; a ``recycle_on`` that is not a date is ignored."""
    reason = coerce(event.props.get("reason_code"), Type.STRING)
    return Trigger(event.type, reason, read_date(event.props.get("recycle_on")))


class LeadEvaluator:
    """The spec's rules compiled once; :meth:`evaluate` derives one contact from its account's slice."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.rules = compile_rules(spec)
        rules = self.rules
        self._signal_tests = tuple(predicate(rule) for rule in rules.signals)
        self._feature_tests = tuple(predicate(where) for _, _, where in rules.features)
        self._tier_tests = tuple(predicate(rule) for rule in rules.tiers)
        self._entry_tests = tuple(predicate(rule) for rule in rules.entries)
        data = spec.model_dump(mode="json", by_alias=True)
        self.event_scope = catalog.event_scope(data)
        self.regression_types = {t for r in spec.journey.regressions for t in r.on}
        self.engaging = engagement_types(spec)
        self.zone = spec.workspace.timezone
        self._rows: dict[str, tuple[Event, dict[str, Any], int]] = {}
        self._signals: dict[str, int | None] = {}
        self._hits: dict[str, tuple[bool, ...]] = {}  # event id -> which feature rules hold
        self._memo: OrderedDict[str, _Memo] = OrderedDict()
        self._views: OrderedDict[int, View] = OrderedDict()  # id(events) -> their seen list

    def seen(self, events: Sequence[Event]) -> list[Seen]:
        """Events as scoring reads them, in (ts, event_id) order: rule row, local day, intent signal.

        The signal is worked out for every event, not only the contact's own (only its own count as
        intent; the evaluation filters), so one list serves every contact of the account. The list
        is kept for the sequence it was made from and, when a later sequence only appends to it (the
        slice cache appends ingested events), extended by the new events alone: a decision then reads
        a busy account's history once, not at every request.
        """
        return self._view(events).seen

    def _view(self, events: Sequence[Event]) -> View:
        if len(self._rows) > _CACHE_LIMIT:
            self._rows.clear()
            self._signals.clear()
            self._hits.clear()
            self._views.clear()
        view = self._views.get(id(events))
        if view is not None and view.events is events:
            return view
        base = self._extends(events)
        if base is None:
            arrival = [self._seen_one(e) for e in events]
            view = View(events, sorted(arrival, key=seen_order), arrival)
        else:
            # the cache hands out the longer sequence from now on: the shorter one's view is done, and
            # its arrival list and streams go on with the new one
            self._views.pop(id(base.events), None)
            out = list(base.seen)
            for e in events[len(base.events) :]:
                item = self._seen_one(e)
                base.arrival.append(item)
                put_in_order(out, item)
            view = View(events, out, base.arrival, base.streams)
        self._views[id(events)] = view
        while len(self._views) > _VIEW_LIMIT:
            self._views.popitem(last=False)
        return view

    def _extends(self, events: Sequence[Event]) -> View | None:
        """A kept view whose events open this sequence (the same objects), the longest one."""
        best: View | None = None
        for view in self._views.values():
            old = view.events
            n = len(old)
            if (
                0 < n <= len(events)
                and (best is None or n > len(best.events))
                and events[0] is old[0]
                and events[n - 1] is old[n - 1]
                and all(map(operator.is_, old, events))
            ):
                best = view
        return best

    def _seen_one(self, e: Event) -> Seen:
        known = self._rows.get(e.event_id)
        if known is None or (known[0] is not e and known[0] != e):
            known = self._rows[e.event_id] = (e, event_row(e, self.event_scope), local_day(e.ts, self.zone))
            self._signals.pop(e.event_id, None)
            self._hits.pop(e.event_id, None)
        _, row, day = known
        signal = self._signals.get(e.event_id, -1)
        if signal == -1:
            signal = self._signals[e.event_id] = next(
                (i for i, test in enumerate(self._signal_tests) if test(row)), None
            )
        return Seen(e, row, day, signal)

    def _feature_hits(self, s: Seen) -> tuple[bool, ...]:
        """Which feature rules an event satisfies, worked out once per event id (events never change)."""
        found = self._hits.get(s.event.event_id)
        if found is None:
            found = self._hits[s.event.event_id] = tuple(test(s.row) for test in self._feature_tests)
        return found

    def _index_of(self, contact_id: str, stream: Sequence[Seen]) -> _Index:
        """The contact's index over ``stream``: the last one, extended, when the stream only grew."""
        memo = self._memo.get(contact_id)
        if memo is not None:
            ids = memo.index.ids
            new = [s for s in stream if s.event.event_id not in ids]
            if len(stream) == len(ids) + len(new):  # nothing left the stream: extend a copy
                index = memo.index.copy()
                for s in new:
                    index.add(s)
                return index
        index = _Index(self, contact_id)
        for s in stream:
            index.add(s)
        return index

    def evaluate(
        self,
        contact_id: str,
        profiles: Mapping[str, Mapping[str, Any]],
        account_of: Mapping[str, str | None],
        events: Sequence[Event],
        as_of: int,
    ) -> LeadResult:
        """Derive ``contact_id`` as of ``as_of``.

        ``profiles`` and ``account_of`` cover at least the contact and every contact of its account
        (profile rows keyed by profile columns, as ``records.profile_row`` builds them); ``events``
        hold at least the contact's own events and its account stream. Later events are ignored.
        """
        spec, rules = self.spec, self.rules
        view = self._view(events)
        source = self._stream(view, contact_id, account_of)
        stream = source.upto(as_of)
        complete = len(stream) == len(source.items)
        profile = profiles.get(contact_id, {})
        roles_of = {cid: row.get("committee_role") for cid, row in profiles.items()}

        # The stream only grew since the contact's last evaluation, and neither read past its instant:
        # the new events are those that arrived since, and nothing else needs a look.
        memo = self._memo.get(contact_id)
        new: list[Seen] | None = None
        if memo is not None and memo.source is source and memo.complete and complete:
            new = source.arrival[memo.taken :]  # an event handed out twice counts twice, as afresh
        if new is not None and memo is not None:
            index = memo.index
            if new:
                index = index.copy()
                for s in new:
                    index.add(s)
        else:
            index = self._index_of(contact_id, stream)
        feature_lists = dict(zip((name for name, _, _ in rules.features), index.features, strict=True))
        by_signal, intent_events, engaged = index.by_signal, index.intent, index.engaged
        handoffs, handoff_ts = index.handoffs, [h[0] for h in index.handoffs]
        event_times = index.times
        wakes = {
            w
            for ts, found in index.triggers.items()
            for w in wake_ups(spec, ts, tuple(t for _, t in found))
            if w <= as_of
        }
        instants = sorted(event_times | wakes | {as_of})

        tier_tests, entry_tests = self._tier_tests, self._entry_tests
        fit_part = fit_drivers(spec, rules, profile)
        fit = total(fit_part)
        require = spec.scoring.intent.require
        committee = spec.scoring.committee

        # the as-of point's drivers are read twice: for its score and as the lead's drivers
        intents: dict[int, list[Driver]] = {}
        committees: dict[int, Driver | None] = {}

        def intent_at(t: int) -> list[Driver]:
            if t not in intents:
                mine = [lst.ts[: lst.upto(t)] for lst in by_signal]
                recent = (
                    intent_events.between(t - require.window.total_seconds(), t)
                    if require is not None
                    else []
                )
                intents[t] = intent_drivers_at(spec, mine, recent, t)
            return intents[t]

        def committee_at(t: int) -> Driver | None:
            if committee is None:
                return None
            if t not in committees:
                lo = t - committee.window.total_seconds()
                # a contact engaged inside (lo, t] when its latest engagement at or before t is after lo
                inside = {
                    cid
                    for cid, times in engaged.items()
                    if (n := bisect_right(times, t)) and times[n - 1] > lo
                }
                committees[t] = committee_driver_of(spec, inside, roles_of)
            return committees[t]

        # A point reads only the profile, the roles and the stream's events up to its instant: the
        # points of the last evaluation before the first event that differs are reused as they are,
        # with the stage machine's state after each.
        keep = 0
        if memo is not None and memo.profile == profile and memo.roles == roles_of:
            if new is not None:
                before = min((s.event.ts for s in new), default=float("inf"))
            else:
                before = _unchanged_before(memo, stream)
            keep = min(bisect_left(instants, before), len(memo.instants))
            if memo.instants[:keep] != instants[:keep]:  # an instant left (an earlier as-of, say)
                keep = next(
                    i for i, (a, b) in enumerate(zip(memo.instants, instants, strict=False)) if a != b
                )
        if keep:
            assert memo is not None
            scored, steps, states = memo.scored[:keep], memo.steps[:keep], memo.states[:keep]
            machine = StageMachine(spec, states[-1], memo.machine.entries)
        else:
            scored, steps, states, machine = [], [], [], StageMachine(spec)
        for t in instants[keep:]:
            features: dict[str, float | int | None] = {}
            for name, feature, _ in rules.features:
                hits = feature_lists[name]
                if feature.agg == "days_since":
                    n = hits.upto(t)
                    features[name] = None if n == 0 else (t - hits.ts[n - 1]) / SECONDS_PER_DAY
                elif feature.window is None:
                    features[name] = aggregate(feature, hits.items[: hits.upto(t)])
                else:
                    features[name] = aggregate(feature, hits.between(t - feature.window.total_seconds(), t))
            intent = total(intent_at(t))
            committee_part = committee_at(t)
            committee_points = committee_part.points if committee_part is not None else 0.0
            score = round2(fit + intent + committee_points)
            lead = {**profile, **features, "fit": fit, "intent": intent, "committee": committee_points,
                    "score": score}  # fmt: skip
            tier_index = next((i for i, test in enumerate(tier_tests) if test(lead)), None)
            tier = spec.tiers[tier_index] if tier_index is not None else None
            n = bisect_right(handoff_ts, t)
            latest = handoffs[n - 1][2] if n else None
            disposition = None if latest in (None, "assigned") else latest
            assigned = latest in ("assigned", "accepted")
            journey = {**lead, "tier": tier.name if tier else None, "motion": tier.motion if tier else None,
                       "disposition": disposition, "assigned": assigned}  # fmt: skip
            candidate = max((i for i, test in enumerate(entry_tests) if test(journey)), default=-1)
            scored.append(
                {"ts": t, "features": features, "fit": fit, "intent": intent, "committee": committee_points,
                 "score": score, "tier": journey["tier"], "motion": journey["motion"],
                 "disposition": disposition, "assigned": assigned, "candidate": candidate}
            )  # fmt: skip
            triggers = tuple(trigger for _, trigger in index.triggers.get(t, ()))
            steps.append(machine.feed(JourneyPoint(t, candidate, triggers)))
            states.append(machine.state)

        self._memo[contact_id] = _Memo(
            dict(profile), roles_of, stream, source, len(source.arrival), complete, instants, scored, steps,
            states, machine, index,
        )  # fmt: skip
        self._memo.move_to_end(contact_id)
        if len(self._memo) > _MEMO_LIMIT:
            self._memo.popitem(last=False)

        history = machine.history(contact_id)
        last_committee = committee_at(as_of)
        drivers = ordered([*fit_part, *intent_at(as_of), *([last_committee] if last_committee else [])])
        kinds = {**dict.fromkeys(wakes, "wake_up"), **dict.fromkeys(event_times, "event")}
        return LeadResult(contact_id, drivers, history, scored, steps, kinds)

    def _stream(self, view: View, contact_id: str, account_of: Mapping[str, str | None]) -> Stream:
        """The contact's stream in this view: its account's events (those of the account's contacts,
        and those naming the account alone), or its own without an account; caught up with the view."""
        account = account_of.get(contact_id)
        key: Hashable
        keep: Callable[[Seen], bool]
        if account is None:
            key = ("contact", contact_id)

            def keep(s: Seen) -> bool:
                return s.event.contact_id == contact_id
        else:
            members = frozenset(cid for cid, of in account_of.items() if of == account)
            key = ("account", account, members)

            def keep(s: Seen) -> bool:
                e = s.event
                return e.contact_id in members if e.contact_id is not None else e.account_id == account

        found = view.streams.get(key)
        if found is None:
            found = view.streams[key] = Stream(keep, view)
        else:
            found.catch_up(view)
        return found
