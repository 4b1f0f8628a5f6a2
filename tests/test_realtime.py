"""Real time equals batch: events replayed one at a time, in any order, give the batch result."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accord.domain.reference import Event
from accord.engine.realtime import RealTime
from accord.errors import AccordError
from accord.spec.model import Spec
from tests.harness import engine_shape, load_ledger, run_engine
from tests.test_engine_parity import ledgers

HOUR, DAY = 3600, 86400


def as_dict(e: Event) -> dict[str, Any]:
    return {"event_id": e.event_id, "occurred_at": datetime.fromtimestamp(e.ts, UTC), "type": e.type,
            "contact_id": e.contact_id, "account_id": e.account_id, "opportunity_id": e.opportunity_id,
            "topic": e.topic, "source": "test", "properties": dict(e.props)}  # fmt: skip


def batch(
    path: Path, spec: Spec, contacts: Any, accounts: Any, events: list[Event], as_of: int
) -> dict[str, Any]:
    with load_ledger(path, contacts, accounts, events) as store:
        derived, cache = run_engine(store, spec, as_of)
        try:
            return engine_shape(derived, spec)
        finally:
            cache.close()


def test_replay_one_at_a_time_equals_batch(tmp_path: Path, starter_spec: Spec) -> None:
    contacts = {"c1": {"account_id": "a1", "seniority": "vp", "committee_role": "champion", "country": "US"},
                "c2": {"account_id": "a1", "committee_role": "economic_buyer"}}  # fmt: skip
    accounts = {"a1": {"employees": 800, "industry": "software"}}
    t = int(datetime(2026, 3, 5, 14, tzinfo=UTC).timestamp())  # the stream crosses the DST change
    events = [
        Event("e1", t, "email_click", "c1", "a1"),
        Event("e2", t + DAY, "webinar_attended", "c1", "a1", topic="security"),
        Event("e3", t + 2 * DAY, "pricing_view", "c1", "a1", topic="pricing"),
        Event("e4", t + 2 * DAY, "page_view", "c2", "a1", topic="pricing"),
        Event("e5", t + 4 * DAY, "demo_request", "c1", "a1", topic="demo"),
        Event("e6", t + 4 * DAY + HOUR, "assigned", "c1", "a1"),
        Event("e7", t + 5 * DAY, "rejected", "c1", "a1", props={"reason_code": "bad_timing"}),
        Event("e8", t + 6 * DAY, "pricing_view", "c1", "a1", topic="pricing"),
    ]
    as_of = t + 7 * DAY
    expected = batch(tmp_path / "batch.duckdb", starter_spec, contacts, accounts, events, as_of)
    history = {p[1]: p for p in expected["points"] if p[0] == "c1"}
    with load_ledger(tmp_path / "rt.duckdb", contacts, accounts, []) as store:
        rt = RealTime(store, starter_spec)
        for i, e in enumerate(events):  # in time order: once a second's events are all in, c1's answer
            rt.append([as_dict(e)])  # as of that second equals the batch history there
            if e.ts in history and (i + 1 == len(events) or events[i + 1].ts != e.ts):
                state = rt.state("c1", datetime.fromtimestamp(e.ts, UTC))
                row = history[e.ts]
                assert (state.fit, state.intent, state.committee, state.score, state.tier) == row[3:8]
        final = rt.state("c1", datetime.fromtimestamp(as_of, UTC))
    last = [p for p in expected["points"] if p[0] == "c1"][-1]
    assert (final.score, final.tier, final.motion, final.disposition) == (last[6], last[7], last[8], last[9])
    stage_ids = starter_spec.stage_ids()
    assert final.stage == (stage_ids[last[12]] if last[12] >= 0 else None)
    drivers = [(d["key"], d["label"], d["points"]) for d in final.drivers]
    assert drivers == [(k, lab, pts) for k, lab, pts, *_ in expected["drivers"]["c1"]]
    rows = [(r.stage, r.entered_at, r.exited_at, r.skipped) for r in final.history]
    mine = sorted((r for r in expected["stages"] if r[:2] == ("contact", "c1")), key=lambda r: (r[4], r[3]))
    assert rows == [(r[2], r[4], r[5], r[7]) for r in mine]


@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(ledger=ledgers(), seed=st.integers(0, 2**16))
def test_out_of_order_arrival_converges(
    tmp_path_factory: pytest.TempPathFactory, starter_spec: Spec, ledger: Any, seed: int
) -> None:
    contacts, accounts, events, as_of = ledger
    folder = tmp_path_factory.mktemp("rt")
    expected = batch(folder / "batch.duckdb", starter_spec, contacts, accounts, events, as_of)
    arrival = [e for e in events if e.contact_id or e.account_id or e.opportunity_id]  # the ledger needs one
    random.Random(seed).shuffle(arrival)
    moment = datetime.fromtimestamp(as_of, UTC)
    with load_ledger(folder / "rt.duckdb", contacts, accounts, []) as store:
        rt = RealTime(store, starter_spec)
        for e in arrival:
            rt.append([as_dict(e)])
        rt.append([as_dict(e) for e in arrival[:3]])  # sent again: nothing changes
        for cid in contacts:
            state = rt.state(cid, moment)
            last = [p for p in expected["points"] if p[0] == cid][-1]
            assert (state.score, state.tier, state.disposition) == (last[6], last[7], last[9])
            assert state.stage == (starter_spec.stage_ids()[last[12]] if last[12] >= 0 else None)


def test_unknown_contact_is_refused(tmp_path: Path, starter_spec: Spec) -> None:
    with load_ledger(tmp_path / "l.duckdb", {"c1": {}}, {}, []) as store:
        rt = RealTime(store, starter_spec)
        with pytest.raises(AccordError, match="no contact 'nobody'"):
            rt.state("nobody")
        bad = {"event_id": "x", "occurred_at": datetime(2026, 1, 1, tzinfo=UTC), "type": "page_view"}
        with pytest.raises(AccordError, match="needs contact_id, account_id or opportunity_id"):
            rt.append([bad])
