"""The signed SLA between Marketing and Sales, written out from the spec with the actuals beside it.

The spec is the agreement; this report prints it in the order a signed SLA is read (terms, MQL
criteria, what each side owes, what both owe, sign-offs) so the document leaders sign and the numbers
that judge it can never drift apart.

Definitions (docs/metrics.md, "Agreement"):
- Period: the report's --from/--to when given, else the 4 weeks (28 days) before the report's instant.
- MQL volume per week = entries into the agreement's MQL stage in the period (passing through counts,
  re-entries after a recycle count again) / (period days / 7). Met when inside target ± tolerance.
- Routing speed = minutes from an MQL entry (not passed through) to the contact's first `assigned`
  event at or after it; met when the median is within the agreed minutes.
- Acceptance rate, first-touch and disposition compliance, speed-to-lead: as `accord sla`
  (accord.handoffs.report) over the period. Disposition compliance is judged against the same
  compliance target as first touch, the one compliance bar the agreement sets for Sales' clocks.
- Rejection reasons: share of rejections in the period that carry a reason code; met at 100%.
- Sign-off: an `agreement_signed` event with actor_id = the person and properties.spec_version equal
  to the spec's `version` label or its content hash; the latest one at or before the instant wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from statistics import median
from typing import Any
from zoneinfo import ZoneInfo

from accord.handoffs.report import SlaReport, sla_report
from accord.reports.base import Column, Report, Section
from accord.reports.commitments import acceptance_between, mql_entries, mql_tiers, routing_minutes, sla_line
from accord.reports.data import DAY, ReportData
from accord.spec.load import spec_hash
from accord.spec.model import Spec

MET, NOT_MET, NO_DATA = "met", "not met", "no data"
WEEK = 7 * DAY

COMMITMENT_COLUMNS = [
    Column("commitment", "Commitment"),
    Column("agreed", "Agreed"),
    Column("actual", "Actual"),
    Column("status", "Status"),
]


# ---- small words shared with the diagnostic ---------------------------------------------------------


def pct(share: float) -> str:
    """A share as a person writes it: 84%, 89.6% (never rounded up onto a target it missed)."""
    value = 100 * share
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    if round(value, 1) >= 100 > value:
        text = "99.9"
    return f"{text}%"


def span(target: timedelta, business: bool) -> str:
    """An SLA target in words: '1 business hour', '48 hours', '30 minutes'."""
    seconds = int(target.total_seconds())
    kind = "business " if business else ""
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} {kind}hour{'s' if hours != 1 else ''}"
    minutes = seconds // 60
    return f"{minutes} {kind}minute{'s' if minutes != 1 else ''}"


def day_text(ts: int | None, zone: ZoneInfo) -> str:
    return "" if ts is None else datetime.fromtimestamp(ts, UTC).astimezone(zone).date().isoformat()


def period(data: ReportData, days: int) -> tuple[int, int, str]:
    """[since, until) the actuals cover, and how to say it: the filters' period or the last ``days``."""
    zone = ZoneInfo(data.spec.workspace.timezone)
    until = min(data.filters.until, data.as_of) if data.filters.until is not None else data.as_of
    if data.filters.since is not None:
        since = data.filters.since
        return since, until, f"{day_text(since, zone)} to {day_text(until - 1, zone)}"
    since = until - days * DAY
    return since, until, f"the {days} days to {day_text(until, zone)}"


# ---- sign-offs ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignOff:
    person: str
    status: str  # "signed", "signed an earlier version", "not signed"
    signed_at: int | None
    version: str | None


def current_versions(spec: Spec) -> set[str]:
    """The names a signature may give the agreement in force: its label and its content hash."""
    return {v for v in (spec.version, spec_hash(spec)) if v}


def version_text(spec: Spec) -> str:
    digest = spec_hash(spec)
    return f"{spec.version} (spec {digest})" if spec.version else f"spec {digest}"


def sign_offs(data: ReportData) -> list[SignOff]:
    """Each governance owner's standing: a signature counts for the version it names, nothing else."""
    rows = data.query(
        "SELECT actor_id, CAST(floor(epoch(occurred_at)) AS BIGINT) AS at, "
        "json_extract_string(properties, '$.spec_version') AS version FROM events "
        "WHERE type = 'agreement_signed' AND actor_id IS NOT NULL AND occurred_at <= to_timestamp(?) "
        "ORDER BY occurred_at, event_id",
        [data.as_of],
    )
    current = current_versions(data.spec)
    out = []
    for person in data.spec.governance.owners:
        mine = [r for r in rows if r["actor_id"] == person]
        valid = [r for r in mine if r["version"] in current]
        if valid:
            last = valid[-1]
            out.append(SignOff(person, "signed", int(last["at"]), last["version"]))
        elif mine:
            last = mine[-1]
            out.append(SignOff(person, "signed an earlier version", int(last["at"]), last["version"]))
        else:
            out.append(SignOff(person, "not signed", None, None))
    return out


