"""`accord calibrate`: suggested points for fit rules and intent signals, learned from what converted.

The method (docs/calibration.md): open leads are snapshotted every week; each snapshot's features
are what the score saw then and its outcome is whether the lead reached the target stage within the
horizon after. An L2-regularised logistic regression is fitted on an earlier period, centred on the
weights in force (a point keeps the log-odds it has today, so a rule moves only as far as the data
push it), its coefficients are turned back into integer points on the agreement's own scale, and both
the current and the suggested points are judged on a later, held-out period they never saw.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import numpy as np

from accord.errors import AccordError, ReportError, WorkspaceError
from accord.governance import fitting, snapshots
from accord.governance.fitting import F64, Band
from accord.governance.snapshots import Sample
from accord.ledger.store import Ledger
from accord.reports.base import utc_text
from accord.service.workspace import Workspace
from accord.spec.load import parse_spec
from accord.spec.model import Spec
from accord.spec.source import load_text

DAY = 86400
PENALTIES: tuple[float, ...] = (3.0, 10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0)
"""Strengths of the pull towards the current weights tried on the validation slice."""

Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class Options:
    """How to cut history; every default is documented in docs/calibration.md."""

    horizon_days: int = 30
    every_days: int = 7
    holdout_days: int = 56
    holdout_from: date | None = None
    train_until: date | None = None
    target: str | None = None
    l2: float | None = None  # None: chosen on the last third of the training period


@dataclass(frozen=True)
class Weight:
    """One weight of the score: what it is now, its fitted log-odds, and the points suggested."""

    path: str  # where it sits in the spec, e.g. scoring.fit.rules[0].points
    kind: str  # fit | intent | committee
    label: str
    current: float
    coefficient: float  # log-odds per unit (per rule holding, per decayed occurrence, per role)
    suggested: float
    note: str | None = None


@dataclass(frozen=True)
class Check:
    """One set of points judged on the held-out period."""

    auc: float | None
    brier: float
    ece: float
    bands: list[Band]
    train_auc: float | None


@dataclass
class Calibration:
    """Everything `accord calibrate` found, and the suggested agreement text."""

    target: str
    horizon_days: int
    as_of: int
    train: tuple[int, int]  # first and last reference instants
    holdout: tuple[int, int]
    counts: dict[str, int]
    per_point: float  # log-odds of one point of the current score
    l2: float | None  # None: no strength beat the current weights on validation; points unchanged
    validation: list[tuple[float | None, float | None]]  # (l2 or None for current, AUC)
    weights: list[Weight]
    current: Check
    suggested: Check
    text: str
    changed: bool
    notes: list[str] = field(default_factory=list)

    def why(self) -> str:
        """The one sentence a proposal carries."""
        return (
            f"Calibrated on {self.counts['train_rows']:,} weekly lead snapshots "
            f"({self.counts['train_converted']:,} reached {self.target} within {self.horizon_days} days) "
            f"up to {_day(self.train[1])}; on the held-out {_day(self.holdout[0])} to "
            f"{_day(self.holdout[1])} the AUC is {_num(self.current.auc)} with the current points and "
            f"{_num(self.suggested.auc)} with these."
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "horizon_days": self.horizon_days,
            "as_of": _iso(self.as_of),
            "train": {"from": _iso(self.train[0]), "until": _iso(self.train[1])},
            "holdout": {"from": _iso(self.holdout[0]), "until": _iso(self.holdout[1])},
            "counts": self.counts,
            "log_odds_per_point": self.per_point,
            "l2": self.l2,
            "validation": [{"l2": l2, "auc": a} for l2, a in self.validation],
            "weights": [asdict(w) for w in self.weights],
            "current": asdict(self.current),
            "suggested": asdict(self.suggested),
            "changed": self.changed,
            "notes": self.notes,
            "why": self.why(),
            "text": self.text,
        }


def _iso(ts: int) -> str:
    return utc_text(ts)


def _day(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).date().isoformat()


def _num(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def _midnight(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


# ---- the split ------------------------------------------------------------------------------------


def reference_instants(as_of: int, first_event: int, options: Options) -> tuple[list[int], list[int]]:
    """Training and held-out reference instants, oldest first.

    Held out: every ``every`` days from ``holdout_from`` to the last instant whose horizon has run
    out by as-of. Training: every ``every`` days back from ``train_until`` (default: a horizon before
    the held-out period, so no training outcome is observed inside it) to a week after the first event.
    """
    horizon, every = options.horizon_days * DAY, options.every_days * DAY
    if horizon <= 0 or every <= 0 or options.holdout_days < 0:
        raise ReportError("--horizon, --every and --holdout-days must be positive")
    last = as_of - horizon
    start = _midnight(options.holdout_from) if options.holdout_from else last - options.holdout_days * DAY
    if start > last:
        raise ReportError(
            f"the held-out period starts {_day(start)}, after {_day(last)}, the last day whose "
            f"{options.horizon_days}-day outcome is known",
            hint="pick an earlier --holdout-from or a shorter --horizon",
        )
    until = _midnight(options.train_until) if options.train_until else start - horizon
    if until + horizon > start:
        raise ReportError(
            f"training snapshots up to {_day(until)} would see outcomes inside the held-out period "
            f"(from {_day(start)})",
            hint=f"end training at least {options.horizon_days} days before --holdout-from",
        )
    holdout = list(range(start, last + 1, every))
    train = sorted(range(until, first_event + every - 1, -every))
    if not train:
        raise ReportError(
            f"no history before {_day(until)} to learn from",
            hint="pick a later --holdout-from or a shorter --horizon",
        )
    return train, holdout


# ---- features and points ---------------------------------------------------------------------------


def design(spec: Spec, sample: Sample) -> F64:
    """The regression's columns: fit rules (0/1), intent signals, the committee.

    An intent signal is its decayed occurrences, counted up to the number its cap lets score
    (``cap / points`` under the current points) and zero while the pattern is unmet: one unit is one
    fresh occurrence, so its coefficient maps to points per occurrence. The committee is roles engaged
    (its points divided by ``points_per_role``).
    """
    intent = spec.scoring.intent
    caps = np.array([s.cap / s.points if s.cap is not None else np.inf for s in intent.signals])
    signals = np.minimum(sample.decayed, caps) * sample.pattern[:, None]
    columns = [sample.fit.astype(np.float64), signals]
    committee = spec.scoring.committee
    if committee is not None:
        columns.append((sample.committee / committee.points_per_role)[:, None])
    return np.hstack(columns)


def current_weights(spec: Spec) -> list[tuple[str, str, str, float]]:
    """(path, kind, label, points) of every weight, in the order of :func:`design`'s columns."""
    scoring = spec.scoring
    out = [
        (f"scoring.fit.rules[{i}].points", "fit", r.label, r.points) for i, r in enumerate(scoring.fit.rules)
    ]
    out += [
        (f"scoring.intent.signals[{i}].points", "intent", s.label, s.points)
        for i, s in enumerate(scoring.intent.signals)
    ]
    if scoring.committee is not None:
        out.append(("scoring.committee.points_per_role", "committee", "buying committee (per role)",
                    scoring.committee.points_per_role))  # fmt: skip
    return out


