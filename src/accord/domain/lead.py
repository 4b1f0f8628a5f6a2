"""One contact's derive in milliseconds: the reference's definitions, read from sorted lists.

The reference (``domain.reference``) rescans every event at every evaluation point, which is what
makes it easy to check against docs/derive.md and what makes it quadratic. A real-time decision needs
the same answer for one contact now, inside a request. This module computes exactly the reference's
values (the same functions of ``domain.scoring`` build every driver) but finds the events that count
at an instant by bisecting per-rule lists sorted once by (ts, event_id): every rule is evaluated once
per event instead of once per event per point. A property test holds it equal to the reference.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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
    """Every point of one contact, its drivers as of the last instant, and its stage history."""

    contact_id: str
    points: list[LeadPoint]
    drivers: list[Driver]
    history: list[StageRow]


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


def _unchanged_before(memo: _Memo, stream: Sequence[Event]) -> float:
    """The first instant at which the stream differs from the memo's: points before it still hold."""
    old = memo.stream
    for a, b in zip(old, stream, strict=False):
        if a != b:
            return min(a.ts, b.ts)
    if len(old) == len(stream):
        return float("inf")
    return (old[len(stream)] if len(old) > len(stream) else stream[len(old)]).ts


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

    def seen(self, events: Sequence[Event], contact_id: str) -> list[Seen]:
        """Events as scoring reads them, in (ts, event_id) order: rule row, local day, intent signal.

        Only the contact's own events can be intent, so only they are matched against the signals.
        Rows and signals are kept by event id: events are append-only (an id never changes content),
        so a busy account's events are read once, not at every decision.
        """
        out: list[Seen] = []
        if len(self._rows) > _CACHE_LIMIT:
            self._rows.clear()
            self._signals.clear()
            self._hits.clear()
        for e in sorted(events, key=lambda e: (e.ts, e.event_id)):
            known = self._rows.get(e.event_id)
            if known is None or known[0] != e:
                known = self._rows[e.event_id] = (
                    e,
                    event_row(e, self.event_scope),
                    local_day(e.ts, self.zone),
                )
                self._signals.pop(e.event_id, None)
                self._hits.pop(e.event_id, None)
            _, row, day = known
            signal = None
            if e.contact_id == contact_id:
                if e.event_id not in self._signals:
                    self._signals[e.event_id] = next(
                        (i for i, rule in enumerate(self.rules.signals) if holds(rule, row)), None
                    )
                signal = self._signals[e.event_id]
            out.append(Seen(e, row, day, signal))
        return out

    def _feature_hits(self, s: Seen) -> tuple[bool, ...]:
        """Which feature rules an event satisfies, worked out once per event id (events never change)."""
        found = self._hits.get(s.event.event_id)
        if found is None:
            found = self._hits[s.event.event_id] = tuple(
                holds(where, s.row) for _, _, where in self.rules.features
            )
        return found

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
        live = self.seen([e for e in events if e.ts <= as_of], contact_id)
        account = account_of.get(contact_id)
        own = [s for s in live if s.event.contact_id == contact_id]
        if account is None:
            stream = own
        else:
            stream = [
                s
                for s in live
                if (account_of.get(s.event.contact_id) == account if s.event.contact_id is not None
                    else s.event.account_id == account)
            ]  # fmt: skip
        profile = profiles.get(contact_id, {})
        roles_of = {cid: row.get("committee_role") for cid, row in profiles.items()}

        # own is the contact's part of stream, in the same order: one pass over stream serves both
        flags = [self._feature_hits(s) for s in stream]
        feature_lists = {
            name: _Sorted(
                [s for s, hit in zip(stream, flags, strict=True)
                 if hit[k] and (f.scope != "contact" or s.event.contact_id == contact_id)]
            )
            for k, (name, f, _) in enumerate(rules.features)
        }  # fmt: skip
        by_signal = [
            _Sorted([s for s in own if s.signal == i]) for i in range(len(spec.scoring.intent.signals))
        ]
        intent_events = _Sorted([s for s in own if s.signal is not None])
        engaged = _Sorted(
            [s for s in stream if s.event.contact_id is not None and s.event.type in self.engaging]
        )
        handoffs = sorted(
            (s.event.ts, HANDOFF_RANK[s.event.type], s.event.type)
            for s in own
            if s.event.type in HANDOFF_RANK
        )
        handoff_ts = [h[0] for h in handoffs]

        triggers: dict[int, tuple[Trigger, ...]] = {}
        for s in own:
            if s.event.type in self.regression_types:
                triggers[s.event.ts] = (*triggers.get(s.event.ts, ()), trigger_of(s.event))
        event_times = {s.event.ts for s in own}
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

        self._memo[contact_id] = _Memo(dict(profile), roles_of, stream_events, {p["ts"]: p for p in scored})
        self._memo.move_to_end(contact_id)
        if len(self._memo) > _MEMO_LIMIT:
            self._memo.popitem(last=False)

        journey_points = [JourneyPoint(p["ts"], p["candidate"], triggers.get(p["ts"], ())) for p in scored]
        steps, history = walk(spec, contact_id, journey_points)
        points = [
            LeadPoint(
                trigger="event" if p["ts"] in event_times else "wake_up" if p["ts"] in wakes else "as_of",
                stage_pre=before,
                stage=after,
                **p,
            )
            for p, (_, before, after) in zip(scored, steps, strict=True)
        ]
        last_committee = committee_at(as_of)
        drivers = ordered([*fit_part, *intent_at(as_of), *([last_committee] if last_committee else [])])
        return LeadResult(contact_id, points, drivers, history)