# ---- the document -------------------------------------------------------------------------------------


def agreement(data: ReportData) -> Report:
    spec, zone = data.spec, ZoneInfo(data.spec.workspace.timezone)
    since, until, label = period(data, 28)
    sla = sla_report(data.ledger, spec, data.as_of, since, until)
    sections = [
        _terms(data, zone, label),
        _criteria(data),
        _marketing(data, sla, since, until, label),
        _sales(data, sla),
        _joint(data, sla, label),
        _signatures(data, zone),
    ]
    name = spec.workspace.name
    return Report(
        "agreement",
        f"Service-level agreement between Marketing and Sales — {name}",
        data.as_of,
        data.filters,
        sections,
        spec.workspace.currency,
    )


def _person(data: ReportData, person: str | None) -> str:
    if person is None:
        return "not named"
    return data.name_of(person) or person


def _terms(data: ReportData, zone: ZoneInfo, label: str) -> Section:
    spec = data.spec
    gov, joint = spec.governance, spec.agreement.joint
    parties = ", ".join(
        f"{_person(data, p)} ({spec.people[p].role.replace('_', ' ')})" if p in spec.people else p
        for p in gov.owners
    )
    rows: list[list[Any]] = [
        ["Between", parties],
        ["Effective", spec.agreement.effective.isoformat() if spec.agreement.effective else "not set"],
        ["Version", version_text(spec)],
        ["Review cadence", f"{joint.review} review of rejection reasons; {gov.review} revenue council"],
        ["Recalibration cadence", f"{joint.recalibrate} recalibration of the MQL criteria and scoring"],
        ["Document owner", _person(data, gov.sla_owner)],
        ["Dashboard owner", _person(data, gov.dashboard_owner)],
        ["Disputes decided by", _person(data, joint.disputes_to or gov.tie_breaker)
         + (f", then {_person(data, gov.escalation)}" if gov.escalation else "")],
    ]  # fmt: skip
    section = Section("terms", "1. Terms", [Column("term", "Term"), Column("value", "Agreed")], rows)
    section.notes.append(
        f"Actuals below cover {label}; commitments come from the spec, so this page and the rules "
        "Accord runs are the same text."
    )
    if spec.agreement.effective is None:
        section.flags.append("No effective date: set agreement.effective before the sign-off meeting.")
    return section


def _criteria(data: ReportData) -> Section:
    spec = data.spec
    stages = {s.id: s for s in spec.journey.stages}
    mql = stages.get(spec.agreement.mql_stage)
    rows: list[list[Any]] = []
    if mql is not None:
        rows.append([f"Enters {mql.name}", mql.entry])
    for tier in mql_tiers(data):
        motion = spec.motions.get(tier.motion)
        rows.append([f"{tier.name} (motion: {motion.name if motion else tier.motion})", tier.when])
    pattern = spec.scoring.intent.require
    if pattern is not None:
        window = int(pattern.window.total_seconds() // DAY)
        rows.append([
            "Intent must show a pattern",
            f"signals on at least {_n(pattern.distinct_days, 'different day')} and "
            f"{_n(pattern.distinct_topics, 'topic')} within {window} days",
        ])  # fmt: skip
    for rule in spec.scoring.fit.rules:
        if rule.points < 0:
            rows.append([f"Counts against: {rule.label}", f"{rule.when} ({rule.points:+g} fit points)"])
    accepted = stages.get(spec.agreement.accepted_stage)
    if accepted is not None:
        rows.append([f"Sales acceptance enters {accepted.name}", accepted.entry])
    section = Section(
        "mql_criteria",
        "2. MQL criteria (every line must hold)",
        [Column("criterion", "Criterion"), Column("rule", "Rule (as Accord evaluates it)")],
        rows,
    )
    section.notes.append(
        "Each criterion is a rule over the lead's data, so a lead either meets it or does not; "
        "nobody decides case by case."
    )
    if mql is None:
        section.flags.append(
            f"agreement.mql_stage '{spec.agreement.mql_stage}' is not a journey stage: no handoff is defined."
        )
    return section


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'s' if count != 1 else ''}"


