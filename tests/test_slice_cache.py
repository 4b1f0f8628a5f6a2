"""A server's cached account slices give the same decisions as reading the ledger afresh.

The server keeps each account's profiles and events between decisions (engine.realtime.SliceCache)
and adds what its own ingests store; these tests drive a held workspace through ingests of every
kind (a known contact, one that changes account, a new contact, an account-level event, a late
event) and through writes that are not ingests, and after each compare the cached decision with one
read straight from the ledger.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from accord import service
from accord.engine.inputs import profiles_sql
from accord.engine.realtime import LeadState, RealTime
from accord.service.decide import realtime
from accord.service.hosted import HostedWorkspace
from accord.service.ingestion import ingest
from accord.service.keys import record_audit

AS_OF = datetime(2026, 11, 2, 12, tzinfo=UTC)
KINDS = ["page_view", "pricing_view", "email_click", "demo_request", "webinar_attended"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("slices") / "ws"
    service.build_demo(root, contacts=60, seed=11, as_of=AS_OF)
    return root


@pytest.fixture
def held(demo: Path, tmp_path: Path) -> Iterator[HostedWorkspace]:
    root = tmp_path / "ws"
    shutil.copytree(demo, root)
    ws = HostedWorkspace(root)
    try:
        yield ws
    finally:
        ws.close()


class Fresh:
    """Decisions read straight from the ledger every time (no slice cache)."""

    def __init__(self, ws: HostedWorkspace) -> None:
        self.ledger = ws.ledger(read_only=True)
        self.rt = RealTime(self.ledger, ws.spec)

    def __call__(self, contact: str, now: datetime) -> LeadState:
        return self.rt.state(contact, now)


def cached(ws: HostedWorkspace, contact: str, now: datetime) -> LeadState:
    with realtime(ws) as rt:
        assert rt.slices is not None
        return rt.state(contact, now)


def members(ws: HostedWorkspace) -> list[tuple[str, str | None]]:
    with ws.ledger(read_only=True) as ledger:
        rows = ledger.con.execute("SELECT contact_id, account_id FROM contacts ORDER BY 1").fetchall()
    return [(str(c), a) for c, a in rows]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_cached_decisions_equal_fresh_ones_through_every_kind_of_write(
    held: HostedWorkspace, seed: int
) -> None:
    rng = random.Random(seed)
    fresh = Fresh(held)
    people = members(held)
    accounts = sorted({a for _, a in people if a})
    now = AS_OF
    touched: list[str] = [c for c, _ in rng.sample(people, 6)]
    newcomers: list[str] = []
    by_account = {a: [c for c, b in people if b == a] for a in accounts}
    for c in touched:  # warm the cache
        assert cached(held, c, now) == fresh(c, now)
    for step in range(30):
        now += timedelta(seconds=rng.choice([0, 1, 30, 600]))
        contact, account = rng.choice(people)
        kind = rng.choice(["known", "known", "moves", "new", "account", "late", "audit", "record"])
        event: dict[str, Any] = {
            "event_id": f"s{seed}-{step}",
            "occurred_at": now - timedelta(seconds=rng.choice([0, 5, 3600])),
            "type": rng.choice(KINDS),
            "contact_id": contact,
            "account_id": account,
            "source": "web",
            "topic": "pricing",
            "properties": {"url": "/pricing"},
        }
        if kind == "moves":
            event["account_id"] = rng.choice([a for a in accounts if a != account] or accounts)
            if newcomers and rng.random() < 0.5:  # one known only from events: it really moves
                event["contact_id"] = rng.choice(newcomers)
        elif kind == "new":
            event["contact_id"] = f"new-{seed}-{step}"
            event["account_id"] = rng.choice(accounts)
            newcomers.append(event["contact_id"])
        elif kind == "account":
            event["contact_id"] = None
        elif kind == "late":
            event["occurred_at"] = now - timedelta(days=rng.choice([3, 40]))
        if kind == "audit":  # written on every API request: must not make slices stale, nor wrong
            record_audit(held, at=now, principal=None, method="POST", path="/x", status=200)
        elif kind == "record":  # a fact changed outside an ingest: the cache must let go
            with held.ledger() as ledger:
                ledger.execute_write(
                    "UPDATE contacts SET seniority = ? WHERE contact_id = ?",
                    [rng.choice(["vp", "manager", "c_level"]), contact],
                )
        else:
            result = ingest(held, [event], now=now, decide=False)
            assert [i.status for i in result.items] == ["stored"]
            if event["contact_id"]:
                touched.append(event["contact_id"])
        # the account the event names: its members' account-wide features and committee changed
        teammates = by_account.get(event["account_id"], [])[:3] + newcomers[-2:]
        for c in {*touched[-3:], *teammates, *(c for c, _ in rng.sample(people, 2))}:
            assert cached(held, c, now) == fresh(c, now), (step, kind, c)
    for c in {*touched, *newcomers}:  # routing reads the profile the state carries
        assert cached(held, c, now).profile == profile_row(held, c, now), c


def profile_row(ws: HostedWorkspace, contact: str, now: datetime) -> dict[str, Any]:
    """The contact's row of the whole ledger's profiles table, as the tick's routing reads it."""
    with ws.ledger(read_only=True) as ledger:
        cursor = ledger.con.execute(
            f"SELECT * FROM ({profiles_sql(ws.spec, int(now.timestamp()))}) WHERE contact_id = ?", [contact]
        )
        names = [d[0] for d in cursor.description]
        found = cursor.fetchall()
    assert len(found) == 1
    return dict(zip(names, found[0], strict=True))


