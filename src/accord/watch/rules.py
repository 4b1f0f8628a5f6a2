"""Evaluate the spec's watch rules as of an instant; the tick writes each firing once, with evidence.

Periods are whole calendar periods in the workspace time zone, so a firing is about a period that is
over and its figure no longer moves: weeks run Monday 00:00 to Monday 00:00, months from the 1st.
The weekly checks look at the last ``weeks`` complete weeks and fire when every one of them is off;
the stall check looks at the pipeline as of the tick (one firing per stall reason per week, while it
lasts); the content check looks at the last complete calendar month. Every figure comes from the
function the matching report uses (docs/plays.md, Watch rules), so an alert and the report it points
to always agree. A firing's id is its rule, period and subject: a repeated tick writes nothing new.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from statistics import median
from typing import Any
from zoneinfo import ZoneInfo

from accord.ledger.store import Ledger
from accord.reports.agreement import pct
from accord.reports.base import Filters, utc_text
from accord.reports.commitments import acceptance_between, mql_entries, routing_minutes, sla_line
from accord.reports.data import ReportData
from accord.spec.model import Spec, WatchRule

PREFIX = "acc:watch:"


def waited(minutes: float) -> str:
    """A wait in minutes as its owner reads it: minutes stay (the commitment is in minutes), and a
    long one also says its hours or days ("2904.9 minutes" alone makes a reader do the sum)."""
    text = f"{minutes:.1f} minutes"
    if minutes >= 48 * 60:
        return f"{text} ({minutes / 1440:.1f} days)"
    if minutes >= 120:
        return f"{text} ({minutes / 60:.1f} hours)"
    return text


@dataclass(frozen=True)
class Firing:
    """One watch rule firing: about which period (and subject), to whom, with the figures behind it."""

    alert_id: str
    rule: str
    check: str
    owner: str
    at: int
    period: str
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Period:
    since: int
    until: int
    label: str

    def describe(self) -> dict[str, Any]:
        return {"period": self.label, "from": _iso(self.since), "to": _iso(self.until)}


def _iso(ts: int) -> str:
    return utc_text(ts)


def complete_weeks(spec: Spec, as_of: int, count: int) -> list[Period]:
    """The last ``count`` complete Monday-to-Monday weeks before ``as_of``, oldest first."""
    zone = ZoneInfo(spec.workspace.timezone)
    today = datetime.fromtimestamp(as_of, UTC).astimezone(zone).date()
    monday = today - timedelta(days=today.weekday())
    out = []
    for back in range(count, 0, -1):
        start = monday - timedelta(weeks=back)
        end = start + timedelta(weeks=1)
        year, week, _ = start.isocalendar()
        out.append(
            Period(
                int(datetime(start.year, start.month, start.day, tzinfo=zone).timestamp()),
                int(datetime(end.year, end.month, end.day, tzinfo=zone).timestamp()),
                f"{year}-W{week:02d}",
            )
        )
    return out


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:60] or "none"


class _Watch:
    def __init__(self, data: ReportData) -> None:
        self.data = data
        self.spec = data.spec

    def fire(
        self,
        rule: WatchRule,
        at: int,
        period: str,
        message: str,
        evidence: dict[str, Any],
        subject: str | None = None,
    ) -> Firing:
        alert = f"{PREFIX}{rule.id}:{period}" + (f":{_slug(subject)}" if subject else "")
        if rule.action:
            message = f"{message}. {rule.action}"
        return Firing(alert, rule.id, rule.check, rule.owner, at, period, message, evidence)

    def weekly(
        self,
        rule: WatchRule,
        figure: Callable[[Period], tuple[bool | None, dict[str, Any]]],
        default_weeks: int = 1,
    ) -> tuple[list[Period], list[dict[str, Any]]] | None:
        """The weeks and their figures when every one of the last weeks is off, else None."""
        weeks = complete_weeks(self.spec, self.data.as_of, rule.weeks or default_weeks)
        figures = []
        for week in weeks:
            off, values = figure(week)
            if not off:
                return None
            figures.append({**week.describe(), **values})
        return weeks, figures

    # ---- the checks ---------------------------------------------------------------------------

    def acceptance_rate(self, rule: WatchRule) -> list[Firing]:
        target = (
            rule.threshold if rule.threshold is not None else self.spec.agreement.marketing.acceptance_rate
        )

        def figure(week: Period) -> tuple[bool | None, dict[str, Any]]:
            accepted, rejected = acceptance_between(self.data, week.since, week.until)
            rate = accepted / (accepted + rejected) if accepted + rejected else None
            return (None if rate is None else rate < target), {
                "accepted": accepted,
                "rejected": rejected,
                "rate": rate,
            }

        found = self.weekly(rule, figure, self.spec.agreement.joint.acceptance_alert_weeks)
        if found is None:
            return []
        weeks, figures = found
        said = ", ".join(f"{pct(f['rate'])} in {f['period']}" for f in figures)
        message = (
            f"MQL acceptance below {pct(target)} for {len(weeks)} complete week"
            f"{'s' if len(weeks) != 1 else ''} running ({said}): revisit the MQL criteria with both "
            "leaders, not the reps"
        )
        return [
            self.fire(rule, weeks[-1].until, weeks[-1].label, message, {"target": target, "weeks": figures})
        ]

    def mql_volume(self, rule: WatchRule) -> list[Firing]:
        mk = self.spec.agreement.marketing
        promised = rule.threshold if rule.threshold is not None else float(mk.mql_volume_per_week or 0)
        low, high = promised * (1 - mk.tolerance), promised * (1 + mk.tolerance)

        def figure(week: Period) -> tuple[bool | None, dict[str, Any]]:
            n = len(mql_entries(self.data, week.since, week.until))
            return (n < low or n > high), {"mqls": n}

        found = self.weekly(rule, figure)
        if found is None:
            return []
        weeks, figures = found
        last = figures[-1]["mqls"]
        side = "below" if last < low else "above"
        message = (
            f"{last} MQLs in {weeks[-1].label}, {side} the commitment of {promised:g} per week "
            f"(±{pct(mk.tolerance)}: {low:g} to {high:g})"
        )
        evidence = {
            "commitment": promised,
            "tolerance": mk.tolerance,
            "low": low,
            "high": high,
            "weeks": figures,
        }
        return [self.fire(rule, weeks[-1].until, weeks[-1].label, message, evidence)]

    def routing_speed(self, rule: WatchRule) -> list[Firing]:
        target = (
            rule.threshold
            if rule.threshold is not None
            else float(self.spec.agreement.marketing.routing_minutes)
        )

        def figure(week: Period) -> tuple[bool | None, dict[str, Any]]:
            minutes, waiting = routing_minutes(self.data, week.since, week.until)
            p50 = median(minutes) if minutes else None
            return (None if p50 is None else p50 > target), {
                "median_minutes": p50,
                "routed": len(minutes),
                "waiting": waiting,
            }

        found = self.weekly(rule, figure)
        if found is None:
            return []
        weeks, figures = found
        message = (
            f"MQLs waited a median {waited(figures[-1]['median_minutes'])} for an owner in "
            f"{weeks[-1].label}, over the committed {target:g} minutes"
        )
        return [
            self.fire(
                rule, weeks[-1].until, weeks[-1].label, message, {"target_minutes": target, "weeks": figures}
            )
        ]

    def first_touch_compliance(self, rule: WatchRule) -> list[Firing]:
        from accord.handoffs.report import sla_report

        sales = self.spec.agreement.sales
        target = rule.threshold if rule.threshold is not None else sales.first_touch_compliance

        def figure(week: Period) -> tuple[bool | None, dict[str, Any]]:
            report = sla_report(self.data.ledger, self.spec, self.data.as_of, week.since, week.until)
            compliance, met, breached = sla_line(report, sales.first_touch_sla)
            return (None if compliance is None else compliance < target), {
                "met": met,
                "breached": breached,
                "compliance": compliance,
            }

        found = self.weekly(rule, figure)
        if found is None:
            return []
        weeks, figures = found
        f = figures[-1]
        message = (
            f"First-touch SLA met on {pct(f['compliance'])} of clocks started in {weeks[-1].label} "
            f"({f['met']} met, {f['breached']} breached), under the {pct(target)} target"
        )
        return [
            self.fire(rule, weeks[-1].until, weeks[-1].label, message, {"target": target, "weeks": figures})
        ]

    def stall_pattern(self, rule: WatchRule) -> list[Firing]:
        from accord.reports.pipeline import local_day, pattern_flags, stalled_inventory

        need = int(rule.threshold) if rule.threshold is not None else self.spec.pipeline.pattern_min_deals
        _, stalled = stalled_inventory(self.data, 0, local_day(self.data, self.data.as_of))
        section = pattern_flags(self.data, stalled, 0)
        zone = ZoneInfo(self.spec.workspace.timezone)
        year, week, _ = datetime.fromtimestamp(self.data.as_of, UTC).astimezone(zone).date().isocalendar()
        period = f"{year}-W{week:02d}"
        out = []
        for reason, deals, amount, _structural, ids in section.rows:
            if deals < need:
                continue
            message = (
                f"'{reason}' holds {deals} stalled deals ({need} make a pattern): a structural "
                "issue for the loss post-mortem, not a rep's"
            )
            evidence = {
                "reason": reason,
                "deals": ids.split(", "),
                "amount": amount,
                "min_deals": need,
                "stalled_after_days": self.spec.pipeline.stalled_after.total_seconds() / 86400,
            }
            out.append(self.fire(rule, self.data.as_of, period, message, evidence, subject=reason))
        return out

    def content_rebuilds(self, rule: WatchRule) -> list[Firing]:
        from accord.reports.content import month_bounds, rebuilds

        limit = int(rule.threshold) if rule.threshold is not None else self.spec.content.rebuilds_per_month
        since, until, label = month_bounds(self.data, self.data.as_of, 1)
        out = []
        for (stage, role), uses in sorted(rebuilds(self.data, since, until).items()):
            if len(uses) <= limit:
                continue
            reps = sorted({r for _, r in uses if r})
            message = (
                f"Content for {stage} x {role} was rebuilt from scratch {len(uses)} times in {label} "
                f"(more than {limit} a month): the content map has a gap there"
            )
            evidence = {
                "stage": stage,
                "role": role,
                "rebuilds": len(uses),
                "limit": limit,
                "month": label,
                "by": reps,
                "at": [_iso(t) for t, _ in uses],
            }
            out.append(self.fire(rule, until, label, message, evidence, subject=f"{stage}.{role}"))
        return out


def evaluate(ledger: Ledger, spec: Spec, as_of: int) -> list[Firing]:
    """Every firing the spec's watch rules call for as of ``as_of`` (written or not)."""
    if not spec.watch:
        return []
    watch = _Watch(ReportData(ledger, spec, Filters(), as_of=as_of))
    out: list[Firing] = []
    for rule in spec.watch:
        out += getattr(watch, rule.check)(rule)
    return out


