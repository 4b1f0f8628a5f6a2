"""Leads as they stood at reference instants, and whether they converted afterwards: calibration data.

A snapshot at instant ``r`` holds every open lead (known by ``r``, not yet at the target stage) with
what the score saw at ``r``: which fit rules hold, each intent signal's decayed occurrences, whether
the intent pattern is met, the committee's points, and whether the lead reached the target stage
within the horizon after ``r``. Nothing after ``r`` enters a feature; only the outcome looks ahead.

Every definition is Accord's own: rules are evaluated by ``accord.domain.rule_eval``, events are
matched to signals the way the reference derive does, the pattern and the committee come from
``accord.domain.scoring``. Only the decayed sums are vectorised (over all reference instants of a
lead at once), and :func:`score` reproduces ``intent_drivers``' arithmetic over them; tests hold both
to the reference derive, which is slow because it recomputes everything at every point.
"""

from __future__ import annotations

import bisect
import json
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from accord.domain.records import EVENT_COLUMNS, Event, event_row, profile_row
from accord.domain.reference import resolve_account
from accord.domain.rule_eval import holds
from accord.domain.scoring import (
    Seen,
    committee_driver,
    compile_rules,
    engagement_types,
    fit_drivers,
    intent_drivers,
    total,
)
from accord.ledger.store import Ledger
from accord.reports.base import Filters
from accord.reports.data import ReportData
from accord.spec import catalog
from accord.spec.model import Spec
from accord.spec.rule_ast import Ref, Rule, Scope, children

F64 = npt.NDArray[np.float64]
_NO_ROW: Mapping[str, Any] = {}


@dataclass
class Lead:
    """What one contact brings to every snapshot: its profile, its scored events, its outcome."""

    contact_id: str
    stream: tuple[str, str]  # ("account", id) or ("contact", id): whose engagement the committee counts
    profile: dict[str, Any]
    known: int | None  # first instant the lead existed (created, or its first event); None: unknown
    reached: int | None  # when it first reached the target stage
    intent: list[Seen] = field(default_factory=list)  # its events that count for a signal, in time order


@dataclass
class Sample:
    """One row per (open lead, reference instant), column blocks as the score reads them."""

    contact: list[str]
    lead: npt.NDArray[np.intp]  # index into ``leads``
    at: npt.NDArray[np.int64]
    converted: npt.NDArray[np.bool_]
    fit: npt.NDArray[np.bool_]  # rows x fit rules: the rule holds on the profile
    decayed: F64  # rows x signals: sum over the signal's events up to r of 2^(-(r - ts) / half_life)
    pattern: npt.NDArray[np.bool_]  # the intent pattern is met at r
    committee: F64  # committee points at r
    leads: list[Lead]

    def take(self, mask: npt.NDArray[np.bool_]) -> Sample:
        return Sample(
            [c for c, keep in zip(self.contact, mask, strict=True) if keep],
            self.lead[mask], self.at[mask], self.converted[mask], self.fit[mask],
            self.decayed[mask], self.pattern[mask], self.committee[mask], self.leads,
        )  # fmt: skip

    def __len__(self) -> int:
        return len(self.contact)


def round2(x: F64) -> F64:
    """``accord.domain.timeline.round2`` over an array: ``floor(x * 100 + 0.5) / 100``."""
    return np.floor(np.asarray(x, dtype=np.float64) * 100 + 0.5) / 100


def fit_totals(spec: Spec, leads: Sequence[Lead]) -> F64:
    """Each lead's fit under ``spec``, from the domain's fit drivers (cap included)."""
    rules = compile_rules(spec)
    return np.array([total(fit_drivers(spec, rules, lead.profile)) for lead in leads], dtype=np.float64)


def intent_totals(spec: Spec, decayed: F64, pattern: npt.NDArray[np.bool_]) -> F64:
    """Intent under ``spec``: ``intent_drivers``' arithmetic, step for step, over every row at once.

    Per signal ``round2(min(points * decayed, cap))``, summed in signal order; the intent cap as a
    driver of ``round2(cap - total)``; an unmet pattern as a driver of ``round2(-capped)``; the total
    rounded (docs/derive.md, Score).
    """
    intent = spec.scoring.intent
    rows = decayed.shape[0]
    summed = np.zeros(rows)
    for s, signal in enumerate(intent.signals):
        raw = signal.points * decayed[:, s]
        summed = summed + round2(np.minimum(raw, signal.cap) if signal.cap is not None else raw)
    capped = round2(summed)
    if intent.cap is not None:
        over = capped > intent.cap
        with_cap = summed + round2(intent.cap - capped)
        summed = np.where(over, with_cap, summed)
        capped = np.where(over, round2(with_cap), capped)
    return np.where(pattern, round2(summed), round2(summed + round2(-capped)))