def test_ingest_feeds_the_cache_instead_of_emptying_it(held: HostedWorkspace) -> None:
    """After an ingest the contact's slice is still cached, with the new event in it."""
    contact, account = members(held)[0]
    cached(held, contact, AS_OF)
    event = {"event_id": "feed-1", "occurred_at": AS_OF, "type": "pricing_view",
             "contact_id": contact, "account_id": account, "source": "web"}  # fmt: skip
    ingest(held, [event], now=AS_OF, decide=False)
    with realtime(held) as rt:
        assert rt.slices is not None
        generation = rt.ledger.copy.generation
        piece = rt.slices.get(contact, int(AS_OF.timestamp()), generation)
    assert piece is not None
    assert "feed-1" in {e.event_id for e in piece.events}


def heat(ws: HostedWorkspace, contacts: list[str], now: datetime) -> None:
    """Strong interest over three days, then a derive: several contacts reach Tier 1 unowned and
    join the Tier 1 queue, so assigning them loads a rep."""
    steps = [("demo_request", 2), ("pricing_view", 1), ("webinar_attended", 0), ("pricing_view", 0)]
    ingest(ws, [
        {"event_id": f"hot-{c}-{j}", "occurred_at": now - timedelta(days=days, hours=1), "type": kind,
         "contact_id": c, "source": "web", "topic": "pricing", "properties": {"url": "/pricing"}}
        for c in contacts for j, (kind, days) in enumerate(steps)
    ], now=now, decide=False)  # fmt: skip
    service.run_derive(ws, as_of=now)


@pytest.mark.parametrize("seed", [4, 5])
def test_routing_previews_with_kept_rep_loads_equal_recounted_ones(held: HostedWorkspace, seed: int) -> None:
    """The reps' loads a routing preview reads are kept between requests (service.decide.RepsCache):
    through ingests that assign, accept or only show interest, and through other writes, every
    decision equals one whose loads were counted again from the ledger."""
    from accord.service.decide import _pool, decisions

    rng = random.Random(seed)
    people = [c for c, _ in members(held)]
    reps = ["sam", "lee", "ana"]  # the load-balanced team
    now = AS_OF
    hot = rng.sample(people, 12)
    heat(held, hot, now)
    people = hot + rng.sample(people, 8)
    previews = 0
    for step in range(25):
        if rng.random() < 0.3:
            now += timedelta(minutes=rng.choice([1, 30]))
        kind = rng.choice(["interest", "interest", "assigned", "accepted", "record"])
        contact = rng.choice(hot if kind in ("assigned", "accepted") else people)
        if kind == "record":
            with held.ledger() as ledger:
                ledger.execute_write(
                    "UPDATE contacts SET seniority = ? WHERE contact_id = ?", ["vp", contact]
                )
        else:
            event = {
                "event_id": f"r{seed}-{step}",
                "occurred_at": now - timedelta(seconds=5),
                "type": "pricing_view" if kind == "interest" else kind,
                "contact_id": contact,
                "actor_id": None if kind == "interest" else rng.choice(reps),
                "source": "web",
                "topic": "pricing",
            }
            ingest(held, [event], now=now, decide=False)
        asked = rng.sample(people, 8)
        kept = decisions(held, asked, now)
        _pool(held).reps.key = None  # forget the loads: the next decisions count them again
        assert kept == decisions(held, asked, now), (step, kind)
        previews += sum(1 for d in kept if d["route"]["status"] == "would_assign")
    assert previews > 0  # the loads were read at all


