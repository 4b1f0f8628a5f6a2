"""The Ibis engine on DuckDB equals the pure-Python reference on random ledgers.

Streams cross a daylight-saving change in the workspace zone (New York, 8 March 2026), repeat
seconds often, and are inserted in random order, so day boundaries, simultaneous events and
out-of-order arrival are all exercised.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accord.domain.reference import Event, derive_reference
from accord.spec.model import Spec
from tests.harness import engine_shape, load_ledger, reference_shape, run_engine

HOUR, DAY = 3600, 86400
START = int(datetime(2026, 3, 1, 9, tzinfo=UTC).timestamp())
TYPES = [
    "page_view", "pricing_view", "demo_request", "email_click", "webinar_attended", "content_download",
    "security_review", "comparison_view", "email_reply", "meeting_held", "call_attempt", "assigned",
    "accepted", "rejected", "recycled", "opp_created", "opp_stage_changed", "closed_won", "closed_lost",
    "onboarding_kickoff", "value_milestone", "expanded", "renewed",
    "accepted", "rejected", "recycled", "demo_request", "pricing_view", "pricing_view", "security_review",
]  # fmt: skip


@st.composite
def ledgers(draw: st.DrawFn) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]], list[Event], int]:
    contacts: dict[str, dict[str, Any]] = {
        f"c{i}": {
            "account_id": draw(st.sampled_from(["a1", "a1", "a2", None])),
            "seniority": draw(st.sampled_from(["vp", "director", "manager", None])),
            "committee_role": draw(
                st.sampled_from(["economic_buyer", "champion", "end_user", "procurement", None])
            ),
            "country": draw(st.sampled_from(["US", "FR", None])),
            "email": draw(st.sampled_from(["x@corp.example", "y@gmail.com", None])),
            "owner_id": draw(st.sampled_from(["sam", None])),
        }
        for i in range(draw(st.integers(1, 4)))
    }
    accounts = {
        "a1": {"employees": 800, "industry": "software", "owner_id": "rosa"},
        "a2": {"employees": draw(st.sampled_from([50, 9000])), "industry": "retail", "region": "emea"},
    }
    events: list[Event] = []
    for i in range(draw(st.integers(0, 24))):
        kind = draw(st.sampled_from(TYPES))
        props: dict[str, Any] = {}
        if kind == "rejected":
            props["reason_code"] = draw(
                st.sampled_from(["bad_timing", "no_budget", "unresponsive", "bad_fit"])
            )
        if kind in ("rejected", "recycled") and draw(st.booleans()):
            props["recycle_on"] = (date(2026, 3, 1) + timedelta(days=draw(st.integers(0, 45)))).isoformat()
        if kind in ("opp_created", "opp_stage_changed"):
            props["stage"] = draw(st.sampled_from(["discovery", "proposal", "negotiation", "bogus", None]))
        if kind == "page_view":
            props["url"] = "/pricing"
        step = draw(st.sampled_from([HOUR, 5 * HOUR, DAY, 3 * DAY]))
        ts = START + draw(st.integers(0, 30)) * step + draw(st.sampled_from([0, 0, 1, 59]))
        contact = draw(st.sampled_from([*contacts, "ghost", None]))
        if events and draw(st.integers(0, 3)) == 0:  # same second, same contact as the previous one
            ts, contact = events[-1].ts, events[-1].contact_id
        events.append(Event(
            f"e{i}", ts, kind, contact_id=contact,
            account_id=draw(st.sampled_from(["a1", "a2", None])),
            opportunity_id=(draw(st.sampled_from(["o1", "o2", None]))
                            if kind.startswith(("opp", "closed")) else None),
            topic=draw(st.sampled_from(["pricing", "security", "solutions", None])),
            props=props,
        ))  # fmt: skip
    as_of = START + draw(st.integers(0, 45)) * DAY + draw(st.sampled_from([0, 7 * HOUR]))
    return contacts, accounts, events, as_of


def compare(engine: dict[str, Any], reference: dict[str, Any]) -> None:
    assert engine["unknown"] == reference["unknown"]
    assert engine["stages"] == reference["stages"]
    assert engine["points"] == reference["points"]
    assert engine["drivers"] == reference["drivers"]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(ledger=ledgers(), seed=st.integers(0, 2**16))
def test_engine_equals_reference(
    tmp_path_factory: pytest.TempPathFactory,
    starter_spec: Spec,
    ledger: tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]], list[Event], int],
    seed: int,
) -> None:
    contacts, accounts, events, as_of = ledger
    arrival = list(events)
    random.Random(seed).shuffle(arrival)
    path = tmp_path_factory.mktemp("parity") / "ledger.duckdb"
    engine_equals_reference(path, starter_spec, contacts, accounts, events, as_of, arrival=arrival)


def engine_equals_reference(
    path: Path,
    spec: Spec,
    contacts: dict[str, dict[str, Any]],
    accounts: dict[str, dict[str, Any]],
    events: list[Event],
    as_of: int,
    *,
    arrival: list[Event] | None = None,
) -> None:
    """The engine over a ledger holding ``events`` (inserted in ``arrival`` order) against the
    reference over the same events."""
    with load_ledger(path, contacts, accounts, arrival if arrival is not None else events) as store:
        # as `accord derive` runs: each example reuses the expressions earlier examples built
        derived, cache = run_engine(store, spec, as_of, shared=True)
        try:
            engine = engine_shape(derived, spec)
        finally:
            cache.close()
    compare(engine, reference_shape(derive_reference(spec, contacts, accounts, events, as_of)))


def test_chunked_engine_equals_reference(tmp_path: Path, starter_spec: Spec) -> None:
    """Derived account chunk by account chunk, the result is the same: committees span a chunk's
    contacts, account-only events and contacts without an account land in the right chunk."""
    contacts = {
        "c1": {"account_id": "a1", "seniority": "vp", "committee_role": "champion", "country": "US"},
        "c2": {"account_id": "a1", "committee_role": "economic_buyer"},
        "c3": {"account_id": "a2", "seniority": "director", "committee_role": "end_user"},
        "c4": {"committee_role": "champion"},  # its account comes from its events
        "c5": {},
    }
    accounts: dict[str, dict[str, Any]] = {
        "a1": {"employees": 800, "industry": "software"},
        "a2": {"employees": 9000},
    }
    t = START
    kinds = ["pricing_view", "webinar_attended", "email_reply", "demo_request", "page_view", "email_click"]
    events = [
        Event(f"e{i}", t + i * 7 * HOUR, kinds[i % len(kinds)], cid, acc, topic=("pricing", "demo")[i % 2])
        for i, (cid, acc) in enumerate(
            [("c1", "a1"), ("c2", "a1"), ("c3", "a2"), ("c4", "a2"), ("c5", None), (None, "a1")] * 4
        )
    ]
    events += [
        Event("x1", t + 5 * DAY, "assigned", "c1", "a1", actor_id="sam"),
        Event("x2", t + 6 * DAY, "rejected", "c1", "a1", props={"reason_code": "bad_timing"}),
    ]
    as_of = t + 20 * DAY
    with load_ledger(tmp_path / "l.duckdb", contacts, accounts, events) as store:
        derived, cache = run_engine(store, starter_spec, as_of, chunk_events=len(events) // 3)
        try:
            engine = engine_shape(derived, starter_spec)
        finally:
            cache.close()
    reference = reference_shape(derive_reference(starter_spec, contacts, accounts, events, as_of))
    compare(engine, reference)
    assert {p[0] for p in engine["points"]} == {"c1", "c2", "c3", "c4", "c5"}


def test_chunks_carry_every_event_column_the_spec_reads(tmp_path: Path, starter_spec: Spec) -> None:
    """A chunked derive writes only the event columns it reads to its chunk files. Rules on a campaign
    id, a content id and a property, and a sum of a property, still find their columns in every chunk,
    and the result equals the reference and the counts made by hand."""
    data = starter_spec.model_dump(mode="json", by_alias=True)
    data["features"].update({
        "spring_touches": {"agg": "count", "where": "campaign_id = 'spring'", "window": "all"},
        "pricing_pages": {"agg": "count", "where": "url = '/pricing'", "window": "all"},
        "deal_total": {"agg": "sum", "of": "amount", "where": "type = 'opp_created'", "window": "all"},
    })  # fmt: skip
    data["scoring"]["intent"]["signals"].insert(  # first: a row counts for the first signal it meets
        0, {"when": "content_id = 'guide'", "points": 7, "cap": 14, "label": "the buyer's guide"}
    )
    spec = Spec.model_validate(data)
    contacts = {f"c{i}": {"account_id": f"a{i}", "committee_role": "champion"} for i in range(1, 5)}
    accounts: dict[str, dict[str, Any]] = {f"a{i}": {"employees": 800} for i in range(1, 5)}
    plan: list[tuple[str, str | None, str | None, dict[str, Any]]] = [
        ("email_click", "spring", None, {}),
        ("page_view", None, None, {"url": "/pricing"}),
        ("content_download", "spring", "guide", {}),
        ("opp_created", None, None, {"amount": 1000.0}),
    ]
    events = [
        Event(f"e{i}{j}", START + j * DAY + i * HOUR, kind, f"c{i}", f"a{i}",
              campaign_id=campaign if j != 2 or i % 2 else "fall", content_id=content,
              props={k: v * i for k, v in props.items()} if kind == "opp_created" else props)
        for i in range(1, 5)
        for j, (kind, campaign, content, props) in enumerate(plan)
    ]  # fmt: skip
    as_of = START + 10 * DAY
    with load_ledger(tmp_path / "l.duckdb", contacts, accounts, events) as store:
        derived, cache = run_engine(store, spec, as_of, chunk_events=len(events) // 3)
        try:
            engine = engine_shape(derived, spec)
            leads = {r["contact_id"]: r for r in derived.leads.to_pyarrow().to_pylist()}
        finally:
            cache.close()
    compare(engine, reference_shape(derive_reference(spec, contacts, accounts, events, as_of)))
    for i in range(1, 5):
        lead = leads[f"c{i}"]
        expected = (2 if i % 2 else 1, 1, 1000.0 * i)  # spring twice for c1 and c3, once for the others
        assert (lead["spring_touches"], lead["pricing_pages"], lead["deal_total"]) == expected
    guide = [d for d in engine["drivers"]["c1"] if d[1] == "the buyer's guide"]
    assert guide and guide[0][3] == 1  # the content rule fired once, in its chunk


def test_a_hot_lead_on_both(tmp_path: Path, starter_spec: Spec) -> None:
    """A hand-made Tier 1 lead: both agree, and the stage history reads as a rep would expect."""
    contacts = {"c1": {"account_id": "a1", "seniority": "vp", "committee_role": "champion", "country": "US"}}
    accounts = {"a1": {"employees": 800, "industry": "software"}}
    t = START
    events = [
        Event("e1", t, "email_click", "c1", "a1"),
        Event("e2", t + DAY, "webinar_attended", "c1", "a1", topic="security"),
        Event("e3", t + 2 * DAY, "pricing_view", "c1", "a1", topic="pricing"),
        Event("e4", t + 3 * DAY, "demo_request", "c1", "a1", topic="demo"),
        Event("e5", t + 3 * DAY + HOUR, "assigned", "c1", "a1", actor_id="sam"),
        Event("e6", t + 3 * DAY + 2 * HOUR, "accepted", "c1", "a1", actor_id="sam"),
    ]
    as_of = t + 4 * DAY
    with load_ledger(tmp_path / "l.duckdb", contacts, accounts, events) as store:
        derived, cache = run_engine(store, starter_spec, as_of)
        engine = engine_shape(derived, starter_spec)
        cache.close()
    reference = reference_shape(derive_reference(starter_spec, contacts, accounts, events, as_of))
    compare(engine, reference)
    last = engine["points"][-1]
    assert last[7] == "Tier 1"  # tier
    history = [(r[2], r[7]) for r in engine["stages"] if r[0] == "contact"]
    assert history == [
        ("awareness", False),
        ("consideration", False),
        ("evaluation", False),
        ("sales_accepted", False),
    ]


VARIANT_FEATURES: dict[str, dict[str, Any]] = {
    "account_engaged_30d": {"agg": "count", "where": "type IN ('page_view', 'email_click', 'pricing_view')",
                            "window": "30d", "scope": "account"},
    "account_days_14d": {"agg": "count_distinct", "of": "day", "where": "type <> 'assigned'", "window": "14d",
                         "scope": "account"},
    "account_days": {"agg": "count_distinct", "of": "day", "where": "true", "window": "all",
                     "scope": "account"},
    "account_opps": {"agg": "count", "where": "type = 'opp_created'", "window": "all", "scope": "account"},
    "pipeline_90d": {"agg": "sum", "of": "amount", "where": "type = 'opp_created'", "window": "90d"},
    "largest_deal": {"agg": "max", "of": "amount", "where": "true", "window": "all", "scope": "account"},
    "smallest_deal_30d": {"agg": "min", "of": "amount", "where": "true", "window": "30d"},
    "topics_30d": {"agg": "count_distinct", "of": "topic", "where": "true", "window": "30d"},
    "active_days_100d": {"agg": "count_distinct", "of": "day", "where": "true", "window": "100d"},
    "active_days_400d": {"agg": "count_distinct", "of": "day", "where": "type <> 'assigned'",
                         "window": "400d"},
    "pat": {"agg": "count_distinct", "of": "day", "where": "type = 'page_view'", "window": "30d"},
    "rep_touch_days": {"agg": "days_since", "where": "type IN ('assigned', 'accepted')", "window": "all",
                       "scope": "account"},
}  # fmt: skip


@pytest.fixture(scope="module")
def variant_spec(starter_spec: Spec) -> Spec:
    """The starter spec plus features of every kind the starter lacks: account scope (packed over the
    account stream), other windows, sums and extremes, distinct values other than days, and distinct
    days counted by two day masks (100d) and by edges (400d, and all time), one of them named like
    the intent pattern's own day count (``pat``) to prove they keep apart."""
    data = starter_spec.model_dump(mode="json", by_alias=True)
    data["features"].update(VARIANT_FEATURES)
    return Spec.model_validate(data)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    ledger=ledgers(),
    amounts=st.lists(st.sampled_from([None, 0.0, 1500.0, 20000.5]), min_size=24, max_size=24),
)
def test_engine_equals_reference_on_every_kind_of_feature(
    tmp_path_factory: pytest.TempPathFactory,
    variant_spec: Spec,
    ledger: tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]], list[Event], int],
    amounts: list[float | None],
) -> None:
    contacts, accounts, events, as_of = ledger
    events = [
        replace(e, props={**e.props, "amount": amount}) if amount is not None else e
        for e, amount in zip(events, amounts, strict=False)
    ]
    path = tmp_path_factory.mktemp("variant") / "ledger.duckdb"
    with load_ledger(path, contacts, accounts, events) as store:
        derived, cache = run_engine(store, variant_spec, as_of, shared=True)
        try:
            engine = engine_shape(derived, variant_spec)
            leads = {r["contact_id"]: r for r in derived.leads.to_pyarrow().to_pylist()}
        finally:
            cache.close()
    result = derive_reference(variant_spec, contacts, accounts, events, as_of)
    compare(engine, reference_shape(result))
    at_as_of = {p.contact_id: p.features for p in result.points if p.ts == as_of}
    assert set(at_as_of) == set(leads)
    for contact_id, features in at_as_of.items():
        for name in VARIANT_FEATURES:
            assert leads[contact_id][name] == pytest.approx(features[name]), (contact_id, name)