def with_points(spec: Spec, points: Sequence[float]) -> Spec:
    """``spec`` with the fit and intent points replaced (the committee is left as it is)."""
    scoring = spec.scoring
    n_fit = len(scoring.fit.rules)
    rules = [r.model_copy(update={"points": float(points[i])}) for i, r in enumerate(scoring.fit.rules)]
    signals = [
        s.model_copy(update={"points": float(points[n_fit + i])})
        for i, s in enumerate(scoring.intent.signals)
    ]
    updated = scoring.model_copy(
        update={
            "fit": scoring.fit.model_copy(update={"rules": rules}),
            "intent": scoring.intent.model_copy(update={"signals": signals}),
        }
    )
    return spec.model_copy(update={"scoring": updated})


def points_of(fit: fitting.LogisticFit, per_point: float, kinds: Sequence[str]) -> list[int]:
    """Integer points from coefficients: ``half_up(coefficient / per_point)``; an intent signal has at
    least 1 (the spec requires positive points)."""
    points = fitting.to_points(fit.coef, 1.0 / per_point)
    return [max(1, p) if kind == "intent" else p for p, kind in zip(points, kinds, strict=True)]


# ---- the spec text ---------------------------------------------------------------------------------

_NUMBER = re.compile(r"[-+]?(?:\d[\d_]*)?(?:\.\d+)?(?:[eE][-+]?\d+)?")


def edit_points(text: str, points: dict[str, float]) -> str:
    """``text`` with the value at each path replaced by its integer, and nothing else touched.

    The loader knows the line and column of every value; each edit swaps exactly the number written
    there, so comments, flow style and key order survive.
    """
    source = load_text(text)
    lines = text.splitlines(keepends=True)
    edits = []
    for path, value in points.items():
        line, column = source.positions.get(path, (None, None))
        if line is None or column is None:
            raise AccordError(f"{path}: not found in the spec text")
        edits.append((line - 1, column - 1, path, value))
    for row, col, path, value in sorted(edits, reverse=True):
        found = _NUMBER.match(lines[row], col)
        if found is None or not found.group(0):
            raise AccordError(f"{path}: no number at line {row + 1}, column {col + 1}")
        written = str(int(value)) if float(value).is_integer() else str(value)
        lines[row] = lines[row][: found.start()] + written + lines[row][found.end() :]
    return "".join(lines)


