"""Which counts share a window aggregate: 0/1 counts packed into lanes of one sum, and distinct days
held as bits of day masks.

DuckDB evaluates every window aggregate separately, about as costly as a sort each, so derive asks for
as few as the counts allow; accord.engine.state builds the aggregates this layout names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir

from accord.engine.plan import Plan
from accord.spec.scoring import Feature


@dataclass(frozen=True)
class Pack:
    """Several 0/1 counts summed as one window aggregate: lane ``k`` holds its count in bits
    ``k * width`` and up. Every count is at most the rows of the partition, which ``width`` covers, so
    no lane carries into the next and each decodes exactly (``(packed >> k * width) & mask``)."""

    column: str
    group: str
    frame: tuple[int | None, int]
    width: int
    lanes: tuple[str, ...]
    real: bool = False
    """Summed as a double (exact below 2^53), which DuckDB sums faster than a BIGINT."""


@dataclass(frozen=True)
class Layout:
    """Which counts share which packed window sums, for one stream.

    DuckDB evaluates every window aggregate separately (about as costly as a sort each), so the ~15
    counts derive needs (count features, distinct-day edges) cost far less as a handful of packed sums
    over the same partition and frame (committee roles take one OR instead: ``state._role_masks``). Lane
    widths come from the largest partition of the stream at hand (:func:`partition_rows`), so the
    layout is exact for any size.
    """

    packs: tuple[Pack, ...]
    epochs: bool = False
    """Some contact's history spans more than :data:`EPOCH` half-lives: decayed intent is summed per
    epoch of its stream (see ``state.state_columns``), or growth would overflow a double."""

    def lane(self, t: ir.Table, name: str) -> Any:
        for pack in self.packs:
            if name in pack.lanes:
                k = pack.lanes.index(name)
                packed = t[pack.column].coalesce(0)  # a frame with no rows sums to NULL: no events
                return ((packed >> (k * pack.width)) & ((1 << pack.width) - 1)).cast("int64")
        raise KeyError(name)


PACK_BITS = 62
"""Bits of a signed 64-bit sum the lanes may fill (both engines sum BIGINT without overflow below this)."""
REAL_BITS = 53
"""Bits a double holds exactly: a sum of lanes below this is exact in any order."""
REAL_COST, INT_COST = 3, 4
"""Relative cost of one window sum over DOUBLE and over BIGINT (DuckDB 1.5, 1M rows, 2 threads)."""
LANE_STEP = 4
"""Lane widths are rounded up to a multiple of this, so account chunks of one ledger (whose largest
partitions differ a little) share one layout, and so one compiled plan."""


EPOCH = 256
"""Half-lives per epoch of a contact's stream. Decayed intent is summed as growth ``2 ** half-lives``
from a base instant, and a double overflows past 2 ** 1023: a stream longer than this many half-lives
(a 1970 placeholder date beside this year's events; a one-day half-life over a year) counts growth
from the start of each epoch instead. 256 leaves room for sums of millions of terms."""


def partition_rows(s: ir.Table) -> dict[str, int]:
    """The most rows any contact and any account stream has (the widest count a lane must hold), and
    the longest span of any contact's stream in seconds (``span``: whether intent needs epochs)."""
    out: dict[str, int] = {}
    for group in ("contact_id", "part"):
        # account-only rows (no contact) share one group whose intent nobody reads: not a span
        known = ibis._.contact_id.notnull()
        sizes = s.group_by(group).aggregate(
            n=ibis._.count(), span=ibis._.ts.max(where=known) - ibis._.ts.min(where=known)
        )
        row = sizes.aggregate(n=sizes.n.max(), span=sizes.span.max()).to_pyarrow().to_pylist()[0]
        out[group] = int(row["n"] or 0)
        if group == "contact_id":
            out["span"] = int(row["span"] or 0)
    return out


def partition_and_window(feature: Feature) -> tuple[str, int | None]:
    """A feature's partition column (a contact's stream or its account's) and its window in whole
    seconds (None: all of the past), as every window over it reads them."""
    group = "contact_id" if feature.scope == "contact" else "part"
    return group, None if feature.window is None else int(feature.window.total_seconds())


def window_frame(window: int | None) -> tuple[int | None, int]:
    """The range frame of ``t - W < ts <= t`` over whole seconds (all of the past when W is None)."""
    return (None, 0) if window is None else (-(window - 1), 0)


def count_requests(plan: Plan) -> list[tuple[str, str, tuple[int | None, int], str]]:
    """Every 0/1 count derive takes over a window: (lane, group, range frame, flag column).

    A windowed count covers ``t - W < ts <= t``, the range frame ``(-(W - 1), 0)`` over whole seconds;
    distinct days that masks cannot hold need the days begun by ``t`` and those over by ``t - W``,
    counted at each day's first and last flagged row (``first__*``, ``last__*``).
    """
    out: list[tuple[str, str, tuple[int | None, int], str]] = []
    for name, feature in plan.spec.features.items():
        if feature.agg == "count":
            group, window = partition_and_window(feature)
            out.append((f"f__{name}", group, window_frame(window), f"hit__{name}"))
    for name, group, window, _ in distinct_day_counts(plan):
        if day_masks(window) == 0:
            out.append((f"started__{name}", group, (None, 0), f"first__{name}"))
            if window is not None:
                out.append((f"gone__{name}", group, (None, -window), f"last__{name}"))
    return out


PATTERN = "_pattern"
"""The intent pattern's name among the distinct-day counts: feature ids start with a letter, so no
feature shares its columns."""


def distinct_day_counts(plan: Plan) -> list[tuple[str, str, int | None, str]]:
    """Every distinct-day count derive takes: (name, group, window in seconds or None, flag column).
    The intent pattern's days are named :data:`PATTERN` and flagged by any intent signal (``sig_hit``)."""
    spec = plan.spec
    out: list[tuple[str, str, int | None, str]] = []
    for name, feature in spec.features.items():
        if feature.agg == "count_distinct" and feature.of == "day":
            group, window = partition_and_window(feature)
            out.append((name, group, window, f"hit__{name}"))
    pattern = spec.scoring.intent.require
    if pattern is not None:
        out.append((PATTERN, "contact_id", int(pattern.window.total_seconds()), "sig_hit"))
    return out


DAY_BITS = 62
"""Days one mask tracks: a bit each in a signed 64-bit integer, the sign bit left alone."""
DAY_SLACK = 4
"""Local day numbers a window of whole days can touch beyond its length (see :func:`day_masks`)."""
MAX_DAY_MASKS = 2
"""Beyond this many masks a windowed day count goes back to edges and packed lanes."""


def day_masks(window: int | None) -> int:
    """How many masks count the distinct days of a window of ``window`` seconds; 0 when edges must.

    The local day numbers of ``t - W < ts <= t`` lie within ``ceil(W / 1 day) + 4`` consecutive
    numbers even where the zone's offset swings by a day and more inside the window (Samoa, 2011:
    -11 h to +14 h), so day numbers taken modulo ``62 * masks`` never collide within one window: an
    OR of one bit per row's day over the window, then a count of set bits, is the number of distinct
    days. One window aggregate per mask replaces the distinct-day edges (a sort of their own and two
    aggregates) and two packed lanes.
    """
    if window is None:
        return 0
    masks = -(-(-(-window // 86400) + DAY_SLACK) // DAY_BITS)
    return masks if masks <= MAX_DAY_MASKS else 0


def day_mask_requests(plan: Plan) -> list[tuple[str, str, int, int, str]]:
    """Distinct-day counts answered by masks: (name, group, window, masks, flag column)."""
    return [
        (name, group, window, day_masks(window), column)
        for name, group, window, column in distinct_day_counts(plan)
        if window is not None and day_masks(window)
    ]


def layout(plan: Plan, rows: dict[str, int]) -> Layout:
    """Pack the counts of :func:`count_requests` into as few sums as the partition sizes allow."""
    shared: dict[tuple[str, tuple[int | None, int]], list[str]] = {}
    for lane, group, frame, _ in count_requests(plan):
        shared.setdefault((group, frame), []).append(lane)
    packs: list[Pack] = []
    for (group, frame), lanes in shared.items():
        width = -(-max(1, rows.get(group, 0).bit_length()) // LANE_STEP) * LANE_STEP
        per_int, per_real = max(1, PACK_BITS // width), max(1, REAL_BITS // width)
        real = (
            width <= REAL_BITS
            and -(-len(lanes) // per_real) * REAL_COST <= -(-len(lanes) // per_int) * INT_COST
        )
        per = per_real if real else per_int
        for i in range(0, len(lanes), per):
            packs.append(Pack(f"pk__{len(packs)}", group, frame, width, tuple(lanes[i : i + per]), real))
    return Layout(tuple(packs), epochs=rows.get("span", 0) > EPOCH * plan.half_life)
