"""Decisions for contacts, as the API answers them: state, route and open SLA clocks.

For each contact an ingest names (or a caller asks about): score, tier, motion and stage from
:class:`RealTime` (the batch definitions, one contact at a time), the owner the tick would assign (or
has assigned), and the deadline of its open SLA clock. A held workspace keeps compiled evaluators,
account slices and the reps' loads between requests (docs/api.md, "How the server holds the
workspace").
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from accord.domain.clocks import Clock, Clocks, Happening
from accord.domain.lead import LeadEvaluator
from accord.domain.routing import Router
from accord.engine.realtime import LeadState, RealTime, SliceCache, fetch_rows
from accord.errors import AccordError
from accord.handoffs.view import HandoffView, clock_types
from accord.ledger.store import Ledger
from accord.reports.base import utc_text
from accord.service.hosted import HostedWorkspace
from accord.service.workspace import Workspace

MAX_DECISIONS = 25
"""Decisions per request: each costs one real-time evaluation (see bench/RESULTS.md, "API ingest")."""
OPEN = ("open", "at_risk", "breached")


def _iso(ts: int | None) -> str | None:
    return None if ts is None else utc_text(ts)


class RepsCache:
    """The reps' loads a routing preview reads, kept across requests while nothing they count changed.

    They are counted from every contact's handoff and clock events and the derived Tier 1 queue: a
    whole-ledger read of ~20 ms that a busy server would otherwise repeat for every routed lead. The
    count is kept for one instant and one generation of the ledger; an ingest that stores no event of
    a type clocks or handoffs read carries it to the next generation, any other write drops it.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.key: tuple[int, int] | None = None  # (as_of, generation)
        self.value: dict[str, Any] | None = None

    def get(self, as_of: int, generation: int) -> dict[str, Any] | None:
        with self.lock:
            return self.value if self.key == (as_of, generation) else None

    def put(self, as_of: int, generation: int, value: dict[str, Any]) -> None:
        with self.lock:
            self.key, self.value = (as_of, generation), value

    def appended(self, types: Sequence[str], before: int, after: int, counted: frozenset[str]) -> None:
        """An ingest moved the ledger from ``before`` to ``after`` storing events of ``types``."""
        with self.lock:
            if self.key is not None and self.key[1] == before and counted.isdisjoint(types):
                self.key = (self.key[0], after)


class RealTimePool:
    """Compiled :class:`RealTime` instances, each on its own cursor: one request uses one at a time.

    Compiling costs seconds, so instances live as long as the spec version; the pool lets concurrent
    requests read their slices side by side (DuckDB releases the GIL while it reads), and all
    instances share one evaluator, which they take turns on (see :class:`RealTime`).
    """

    def __init__(self, ws: HostedWorkspace, size: int = 2) -> None:
        self.ws, self.size = ws, size
        self.slices = SliceCache()  # shared by the instances; ingest tells it what it stored
        self.reps = RepsCache()
        self.router = Router(ws.spec)  # its rules parsed once per spec, not once per routed lead
        self.clock_types = frozenset(clock_types(ws.spec))
        self.evaluator = (LeadEvaluator(ws.spec), threading.Lock())  # one for all: see RealTime
        self.free: list[tuple[Ledger, RealTime]] = []
        self.made = 0
        self.cond = threading.Condition()

    @contextmanager
    def acquire(self) -> Iterator[RealTime]:
        with self.cond:
            while not self.free and self.made >= self.size:
                self.cond.wait()
            pair = self.free.pop() if self.free else None
            if pair is None:
                self.made += 1
        if pair is None:
            ledger = self.ws.ledger()
            try:
                pair = (ledger, RealTime(ledger, self.ws.spec, self.slices, self.evaluator))
            except BaseException:
                ledger.close()
                with self.cond:
                    self.made -= 1
                    self.cond.notify()
                raise
        try:
            yield pair[1]
        finally:
            with self.cond:
                self.free.append(pair)
                self.cond.notify()

    def close(self) -> None:
        with self.cond:
            for ledger, _ in self.free:
                ledger.close()
            self.free.clear()


