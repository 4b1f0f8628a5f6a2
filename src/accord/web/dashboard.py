"""The revenue dashboard's page model: four reports and the SLA report, shaped for one page.

Everything here is read through the service layer (``service.report``, ``service.sla``), so the
dashboard shows exactly what `accord report scorecard|funnel|tiers` and `accord sla` print. The
handoff numbers are computed as of the last derive, like the scorecard's, so the acceptance rate in
the KPI strip and in the SLA card are the same number. The reports are independent reads, so they run
side by side on the server's thread pool; the result is cached per (derive run, ledger size, filters)
because a page view must not redo seconds of work that nothing has changed.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from markupsafe import Markup

from accord import service
from accord.reports.base import Filters, Report, fmt
from accord.web import charts
from accord.web.tables import TableView, status_class, table

T = TypeVar("T")

SCORECARD_TILES = {
    "MQL acceptance rate": "MQL acceptance",
    "First-touch SLA compliance": "First-touch SLA",
    "Pipeline coverage": "Pipeline coverage",
    "Marketing-influenced closed-won": "Marketing-influenced revenue",
    "Marketing-sourced closed-won": "Marketing-sourced revenue",
}
"""Scorecard metrics shown as tiles, with the short label a tile has room for."""


@dataclass(frozen=True)
class Kpi:
    label: str
    value: str
    target: str
    status: str  # met | below | none
    status_text: str
    basis: str
    anchor: str


@dataclass(frozen=True)
class ScoreRow:
    metric: str
    value: str
    target: str
    status: str
    status_text: str
    basis: str


@dataclass(frozen=True)
class SlaRow:
    name: str
    compliance: str
    target: str
    status: str
    status_text: str
    met: int
    breached: int
    at_risk: int
    open: int


@dataclass
class DashboardView:
    as_of: int
    currency: str
    kpis: list[Kpi]
    scorecard: list[ScoreRow]
    scorecard_flags: list[str]
    scorecard_notes: list[str]
    funnel_chart: Markup
    funnel_steps: list[charts.FunnelStep]
    funnel_notes: list[str]
    time_in_stage: TableView
    sla_rows: list[SlaRow]
    speed: dict[str, Any]
    speed_chart: Markup
    acceptance: dict[str, Any]
    reasons: list[tuple[str, str, int, float]]
    tiers_chart: Markup
    tiers_table: TableView
    tiers: list[dict[str, Any]]
    coverage_chart: Markup
    coverage_table: TableView
    coverage_value: str
    win_rate: TableView
    timings: dict[str, float] = field(default_factory=dict)


def _scorecard_status(word: str) -> str:
    return status_class(word) or "none"


def _value_text(value: Any, unit: str) -> str:
    if value is None:
        return "n/a"
    return f"{100 * value:.1f}%" if unit == "share" else f"{value:.2f}x"


def _no_deals(score: Report) -> bool:
    """No opportunity, open or closed, falls under the filters: coverage is then 0 over the remaining
    target by arithmetic, but "0.00x below target" would read as a measured shortfall of a slice that
    holds no pipeline at all (an SDR team, an unknown segment), so the pages say "no data" instead."""
    open_deals = sum(int(r["deals"] or 0) for r in score.section("coverage").records())
    win = {r[0]: r for r in score.section("scorecard").rows}.get("Win rate (by entry state below)")
    return open_deals == 0 and (win is None or win[2] is None)


def _scorecard_rows(score: Report) -> list[list[Any]]:
    """The scorecard's rows, with coverage read as no data when no deal falls under the filters."""
    rows = [list(r) for r in score.section("scorecard").rows]
    if _no_deals(score):
        for r in rows:
            if r[0] == "Pipeline coverage":
                r[2], r[4], r[6] = None, "no data", "no open or closed deal under these filters"
    return rows


def _kpis(score: Report, speed: dict[str, Any], first_touch_target: float | None) -> list[Kpi]:
    out: list[Kpi] = []
    rows = {r[0]: r for r in _scorecard_rows(score)}
    for name, label in SCORECARD_TILES.items():
        row = rows.get(name)
        if row is None:
            continue
        _metric, _reads, value, target, status, unit, basis = row
        out.append(
            Kpi(
                label,
                _value_text(value, unit),
                "target " + _value_text(target, unit) if target is not None else "no target",
                _scorecard_status(status),
                status,
                basis,
                "scorecard",
            )
        )
    p50 = speed.get("p50_minutes")
    target_min = first_touch_target
    met = None if p50 is None or target_min is None else p50 <= target_min
    out.insert(
        2,
        Kpi(
            "Speed to lead (p50)",
            "n/a" if p50 is None else f"{p50:,.1f} min",
            f"SLA {target_min:g} business min" if target_min else "no target",
            "none" if met is None else "met" if met else "below",
            "no data" if met is None else "within SLA" if met else "over SLA",
            f"p90 {speed['p90_minutes']:,.1f} min over {speed['n']} touches"
            if speed.get("p90_minutes") is not None
            else "no first touch in the period",
            "sla",
        ),
    )
    return out


