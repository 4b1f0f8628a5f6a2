"""The statistics behind `accord calibrate`: L2-regularised logistic regression, AUC, calibration.

Plain numpy, written out so every formula can be checked by hand (docs/calibration.md): the data are
tens of thousands of rows and a score has a dozen or two parts, so Newton's method converges in a
handful of steps and no solver library earns its dependency.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class LogisticFit:
    """``P(y=1 | x) = sigmoid(intercept + coef . x)``, fitted by penalised maximum likelihood."""

    intercept: float
    coef: tuple[float, ...]
    iterations: int
    converged: bool

    def linear(self, x: F64) -> F64:
        """The log-odds of each row of ``x``."""
        return self.intercept + np.asarray(x, dtype=np.float64) @ np.asarray(self.coef, dtype=np.float64)

    def predict(self, x: F64) -> F64:
        return sigmoid(self.linear(x))


def sigmoid(z: F64) -> F64:
    """``1 / (1 + e^-z)`` without overflow for large ``|z|`` (warnings are errors in the tests)."""
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def fit_logistic(
    x: F64,
    y: npt.ArrayLike,
    *,
    l2: float = 1.0,
    prior: Sequence[float] | None = None,
    max_iter: int = 100,
    tol: float = 1e-9,
) -> LogisticFit:
    """Minimise ``-loglik(b0, b) + l2 / 2 * |b|^2`` by Newton's method (IRLS); the intercept is free.

    The penalty keeps coefficients finite when a feature separates the classes perfectly (a rule that
    only converters satisfy) and shrinks the weights of rare features towards 0, which is what a
    rule backed by three leads deserves. The objective is strictly convex for ``l2 > 0``, so the
    step-halving Newton iteration below reaches its unique minimum from zero.
    """
    x = np.asarray(x, dtype=np.float64)
    target = np.asarray(y, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] != target.shape[0]:
        raise ValueError("x must be (rows, features) with one outcome per row")
    rows, k = x.shape
    design = np.hstack([np.ones((rows, 1)), x])
    penalty = np.full(k + 1, float(l2))
    penalty[0] = 0.0
    centre = np.zeros(k + 1)
    if prior is not None:
        if len(prior) != k:
            raise ValueError("prior needs one value per feature")
        centre[1:] = np.asarray(prior, dtype=np.float64)
    beta = centre.copy()

    def objective(b: F64) -> float:
        z = design @ b
        # log(1 + e^z) - y z, stably
        loss = np.logaddexp(0.0, z) - target * z
        return float(loss.sum() + 0.5 * float(np.sum(penalty * (b - centre) ** 2)))

    current = objective(beta)
    for iteration in range(1, max_iter + 1):
        p = sigmoid(design @ beta)
        gradient = design.T @ (p - target) + penalty * (beta - centre)
        weights = p * (1.0 - p)
        hessian = (design * weights[:, None]).T @ design + np.diag(penalty) + 1e-12 * np.eye(k + 1)
        step = np.linalg.solve(hessian, gradient)
        scale = 1.0
        while True:
            candidate = beta - scale * step
            value = objective(candidate)
            if value <= current or scale < 1e-8:
                break
            scale /= 2
        beta, previous, current = candidate, current, value
        if (
            abs(previous - current) <= tol * (1.0 + abs(current))
            or float(np.max(np.abs(scale * step))) < 1e-9
        ):
            return LogisticFit(float(beta[0]), tuple(float(b) for b in beta[1:]), iteration, True)
    return LogisticFit(float(beta[0]), tuple(float(b) for b in beta[1:]), max_iter, False)


def auc(scores: npt.ArrayLike, outcomes: npt.ArrayLike) -> float | None:
    """The area under the ROC curve: the chance a random converter outscores a random non-converter.

    Mann-Whitney: ``(R1 - n1 (n1 + 1) / 2) / (n1 n0)`` with ``R1`` the sum of the converters' ranks,
    tied scores sharing their mean rank (so a tie counts one half). None when either class is empty.
    """
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(outcomes, dtype=bool)
    n1 = int(y.sum())
    n0 = len(y) - n1
    if n1 == 0 or n0 == 0:
        return None
    order = np.argsort(s, kind="mergesort")
    _, first, counts = np.unique(s[order], return_index=True, return_counts=True)
    # a run of equal scores at sorted positions first .. first+count-1 holds ranks first+1 .. first+count
    ranks = np.empty(len(s), dtype=np.float64)
    ranks[order] = np.repeat(first + (counts + 1) / 2, counts)
    r1 = float(ranks[y].sum())
    return (r1 - n1 * (n1 + 1) / 2) / (n1 * n0)


def brier(predicted: npt.ArrayLike, outcomes: npt.ArrayLike) -> float:
    """Mean squared difference between the predicted probability and the outcome (0 or 1)."""
    p = np.asarray(predicted, dtype=np.float64)
    y = np.asarray(outcomes, dtype=np.float64)
    return float(np.mean((p - y) ** 2))


@dataclass(frozen=True)
class Band:
    """One band of leads ranked by predicted probability: how many, predicted and observed rates."""

    n: int
    predicted: float
    observed: float
    low_score: float
    high_score: float


def bands(
    scores: npt.ArrayLike, predicted: npt.ArrayLike, outcomes: npt.ArrayLike, count: int = 10
) -> list[Band]:
    """Up to ``count`` equal-sized bands by predicted probability (ties kept in one band).

    Rows are sorted by prediction and cut at every ``n / count`` rows; a cut that would split equal
    predictions moves to the end of the tie, so a band may be larger and there may be fewer bands.
    """
    s = np.asarray(scores, dtype=np.float64)
    p = np.asarray(predicted, dtype=np.float64)
    y = np.asarray(outcomes, dtype=np.float64)
    n = len(p)
    if n == 0:
        return []
    order = np.argsort(p, kind="mergesort")
    p, s, y = p[order], s[order], y[order]
    out: list[Band] = []
    start = 0
    for k in range(1, count + 1):
        end = max(start, math.ceil(k * n / count))
        while 0 < end < n and p[end] == p[end - 1]:
            end += 1
        if end <= start:
            continue
        part = slice(start, end)
        out.append(
            Band(
                end - start,
                float(p[part].mean()),
                float(y[part].mean()),
                float(s[part].min()),
                float(s[part].max()),
            )
        )
        start = end
        if start >= n:
            break
    return out


def expected_calibration_error(found: Sequence[Band]) -> float:
    """``sum_b n_b / n * |predicted_b - observed_b|`` over the bands: 0 is perfectly calibrated."""
    total = sum(b.n for b in found)
    if total == 0:
        return 0.0
    return sum(b.n / total * abs(b.predicted - b.observed) for b in found)


def half_up(x: float) -> int:
    """Round half away from zero (2.5 -> 3, -2.5 -> -3), so a weight and its negation round alike."""
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


def to_points(coef: Sequence[float], factor: float) -> list[int]:
    """Integer points ``half_up(coefficient * factor)``, one factor for every weight.

    With ``factor > 0`` the order and the signs of the coefficients survive (rounding can only merge
    neighbours into a tie, or a small weight into 0).
    """
    return [half_up(c * factor) for c in coef]


def factor_for(coef: Sequence[float], magnitude: float) -> float:
    """The factor that makes the largest coefficient worth ``magnitude`` points (0 when all are 0)."""
    largest = max((abs(c) for c in coef), default=0.0)
    return magnitude / largest if largest > 0 and magnitude > 0 else 0.0