def test_an_assignment_ingested_changes_the_next_routing_preview(held: HostedWorkspace) -> None:
    """Kept loads must not outlive an ingested assignment: the rep who just took leads is not the
    one the next preview picks, exactly as when the loads are counted again."""
    from accord.service.decide import _pool, decisions

    people = [c for c, _ in members(held)]
    now = AS_OF
    heat(held, people, now)
    first = [d for d in decisions(held, people[:25], now) if d["route"]["status"] == "would_assign"]
    assert len(first) >= 3
    busy = first[0]["route"]["owner"]
    ingest(held, [
        {"event_id": f"take-{d['contact_id']}", "occurred_at": now - timedelta(seconds=5), "type": "assigned",
         "contact_id": d["contact_id"], "actor_id": busy, "source": "web"}
        for d in first[1:3]
    ], now=now, decide=False)  # fmt: skip
    kept = decisions(held, [first[0]["contact_id"]], now)
    _pool(held).reps.key = None
    assert kept == decisions(held, [first[0]["contact_id"]], now)
    assert kept[0]["route"]["owner"] != busy


def test_a_slice_read_after_a_later_event_was_ingested_is_not_reused_past_it(held: HostedWorkspace) -> None:
    """The ledger's latest instant is kept with the cache; an ingest must move it, or a slice read
    at an earlier instant would be taken as complete for later ones and miss that event."""
    people = members(held)
    (first, first_account), (second, _) = people[0], next(p for p in people if p[1] != people[0][1])
    fresh = Fresh(held)
    assert cached(held, first, AS_OF) == fresh(first, AS_OF)  # the cache knows the latest instant now
    later = AS_OF + timedelta(minutes=10)
    ingest(held, [{"event_id": "ahead-1", "occurred_at": later, "type": "demo_request",
                   "contact_id": second, "source": "web"}], now=AS_OF, decide=False)  # fmt: skip
    assert cached(held, second, AS_OF) == fresh(second, AS_OF)  # read at AS_OF, before the event
    after = AS_OF + timedelta(minutes=20)
    assert cached(held, second, after) == fresh(second, after)  # must include the demo request
    assert first_account != dict(people).get(second)


@pytest.mark.parametrize("seed", [6, 7])
def test_handoff_events_read_from_the_slice_equal_the_ledgers(held: HostedWorkspace, seed: int) -> None:
    """Decisions take a contact's handoff and clock events from the slice they just read instead of a
    query (HandoffView.happenings). Within a second the ledger orders them by the microsecond, then
    by id, and stops at the instant itself: the slice, which holds whole seconds, must do the same."""
    from accord.handoffs.view import HandoffView, clock_types

    rng = random.Random(seed)
    people = [c for c, _ in members(held)]
    chosen = rng.sample(people, 4)
    types = clock_types(held.spec)
    reps = sorted(held.spec.people)
    now = AS_OF
    for step in range(25):
        now += timedelta(seconds=rng.choice([0, 1, 60]))
        at = now.replace(microsecond=0)
        events = [
            {
                # ids that disagree with the instants' order, so a tie-break by id shows
                "event_id": f"h{seed}-{step}-{rng.randint(0, 99):02d}-{k}",
                "occurred_at": at
                + timedelta(microseconds=rng.choice([-700_000, -1, 0, 1, 250_000, 999_999])),
                "type": rng.choice([*types, "page_view"]),
                "contact_id": rng.choice(chosen),
                "actor_id": rng.choice(reps),
                "source": "crm",
            }
            for k in range(rng.randint(1, 4))
        ]
        ingest(held, events, now=at, decide=False)
        moment = int(at.timestamp())
        with realtime(held) as rt, held.ledger(read_only=True) as ledger:
            for contact in chosen:
                from_slice = rt.happenings(contact, moment, types)
                view = HandoffView(ledger, held.spec, moment, only=frozenset([contact]))
                assert from_slice == view.happenings.get(contact, []), (step, contact)
    with held.ledger(read_only=True) as ledger:  # the walk did reach ties and the second after
        late = ledger.con.execute(
            "SELECT count(*) FROM events WHERE event_id LIKE 'h%' AND microsecond(occurred_at) > 0"
        ).fetchall()[0][0]
    assert late > 0


