"""Small, exact statistics the reports share; written out so every number can be checked by hand."""

from __future__ import annotations

import math
from collections.abc import Sequence

Z95 = 1.959963984540054


def wilson(k: int, n: int, z: float = Z95) -> tuple[float | None, float | None]:
    """Wilson score interval for k successes in n: honest at small n and near 0% or 100%."""
    if n <= 0:
        return None, None
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def lift_interval(k1: int, n1: int, k0: int, n0: int, z: float = Z95) -> tuple[float | None, float | None]:
    """Katz log interval for the ratio of two proportions (a tier's rate over the baseline's)."""
    if min(k1, n1, k0, n0) <= 0:
        return None, None
    ratio = (k1 / n1) / (k0 / n0)
    se = math.sqrt(max(0.0, 1 / k1 - 1 / n1 + 1 / k0 - 1 / n0))
    return ratio * math.exp(-z * se), ratio * math.exp(z * se)


def median(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def km_median(durations: Sequence[float], observed: Sequence[bool]) -> float | None:
    """Kaplan-Meier median: the first duration at which the survival estimate drops to 0.5 or below.

    Open rows (still in the stage) are censored: they count as at risk until their current age and
    never as an exit. None when survival never reaches one half (most rows are still open).
    """
    pairs = sorted(zip(durations, observed, strict=True), key=lambda p: (p[0], not p[1]))
    at_risk = len(pairs)
    survival = 1.0
    i = 0
    while i < len(pairs):
        t = pairs[i][0]
        exits = censored = 0
        while i < len(pairs) and pairs[i][0] == t:
            if pairs[i][1]:
                exits += 1
            else:
                censored += 1
            i += 1
        if exits:
            survival *= 1 - exits / at_risk
            if survival <= 0.5 + 1e-12:
                return t
        at_risk -= exits + censored
    return None
