"""Packed window counts: every lane holds its largest possible count, and no pack overflows its sum."""

from __future__ import annotations

import pytest

from accord.engine.plan import Plan
from accord.engine.state import PACK_BITS, REAL_BITS, count_requests, layout
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