def test_a_committee_wider_than_one_mask(tmp_path: Path, starter_spec: Spec) -> None:
    """Roles engaged are tracked 62 to a bit mask: roles on both sides of the boundary count once each,
    as the reference counts them."""
    data = starter_spec.model_dump(mode="json", by_alias=True)
    starter = data["buying_committee"]  # the starter's rules name these; the rest pad to 70
    pad = [{"id": f"r{i}", "label": f"Role {i}"} for i in range(len(starter), 70)]
    data["buying_committee"] = starter + pad
    ids = [r["id"] for r in data["buying_committee"]]
    data["scoring"]["committee"].update(roles=None, cap=None)
    spec = Spec.model_validate(data)
    picked = [0, 61, 62, 69]
    contacts = {f"c{i}": {"account_id": "a1", "committee_role": ids[i]} for i in picked}
    accounts: dict[str, dict[str, Any]] = {"a1": {"employees": 800, "industry": "software"}}
    events = [Event(f"e{i}", START + i * HOUR, "email_reply", f"c{i}", "a1") for i in picked]
    as_of = START + 3 * DAY
    with load_ledger(tmp_path / "l.duckdb", contacts, accounts, events) as store:
        derived, cache = run_engine(store, spec, as_of)
        try:
            engine = engine_shape(derived, spec)
            roles_at = {r["contact_id"]: r["committee_roles"] for r in derived.leads.to_pyarrow().to_pylist()}
        finally:
            cache.close()
    compare(engine, reference_shape(derive_reference(spec, contacts, accounts, events, as_of)))
    assert roles_at == {f"c{i}": 4 for i in picked}


