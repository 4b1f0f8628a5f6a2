"""The fast one-contact derive (domain.lead) gives exactly the reference's points, drivers and stages."""

from __future__ import annotations

import random
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accord.domain.lead import LeadEvaluator
from accord.domain.reference import Event, derive_reference, resolve_profiles
from accord.spec.model import Spec
from tests.test_engine_parity import ledgers

Ledgerish = tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]], list[Event], int]


def _both(spec: Spec, ledger: Ledgerish, arrival_seed: int) -> None:
    contacts, accounts, events, as_of = ledger
    reference = derive_reference(spec, contacts, accounts, events, as_of)
    live = sorted((e for e in events if e.ts <= as_of), key=lambda e: (e.ts, e.event_id))
    account_of, profiles = resolve_profiles(spec, contacts, accounts, live)
    evaluator = LeadEvaluator(spec)
    arrival = list(events)
    random.Random(arrival_seed).shuffle(arrival)  # the evaluator must not depend on arrival order
    for cid in sorted(profiles):
        fast = evaluator.evaluate(cid, profiles, account_of, arrival, as_of)
        expected = [p for p in reference.points if p.contact_id == cid]
        got = [
            (p.ts, p.trigger, dict(p.features), p.fit, p.intent, p.committee, p.score, p.tier, p.motion,
             p.disposition, p.assigned, p.candidate, p.stage_pre, p.stage)
            for p in fast.points
        ]  # fmt: skip
        want = [
            (p.ts, p.trigger, dict(p.features), p.fit, p.intent, p.committee, p.score, p.tier, p.motion,
             p.disposition, p.assigned, p.candidate, p.stage_pre, p.stage)
            for p in expected
        ]  # fmt: skip
        assert got == want, cid
        assert fast.drivers == reference.drivers[cid], cid
        history = [r for r in reference.stages if r.entity_type == "contact" and r.entity_id == cid]
        assert fast.history == history, cid


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ledger=ledgers(), seed=st.integers(0, 2**16))
def test_fast_contact_derive_equals_reference(starter_spec: Spec, ledger: Ledgerish, seed: int) -> None:
    _both(starter_spec, ledger, seed)


def test_a_contact_with_no_events_has_one_point(starter_spec: Spec) -> None:
    """A known contact with nothing happening: one as-of point, fit only, no stage movement."""
    profiles = {"c1": {"seniority": "vp", "country": "US"}}
    result = LeadEvaluator(starter_spec).evaluate("c1", profiles, {"c1": None}, [], 1_800_000_000)
    assert [p.trigger for p in result.points] == ["as_of"]
    assert result.points[0].fit == 15.0  # senior buyer 10 + served region 5
    assert result.points[0].intent == 0.0
    assert [d.key for d in result.drivers] == ["fit:3", "fit:5", "intent:pattern"]


def test_window_edges_agree_with_the_reference(starter_spec: Spec) -> None:
    """Events exactly one window before an instant are out of it, one second later they are in."""
    day, as_of = 86400, 1_780_000_000
    contacts = {"c1": {"account_id": "a1", "committee_role": "champion"},
                "c2": {"account_id": "a1", "committee_role": "economic_buyer"},
                "c3": {"account_id": "a1", "committee_role": "procurement"}}  # fmt: skip
    accounts = {"a1": {"employees": 800, "industry": "software"}}
    # c3's one engagement is exactly one committee window (60 days) before as_of: out, a second later in
    events: list[Event] = [Event("edge", as_of - 60 * day, "email_reply", "c3", "a1")]
    for k in (1, 7, 14, 30, 60, 90):
        for offset, kind, who in ((0, "pricing_view", "c1"), (1, "webinar_attended", "c1"),
                                  (0, "email_reply", "c2"), (1, "demo_request", "c1")):  # fmt: skip
            ts = as_of - k * day + offset
            events.append(Event(f"e{k}-{offset}-{kind}", ts, kind, who, "a1", topic=f"t{k}"))
    _both(starter_spec, (contacts, accounts, events, as_of), 0)
    _both(starter_spec, (contacts, accounts, events, as_of - 1), 1)