def _funnel(ws: service.Workspace, report: Report) -> tuple[list[charts.FunnelStep], Markup]:
    names = {s.id: s.name for s in ws.spec.journey.stages}
    rows = [r for r in report.section("conversion").records() if r["group"] == "all"]
    steps: list[charts.FunnelStep] = []
    for r in rows:
        steps.append(
            charts.FunnelStep(
                names.get(r["from_stage"], r["from_stage"]),
                int(r["n"]),
                r["rate"],
                (r["ci_low"], r["ci_high"]),
                r["median_days"],
                int(r["n"]),
            )
        )
    if rows:
        last = rows[-1]
        steps.append(charts.FunnelStep(names.get(last["to_stage"], last["to_stage"]), int(last["converted"])))
    chart = charts.funnel(steps, title="Funnel: contacts reaching each stage, and conversion to the next")
    return steps, chart


def _tiers(report: Report, currency: str) -> tuple[Markup, TableView]:
    section = report.section("tiers")
    records = section.records()
    tiers = [r for r in records if not str(r["tier"]).startswith("All leads")]
    base = next((r for r in records if str(r["tier"]).startswith("All leads")), None)
    items = []
    for i, r in enumerate(tiers):
        lift = r["lift"]
        note = None
        if lift is not None:
            note = f"lift {lift:.2f}x"
            if r["lift_low"] is not None and r["lift_high"] is not None:
                note += f" ({r['lift_low']:.1f}–{r['lift_high']:.1f})"
        items.append(
            charts.Bar(
                f"{r['tier']} (n={r['n']:,})", r["rate"], r["ci_low"], r["ci_high"], note, f"fill-{i % 6 + 1}"
            )
        )
    reference = ("baseline", base["rate"]) if base and base["rate"] is not None else None
    chart = charts.bars(
        items,
        title=section.title,
        fmt=lambda v: charts.pct(v),
        reference=reference,
        maximum=min(
            1.0, max([*(r["ci_high"] or 0 for r in tiers), (base or {}).get("rate") or 0, 0.05]) * 1.1
        ),
    )
    return chart, table(section, currency)


def _coverage(ws: service.Workspace, score: Report) -> tuple[Markup, TableView, str]:
    section = score.section("coverage")
    names = {s.id: s.name for s in ws.spec.pipeline.stages} if ws.spec.pipeline else {}
    records = section.records()
    remaining = next((r["amount"] / r["coverage"] for r in records if r["coverage"]), None)
    head = {r[0]: r for r in _scorecard_rows(score)}.get("Pipeline coverage")
    target = head[3] if head else None
    value = head[2] if head else None
    currency = score.currency
    segments = [
        charts.Segment(names.get(r["stage"], r["stage"]), float(r["amount"] or 0.0), r["stage"])
        for r in records
    ]
    chart = charts.coverage(
        segments,
        remaining=remaining,
        target=target,
        money=lambda v: fmt(v, "money", currency),
        title="Open pipeline by stage, in multiples of the target still to win",
    )
    view = table(section, currency)
    for row, r in zip(view.rows, records, strict=True):
        row[0] = replace(row[0], text=names.get(r["stage"], r["stage"]))
    return chart, view, "n/a" if value is None else f"{value:.2f}x"


def _speed_chart(speed: dict[str, Any], target_minutes: float | None) -> Markup:
    w5, w60 = speed.get("within_5_minutes"), speed.get("within_1_hour")
    buckets = [
        charts.Bucket("within 5 min", w5, "fill-ok"),
        charts.Bucket("5 min to 1 h", None if w5 is None or w60 is None else w60 - w5, "fill-warn"),
        charts.Bucket("over 1 h", None if w60 is None else 1 - w60, "fill-bad"),
    ]
    return charts.speed(
        buckets,
        [("p50", speed.get("p50_minutes")), ("p90", speed.get("p90_minutes"))],
        title="Speed to lead: business minutes from assignment to first touch",
        target_minutes=target_minutes,
    )