def score(spec: Spec, sample: Sample, fit: F64 | None = None) -> F64:
    """The score Accord gives each row under ``spec``: ``round2(fit + intent + committee)``.

    The committee is read as collected (its settings are not something calibration changes).
    """
    fits = (fit if fit is not None else fit_totals(spec, sample.leads))[sample.lead]
    return round2(fits + intent_totals(spec, sample.decayed, sample.pattern) + sample.committee)


# ---- reading the workspace --------------------------------------------------------------------


def _columns(rule: Rule) -> set[str]:
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, Ref):
            found.add(node.field.column)
        for child in children(node):
            walk(child)

    walk(rule.root)
    return found


class _SignalOf:
    """The first intent signal an event matches, memoised on the values the signal rules read.

    The rules see the event through ``event_row`` restricted to the fields they name, so two events
    that agree on those fields match the same signal; with the starter that is one lookup per type.
    """

    def __init__(self, spec: Spec) -> None:
        data = spec.model_dump(mode="json", by_alias=True)
        scope = catalog.event_scope(data)
        self.rules = compile_rules(spec).signals
        used = set().union(*(_columns(r) for r in self.rules)) if self.rules else set()
        self.used = sorted(used)
        self.scope = Scope(
            scope.kind,
            {n: f for n, f in scope.fields.items() if f.column in used},
            scope.timezone,
            scope.refused,
        )
        self.needs_properties = bool(used - set(EVENT_COLUMNS) - {"occurred_at"})
        self.memo: dict[tuple[Any, ...], int | None] = {}

    def __call__(self, event: Event) -> int | None:
        # The raw values the rules read decide the coerced row, so they can key the memo.
        key = tuple(_raw(event, c) for c in self.used)
        if key not in self.memo:
            row = event_row(event, self.scope)
            self.memo[key] = next((i for i, rule in enumerate(self.rules) if holds(rule, row)), None)
        return self.memo[key]


def _raw(event: Event, column: str) -> Any:
    """What ``event_row`` reads for ``column``, before coercion (properties as JSON text, hashable)."""
    if column == "occurred_at":
        return event.ts
    if column in EVENT_COLUMNS:
        return getattr(event, column)
    return json.dumps(event.props.get(column), sort_keys=True, default=str)