def _pool(ws: HostedWorkspace) -> RealTimePool:
    """The workspace's evaluators; a new spec (``reload_spec`` empties the cache) gets new ones."""
    return ws.kept("realtime", lambda: RealTimePool(ws))


@contextmanager
def realtime(ws: Workspace) -> Iterator[RealTime]:
    """A compiled real-time evaluator for the workspace's current spec."""
    if isinstance(ws, HostedWorkspace):
        with _pool(ws).acquire() as rt:
            yield rt
        return
    with ws.ledger() as ledger:
        yield RealTime(ledger, ws.spec)


def decisions(ws: Workspace, contacts: Sequence[str], now: datetime) -> list[dict[str, Any]]:
    """For each contact: its state from the real-time path, its route and its open SLA clocks."""
    if not contacts:
        return []
    moment = now.astimezone(UTC).replace(microsecond=0)
    states: dict[str, LeadState | AccordError] = {}
    at = int(moment.timestamp())
    pool = _pool(ws) if isinstance(ws, HostedWorkspace) else None
    types = pool.clock_types if pool is not None else frozenset(clock_types(ws.spec))
    happenings: dict[str, list[Happening]] = {}
    with realtime(ws) as rt:
        for contact in contacts:
            try:
                states[contact] = rt.state(contact, moment)
            except AccordError as exc:
                states[contact] = exc
                continue
            happenings[contact] = rt.happenings(contact, at, types)  # the slice just read holds them
    out: list[dict[str, Any]] = []
    with ws.ledger(read_only=True) as ledger:
        # this request's contacts only: reading every contact's handoffs per request would grow
        # with the ledger; routing reads the whole picture (rep loads) only when it must assign
        view = HandoffView(ledger, ws.spec, at, only=frozenset(contacts), given=happenings)
        router = _Routing(ws, ledger, view, pool.reps if pool else None, pool.router if pool else None)
        for contact in contacts:
            state = states[contact]
            if isinstance(state, AccordError):
                out.append({"contact_id": contact, "error": state.message, "hint": state.hint})
                continue
            out.append(router.decision(state))
    return out


