"""One contact's derive in milliseconds: the reference's definitions, read from sorted lists.

The reference (``domain.reference``) rescans every event at every evaluation point, which is what
makes it easy to check against docs/derive.md and what makes it quadratic. A real-time decision needs
the same answer for one contact now, inside a request. This module computes exactly the reference's
values (the same functions of ``domain.scoring`` build every driver) but finds the events that count
at an instant by bisecting per-rule lists sorted once by (ts, event_id): every rule is evaluated once
per event instead of once per event per point. A property test holds it equal to the reference.
"""

from __future__ import annotations

from bisect import bisect_right, insort
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from accord.domain.journey import JourneyPoint, StageRow, Trigger, wake_ups, walk
from accord.domain.records import Event, coerce, event_row, read_date
from accord.domain.rule_eval import holds
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
    stream: list[Event]  # the events the points read, in (ts, event_id) order
    scored: dict[int, dict[str, Any]]  # instant -> the point's values before the stage machine
    index: _Index  # the stream sorted into what points read, extended by later calls


def _unchanged_before(memo: _Memo, stream: Sequence[Event]) -> float:
    """The first instant at which the stream differs from the memo's: points before it still hold."""
    old = memo.stream
    for a, b in zip(old, stream, strict=False):
        if a is not b and a != b:  # the same objects, mostly: the slice cache hands them out again
            return min(a.ts, b.ts)
    if len(old) == len(stream):
        return float("inf")
    return (old[len(stream)] if len(old) > len(stream) else stream[len(old)]).ts


@dataclass
class _View:
    """The seen list made from one sequence of events (held, so its id stays its own)."""

    events: Sequence[Event]
    seen: list[Seen]


_VIEW_LIMIT = 256
"""Event sequences whose seen lists an evaluator keeps (one per busy account, roughly)."""


def _seen_order(s: Seen) -> tuple[int, str]:
    return (s.event.ts, s.event.event_id)