def _rows(ledger: Ledger, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    cursor = ledger.con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _epoch(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return int((value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp())
    return None


@dataclass
class Workspace:
    """The leads of a derived workspace with their scored events, ready to be snapshotted."""

    spec: Spec
    as_of: int
    target: str
    leads: list[Lead]
    streams: dict[tuple[str, str], list[Seen]]  # engagement events the committee counts, in time order
    roles_of: dict[str, str | None]
    first_event: int | None = None  # the earliest event of the ledger up to as-of
    stream_times: dict[tuple[str, str], list[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.stream_times = {key: [s.event.ts for s in seen] for key, seen in self.streams.items()}


def read(ledger: Ledger, spec: Spec, target: str | None = None) -> Workspace:
    """Leads, their scored events and outcomes, as of the workspace's last derive.

    Outcomes are the derived stage histories' ``reached(target)``; the target defaults to the stage
    after the accepted stage (opportunity in the starter), as tier validation does.
    """
    from accord.reports.tiers import default_target

    data = ReportData(ledger, spec, Filters())
    as_of = data.as_of
    stage = data.stage_id(target, "--target") if target else default_target(data)
    signal_of = _SignalOf(spec)
    engaging = engagement_types(spec)
    tz = spec.workspace.timezone
    from accord.domain.timeline import local_day

    contacts = {r["contact_id"]: r for r in _rows(ledger, "SELECT * FROM contacts")}
    accounts = {r["account_id"]: r for r in _rows(ledger, "SELECT * FROM accounts")}
    props = "properties" if signal_of.needs_properties else "NULL AS properties"
    cursor = ledger.con.execute(
        "SELECT event_id, CAST(floor(epoch(occurred_at)) AS BIGINT) AS ts, type, contact_id, account_id, "
        f"opportunity_id, actor_id, campaign_id, content_id, topic, source, {props} FROM events "
        "WHERE CAST(floor(epoch(occurred_at)) AS BIGINT) <= ? ORDER BY ts, event_id",
        [as_of],
    )
    first_seen: dict[str, int] = {}
    intent: dict[str, list[Seen]] = defaultdict(list)
    engaged: list[Seen] = []
    naming: dict[str, list[Event]] = defaultdict(list)  # events naming an account, for resolve_account
    while batch := cursor.fetchmany(50_000):
        for eid, ts, type_, cid, aid, oid, actor, camp, content, topic, source, raw in batch:
            properties = json.loads(raw) if isinstance(raw, str) else (raw or {})
            event = Event(eid, int(ts), type_, cid, aid, oid, actor, camp, content, topic, source, properties)
            signal = signal_of(event)
            if signal is None and type_ not in engaging:
                if cid is not None:
                    first_seen.setdefault(cid, int(ts))
                    if aid:
                        naming[cid].append(event)
                continue
            light = Event(eid, int(ts), type_, cid, aid, topic=topic)
            seen = Seen(light, _NO_ROW, local_day(int(ts), tz) if signal is not None else 0, signal)
            if cid is not None:
                first_seen.setdefault(cid, int(ts))
                if aid:
                    naming[cid].append(light)
                if signal is not None:
                    intent[cid].append(seen)
            if type_ in engaging:
                engaged.append(seen)

    data_scope = spec.model_dump(mode="json", by_alias=True)
    profile_scope = catalog.profile_scope(data_scope)
    custom_contact, custom_account = set(spec.fields.contact), set(spec.fields.account)
    histories = data.all_contact_stages
    leads: list[Lead] = []
    account_of: dict[str, str | None] = {}
    for cid in sorted(set(contacts) | set(first_seen)):
        contact = contacts.get(cid)
        account = resolve_account(cid, contact, naming.get(cid, []))
        account_of[cid] = account
        profile = profile_row(
            cid, contact, account, accounts.get(account) if account else None,
            profile_scope, custom_contact, custom_account,
        )  # fmt: skip
        created = _epoch(contact.get("created_at")) if contact else None
        times = [t for t in (created, first_seen.get(cid)) if t is not None]
        leads.append(
            Lead(
                cid,
                ("account", account) if account else ("contact", cid),
                profile,
                min(times) if times else None,
                data.reached(histories.get(cid, []), stage),
                intent.get(cid, []),
            )
        )
    streams: dict[tuple[str, str], list[Seen]] = defaultdict(list)
    for seen in engaged:
        cid = seen.event.contact_id
        if cid is not None:
            account = account_of.get(cid)
            streams[("account", account) if account else ("contact", cid)].append(seen)
        elif seen.event.account_id:
            streams[("account", seen.event.account_id)].append(seen)
    roles_of = {lead.contact_id: lead.profile.get("committee_role") for lead in leads}
    first = min(first_seen.values(), default=None)
    return Workspace(spec, as_of, stage, leads, dict(streams), roles_of, first)


# ---- snapshots ------------------------------------------------------------------------------------


def open_at(refs: Sequence[int]) -> Callable[[Lead], npt.NDArray[np.int64]]:
    """The instants of ``refs`` at which a lead is open: known by then, not yet at the target stage."""
    times = np.asarray(sorted(refs), dtype=np.int64)

    def instants(lead: Lead) -> npt.NDArray[np.int64]:
        if lead.known is None:
            return times[:0]
        keep = times >= lead.known
        if lead.reached is not None:
            keep &= times < lead.reached
        return times[keep]

    return instants


def snapshot(ws: Workspace, refs: Sequence[int], horizon: int) -> Sample:
    """Every open lead at every reference instant in ``refs``, with its state and its outcome.

    Open at ``r``: known by ``r`` and not at the target stage by ``r``. Converted: reached the target
    stage in ``(r, r + horizon]``.
    """
    return collect(ws, open_at(refs), horizon)


def collect(ws: Workspace, instants: Callable[[Lead], npt.NDArray[np.int64]], horizon: int) -> Sample:
    """One row per lead and instant ``instants(lead)`` gives, with its state and its outcome."""
    spec = ws.spec
    intent = spec.scoring.intent
    half_life = intent.half_life.total_seconds()
    n_signals = len(intent.signals)
    fit_rules = compile_rules(spec).fit
    require = intent.require
    committee_cache: dict[tuple[tuple[str, str], int], float] = {}
    contact: list[str] = []
    lead_index: list[int] = []
    at_parts: list[npt.NDArray[np.int64]] = []
    converted_parts: list[npt.NDArray[np.bool_]] = []
    fit_parts: list[npt.NDArray[np.bool_]] = []
    decayed_parts: list[F64] = []
    pattern_parts: list[npt.NDArray[np.bool_]] = []
    committee_parts: list[F64] = []
    for i, lead in enumerate(ws.leads):
        at = instants(lead)
        if len(at) == 0:
            continue
        converted = (
            (lead.reached > at) & (lead.reached <= at + horizon)
            if lead.reached is not None
            else np.zeros(len(at), dtype=bool)
        )
        decayed = np.zeros((len(at), n_signals))
        stamps = np.array([s.event.ts for s in lead.intent], dtype=np.int64)
        signals = np.array([s.signal for s in lead.intent], dtype=np.int64)
        for s in range(n_signals):
            mine = stamps[signals == s]
            if len(mine):
                age = at[:, None] - mine[None, :]
                decayed[:, s] = np.where(age >= 0, np.exp2(-np.maximum(age, 0) / half_life), 0.0).sum(axis=1)
        pattern = np.ones(len(at), dtype=bool)
        if require is not None:
            window = int(require.window.total_seconds())
            stamp_list = stamps.tolist()
            for k, t in enumerate(at.tolist()):
                lo, hi = bisect.bisect_right(stamp_list, t - window), bisect.bisect_right(stamp_list, t)
                pattern[k] = _pattern_met(spec, lead.intent[lo:hi], t)
        committee = np.array([_committee(ws, committee_cache, lead.stream, t) for t in at.tolist()])
        holds_now = np.array([holds(rule, lead.profile) for rule in fit_rules], dtype=bool)
        contact.extend([lead.contact_id] * len(at))
        lead_index.extend([i] * len(at))
        at_parts.append(at)
        converted_parts.append(np.asarray(converted, dtype=bool))
        fit_parts.append(np.tile(holds_now, (len(at), 1)))
        decayed_parts.append(decayed)
        pattern_parts.append(pattern)
        committee_parts.append(committee)
    if not contact:
        empty = np.zeros(0)
        return Sample(
            [], np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool),
            np.zeros((0, len(fit_rules)), dtype=bool), np.zeros((0, n_signals)), np.zeros(0, dtype=bool),
            empty, ws.leads,
        )  # fmt: skip
    return Sample(
        contact, np.asarray(lead_index, dtype=np.intp), np.concatenate(at_parts),
        np.concatenate(converted_parts), np.vstack(fit_parts), np.vstack(decayed_parts),
        np.concatenate(pattern_parts), np.concatenate(committee_parts), ws.leads,
    )  # fmt: skip


def _pattern_met(spec: Spec, recent: Sequence[Seen], t: int) -> bool:
    """Whether the intent pattern holds at ``t``, as the domain's intent drivers decide it.

    ``recent`` is the lead's intent events inside the pattern's window; events before it cannot
    change the verdict, so the drivers are computed on that slice alone.
    """
    if not recent:  # no intent event in the window: no day counted, and every pattern needs one
        return False
    return all(d.key != "intent:pattern" for d in intent_drivers(spec, recent, t))


def _committee(
    ws: Workspace, cache: dict[tuple[tuple[str, str], int], float], stream: tuple[str, str], t: int
) -> float:
    """The committee's points at ``t`` for a stream, from the domain's committee driver."""
    committee = ws.spec.scoring.committee
    if committee is None:
        return 0.0
    key = (stream, t)
    if key not in cache:
        events = ws.streams.get(stream, [])
        stamps = ws.stream_times.get(stream, [])
        window = int(committee.window.total_seconds())
        lo, hi = bisect.bisect_right(stamps, t - window), bisect.bisect_right(stamps, t)
        driver = committee_driver(ws.spec, events[lo:hi], ws.roles_of, t)
        cache[key] = driver.points if driver is not None else 0.0
    return cache[key]
