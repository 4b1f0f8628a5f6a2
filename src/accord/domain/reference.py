"""The reference derive: docs/derive.md in plain Python, one contact and one point at a time.

It is deliberately slow and literal (every feature is recomputed from every event at every point) so
that it can be read against the contract line by line; property tests then hold the Ibis engine to
it on random ledgers. Choices the contract leaves open are made here once and listed in the
docstrings of the functions that make them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from accord.domain.journey import (
    JourneyPoint,
    StageRow,
    Trigger,
    account_history,
    opportunity_history,
    wake_ups,
    walk,
)
from accord.domain.lead import HANDOFF_RANK, LeadPoint, trigger_of
from accord.domain.records import Event, coerce, event_row, profile_row
from accord.domain.rule_eval import holds
from accord.domain.scoring import (
    Driver,
    Rules,
    Seen,
    committee_driver,
    compile_rules,
    feature_value,
    fit_drivers,
    intent_drivers,
    ordered,
    total,
)
from accord.domain.timeline import local_day, round2
from accord.spec import catalog
from accord.spec.model import Spec
from accord.spec.rule_ast import Type

__all__ = [
    "Driver",
    "Event",
    "PointState",
    "ReferenceResult",
    "derive_reference",
    "handoff_state",
    "resolve_account",
]


@dataclass(frozen=True)
class PointState(LeadPoint):
    """Everything derived for one contact at one evaluation point (a point that names its contact)."""

    contact_id: str


@dataclass
class ReferenceResult:
    """Points per contact in (contact, ts) order, as-of drivers per contact, and stage histories."""

    points: list[PointState]
    drivers: dict[str, list[Driver]]
    stages: list[StageRow]
    unknown_opportunity_stages: int


@dataclass(frozen=True)
class _Scored:
    """A point before the stage machine has run: everything but the stage."""

    ts: int
    features: dict[str, float | int | None]
    fit: float
    intent: float
    committee: float
    score: float
    tier: str | None
    motion: str | None
    disposition: str | None
    assigned: bool
    candidate: int


def resolve_account(contact_id: str, contact: Mapping[str, Any] | None, live: Sequence[Event]) -> str | None:
    """The contact's account: ``contacts.account_id``, else that of its events.

    When the column is empty and the contact's events name several accounts, the latest event that
    names one decides (ties in the same second: the greatest account id), as the most recent fact.
    """
    raw = contact.get("account_id") if contact is not None else None
    if isinstance(raw, str) and raw != "":
        return raw
    named = [(e.ts, e.account_id) for e in live if e.contact_id == contact_id and e.account_id]
    return max(named)[1] if named else None


def handoff_state(own: Sequence[Seen], t: int) -> tuple[str | None, bool]:
    """``(disposition, assigned)`` at ``t`` from the latest assigned/accepted/rejected/recycled event."""
    handoffs = [
        (s.event.ts, HANDOFF_RANK[s.event.type], s.event.type)
        for s in own
        if s.event.type in HANDOFF_RANK and s.event.ts <= t
    ]
    if not handoffs:
        return None, False
    latest = max(handoffs)[2]
    return (None if latest == "assigned" else latest), latest in ("assigned", "accepted")


def _score_point(
    spec: Spec,
    rules: Rules,
    t: int,
    profile: Mapping[str, Any],
    fit: float,
    own: Sequence[Seen],
    stream: Sequence[Seen],
    roles_of: Mapping[str, str | None],
) -> _Scored:
    features: dict[str, float | int | None] = {
        name: feature_value(feature, where, t, own if feature.scope == "contact" else stream)
        for name, feature, where in rules.features
    }
    intent = total(intent_drivers(spec, own, t))
    committee_part = committee_driver(spec, stream, roles_of, t)
    committee = committee_part.points if committee_part is not None else 0.0
    score = round2(fit + intent + committee)
    lead = {**profile, **features, "fit": fit, "intent": intent, "committee": committee, "score": score}
    tier_index = next((i for i, rule in enumerate(rules.tiers) if holds(rule, lead)), None)
    tier = spec.tiers[tier_index] if tier_index is not None else None
    disposition, assigned = handoff_state(own, t)
    journey = {
        **lead,
        "tier": tier.name if tier else None,
        "motion": tier.motion if tier else None,
        "disposition": disposition,
        "assigned": assigned,
    }
    candidate = max((i for i, rule in enumerate(rules.entries) if holds(rule, journey)), default=-1)
    return _Scored(
        ts=t,
        features=features,
        fit=fit,
        intent=intent,
        committee=committee,
        score=score,
        tier=tier.name if tier else None,
        motion=tier.motion if tier else None,
        disposition=disposition,
        assigned=assigned,
        candidate=candidate,
    )


def resolve_profiles(
    spec: Spec,
    contacts: Mapping[str, Mapping[str, Any]],
    accounts: Mapping[str, Mapping[str, Any]],
    live: Sequence[Event],
) -> tuple[dict[str, str | None], dict[str, dict[str, Any]]]:
    """Every contact's account and profile row: the contacts table plus any contact an event names."""
    data = spec.model_dump(mode="json", by_alias=True)
    profile_scope = catalog.profile_scope(data)
    custom_contact, custom_account = set(spec.fields.contact), set(spec.fields.account)
    contact_ids = sorted(set(contacts) | {e.contact_id for e in live if e.contact_id is not None})
    account_of = {cid: resolve_account(cid, contacts.get(cid), live) for cid in contact_ids}
    profiles = {
        cid: profile_row(
            cid,
            contacts.get(cid),
            account_of[cid],
            accounts.get(account_of[cid] or "") if account_of[cid] is not None else None,
            profile_scope,
            custom_contact,
            custom_account,
        )
        for cid in contact_ids
    }
    return account_of, profiles