def firing_event(spec: Spec, f: Firing) -> dict[str, Any]:
    """The ``watch_fired`` event: addressed to the owner (actor), the figures in its properties."""
    person = spec.people.get(f.owner)
    props = {
        "rule": f.rule,
        "check": f.check,
        "owner": f.owner,
        "owner_name": person.name if person else None,
        "owner_email": person.email if person else None,
        "period": f.period,
        "message": f.message,
        "evidence": f.evidence,
    }
    return {
        "event_id": f.alert_id,
        "occurred_at": datetime.fromtimestamp(f.at, UTC),
        "type": "watch_fired",
        "contact_id": None,
        "account_id": None,
        "actor_id": f.owner,
        "source": "accord",
        "properties": props,
    }


def tick_watch(ledger: Ledger, spec: Spec, as_of: int) -> list[Firing]:
    """Write the firings not yet in the ledger; returns them (a repeated tick returns none)."""
    from accord.handoffs.tick import append

    firings = evaluate(ledger, spec, as_of)
    if not firings:
        return []
    ids = [f.alert_id for f in firings]
    known = {
        r[0]
        for r in ledger.con.execute(
            f"SELECT event_id FROM events WHERE event_id IN ({', '.join('?' for _ in ids)})", ids
        ).fetchall()
    }
    new = [f for f in firings if f.alert_id not in known]
    append(ledger, [firing_event(spec, f) for f in new], "tick_watch")
    return new
