"""What reports read: the derived tables and the ledger, as of the last derive, in plain records.

Every report reads through this one class, so the filters (period, segment, team, source) and the
"as of" mean the same thing everywhere, and the queries that touch the store live in one place.
Values are plain Python (UTC seconds for instants) so each metric is a few readable lines over them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cached_property
from typing import Any

from accord.errors import ReportError, WorkspaceError
from accord.ledger.store import Ledger
from accord.reports.base import Filters
from accord.spec.model import Spec

DAY = 86400

AFTER_SALE = frozenset({"onboarding_kickoff", "value_milestone", "renewed", "expanded", "loss_interview"})
"""Events about a deal after it closed. A renewal or an expansion carries its own amount; read as the
deal's, a later expansion of 8,600 once replaced the 19,200 a deal was won at, in every closed-won
figure (attribution, deals, scorecard, plan)."""


@dataclass(frozen=True)
class ContactRow:
    contact_id: str
    account_id: str | None
    segment: str | None
    source: str | None
    owner: str | None
    team: str | None
    tier: str | None
    created_at: int | None
    committee_role: str | None


@dataclass(frozen=True)
class StageRow:
    entity_id: str
    stage: str
    seq: int
    entered_at: int
    exited_at: int | None
    exit_to: str | None
    skipped: bool


@dataclass(frozen=True)
class OppRow:
    """An opportunity as of the report's instant: the table's attributes overlaid with its events."""

    opportunity_id: str
    account_id: str | None
    contact_id: str | None
    owner: str | None
    team: str | None
    manager: str | None
    segment: str | None
    source: str | None
    product: str | None
    stage: str | None
    amount: float | None
    created_at: int | None
    closed_at: int | None
    is_closed: bool
    is_won: bool
    loss_reason: str | None
    next_action: str | None
    next_action_due: date | None
    stage_since: int | None
    stall_reason: str | None


def midnight(day: date) -> int:
    """UTC seconds at the start of a calendar day (plan periods and quarters are whole UTC days)."""
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def quarter_bounds(quarter: str) -> tuple[int, int]:
    """[start, end) in UTC seconds of a calendar quarter written '2027-Q1'."""
    year, q = int(quarter[:4]), int(quarter[-1])
    end = date(year + 1, 1, 1) if q == 4 else date(year, 3 * q + 1, 1)
    return midnight(date(year, 3 * q - 2, 1)), midnight(end)


def status_against(value: float | None, target: float | None) -> str:
    """A metric against its target, in the words every report uses (higher is better)."""
    if target is None:
        return "no target"
    if value is None:
        return "no data"
    return "met" if value >= target else "below target"


def ts(value: Any) -> int | None:
    """UTC seconds from what DuckDB returns for a timestamp or date column."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return int(value.timestamp())
    if isinstance(value, date):
        return midnight(value)
    return int(value)