def build(ws: service.Workspace, filters: Filters) -> DashboardView:
    """Run the dashboard's reports side by side and shape them for the page."""
    import time

    timings: dict[str, float] = {}

    def timed(name: str, fn: Callable[[], T]) -> Callable[[], T]:
        def run() -> T:
            started = time.perf_counter()
            try:
                return fn()
            finally:
                timings[name] = round(time.perf_counter() - started, 3)

        return run

    with ThreadPoolExecutor(max_workers=3, thread_name_prefix="accord-dash") as pool:
        score_f = pool.submit(timed("scorecard", lambda: service.report(ws, "scorecard", filters)))
        funnel_f = pool.submit(timed("funnel", lambda: service.report(ws, "funnel", filters)))
        tiers_f = pool.submit(timed("tiers", lambda: service.report(ws, "tiers", filters)))
        score = score_f.result()
        as_of = datetime.fromtimestamp(score.as_of, UTC)
        since = datetime.fromtimestamp(filters.since, UTC) if filters.since is not None else None
        until = datetime.fromtimestamp(filters.until, UTC) if filters.until is not None else None
        sla_f = pool.submit(timed("sla", lambda: service.sla(ws, now=as_of, since=since, until=until)))
        funnel_r, tiers_r, sla = funnel_f.result(), tiers_f.result(), sla_f.result()
    spec = ws.spec
    currency = score.currency
    first_touch_id = spec.agreement.sales.first_touch_sla
    ft = spec.slas.get(first_touch_id)
    target_minutes = ft.target.total_seconds() / 60 if ft is not None else None
    head = score.section("scorecard")
    scorecard = [
        ScoreRow(
            r[0],
            _value_text(r[2], r[5]),
            _value_text(r[3], r[5]) if r[3] is not None else "—",
            _scorecard_status(r[4]),
            r[4],
            r[6],
        )
        for r in _scorecard_rows(score)
    ]
    sla_rows = []
    for line in sla.lines:
        target = line.target if line.target is not None else spec.agreement.sales.first_touch_compliance
        ok = None if line.compliance is None else line.compliance >= target
        sla_rows.append(
            SlaRow(
                line.name,
                charts.pct(line.compliance),
                charts.pct(target, 0),
                "none" if ok is None else "met" if ok else "below",
                "no data" if ok is None else "met" if ok else "below target",
                line.counts["met"],
                line.counts["breached"],
                line.counts["at_risk"],
                line.counts["open"],
            )
        )
    steps, funnel_chart = _funnel(ws, funnel_r)
    tiers_chart, tiers_table = _tiers(tiers_r, currency)
    coverage_chart, coverage_table, coverage_value = _coverage(ws, score)
    names = {s.id: s.name for s in spec.journey.stages}
    tis = table(funnel_r.section("time_in_stage"), currency)
    for row in tis.rows:
        row[0] = replace(row[0], text=names.get(row[0].text, row[0].text))
    win = table(score.section("win_rate_by_entry"), currency)
    for row in win.rows:
        row[0] = replace(row[0], text=names.get(row[0].text, row[0].text))
    return DashboardView(
        as_of=score.as_of,
        currency=currency,
        kpis=_kpis(score, sla.speed, target_minutes),
        scorecard=scorecard,
        scorecard_flags=list(head.flags),
        scorecard_notes=[n for n in head.notes if not n.startswith("Shares are fractions")],
        funnel_chart=funnel_chart,
        funnel_steps=steps,
        funnel_notes=list(funnel_r.section("conversion").notes),
        time_in_stage=tis,
        sla_rows=sla_rows,
        speed=dict(sla.speed),
        speed_chart=_speed_chart(sla.speed, target_minutes),
        acceptance=dict(sla.acceptance),
        reasons=list(sla.reasons),
        tiers_chart=tiers_chart,
        tiers_table=tiers_table,
        tiers=tiers_r.section("tiers").records(),
        coverage_chart=coverage_chart,
        coverage_table=coverage_table,
        coverage_value=coverage_value,
        win_rate=win,
        timings=timings,
    )


class PageCache:
    """A small LRU of built pages keyed by what would change them; thread-safe and bounded.

    Two requests for the same key while it is being built share one build: the second waits for the
    first instead of doing the same seconds of work again beside it.
    """

    def __init__(self, size: int = 32) -> None:
        self.size = size
        self._items: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._building: dict[tuple[Any, ...], Future[Any]] = {}
        self._lock = threading.Lock()

    def get_or_build(self, key: tuple[Any, ...], build: Callable[[], T]) -> T:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                found: T = self._items[key]
                return found
            pending = self._building.get(key)
            owner = pending is None
            if pending is None:
                pending = Future()
                self._building[key] = pending
        if not owner:
            waited: T = pending.result()
            return waited
        try:
            value = build()
        except BaseException as exc:
            with self._lock:
                self._building.pop(key, None)
            pending.set_exception(exc)
            raise
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
            self._building.pop(key, None)
        pending.set_result(value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
