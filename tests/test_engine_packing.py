"""Packed window counts: every lane holds its largest possible count, and no pack overflows its sum;
day masks never fold two days of one window onto one bit."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accord.engine.packing import DAY_BITS, PACK_BITS, REAL_BITS, count_requests, day_masks, layout
from accord.engine.plan import Plan
from accord.spec.model import Spec


@pytest.mark.parametrize("contact_rows", [0, 1, 15, 16, 1748, 65_535, 2**31, 2**61])
@pytest.mark.parametrize("part_rows", [1, 4607, 10**9])
def test_lanes_hold_any_count_of_the_largest_partition(
    starter_spec: Spec, contact_rows: int, part_rows: int
) -> None:
    plan = Plan(starter_spec)
    rows = {"contact_id": contact_rows, "part": part_rows}
    packs = layout(plan, rows).packs
    lanes = [lane for pack in packs for lane in pack.lanes]
    assert sorted(lanes) == sorted(lane for lane, _, _, _ in count_requests(plan))
    for pack in packs:
        assert 2**pack.width > rows[pack.group]  # a lane never carries into the next
        assert len(pack.lanes) * pack.width <= (REAL_BITS if pack.real else PACK_BITS) or len(pack.lanes) == 1
        assert not pack.real or len(pack.lanes) * pack.width <= REAL_BITS  # doubles are exact below 2^53
        assert len({(p.group, p.frame) for p in packs if pack.column == p.column}) == 1


@pytest.mark.parametrize(
    ("days", "masks"), [(1, 1), (2, 1), (30, 1), (58, 1), (59, 2), (120, 2), (121, 0), (400, 0)]
)
def test_day_masks_per_window(days: int, masks: int) -> None:
    assert day_masks(days * 86400) == masks


def test_no_mask_for_all_time() -> None:
    assert day_masks(None) == 0


ODD_ZONES = ["Pacific/Apia", "Australia/Lord_Howe", "America/New_York", "Asia/Kathmandu", "America/St_Johns"]
SAMOA_SKIP = int(datetime(2011, 12, 30, tzinfo=UTC).timestamp())


@settings(max_examples=60, deadline=None)
@given(
    zone=st.sampled_from(ODD_ZONES),
    offset=st.integers(-200 * 86400, 200 * 86400),
    days=st.integers(1, 120),
    extra=st.sampled_from([0, 1, 3599, 43200]),
)
def test_a_window_never_spans_more_days_than_its_masks_hold(
    zone: str, offset: int, days: int, extra: int
) -> None:
    """The local day numbers inside one window (t - W, t] stay within 62 x masks consecutive numbers,
    here around Samoa's skipped day and the half-hour and odd-offset zones."""
    window = days * 86400 - extra
    masks = day_masks(window)
    if masks == 0:
        return
    tz = ZoneInfo(zone)
    t = SAMOA_SKIP + offset
    instants = range(t - window + 1, t + 1, 900)
    numbers = [
        (moment + int(datetime.fromtimestamp(moment, tz).utcoffset().total_seconds())) // 86400  # type: ignore[union-attr]
        for moment in [*instants, t]
    ]
    assert max(numbers) - min(numbers) + 1 <= masks * DAY_BITS