def _status(ok: bool | None) -> str:
    return NO_DATA if ok is None else MET if ok else NOT_MET


def _marketing(data: ReportData, sla: SlaReport, since: int, until: int, label: str) -> Section:
    spec = data.spec
    mk = spec.agreement.marketing
    weeks = (until - since) / WEEK
    entries = mql_entries(data, since, until)
    per_week = len(entries) / weeks if weeks > 0 else None
    rows: list[list[Any]] = []
    if mk.mql_volume_per_week is None:
        rows.append(["MQL volume", "not set in the spec", _per_week(per_week, len(entries)), NO_DATA])
    else:
        low = mk.mql_volume_per_week * (1 - mk.tolerance)
        high = mk.mql_volume_per_week * (1 + mk.tolerance)
        actual = _per_week(per_week, len(entries))
        if per_week is not None and per_week > high:
            actual += " (above the band: more than Sales agreed to work)"
        rows.append([
            "MQL volume",
            f"{mk.mql_volume_per_week} per week (±{pct(mk.tolerance)}: {low:g} to {high:g})",
            actual,
            _status(None if per_week is None else low <= per_week <= high),
        ])  # fmt: skip
    acc = sla.acceptance
    rate = acc["rate"]
    rows.append([
        "Lead quality",
        f"at least {pct(mk.acceptance_rate)} of dispositioned MQLs accepted by Sales",
        "no dispositions" if rate is None
        else f"{pct(rate)} accepted ({acc['accepted']} accepted, {acc['rejected']} rejected)",
        _status(None if rate is None else rate >= mk.acceptance_rate),
    ])  # fmt: skip
    minutes, waiting = routing_minutes(data, since, until)
    p50 = median(minutes) if minutes else None
    routed = (
        "no MQLs routed"
        if p50 is None
        else f"median {p50:.1f} min over {len(minutes)} MQLs"
        + (f" ({waiting} not routed yet)" if waiting else "")
    )
    rows.append([
        "Routing speed",
        f"an owner within {mk.routing_minutes} minutes of the MQL trigger",
        routed,
        _status(None if p50 is None else p50 <= mk.routing_minutes),
    ])  # fmt: skip
    section = Section("marketing", "3. Marketing commits to", COMMITMENT_COLUMNS, rows)
    section.notes.append(
        f"MQL volume: entries into the MQL stage in {label} per 7 days (passing through and re-entry after a "
        "recycle count). Lead quality: accepted / (accepted + rejected). Routing: minutes from entering "
        "the MQL stage to the first assignment after it; the median is held to the agreed minutes."
    )
    return section


def _per_week(value: float | None, n: int) -> str:
    return "no period" if value is None else f"{value:.1f} per week ({n} MQLs)"


def _compliance(compliance: float | None, met: int, breached: int) -> str:
    if compliance is None:
        return "no clocks resolved"
    return f"{pct(compliance)} met ({met} met, {breached} breached)"


def _sales(data: ReportData, sla: SlaReport) -> Section:
    spec = data.spec
    sales = spec.agreement.sales
    bar = sales.first_touch_compliance
    rows: list[list[Any]] = []
    touch = spec.slas.get(sales.first_touch_sla)
    compliance, met, breached = sla_line(sla, sales.first_touch_sla)
    p50 = sla.speed.get("p50_minutes")
    if touch is None:
        rows.append(["First touch", f"no SLA '{sales.first_touch_sla}' in the spec", "", NO_DATA])
    else:
        actual = _compliance(compliance, met, breached)
        if p50 is not None:
            actual += f"; speed-to-lead p50 {p50:.1f} business min"
        within = span(touch.target, touch.clock == "business")
        rows.append([
            "First touch",
            f"within {within} of assignment, on at least {pct(bar)} of MQLs",
            actual,
            _status(None if compliance is None else compliance >= bar),
        ])  # fmt: skip
    disp = spec.slas.get(sales.disposition_sla)
    compliance, met, breached = sla_line(sla, sales.disposition_sla)
    if disp is None:
        rows.append(["Disposition feedback", f"no SLA '{sales.disposition_sla}' in the spec", "", NO_DATA])
    else:
        within = span(disp.target, disp.clock == "business")
        rows.append([
            "Disposition feedback",
            f"accept or reject within {within} of assignment, on at least {pct(bar)} of MQLs",
            _compliance(compliance, met, breached),
            _status(None if compliance is None else compliance >= bar),
        ])  # fmt: skip
    total = sum(n for _, _, n, _ in sla.reasons)
    missing = sum(n for code, _, n, _ in sla.reasons if code == "(no reason)")
    share = (total - missing) / total if total else None
    rows.append([
        "Rejection reasons",
        "a reason code on 100% of rejected MQLs" if sales.rejection_reason_required else "not required",
        "no rejections" if share is None else f"{pct(share)} ({total - missing} of {total} rejections)",
        _status(None if share is None or not sales.rejection_reason_required else share >= 1.0),
    ])  # fmt: skip
    section = Section("sales", "4. Sales commits to", COMMITMENT_COLUMNS, rows)
    section.notes.append(
        "Compliance = met / (met + breached) over clocks started in the period; open clocks wait until "
        "they resolve. Speed-to-lead p50 is the median business minutes from assignment to first touch. "
        "Disposition compliance is held to the same bar as first touch."
    )
    return section


