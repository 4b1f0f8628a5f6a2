"""Features, fit, intent and committee at one evaluation point, with their drivers (docs/derive.md).

Each score part is computed as the list of its drivers and then summed, so "the drivers sum exactly to
the score" holds by construction rather than by coincidence. Every number is rounded with ``round2``
as soon as it is formed: signal contributions, sums compared with caps, cap and pattern drivers.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from accord.domain.records import Event
from accord.domain.rule_eval import holds
from accord.domain.timeline import SECONDS_PER_DAY, round2
from accord.spec import catalog
from accord.spec.durations import format_duration
from accord.spec.model import Feature, Spec
from accord.spec.rule_ast import Rule
from accord.spec.rules import parse

ENGAGED_TOO: tuple[str, ...] = ("email_reply", "call_connected", "meeting_booked", "meeting_held")
"""Rep-activity types that still show the buyer engaging (a reply, a held meeting)."""

DRIVER_COUNT_WINDOW = timedelta(days=30)
"""Intent drivers report how many of their events fell in this window before the as-of instant."""


@dataclass(frozen=True)
class Driver:
    """One reason for a score: a fit rule, an intent signal, a cap, the pattern, or the committee."""

    component: str  # "fit" | "intent" | "committee"
    key: str  # fit:<i>, fit:cap, intent:<i>, intent:cap, intent:pattern, committee
    label: str
    points: float
    count: int | None = None
    last_ts: int | None = None
    detail: str | None = None


@dataclass(frozen=True)
class Seen:
    """An event as scoring reads it: the event, its rule row, its local day, its intent signal."""

    event: Event
    row: Mapping[str, Any]
    day: int
    signal: int | None  # index of the first intent signal whose rule holds; None if none


@dataclass(frozen=True)
class Rules:
    """Every rule of the spec, parsed once against its scope."""

    features: tuple[tuple[str, Feature, Rule], ...]
    fit: tuple[Rule, ...]
    signals: tuple[Rule, ...]
    tiers: tuple[Rule, ...]
    entries: tuple[Rule, ...]


def compile_rules(spec: Spec) -> Rules:
    data = spec.model_dump(mode="json", by_alias=True)
    event, profile = catalog.event_scope(data), catalog.profile_scope(data)
    lead, journey = catalog.lead_scope(data), catalog.journey_scope(data)
    return Rules(
        features=tuple((name, f, parse(f.where, event)) for name, f in spec.features.items()),
        fit=tuple(parse(r.when, profile) for r in spec.scoring.fit.rules),
        signals=tuple(parse(s.when, event) for s in spec.scoring.intent.signals),
        tiers=tuple(parse(t.when, lead) for t in spec.tiers),
        entries=tuple(parse(s.entry, journey) for s in spec.journey.stages),
    )


def engagement_types(spec: Spec) -> frozenset[str]:
    """Types that count as engaging for the committee: the engagement category plus ENGAGED_TOO."""
    standard = {t for t, category in catalog.STANDARD_EVENT_TYPES.items() if category == "engagement"}
    declared = {t for t, et in spec.event_types.items() if et.category == "engagement"}
    return frozenset(standard | declared | set(ENGAGED_TOO))


def in_window(ts: int, t: int, window: timedelta | None) -> bool:
    """``t - W < ts <= t``; a window of None ("all") is ``ts <= t``."""
    return ts <= t and (window is None or t - window.total_seconds() < ts)


def number_text(x: float) -> str:
    """A number as people write it: 50, 12.5."""
    return str(int(x)) if float(x).is_integer() else str(x)


# ---- features -------------------------------------------------------------------------------------


def feature_value(feature: Feature, where: Rule, t: int, events: Iterable[Seen]) -> float | int | None:
    """The feature at ``t`` over ``events`` (the contact's own, or its account stream).

    ``days_since`` looks at matching events of any age (its window is not used), as the contract says.
    """
    if feature.agg == "days_since":
        last = max((s.event.ts for s in events if s.event.ts <= t and holds(where, s.row)), default=None)
        return None if last is None else (t - last) / SECONDS_PER_DAY
    return aggregate(
        feature, [s for s in events if in_window(s.event.ts, t, feature.window) and holds(where, s.row)]
    )


def aggregate(feature: Feature, matching: Sequence[Seen]) -> float | int | None:
    """A windowed feature over the events that match it in the window, in (ts, event_id) order.

    NULL values of ``of`` are skipped: sum is 0 and min/max NULL when no value is left. The order
    matters only to a float sum's last bit; every caller passes the same order.
    """
    if feature.agg == "count":
        return len(matching)
    assert feature.of is not None
    if feature.agg == "count_distinct":
        if feature.of == "day":
            return len({s.day for s in matching})
        return len({s.row[feature.of] for s in matching if s.row.get(feature.of) is not None})
    values = [s.row[feature.of] for s in matching if s.row.get(feature.of) is not None]
    if feature.agg == "sum":
        return float(sum(values)) if values else 0.0
    if not values:
        return None
    result: float | int = min(values) if feature.agg == "min" else max(values)
    return result


# ---- score parts ----------------------------------------------------------------------------------


def total(drivers: Iterable[Driver]) -> float:
    """A score part: the rounded sum of its drivers."""
    return round2(sum(d.points for d in drivers))


def fit_drivers(spec: Spec, rules: Rules, profile: Mapping[str, Any]) -> list[Driver]:
    """One driver per fit rule that holds (zero-point rules left out), plus the cap when exceeded."""
    fit = spec.scoring.fit
    drivers = [
        Driver("fit", f"fit:{i}", rule.label, round2(rule.points))
        for i, (rule, compiled) in enumerate(zip(fit.rules, rules.fit, strict=True))
        if holds(compiled, profile)
    ]
    drivers = [d for d in drivers if d.points != 0]
    points = total(drivers)
    if fit.cap is not None and points > fit.cap:
        drivers.append(
            Driver("fit", "fit:cap", f"fit cap ({number_text(fit.cap)})", round2(fit.cap - points))
        )
    return [d for d in drivers if d.points != 0]


def intent_drivers(spec: Spec, own: Sequence[Seen], t: int) -> list[Driver]:
    """Intent drivers at ``t`` from the contact's own events: signals, the cap, the pattern."""
    by_signal = [
        sorted(s.event.ts for s in own if s.signal == i and s.event.ts <= t)
        for i in range(len(spec.scoring.intent.signals))
    ]
    require = spec.scoring.intent.require
    recent = (
        [s for s in own if s.signal is not None and in_window(s.event.ts, t, require.window)]
        if require is not None
        else []
    )
    return intent_drivers_at(spec, by_signal, recent, t)


def intent_drivers_at(
    spec: Spec, by_signal: Sequence[Sequence[int]], recent: Sequence[Seen], t: int
) -> list[Driver]:
    """Intent drivers at ``t`` given, per signal, the instants of its events up to ``t`` in (ts,
    event_id) order, and the intent events inside the pattern's window.

    Instants, not events: decay reads nothing else, and a real-time decision slices them from lists it
    keeps instead of building a list of events per signal at every point.

    The pattern driver is kept even at zero points, so a lead with no intent still shows why.
    """
    intent = spec.scoring.intent
    half_life = intent.half_life.total_seconds()
    drivers: list[Driver] = []
    for i, (signal, mine) in enumerate(zip(intent.signals, by_signal, strict=True)):
        if not mine:
            continue
        # -(t - ts) is ts - t exactly (integers), and a list sums the same terms in the same order as
        # a generator, at half the cost: a decision sums every intent event of the contact
        points = signal.points
        raw = sum([points * 2 ** ((ts - t) / half_life) for ts in mine])
        contribution = round2(min(raw, signal.cap) if signal.cap is not None else raw)
        if contribution == 0:
            continue
        # in time order and all at or before t: the recent ones are a suffix, the latest is last
        recent_count = len(mine) - bisect_right(mine, t - DRIVER_COUNT_WINDOW.total_seconds())
        last = mine[-1]
        drivers.append(
            Driver("intent", f"intent:{i}", signal.label, contribution, count=recent_count, last_ts=last)
        )
    capped = total(drivers)
    if intent.cap is not None and capped > intent.cap:
        cap_points = round2(intent.cap - capped)
        drivers.append(Driver("intent", "intent:cap", f"intent cap ({number_text(intent.cap)})", cap_points))
        capped = total(drivers)
    missing = pattern_missing(spec, recent)
    if missing is not None:
        drivers.append(
            Driver("intent", "intent:pattern", f"intent pattern not met ({missing})", round2(-capped))
        )
    return [d for d in drivers if d.points != 0 or d.key == "intent:pattern"]


def pattern_missing(spec: Spec, recent: Sequence[Seen]) -> str | None:
    """What the intent pattern lacks, e.g. '1 of 2 distinct days in 30d'; None when met.

    Counted over ``recent``: the contact's intent events (those that count for some signal) in the
    pattern's window; an event's topic is its ``topic``, or its ``type`` when it has none.
    """
    require = spec.scoring.intent.require
    if require is None:
        return None
    days = len({s.day for s in recent})
    topics = len({s.event.topic if s.event.topic is not None else s.event.type for s in recent})
    parts = []
    if days < require.distinct_days:
        parts.append(f"{days} of {require.distinct_days} distinct days")
    if topics < require.distinct_topics:
        parts.append(f"{topics} of {require.distinct_topics} distinct topics")
    if not parts:
        return None
    return f"{', '.join(parts)} in {format_duration(require.window)}"


def committee_driver(
    spec: Spec, stream: Sequence[Seen], roles_of: Mapping[str, str | None], t: int
) -> Driver | None:
    """The committee at ``t``: distinct counted roles of account-stream contacts who engaged in the
    window (the contact itself included); None when the spec has no committee or the points are 0.
    """
    committee = spec.scoring.committee
    if committee is None:
        return None
    engaging = engagement_types(spec)
    engaged = {
        s.event.contact_id
        for s in stream
        if s.event.contact_id is not None
        and s.event.type in engaging
        and in_window(s.event.ts, t, committee.window)
    }
    return committee_driver_of(spec, engaged, roles_of)


def committee_driver_of(
    spec: Spec, engaged: Iterable[str], roles_of: Mapping[str, str | None]
) -> Driver | None:
    """The committee driver given the contacts who engaged inside the committee window."""
    committee = spec.scoring.committee
    if committee is None:
        return None
    counted = set(committee.roles) if committee.roles is not None else {r.id for r in spec.buying_committee}
    roles = {roles_of.get(cid) for cid in engaged} & counted
    raw = committee.points_per_role * len(roles)
    points = round2(min(raw, committee.cap) if committee.cap is not None else raw)
    if points == 0:
        return None
    days = number_text(committee.window.total_seconds() / SECONDS_PER_DAY)
    noun = "role" if len(roles) == 1 else "roles"
    labels = [r.label for r in spec.buying_committee if r.id in roles]
    return Driver(
        "committee",
        "committee",
        f"buying committee: {len(roles)} {noun} engaged in {days} days",
        points,
        detail=", ".join(labels),
    )


def ordered(drivers: Iterable[Driver]) -> list[Driver]:
    """Largest effect first (by absolute points), then by key, so reports read the same every run."""
    return sorted(drivers, key=lambda d: (-abs(d.points), d.key))