def only_points_differ(before: Spec, after: Spec) -> bool:
    """True when the two specs are equal once the fit and intent points are set aside."""

    def without_points(spec: Spec) -> dict[str, Any]:
        data = spec.model_dump(mode="json")
        for rule in data["scoring"]["fit"]["rules"]:
            rule.pop("points")
        for signal in data["scoring"]["intent"]["signals"]:
            signal.pop("points")
        return data

    return without_points(before) == without_points(after)


# ---- judging ----------------------------------------------------------------------------------------


def check(train_scores: F64, train: Sample, scores: F64, holdout: Sample) -> Check:
    """AUC, and calibration after mapping scores to probabilities with a logistic fitted on training.

    Points are not probabilities; ``P = sigmoid(a + b * score)`` fitted on the training snapshots
    (Platt scaling) reads them as such, the same way for every set of points compared.
    """
    platt = fitting.fit_logistic(train_scores[:, None], train.converted, l2=1e-6)
    predicted = platt.predict(scores[:, None])
    found = fitting.bands(scores, predicted, holdout.converted)
    return Check(
        fitting.auc(scores, holdout.converted),
        fitting.brier(predicted, holdout.converted),
        fitting.expected_calibration_error(found),
        found,
        fitting.auc(train_scores, train.converted),
    )