class _Routing:
    """Who owns a lead, or whom the tick would assign it to now, and the clocks that follow."""

    def __init__(
        self,
        ws: Workspace,
        ledger: Ledger,
        view: HandoffView,
        shared: RepsCache | None = None,
        router: Router | None = None,
    ) -> None:
        self.ws, self.ledger, self.view, self.shared = ws, ledger, view, shared
        self.spec = ws.spec
        self.router = router or Router(ws.spec)
        self.human = [m for m, d in self.spec.motions.items() if d.human]
        self._reps: dict[str, Any] | None = None

    def decision(self, state: LeadState) -> dict[str, Any]:
        contact = state.contact_id
        route = self.route(state)
        happenings = list(self.view.happenings.get(contact, []))
        if route.get("status") == "would_assign" and route.get("owner"):
            happenings.append(Happening(self.view.as_of, "assigned", route["owner"], "api:preview"))
        clocks = Clocks(self.spec, self.view.calendar).for_contact(
            contact, happenings, self.view.as_of, stage_entries=self.view.stage_entries.get(contact, ())
        )
        live = [c for c in clocks if _is_open(c)]
        deadline = min((c.deadline for c in live), default=None)
        return {
            "contact_id": contact,
            "as_of": _iso(state.as_of),
            "score": state.score,
            "fit": state.fit,
            "intent": state.intent,
            "committee": state.committee,
            "tier": state.tier,
            "motion": state.motion,
            "stage": state.stage,
            "disposition": state.disposition,
            "drivers": [
                {"label": d["label"], "points": d["points"], "component": d["component"]}
                for d in state.drivers[:5]
            ],
            "route": route,
            "clocks": [clock_dict(c) for c in live],
            "sla_deadline": _iso(deadline),
            "spec_version": state.spec_version,
        }

    def route(self, state: LeadState) -> dict[str, Any]:
        owner, latest = self.view.owner(state.contact_id)
        if owner is not None and latest is not None and latest.type in ("assigned", "accepted"):
            return {"status": latest.type, "owner": owner, "since": _iso(latest.ts)}
        mql = self.spec.agreement.mql_stage
        if state.stage != mql or state.motion not in self.human:
            return {
                "status": "not_routed",
                "owner": None,
                "why": f"stage {state.stage or '(none)'}, motion {state.motion or '(none)'}: the tick routes "
                f"leads in {mql} with a human motion",
            }
        decision = self._router_decision(state)
        return {
            "status": "would_assign" if decision.owner else "unroutable",
            "owner": decision.owner,
            "team": decision.team,
            "rule": decision.rule,
            "method": decision.method,
            "why": decision.why,
        }

    def _router_decision(self, state: LeadState) -> Any:
        # The profile the evaluation read (the batch profiles row, from the account slice) is the row
        # routing reads: a second query for it cost ~9 ms of planning per routed lead.
        row: dict[str, Any] = {**state.profile, "_account_owner": state.profile.get("account__owner_id")}
        row.update(
            fit=state.fit, intent=state.intent, committee=state.committee, score=state.score, tier=state.tier,
            motion=state.motion, disposition=state.disposition, assigned=state.assigned, stage=state.stage,
        )  # fmt: skip
        if not self.router.columns <= row.keys():  # a rule reads a feature: as of the last derive
            derived = self._derived(state.contact_id)
            row.update({k: v for k, v in derived.items() if k not in row})
        if self._reps is None:
            self._reps = self._rep_loads()
        on = datetime.fromtimestamp(self.view.as_of, UTC).date()
        return self.router.route(
            state.contact_id, row, on=on, reps=self._reps, account_owner=row.get("_account_owner")
        )

    def _rep_loads(self) -> dict[str, Any]:
        """Every rep's open Tier 1 leads, latest assignment and hours, as the tick counts them.

        The lead being routed adds nothing: a lead that reaches routing has no live assignment.
        """
        from accord.handoffs.tick import rep_states

        generation = self.ledger.copy.generation
        found = self.shared.get(self.view.as_of, generation) if self.shared is not None else None
        if found is None:
            whole = HandoffView(self.ledger, self.spec, self.view.as_of)
            found = dict(rep_states(whole, self._tier_one()))
            if self.shared is not None and self.ledger.copy.generation == generation:
                self.shared.put(self.view.as_of, generation, found)
        return found

    @cached_property
    def _has_derived(self) -> bool:
        return self.ledger.has_table("derived_leads")

    def _derived(self, contact: str) -> dict[str, Any]:
        """Feature values as of the last derive: routing rules may read them."""
        if not self._has_derived:
            return {}
        found = fetch_rows(self.ledger.con, "SELECT * FROM derived_leads WHERE contact_id = ?", [contact])
        return found[0] if found else {}

    def _tier_one(self) -> set[str]:
        if not self._has_derived or not self.human:
            return set()
        rows = self.ledger.con.execute(
            f"SELECT contact_id FROM derived_leads WHERE stage = ? AND motion IN "
            f"({', '.join('?' for _ in self.human)})",
            [self.spec.agreement.mql_stage, *self.human],
        ).fetchall()
        return {r[0] for r in rows}


def _is_open(c: Clock) -> bool:
    return c.status in OPEN and c.stopped_at is None and c.superseded_at is None


def clock_dict(c: Clock) -> dict[str, Any]:
    """A clock as JSON: instants as ISO text, with its status and escalations."""
    return {
        "clock_id": c.clock_id,
        "sla": c.sla,
        "owner": c.owner,
        "status": c.status,
        "started_at": _iso(c.started_at),
        "deadline": _iso(c.deadline),
        "at_risk_at": _iso(c.at_risk_at),
        "stopped_at": _iso(c.stopped_at),
        "stop_type": c.stop_type,
        "business": c.business,
        "attempts": c.attempts,
        "escalations": [
            {"level": e.level, "link": e.link, "to": e.to, "due": _iso(e.due)} for e in c.escalations
        ],
    }