@pytest.mark.parametrize(("first_year", "half_life"), [(1975, "14d"), (2024, "1d"), (1900, "14d")])
def test_histories_longer_than_a_thousand_half_lives(
    tmp_path: Path, starter_spec: Spec, first_year: int, half_life: str
) -> None:
    """Intent decays from each event's own instant, however old the contact's first event is.

    The engine sums decayed intent as growth from the contact's first event (2 ** half-lives since);
    over a thousand half-lives that overflows a double, which once turned a placeholder date from a
    CRM export (1970, 1900) or a one-day half-life over two years into a Tier 1 lead."""
    data = starter_spec.model_dump(mode="json", by_alias=True)
    data["scoring"]["intent"]["half_life"] = half_life
    spec = Spec.model_validate(data)
    contacts = {"c1": {"account_id": "a1", "seniority": "vp", "committee_role": "champion", "country": "US"}}
    accounts: dict[str, dict[str, Any]] = {"a1": {"employees": 800, "industry": "software"}}
    old = int(datetime(first_year, 1, 1, tzinfo=UTC).timestamp())
    events = [
        Event("e0", old, "pricing_view", contact_id="c1"),
        Event("e1", old + DAY, "demo_request", contact_id="c1"),
        *[Event(f"e{i + 2}", START + i * 7 * HOUR, kind, contact_id="c1", topic="pricing")
          for i, kind in enumerate(["page_view", "pricing_view", "email_click", "pricing_view"])],
    ]  # fmt: skip
    # not a whole number of half-lives after any event: 2 ** -3 = 0.125 exactly in the reference is
    # a tie at hundredths that a sum of growth terms misses by an ulp either way (docs/derive.md)
    as_of = START + 3 * DAY + 1000
    engine_equals_reference(tmp_path / "ledger.duckdb", spec, contacts, accounts, events, as_of)