def _joint(data: ReportData, sla: SlaReport, label: str) -> Section:
    spec = data.spec
    joint, gov, mk = spec.agreement.joint, spec.governance, spec.agreement.marketing
    top = ", ".join(f"{name} {pct(share)}" for _, name, _, share in sla.reasons[:3])
    rows: list[list[Any]] = [
        [
            "Review of rejection reasons",
            joint.review,
            f"to review: {top}" if top else "no rejections to review",
            NO_DATA,
        ],
        ["Recalibration of the MQL criteria", joint.recalibrate, "not recorded in the ledger", NO_DATA],
    ]
    weeks = joint.acceptance_alert_weeks
    rates: list[float | None] = []
    for k in range(weeks, 0, -1):
        accepted, rejected = acceptance_between(data, data.as_of - k * WEEK, data.as_of - (k - 1) * WEEK)
        rates.append(accepted / (accepted + rejected) if accepted + rejected else None)
    below = all(r is not None and r < mk.acceptance_rate for r in rates)
    known = [r for r in rates if r is not None]
    rows.append([
        "Acceptance held up",
        f"never below {pct(mk.acceptance_rate)} for {weeks} weeks running (else revisit the criteria)",
        "weekly acceptance, oldest first: " + ", ".join("n/a" if r is None else pct(r) for r in rates),
        _status(None if not known else not below),
    ])  # fmt: skip
    tie = joint.disputes_to or gov.tie_breaker
    reached = sla.escalations.get("tie_breaker", 0)
    rows.append([
        "Disputes escalate to",
        _person(data, tie) + (f", then {_person(data, gov.escalation)}" if gov.escalation else ""),
        f"{reached} SLA escalation(s) reached the tie-breaker in {label}",
        NO_DATA,
    ])  # fmt: skip
    section = Section("joint", "5. Both teams commit to", COMMITMENT_COLUMNS, rows)
    if below:
        section.flags.append(
            f"Acceptance was below {pct(mk.acceptance_rate)} for {weeks} weeks running: revisit the MQL "
            "criteria with both leaders, not the reps."
        )
    section.notes.append(
        "Meetings and recalibrations are not events in the ledger, so their status reads 'no data'; "
        "the Actual column gives what the meeting should look at."
    )
    return section


def _signatures(data: ReportData, zone: ZoneInfo) -> Section:
    spec = data.spec
    rows: list[list[Any]] = []
    for s in sign_offs(data):
        role = spec.people[s.person].role.replace("_", " ") if s.person in spec.people else ""
        signed = (
            None if s.signed_at is None else datetime.fromtimestamp(s.signed_at, UTC).astimezone(zone).date()
        )
        rows.append([_person(data, s.person), role, s.status, signed, s.version])
    section = Section(
        "sign_offs",
        "6. Sign-offs",
        [
            Column("owner", "Signed for"),
            Column("role", "Role"),
            Column("status", "Status"),
            Column("signed_on", "Date", "date"),
            Column("version", "Version signed"),
        ],
        rows,
    )
    missing = [r[0] for r in rows if r[2] != "signed"]
    if missing:
        section.flags.append(
            f"Not yet signed for {version_text(spec)} by: {', '.join(missing)}. The agreement binds once "
            "every governance owner signs the version in force."
        )
    section.notes.append(
        "A signature is an `agreement_signed` event with actor_id = the person and properties.spec_version "
        f"= the version label or the spec hash ({', '.join(sorted(current_versions(spec)))}); a signature "
        "for any other version reads 'signed an earlier version'."
    )
    return section