def _choose_l2(
    spec: Spec, train: Sample, prior: list[float], per_point: float, kinds: list[str], horizon: int
) -> tuple[float | None, list[tuple[float | None, float | None]]]:
    """The penalty whose points rank the last third of the training period best.

    Fitted on the snapshots at least a horizon before that third (so none of their outcomes falls
    in it), judged by the AUC of the integer points there. The current points compete too: when no
    penalty beats them, the answer is None (no change suggested). Ties go to the stronger penalty.
    """
    refs = sorted(set(train.at.tolist()))
    start = refs[len(refs) - max(1, len(refs) // 3)]
    early, late = train.take(train.at <= start - horizon), train.take(train.at >= start)
    current = fitting.auc(snapshots.score(spec, late), late.converted)
    tried: list[tuple[float | None, float | None]] = [(None, current)]
    if not early.converted.any() or current is None:
        return (PENALTIES[-1] if current is None else None), tried
    x = design(spec, early)
    best_l2: float | None = None
    best_auc = current
    for l2 in PENALTIES:
        fit = fitting.fit_logistic(x, early.converted, l2=l2, prior=prior)
        found = fitting.auc(
            snapshots.score(with_points(spec, points_of(fit, per_point, kinds)), late), late.converted
        )
        tried.append((l2, found))
        if found is not None and (found > best_auc or (found == best_auc and best_l2 is not None)):
            best_l2, best_auc = l2, found
    return best_l2, tried


def _bounds(ledger: Ledger) -> tuple[int, int]:
    """The last derive's instant and the ledger's first event up to it (whole UTC seconds)."""
    from accord.ledger.derived import latest_run
    from accord.reports.data import ts

    run = latest_run(ledger)
    as_of = ts(run["as_of"]) if run else None
    if as_of is None:
        raise WorkspaceError("nothing derived yet", hint="run `accord derive` first, then calibrate")
    rows = ledger.con.execute(
        "SELECT min(CAST(floor(epoch(occurred_at)) AS BIGINT)) FROM events "
        "WHERE CAST(floor(epoch(occurred_at)) AS BIGINT) <= ?",
        [as_of],
    ).fetchall()
    if rows[0][0] is None:
        raise ReportError("the ledger holds no events to learn from", hint="import events, then derive")
    return as_of, int(rows[0][0])


def calibrate(
    ws: Workspace, options: Options | None = None, *, progress: Progress | None = None
) -> Calibration:
    """Learn suggested points from the workspace as of its last derive, and judge them on held-out data."""
    options = options or Options()
    say = progress or (lambda _phase, _fraction: None)
    spec, text = ws.spec, ws.spec_path.read_text(encoding="utf-8")
    horizon = options.horizon_days * DAY
    say("reading the ledger", 0.0)
    with ws.ledger(read_only=True) as ledger:
        as_of, first = _bounds(ledger)
        train_refs, holdout_refs = reference_instants(as_of, first, options)
        data = snapshots.read(ledger, spec, options.target)
    say("snapshotting leads", 0.35)
    sample = snapshots.snapshot(data, [*train_refs, *holdout_refs], horizon)
    train = sample.take(sample.at <= train_refs[-1])
    holdout = sample.take(sample.at >= holdout_refs[0])
    for name, part in (("training", train), ("held-out", holdout)):
        if not part.converted.any():
            raise ReportError(
                f"no lead reached {data.target} within {options.horizon_days} days in the {name} period",
                hint="use a longer history, a longer --horizon, or another --target",
            )
    say("fitting", 0.7)
    weights_now = current_weights(spec)
    kinds = [kind for _, kind, _, _ in weights_now]
    fitted_now = fitting.fit_logistic(snapshots.score(spec, train)[:, None], train.converted, l2=1e-6)
    per_point = fitted_now.coef[0]
    notes: list[str] = []
    if per_point <= 0:
        raise ReportError(
            "the current score does not rise with conversion in the training period",
            hint="check the target stage and the horizon; calibration needs a score that ranks at all",
        )
    prior = [per_point * w for *_, w in weights_now]
    if options.l2 is not None:
        l2: float | None = options.l2
        tried: list[tuple[float | None, float | None]] = []
    else:
        l2, tried = _choose_l2(spec, train, prior, per_point, kinds, horizon)
    if l2 is None:
        fit = fitting.LogisticFit(fitted_now.intercept, tuple(prior), 0, True)
        suggested_points: list[float] = [w for *_, w in weights_now]
        notes.append("no penalty beat the current points on the validation slice: no change suggested")
    else:
        fit = fitting.fit_logistic(design(spec, train), train.converted, l2=l2, prior=prior)
        suggested_points = [float(p) for p in points_of(fit, per_point, kinds)]
    weights = _weights(weights_now, fit, suggested_points)
    writable = {w.path: w.suggested for w in weights if w.kind != "committee" and w.suggested != w.current}
    new_text = edit_points(text, writable)
    new_spec = parse_spec(new_text, str(ws.spec_path))
    if not only_points_differ(spec, new_spec):  # pragma: no cover - edit_points touches numbers only
        raise AccordError("internal: the suggested text changed more than points")
    say("judging on the held-out period", 0.85)
    current_train, current_hold = snapshots.score(spec, train), snapshots.score(spec, holdout)
    new_train, new_hold = snapshots.score(new_spec, train), snapshots.score(new_spec, holdout)
    say("done", 1.0)
    counts = {
        "train_rows": len(train),
        "train_converted": int(train.converted.sum()),
        "train_leads": len(set(train.contact)),
        "train_converters": len({c for c, y in zip(train.contact, train.converted, strict=True) if y}),
        "holdout_rows": len(holdout),
        "holdout_converted": int(holdout.converted.sum()),
        "holdout_leads": len(set(holdout.contact)),
        "holdout_converters": len({c for c, y in zip(holdout.contact, holdout.converted, strict=True) if y}),
    }
    return Calibration(
        target=data.target,
        horizon_days=options.horizon_days,
        as_of=data.as_of,
        train=(train_refs[0], train_refs[-1]),
        holdout=(holdout_refs[0], holdout_refs[-1]),
        counts=counts,
        per_point=per_point,
        l2=l2,
        validation=tried,
        weights=weights,
        current=check(current_train, train, current_hold, holdout),
        suggested=check(new_train, train, new_hold, holdout),
        text=new_text,
        changed=new_text != text,
        notes=notes,
    )


def _weights(
    now: list[tuple[str, str, str, float]], fit: fitting.LogisticFit, points: list[float]
) -> list[Weight]:
    out = []
    for (path, kind, label, current), coefficient, suggested in zip(now, fit.coef, points, strict=True):
        note = None
        if kind == "committee":
            note = "not changed by calibration (points_per_role is not a points: value); shown for review"
        elif kind == "intent" and coefficient <= 0:
            note = "the data give it no weight; kept at 1, the least a signal can have: consider removing it"
        elif suggested == 0:
            note = "no measurable effect: 0 points (kept in the spec, not removed)"
        elif math.copysign(1, suggested) != math.copysign(1, current) and current != 0:
            note = "the sign flips: review the rule before accepting"
        out.append(Weight(path, kind, label, current, coefficient, suggested, note))
    return out


def submit(ws: Workspace, result: Calibration, *, author: str, now: datetime | None = None,
           backtest: bool = True) -> str:  # fmt: skip
    """Record the suggested text as a governance proposal (owners approve it); returns its id."""
    from accord.governance.proposals import propose

    return propose(ws, result.text, why=result.why(), author=author, now=now, backtest=backtest).id