def test_account_only_history_does_not_switch_contacts_to_epochs(tmp_path: Path, starter_spec: Spec) -> None:
    """Rows without a contact share one group whose intent nobody reads. Its span once counted as a
    contact's, so a long account stream sent every chunk down the slower epoch path; growth there may
    overflow to infinity, which must reach no contact's score."""
    import ibis

    from accord.engine import packing

    data = starter_spec.model_dump(mode="json", by_alias=True)
    data["scoring"]["intent"]["half_life"] = "1d"
    spec = Spec.model_validate(data)
    contacts = {"c1": {"account_id": "a1", "seniority": "vp", "committee_role": "champion", "country": "US"}}
    accounts: dict[str, dict[str, Any]] = {"a1": {"employees": 800, "industry": "software"}}
    old = int(datetime(1991, 1, 1, tzinfo=UTC).timestamp())
    events = [
        Event("a0", old, "pricing_view", account_id="a1"),
        *[Event(f"e{i}", START + i * 7 * HOUR, kind, "c1", "a1", topic="pricing")
          for i, kind in enumerate(["page_view", "pricing_view", "email_click", "demo_request"])],
    ]  # fmt: skip
    stream = ibis.memtable(
        {
            "contact_id": [e.contact_id for e in events],
            "part": ["a1"] * len(events),
            "ts": [e.ts for e in events],
        }
    )
    assert packing.partition_rows(stream)["span"] == 3 * 7 * HOUR
    engine_equals_reference(
        tmp_path / "ledger.duckdb", spec, contacts, accounts, events, START + 3 * DAY + 1000
    )