def day_of(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


class ReportData:
    """The records reports read, loaded lazily and once per report run."""

    def __init__(self, ledger: Ledger, spec: Spec, filters: Filters, *, as_of: int | None = None) -> None:
        self.ledger = ledger
        self.spec = spec
        self.filters = filters
        run = self._run()
        self.derived_as_of = ts(run["as_of"]) if run else None
        self.derived_spec: str | None = run["spec_version"] if run else None
        self.as_of: int = as_of if as_of is not None else (self.derived_as_of or 0)
        if as_of is None and run is None:
            raise WorkspaceError("nothing derived yet", hint="run `accord derive` first, then the report")
        self.has_derived = run is not None

    def _run(self) -> dict[str, Any] | None:
        from accord.ledger.derived import has_derived, latest_run

        run = latest_run(self.ledger)
        return run if run is not None and has_derived(self.ledger) else None

    def query(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        cursor = self.ledger.con.execute(sql, params or [])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    # ---- people ---------------------------------------------------------------------------------

    @cached_property
    def users(self) -> dict[str, dict[str, Any]]:
        return {r["user_id"]: r for r in self.query("SELECT user_id, name, team_id, manager_id FROM users")}

    def team_of(self, person: str | None) -> str | None:
        """The spec's team a person is a member of, else the team the users table gives."""
        if person is None:
            return None
        for team_id, team in self.spec.teams.items():
            if person in team.members:
                return team_id
        user = self.users.get(person)
        return user["team_id"] if user else None

    def manager_of(self, person: str | None) -> str | None:
        if person is None:
            return None
        if person in self.spec.people and self.spec.people[person].manager:
            return self.spec.people[person].manager
        user = self.users.get(person)
        return user["manager_id"] if user else None

    def name_of(self, person: str | None) -> str | None:
        if person is None:
            return None
        if person in self.spec.people:
            return self.spec.people[person].name
        user = self.users.get(person)
        return (user["name"] or person) if user else person

    def filter_values(self) -> dict[str, set[str]]:
        """Every segment, team and source value a filter can match in this ledger and spec.

        Teams include managers, because deals are also kept by the owner's manager (docs/metrics.md).
        """
        segments = {r["v"] for r in self.query("SELECT DISTINCT segment AS v FROM accounts")}
        sources = {
            r["v"]
            for r in self.query(
                "SELECT DISTINCT lead_source AS v FROM contacts "
                "UNION SELECT DISTINCT lead_source FROM opportunities"
            )
        }
        teams = set(self.spec.teams) | {t.manager for t in self.spec.teams.values() if t.manager}
        teams |= {p.manager for p in self.spec.people.values() if p.manager}
        for user in self.users.values():
            teams |= {user["team_id"], user["manager_id"]}
        found = {"segment": segments, "team": teams, "source": sources}
        return {k: {v for v in values if v} for k, values in found.items()}

    # ---- contacts and stages --------------------------------------------------------------------

    @cached_property
    def routed_to(self) -> dict[str, str]:
        """Each contact's owner by routing: whom its latest assignment up to the report's instant went
        to, rejected or recycled since or not, by the rule the queues use (HandoffView.owner)."""
        from accord.handoffs.view import HandoffView

        view = HandoffView(self.ledger, self.spec, self.as_of)
        owners = {contact: view.owner(contact)[0] for contact in view.happenings}
        return {contact: owner for contact, owner in owners.items() if owner is not None}

    @cached_property
    def all_contacts(self) -> dict[str, ContactRow]:
        lead_cols = "l.tier" if self.has_derived else "NULL AS tier"
        lead_join = "LEFT JOIN derived_leads l USING (contact_id)" if self.has_derived else ""
        rows = self.query(
            f"SELECT c.contact_id, c.account_id, a.segment, c.lead_source, c.owner_id, c.created_at, "
            f"c.committee_role, {lead_cols} FROM contacts c "
            f"LEFT JOIN accounts a USING (account_id) {lead_join}"
        )
        routed = self.routed_to
        out: dict[str, ContactRow] = {}
        for r in rows:
            # the derived lead's `assigned` is a flag, not a person: it once stood here as the owner,
            # so every routed lead was owned by `True`, in no team, and `--by owner` failed to sort
            owner = routed.get(r["contact_id"]) or r["owner_id"]
            out[r["contact_id"]] = ContactRow(
                r["contact_id"], r["account_id"], r["segment"], r["lead_source"], owner,
                self.team_of(owner), r["tier"], ts(r["created_at"]), r["committee_role"],
            )  # fmt: skip
        return out

    @cached_property
    def contacts(self) -> dict[str, ContactRow]:
        """Contacts the segment, team and source filters keep (the period applies per metric)."""
        f = self.filters
        return {
            k: c
            for k, c in self.all_contacts.items()
            if (f.segment is None or c.segment == f.segment)
            and (f.team is None or c.team == f.team)
            and (f.source is None or c.source == f.source)
        }

    def stages(self, entity_type: str) -> dict[str, list[StageRow]]:
        """Stage history per entity, in order; empty when nothing was derived."""
        if not self.has_derived:
            return {}
        out: dict[str, list[StageRow]] = {}
        for r in self.query(
            "SELECT entity_id, stage, seq, entered_at, exited_at, exit_to, skipped FROM derived_stages "
            "WHERE entity_type = ? ORDER BY entity_id, entered_at, seq",
            [entity_type],
        ):
            entered = ts(r["entered_at"])
            assert entered is not None
            out.setdefault(r["entity_id"], []).append(
                StageRow(
                    r["entity_id"],
                    r["stage"],
                    r["seq"],
                    entered,
                    ts(r["exited_at"]),
                    r["exit_to"],
                    bool(r["skipped"]),
                )
            )
        return out

    @cached_property
    def all_contact_stages(self) -> dict[str, list[StageRow]]:
        """Every contact's stage history, whatever the filters (deals look up their contact here)."""
        return self.stages("contact")

    @cached_property
    def contact_stages(self) -> dict[str, list[StageRow]]:
        keep = self.contacts
        return {k: v for k, v in self.all_contact_stages.items() if k in keep}

    @cached_property
    def journey_order(self) -> dict[str, int]:
        return {s.id: i for i, s in enumerate(self.spec.journey.stages)}

    def stage_id(self, name: str, option: str) -> str:
        """A stage named by id or by its readable name, or a clear error listing the choices."""
        for s in self.spec.journey.stages:
            if name in (s.id, s.name) or name.lower() == s.name.lower():
                return s.id
        choices = ", ".join(s.id for s in self.spec.journey.stages)
        raise ReportError(f"{option}: no journey stage '{name}'", hint=f"pick one of: {choices}")

    def reached(self, history: list[StageRow], stage: str, after: int | None = None) -> int | None:
        """When the entity first reached ``stage`` (entered it or any later stage, skips included)."""
        order = self.journey_order
        want = order[stage]
        times = [
            r.entered_at
            for r in history
            if order.get(r.stage, -1) >= want and (after is None or r.entered_at >= after)
        ]
        return min(times) if times else None

    # ---- opportunities --------------------------------------------------------------------------

    @cached_property
    def pipeline_outcomes(self) -> dict[str, str]:
        return {s.id: s.outcome for s in self.spec.pipeline.stages} if self.spec.pipeline else {}

    @cached_property
    def all_opportunities(self) -> dict[str, OppRow]:
        as_of = datetime.fromtimestamp(self.as_of, UTC)
        table = {r["opportunity_id"]: r for r in self.query("SELECT * FROM opportunities")}
        events: dict[str, list[dict[str, Any]]] = {}
        for r in self.query(
            "SELECT opportunity_id, occurred_at, type, actor_id, properties FROM events "
            "WHERE opportunity_id IS NOT NULL AND occurred_at <= ? "
            "ORDER BY opportunity_id, occurred_at, event_id",
            [as_of],
        ):
            events.setdefault(r["opportunity_id"], []).append(r)
        history = self.stages("opportunity")
        accounts = {r["account_id"]: r for r in self.query("SELECT account_id, segment FROM accounts")}
        contacts = self.all_contacts
        out: dict[str, OppRow] = {}
        for opp_id in sorted(set(table) | set(events)):
            out[opp_id] = self._opportunity(
                opp_id,
                table.get(opp_id, {}),
                events.get(opp_id, []),
                history.get(opp_id, []),
                accounts,
                contacts,
            )
        return out

    def _opportunity(
        self,
        opp_id: str,
        row: dict[str, Any],
        events: list[dict[str, Any]],
        history: list[StageRow],
        accounts: dict[str, dict[str, Any]],
        contacts: dict[str, ContactRow],
    ) -> OppRow:
        stage = row.get("stage")
        amount = row.get("amount")
        created = ts(row.get("created_at"))
        closed = ts(row.get("closed_at"))
        loss = row.get("loss_reason")
        next_action, next_due = row.get("next_action"), day_of(row.get("next_action_due"))
        owner = row.get("owner_id")
        stall: str | None = None
        for e in events:
            props = json.loads(e["properties"]) if e["properties"] else {}
            at = ts(e["occurred_at"])
            if e["type"] == "opp_created" and (created is None or (at is not None and at < created)):
                created = at
            if e["type"] in AFTER_SALE:  # their amount is the renewal's or expansion's, not the deal's
                continue
            if props.get("amount") is not None:
                amount = float(props["amount"])
            if props.get("stage"):
                stage = props["stage"]
            if e["type"] in ("closed_won", "closed_lost"):
                closed = at
                stage = props.get("stage") or stage
                if e["type"] == "closed_lost":
                    loss = props.get("loss_reason") or loss
            if e["type"] == "next_action_set":
                next_action = props.get("next_action")
                next_due = day_of(props.get("next_action_due"))
            if props.get("stall_reason"):
                stall = props["stall_reason"]
            if owner is None and e["actor_id"]:
                owner = e["actor_id"]
        since = None
        if history:
            current = history[-1]
            stage, since = current.stage, current.entered_at
        outcome = self.pipeline_outcomes.get(stage or "")
        won = outcome == "won" or (outcome is None and bool(row.get("is_won")))
        is_closed = outcome in ("won", "lost") or (outcome is None and bool(row.get("is_closed")))
        if is_closed and closed is not None and closed > self.as_of:
            is_closed = won = False  # closed after the report's instant: still open then
        if since is None:
            since = created
        contact = contacts.get(row.get("contact_id") or "")
        account = row.get("account_id") or (contact.account_id if contact else None)
        segment = (accounts.get(account or "") or {}).get("segment")
        source = row.get("lead_source") or (contact.source if contact else None)
        return OppRow(
            opp_id, account, row.get("contact_id"), owner, self.team_of(owner), self.manager_of(owner),
            segment, source, row.get("product"), stage, None if amount is None else float(amount), created,
            closed if is_closed else None, is_closed, won and is_closed,
            loss if is_closed and not won else None,
            None if is_closed else next_action, None if is_closed else next_due, since, stall,
        )  # fmt: skip

    @cached_property
    def opportunities(self) -> dict[str, OppRow]:
        """Opportunities the segment, team and source filters keep, that exist at the report's instant."""
        f = self.filters
        return {
            k: o
            for k, o in self.all_opportunities.items()
            if (f.segment is None or o.segment == f.segment)
            and (f.team is None or o.team == f.team or o.manager == f.team)
            and (f.source is None or o.source == f.source)
            and (o.created_at is None or o.created_at <= self.as_of)
        }

    # ---- deal and content activity (pipeline review, content) -----------------------------------

    @cached_property
    def opportunity_events(self) -> dict[str, list[tuple[int, str, dict[str, Any]]]]:
        """Each opportunity's (at, type, properties) up to the report's instant, in order.

        The pipeline review replays these to know a deal's amount at an earlier instant.
        """
        out: dict[str, list[tuple[int, str, dict[str, Any]]]] = {}
        for r in self.query(
            "SELECT opportunity_id, occurred_at, type, properties FROM events "
            "WHERE opportunity_id IS NOT NULL AND occurred_at <= ? "
            "ORDER BY opportunity_id, occurred_at, event_id",
            [datetime.fromtimestamp(self.as_of, UTC)],
        ):
            at = ts(r["occurred_at"])
            assert at is not None
            props = json.loads(r["properties"]) if r["properties"] else {}
            out.setdefault(r["opportunity_id"], []).append((at, r["type"], props))
        return out

    @cached_property
    def content_assets(self) -> list[dict[str, Any]]:
        """Every content asset, instants as UTC seconds; what counts as live is decided by the report."""
        rows = self.query(
            "SELECT content_id, title, format, stage, committee_role, created_at, retired_at "
            "FROM content_assets ORDER BY content_id"
        )
        return [{**r, "created_at": ts(r["created_at"]), "retired_at": ts(r["retired_at"])} for r in rows]

    @cached_property
    def content_uses(self) -> list[dict[str, Any]]:
        """content_shared and content_viewed events naming an asset, up to the report's instant.

        Each carries the opportunity it names and the account it can be tied to (its own, else its
        contact's), so a use can be credited to a deal even when the event does not name one.
        """
        contacts = self.all_contacts
        out: list[dict[str, Any]] = []
        for r in self.query(
            "SELECT occurred_at, content_id, opportunity_id, contact_id, account_id FROM events "
            "WHERE type IN ('content_shared', 'content_viewed') AND content_id IS NOT NULL "
            "AND occurred_at <= ? ORDER BY occurred_at, event_id",
            [datetime.fromtimestamp(self.as_of, UTC)],
        ):
            contact = contacts.get(r["contact_id"] or "")
            account = r["account_id"] or (contact.account_id if contact else None)
            out.append({**r, "at": ts(r["occurred_at"]), "account_id": account})
        return out