class _Sorted:
    """Items in (ts, event_id) order with their instants, for "those in (lo, hi]" by bisection."""

    def __init__(self, items: Sequence[Seen]) -> None:
        self.items = list(items)
        self.ts = [s.event.ts for s in self.items]

    def upto(self, t: float) -> int:
        return bisect_right(self.ts, t)

    def between(self, lo: float, hi: int) -> list[Seen]:
        """Items with lo < ts <= hi."""
        return self.items[bisect_right(self.ts, lo) : bisect_right(self.ts, hi)]

    def add(self, s: Seen) -> None:
        """Insert in (ts, event_id) order; the usual case, a later event, appends."""
        ts, eid = s.event.ts, s.event.event_id
        i = len(self.ts)
        if i and (self.ts[-1] > ts or (self.ts[-1] == ts and self.items[-1].event.event_id > eid)):
            i = bisect_right(self.ts, ts)
            while i and self.ts[i - 1] == ts and self.items[i - 1].event.event_id > eid:
                i -= 1
        self.items.insert(i, s)
        self.ts.insert(i, ts)

    def copy(self) -> _Sorted:
        out = _Sorted.__new__(_Sorted)
        out.items, out.ts = list(self.items), list(self.ts)
        return out


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
        self.features = [_Sorted([]) for _ in rules.features]
        self.by_signal = [_Sorted([]) for _ in evaluator.spec.scoring.intent.signals]
        self.intent = _Sorted([])
        self.engaged = _Sorted([])
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
        out.intent, out.engaged = self.intent.copy(), self.engaged.copy()
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
        if e.contact_id is not None and e.type in evaluator.engaging:
            self.engaged.add(s)
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
        data = spec.model_dump(mode="json", by_alias=True)
        self.event_scope = catalog.event_scope(data)
        self.regression_types = {t for r in spec.journey.regressions for t in r.on}
        self.engaging = engagement_types(spec)
        self.zone = spec.workspace.timezone
        self._rows: dict[str, tuple[Event, dict[str, Any], int]] = {}
        self._signals: dict[str, int | None] = {}
        self._hits: dict[str, tuple[bool, ...]] = {}  # event id -> which feature rules hold
        self._memo: OrderedDict[str, _Memo] = OrderedDict()
        self._views: OrderedDict[int, _View] = OrderedDict()  # id(events) -> their seen list

    def seen(self, events: Sequence[Event]) -> list[Seen]:
        """Events as scoring reads them, in (ts, event_id) order: rule row, local day, intent signal.

        The signal is worked out for every event, not only the contact's own (only its own count as
        intent; the evaluation filters), so one list serves every contact of the account. The list
        is kept for the sequence it was made from and, when a later sequence only appends to it (the
        slice cache appends ingested events), extended by the new events alone: a decision then reads
        a busy account's history once, not at every request.
        """
        if len(self._rows) > _CACHE_LIMIT:
            self._rows.clear()
            self._signals.clear()
            self._hits.clear()
            self._views.clear()
        view = self._views.get(id(events))
        if view is not None and view.events is events:
            return view.seen
        base = self._extends(events)
        if base is None:
            out = sorted((self._seen_one(e) for e in events), key=_seen_order)
        else:
            # the cache hands out the longer sequence from now on: the shorter one's view is done
            self._views.pop(id(base.events), None)
            out = list(base.seen)
            for e in events[len(base.events) :]:
                item = self._seen_one(e)
                if out and _seen_order(item) < _seen_order(out[-1]):
                    insort(out, item, key=_seen_order)
                else:
                    out.append(item)
        self._views[id(events)] = _View(events, out)
        while len(self._views) > _VIEW_LIMIT:
            self._views.popitem(last=False)
        return out

    def _extends(self, events: Sequence[Event]) -> _View | None:
        """A kept view whose events open this sequence (the same objects), the longest one."""
        best: _View | None = None
        for view in self._views.values():
            old = view.events
            n = len(old)
            if (
                0 < n <= len(events)
                and (best is None or n > len(best.events))
                and events[0] is old[0]
                and events[n - 1] is old[n - 1]
                and all(a is b for a, b in zip(old, events, strict=False))
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
                (i for i, rule in enumerate(self.rules.signals) if holds(rule, row)), None
            )
        return Seen(e, row, day, signal)

    def _feature_hits(self, s: Seen) -> tuple[bool, ...]:
        """Which feature rules an event satisfies, worked out once per event id (events never change)."""
        found = self._hits.get(s.event.event_id)
        if found is None:
            found = self._hits[s.event.event_id] = tuple(
                holds(where, s.row) for _, _, where in self.rules.features
            )
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
        seen = self.seen(events)
        account = account_of.get(contact_id)
        if account is None:
            stream = [s for s in seen if s.event.ts <= as_of and s.event.contact_id == contact_id]
        else:
            members = {cid for cid, of in account_of.items() if of == account}
            stream = [
                s
                for s in seen
                if s.event.ts <= as_of
                and (s.event.contact_id in members if s.event.contact_id is not None
                     else s.event.account_id == account)
            ]  # fmt: skip
        profile = profiles.get(contact_id, {})
        roles_of = {cid: row.get("committee_role") for cid, row in profiles.items()}

        index = self._index_of(contact_id, stream)
        feature_lists = dict(zip((name for name, _, _ in rules.features), index.features, strict=True))
        by_signal, intent_events, engaged = index.by_signal, index.intent, index.engaged
        handoffs, handoff_ts = index.handoffs, [h[0] for h in index.handoffs]
        triggers = {ts: tuple(t for _, t in found) for ts, found in index.triggers.items()}
        event_times = index.times
        wakes = {w for ts, found in triggers.items() for w in wake_ups(spec, ts, found) if w <= as_of}
        instants = sorted(event_times | wakes | {as_of})

        fit_part = fit_drivers(spec, rules, profile)
        fit = total(fit_part)
        require = spec.scoring.intent.require
        committee = spec.scoring.committee

        def intent_at(t: int) -> list[Driver]:
            mine = [[s.event for s in lst.items[: lst.upto(t)]] for lst in by_signal]
            recent = (
                intent_events.between(t - require.window.total_seconds(), t) if require is not None else []
            )
            return intent_drivers_at(spec, mine, recent, t)

        def committee_at(t: int) -> Driver | None:
            if committee is None:
                return None
            window = engaged.between(t - committee.window.total_seconds(), t)
            return committee_driver_of(
                spec, {s.event.contact_id for s in window if s.event.contact_id}, roles_of
            )

        # A point reads only the profile, the roles and the stream's events up to its instant: those
        # of the last evaluation before the first event that differs are reused as they are.
        memo = self._memo.get(contact_id)
        stream_events = [s.event for s in stream]
        reusable: dict[int, dict[str, Any]] = {}
        if memo is not None and memo.profile == profile and memo.roles == roles_of:
            before = _unchanged_before(memo, stream_events)
            reusable = {t: p for t, p in memo.scored.items() if t < before}
        scored: list[dict[str, Any]] = []
        for t in instants:
            if t in reusable:
                scored.append(reusable[t])
                continue
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
            tier_index = next((i for i, rule in enumerate(rules.tiers) if holds(rule, lead)), None)
            tier = spec.tiers[tier_index] if tier_index is not None else None
            n = bisect_right(handoff_ts, t)
            latest = handoffs[n - 1][2] if n else None
            disposition = None if latest in (None, "assigned") else latest
            assigned = latest in ("assigned", "accepted")
            journey = {**lead, "tier": tier.name if tier else None, "motion": tier.motion if tier else None,
                       "disposition": disposition, "assigned": assigned}  # fmt: skip
            candidate = max((i for i, rule in enumerate(rules.entries) if holds(rule, journey)), default=-1)
            scored.append(
                {"ts": t, "features": features, "fit": fit, "intent": intent, "committee": committee_points,
                 "score": score, "tier": journey["tier"], "motion": journey["motion"],
                 "disposition": disposition, "assigned": assigned, "candidate": candidate}
            )  # fmt: skip

        self._memo[contact_id] = _Memo(
            dict(profile), roles_of, stream_events, {p["ts"]: p for p in scored}, index
        )
        self._memo.move_to_end(contact_id)
        if len(self._memo) > _MEMO_LIMIT:
            self._memo.popitem(last=False)

        journey_points = [JourneyPoint(p["ts"], p["candidate"], triggers.get(p["ts"], ())) for p in scored]
        steps, history = walk(spec, contact_id, journey_points)
        last_committee = committee_at(as_of)
        drivers = ordered([*fit_part, *intent_at(as_of), *([last_committee] if last_committee else [])])
        kinds = {**dict.fromkeys(wakes, "wake_up"), **dict.fromkeys(event_times, "event")}
        return LeadResult(contact_id, drivers, history, scored, steps, kinds)