def test_a_read_between_an_ingests_commit_and_its_report_keeps_the_cache() -> None:
    """Under load a decision often reads between an ingest's commit and its appended() call. That read
    misses (the ledger is newer than the cache) but must not empty the cache, or every busy second
    re-reads every slice; once the ingest reports, the cached slice carries its event. A newer ledger
    that no ingest announced still empties the cache."""
    from accord.domain.records import Event
    from accord.engine.realtime import Slice, SliceCache

    def piece() -> Slice:
        old = Event("e1", 100, "page_view", contact_id="c1", account_id="a1", us=100_000_000)
        return Slice("a1", {"c1": {}}, {"c1": "a1"}, [old], read_at=200, open_ended=True)

    cache = SliceCache()
    assert cache.get("c1", 200, 7) is None  # first sight of generation 7
    cache.put(piece(), 7)
    cache.expect(7)
    assert cache.get("c1", 200, 8) is None  # committed, not yet reported: a miss
    new = Event("e2", 150, "pricing_view", contact_id="c1", account_id="a1", us=150_000_000)
    cache.appended([new], 7, 8)
    kept = cache.get("c1", 200, 8)
    assert kept is not None and [e.event_id for e in kept.events] == ["e1", "e2"]

    unannounced = SliceCache()
    unannounced.get("c1", 200, 7)
    unannounced.put(piece(), 7)
    assert unannounced.get("c1", 200, 8) is None  # another writer: emptied
    unannounced.appended([new], 7, 8)
    assert unannounced.get("c1", 200, 8) is None


def test_routing_reads_the_last_derive_only_when_a_rule_needs_it(held: HostedWorkspace) -> None:
    """The starter's routing rules read profile columns only, so a preview skips the derived row;
    forcing that read (a rule reading a column no profile has) must not change one decision."""
    from accord.service.decide import _pool, decisions

    people = [c for c, _ in members(held)]
    heat(held, people, AS_OF)
    router = _pool(held).router
    assert router.columns and "f__unknown" not in router.columns
    skipped = decisions(held, people[:25], AS_OF)
    assert any(d["route"]["status"] == "would_assign" for d in skipped)
    wanted = router.columns
    router.columns = wanted | {"f__unknown"}
    try:
        assert decisions(held, people[:25], AS_OF) == skipped
    finally:
        router.columns = wanted


def test_a_server_keeps_key_rows_until_a_key_changes(held: HostedWorkspace) -> None:
    """Every request looks its key up; a server on its own DuckDB file keeps the rows, and creating or
    revoking a key in the server empties them, so a revoked key is refused on its next request."""
    from accord.service.keys import create_key, principal_for, revoke_key

    owner = (held.spec.governance.owners or list(held.spec.people))[0]
    key_id, key = create_key(held, owner, "viewer", "cache")
    first = principal_for(held, key)
    assert first is not None and first.key_id == key_id
    assert principal_for(held, key) == first  # kept
    assert principal_for(held, key.rsplit("_", 1)[0] + "_wrong") is None  # the secret is still checked
    revoke_key(held, key_id)
    assert principal_for(held, key) is None
    _, other = create_key(held, owner, "revops", "cache-2")
    assert principal_for(held, other) is not None and principal_for(held, key) is None


def test_request_threads_share_one_evaluator_and_decide_as_a_fresh_one(held: HostedWorkspace) -> None:
    """Every evaluator instance of a server shares one LeadEvaluator (each kept its own memo and
    redid the other's work); threads ingesting and deciding at once on the same accounts still get,
    for every contact, the state a fresh evaluator reads from the ledger."""
    import threading

    from accord.service.decide import _pool

    pool = _pool(held)
    with pool.acquire() as a, pool.acquire() as b:
        assert a is not b and a.evaluator is b.evaluator
    people = members(held)[:12]
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            rng = random.Random(k)
            for j in range(15):
                contact, account = rng.choice(people)
                event = {"event_id": f"thr-{k}-{j}", "occurred_at": AS_OF - timedelta(minutes=j),
                         "type": rng.choice(KINDS), "contact_id": contact, "account_id": account,
                         "source": "web"}  # fmt: skip
                ingest(held, [event], now=AS_OF)
        except BaseException as exc:  # reported below, in the test's own thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    fresh = Fresh(held)
    for contact, _ in people:
        got, want = cached(held, contact, AS_OF), fresh(contact, AS_OF)
        assert (got.score, got.tier, got.stage) == (want.score, want.tier, want.stage)
        assert got.drivers == want.drivers