def test_a_later_derive_of_the_same_spec_builds_and_compiles_nothing_new(
    tmp_path: Path, starter_spec: Spec
) -> None:
    """`accord derive` reads its instant from a session variable and names its steps the same each
    run, so a later derive of the spec in the process (another ledger, another instant) reuses every
    expression and its SQL; a small derive once spent 2 of its 2.5 s building and compiling them.
    Reused on a new connection, they still give the reference's answer at the new instant."""
    from accord.engine import backends
    from accord.engine import derive as engine

    contacts = {"c1": {"account_id": "a1", "seniority": "vp", "committee_role": "champion", "country": "US"}}
    accounts: dict[str, dict[str, Any]] = {"a1": {"employees": 800, "industry": "software"}}
    kinds = ["page_view", "pricing_view", "email_click", "demo_request"]
    events = [
        Event(f"e{i}", START + i * 7 * HOUR, k, "c1", "a1", topic="pricing") for i, k in enumerate(kinds)
    ]
    shapes = []
    for n, as_of in enumerate((START + 2 * DAY, START + 9 * DAY + 1000)):
        built, compiled = set(engine._BUILT), set(backends._COMPILED)
        with load_ledger(tmp_path / f"l{n}.duckdb", contacts, accounts, events) as store:
            derived, cache = run_engine(store, starter_spec, as_of, shared=True)
            try:
                shapes.append(engine_shape(derived, starter_spec))
            finally:
                cache.close()
        compare(
            shapes[-1], reference_shape(derive_reference(starter_spec, contacts, accounts, events, as_of))
        )
    assert set(engine._BUILT) == built and set(backends._COMPILED) == compiled  # the second run's
    assert shapes[0]["points"] != shapes[1]["points"]  # intent decayed: the instant did reach the SQL