def derive_reference(
    spec: Spec,
    contacts: Mapping[str, Mapping[str, Any]],
    accounts: Mapping[str, Mapping[str, Any]],
    events: Sequence[Event],
    as_of: int,
) -> ReferenceResult:
    """Derive every contact's points, as-of drivers, and the stage histories, as of ``as_of``.

    Contacts are those of ``contacts`` plus any contact id named by an event (an unknown contact has
    an empty profile). Events after ``as_of`` are ignored everywhere, including account resolution.
    """
    tz = spec.workspace.timezone
    rules = compile_rules(spec)
    event_scope = catalog.event_scope(spec.model_dump(mode="json", by_alias=True))

    live = sorted((e for e in events if e.ts <= as_of), key=lambda e: (e.ts, e.event_id))
    seen: list[Seen] = []
    for e in live:
        row = event_row(e, event_scope)
        signal = next((i for i, rule in enumerate(rules.signals) if holds(rule, row)), None)
        seen.append(Seen(e, row, local_day(e.ts, tz), signal))

    account_of, profiles = resolve_profiles(spec, contacts, accounts, live)
    contact_ids = sorted(profiles)
    roles_of: dict[str, str | None] = {cid: profiles[cid].get("committee_role") for cid in contact_ids}
    regression_types = {t for r in spec.journey.regressions for t in r.on}

    points: list[PointState] = []
    drivers: dict[str, list[Driver]] = {}
    stages: list[StageRow] = []
    steps_of: dict[str, list[tuple[int, int]]] = {}
    for cid in contact_ids:
        own = [s for s in seen if s.event.contact_id == cid]
        account = account_of[cid]
        stream = own if account is None else [s for s in seen if _in_stream(s.event, account, account_of)]

        triggers: dict[int, tuple[Trigger, ...]] = {}
        for s in own:
            if s.event.type in regression_types:
                triggers[s.event.ts] = (*triggers.get(s.event.ts, ()), trigger_of(s.event))
        event_times = {s.event.ts for s in own}
        wakes = {w for ts, ts_triggers in triggers.items() for w in wake_ups(spec, ts, ts_triggers)}
        wakes = {w for w in wakes if w <= as_of}
        instants = sorted(event_times | wakes | {as_of})

        fit_part = fit_drivers(spec, rules, profiles[cid])
        fit = total(fit_part)
        scored = [_score_point(spec, rules, t, profiles[cid], fit, own, stream, roles_of) for t in instants]
        journey_points = [JourneyPoint(p.ts, p.candidate, triggers.get(p.ts, ())) for p in scored]
        steps, rows = walk(spec, cid, journey_points)
        stages.extend(rows)
        steps_of[cid] = [(ts, after) for ts, _, after in steps]
        for p, (_, before, after) in zip(scored, steps, strict=True):
            kind = "event" if p.ts in event_times else "wake_up" if p.ts in wakes else "as_of"
            points.append(
                PointState(
                    contact_id=cid,
                    ts=p.ts,
                    trigger=kind,
                    features=p.features,
                    fit=p.fit,
                    intent=p.intent,
                    committee=p.committee,
                    score=p.score,
                    tier=p.tier,
                    motion=p.motion,
                    disposition=p.disposition,
                    assigned=p.assigned,
                    candidate=p.candidate,
                    stage_pre=before,
                    stage=after,
                )
            )
        committee_part = committee_driver(spec, stream, roles_of, as_of)
        drivers[cid] = ordered(
            [*fit_part, *intent_drivers(spec, own, as_of), *([committee_part] if committee_part else [])]
        )

    if spec.journey.track_accounts:
        for account in sorted({a for a in account_of.values() if a is not None}):
            members = {cid: steps_of[cid] for cid in contact_ids if account_of[cid] == account}
            stages.extend(account_history(spec, account, members))

    unknown = 0
    if spec.pipeline.track_history:
        by_opportunity: dict[str, list[tuple[int, str, str | None]]] = {}
        for e in live:
            if e.opportunity_id is not None:
                stage = coerce(e.props.get("stage"), Type.STRING)
                by_opportunity.setdefault(e.opportunity_id, []).append((e.ts, e.type, stage))
        for oid in sorted(by_opportunity):
            rows, missing = opportunity_history(spec, oid, by_opportunity[oid])
            stages.extend(rows)
            unknown += missing

    return ReferenceResult(points=points, drivers=drivers, stages=stages, unknown_opportunity_stages=unknown)


def _in_stream(event: Event, account: str, account_of: Mapping[str, str | None]) -> bool:
    """Account stream: events of the account's contacts, plus events naming only the account."""
    if event.contact_id is not None:
        return account_of.get(event.contact_id) == account
    return event.account_id == account