def _resolved(
    spec: Spec, ledger: Ledgerish
) -> tuple[list[Event], dict[str, str | None], dict[str, dict[str, Any]], int]:
    """The ledger's events, and each contact's account and profile as of the ledger's instant."""
    contacts, accounts, events, as_of = ledger
    live = sorted((e for e in events if e.ts <= as_of), key=lambda e: (e.ts, e.event_id))
    account_of, profiles = resolve_profiles(spec, contacts, accounts, live)
    return events, account_of, profiles, as_of


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ledger=ledgers(), seed=st.integers(0, 2**16), cut=st.integers(0, 24), earlier=st.integers(0, 5))
def test_an_evaluator_resuming_from_earlier_calls_equals_a_fresh_one(
    starter_spec: Spec, ledger: Ledgerish, seed: int, cut: int, earlier: int
) -> None:
    """The memo of points holds whatever came before: fewer events, an earlier instant, other roles."""
    events, account_of, profiles, as_of = _resolved(spec := starter_spec, ledger)
    rng = random.Random(seed)
    reused = LeadEvaluator(spec)
    partial = rng.sample(events, min(cut, len(events)))  # some events not yet arrived, any of them
    for cid in sorted(profiles):
        reused.evaluate(cid, profiles, account_of, partial, as_of - earlier * 3600)
        if rng.random() < 0.3:  # a teammate's role changed since
            changed = {c: {**row, "committee_role": "champion"} for c, row in profiles.items()}
            reused.evaluate(cid, changed, account_of, events, as_of)
    for cid in sorted(profiles):
        got = reused.evaluate(cid, profiles, account_of, events, as_of)
        want = LeadEvaluator(spec).evaluate(cid, profiles, account_of, events, as_of)
        assert got == want, cid


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ledger=ledgers(), seed=st.integers(0, 2**16))
def test_an_evaluator_fed_a_growing_stream_equals_a_fresh_one(
    starter_spec: Spec, ledger: Ledgerish, seed: int
) -> None:
    """Events arrive a few at a time, in any order, each time as a new list holding the earlier
    objects and the new ones, as the server's slice cache hands them out: the kept views and indexes
    extended by the new events alone must equal an evaluation from scratch."""
    events, account_of, profiles, as_of = _resolved(spec := starter_spec, ledger)
    rng = random.Random(seed)
    if not profiles:
        return
    arrived = rng.sample(events, len(events))  # arrival order is not time order
    reused = LeadEvaluator(spec)
    stream: list[Event] = []
    while len(stream) < len(arrived):
        stream = [*stream, *arrived[len(stream) : len(stream) + rng.randint(1, 3)]]
        for cid in rng.sample(sorted(profiles), min(2, len(profiles))):
            got = reused.evaluate(cid, profiles, account_of, stream, as_of)
            assert got == LeadEvaluator(spec).evaluate(cid, profiles, account_of, stream, as_of), cid


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ledger=ledgers(), seed=st.integers(0, 2**16))
def test_an_evaluator_fed_as_a_server_feeds_it_equals_a_fresh_one(
    starter_spec: Spec, ledger: Ledgerish, seed: int
) -> None:
    """As a server: events arrive a few at a time (sometimes one again), each time as a new list that
    extends the last, and each decision is at a later instant, which may still be before some of the
    events. Resumed evaluations (the stream caught up, the points and the stage machine resumed from
    the last unchanged point) must equal an evaluation from scratch."""
    events, account_of, profiles, as_of = _resolved(spec := starter_spec, ledger)
    rng = random.Random(seed)
    if not profiles:
        return
    arrived = rng.sample(events, len(events))
    low = min((e.ts for e in events), default=as_of)
    reused = LeadEvaluator(spec)
    stream: list[Event] = []
    taken, moment = 0, low - 3600
    while True:
        more = arrived[taken : taken + rng.randint(0, 3)]
        taken += len(more)
        stream = [*stream, *more]
        if stream and rng.random() < 0.1:
            stream = [*stream, stream[rng.randrange(len(stream))]]  # an event handed out twice
        moment += rng.choice([0, 1, 3600, 86400, 5 * 86400])
        for cid in rng.sample(sorted(profiles), min(2, len(profiles))):
            got = reused.evaluate(cid, profiles, account_of, stream, moment)
            want = LeadEvaluator(spec).evaluate(cid, profiles, account_of, stream, moment)
            assert got == want, (cid, moment)
        if not more and moment > as_of:
            break
