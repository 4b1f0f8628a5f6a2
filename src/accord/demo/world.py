"""A year of made-up but realistic B2B history for a spec: the data behind ``accord demo``.

Everything observable is driven by hidden propensities (see ``accord.demo.market``), so the
engine's scores, tiers and conversion metrics have a true signal to recover, and a demo tells the
same story every time it is run with the same inputs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from accord.demo import bursts, engagement, handoffs, market, org
from accord.demo.clock import DAY, Zones, to_us
from accord.demo.context import Ctx, build_staff, company_domain
from accord.demo.deals import Pipeline
from accord.demo.kinds import Kinds
from accord.demo.tables import build, dates, take, timestamps
from accord.demo.words import PRODUCTS
from accord.spec.model import Spec

Progress = Callable[[str, float], None]
HISTORY_DAYS = 365
SUMMARY_TYPES: tuple[str, ...] = (
    "page_view", "pricing_view", "demo_request", "assigned", "accepted", "rejected", "recycled",
    "meeting_held", "opp_created", "closed_won", "closed_lost",
)  # fmt: skip


@dataclass
class World:
    """The ledger of a demo workspace, one Arrow table per ledger table (columns as in TABLES)."""

    accounts: pa.Table
    contacts: pa.Table
    users: pa.Table
    opportunities: pa.Table
    products: pa.Table
    content: pa.Table
    campaigns: pa.Table
    events: pa.Table

    def tables(self) -> dict[str, pa.Table]:
        """Ledger kind -> table, in the order an importer should load them (events last)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def summary(self) -> dict[str, int]:
        """Rows per table, then the handful of event counts a demo prints."""
        out = {kind: table.num_rows for kind, table in self.tables().items()}
        counts = pc.value_counts(self.events.column("type")).to_pylist()
        found = {c["values"]: int(c["counts"]) for c in counts}
        out.update({t: found.get(t, 0) for t in SUMMARY_TYPES})
        return out


def generate(
    spec: Spec,
    *,
    contacts: int = 5000,
    seed: int = 7,
    as_of: datetime,
    progress: Progress | None = None,
) -> World:
    """Simulate the 12 months before ``as_of``; the same inputs always give the same tables."""
    if as_of.tzinfo is None or as_of.utcoffset() is None:
        raise ValueError("as_of must be timezone-aware, e.g. datetime(2026, 11, 2, tzinfo=UTC)")
    if contacts < 1:
        raise ValueError("contacts must be at least 1")

    def step(phase: str, done: float) -> None:
        if progress is not None:
            progress(phase, done)

    end = to_us(as_of)
    start = end - HISTORY_DAYS * DAY
    step("people", 0.0)
    zones = engagement_zones(start)
    ctx = Ctx(spec, np.random.default_rng(seed), end, start, zones, build_staff(spec, start, end),
              domain=company_domain(spec))  # fmt: skip
    product_ids, product_names, products = org.products(ctx)
    camp = org.campaigns(ctx)
    lib = org.library(ctx)
    step("accounts", 0.08)
    acc = market.accounts(ctx, max(1, -(-contacts // 8)))
    con = market.contacts(ctx, acc, contacts)
    step("engagement", 0.2)
    urls = [f"https://{ctx.domain}/resources/{i}" for i in lib.ids]
    kinds = Kinds(spec, lib.topic, urls)
    engagement.lead_capture(ctx, con)
    engagement.sessions(ctx, con, kinds, camp, lib)
    step("engagement", 0.45)
    engagement.emails(ctx, con, kinds, camp)
    engagement.programs(ctx, con, kinds, camp, lib)
    engagement.tourists(ctx, con, kinds)
    step("handoffs", 0.6)
    rule = bursts.Handoff.of(ctx)
    who, when = bursts.episodes(ctx, acc, con)
    fired = bursts.play(ctx, con, kinds, lib, who, when, rule)
    first = handoffs.assign(ctx, con, who[fired >= 0], fired[fired >= 0], rule.fit)
    who, when = handoffs.returning(ctx, first)
    fired = bursts.play(ctx, con, kinds, lib, who, when, rule)
    second = handoffs.assign(ctx, con, who[fired >= 0], fired[fired >= 0], rule.fit)
    h = handoffs.merge(first, second)
    handoffs.owners(con, h, end)
    step("deals", 0.72)
    deals = Pipeline(ctx, acc, con, lib, product_ids)
    deals.legacy()
    deals.from_handoffs(h)
    deals.rebuilds()
    step("tables", 0.8)
    opportunity_ids = [f"opp-{i + 1:05d}" for i in range(len(deals.deals))]
    events = ctx.log.table({
        "contact": con.ids, "account": acc.ids, "opportunity": opportunity_ids,
        "actor": ctx.staff.ids, "campaign": camp.ids, "content": lib.ids,
    }, before=end, source="demo")  # fmt: skip
    world = World(
        accounts=market.account_table(ctx, acc),
        contacts=market.contact_table(ctx, acc, con),
        users=_users(ctx),
        opportunities=_opportunities(ctx, deals, acc, opportunity_ids, product_names),
        products=products,
        content=lib.table,
        campaigns=camp.table,
        events=events,
    )
    step("done", 1.0)
    return world


def engagement_zones(start: int) -> Zones:
    return Zones(market.ZONE_NAMES, start // DAY - 5, HISTORY_DAYS + 15)


def _users(ctx: Ctx) -> pa.Table:
    cols = dict(ctx.staff.columns)
    n = len(ctx.staff.ids)
    return build("users", {**cols, "source": ["demo"] * n, "attributes": ["{}"] * n}, n)


def _opportunities(
    ctx: Ctx, pipe: Pipeline, acc: market.Accounts, ids: list[str], product_names: list[str]
) -> pa.Table:
    deals = pipe.deals
    n = len(deals)
    closed = np.array([d.closed_at >= 0 for d in deals], dtype=bool)
    due = np.array([d.next_due for d in deals], dtype=np.int64)
    return build("opportunities", {
        "opportunity_id": ids,
        "account_id": [acc.ids[d.account] for d in deals],
        "contact_id": take(pipe.con.ids, np.array([d.contact for d in deals], dtype=np.int64)),
        "name": [f"{acc.names[d.account]} - {product_names[d.product]}" for d in deals],
        "owner_id": [ctx.staff.ids[d.owner] for d in deals],
        "stage": [d.stage for d in deals],
        "amount": np.array([d.amount for d in deals], dtype=np.float64),
        "currency": [ctx.spec.workspace.currency] * n,
        "product": [f"prd-{PRODUCTS[d.product][0]}" for d in deals],
        "created_at": timestamps([d.created for d in deals]),
        "close_date": dates([d.close_day for d in deals]),
        "closed_at": timestamps([max(d.closed_at, 0) for d in deals], ~closed),
        "is_closed": closed,
        "is_won": np.array([d.won and d.closed_at >= 0 for d in deals], dtype=bool),
        "loss_reason": [d.loss_reason for d in deals],
        "next_action": [d.next_action for d in deals],
        "next_action_due": dates(np.maximum(due, 0), due < 0),
        "lead_source": [d.lead_source for d in deals],
        "source": ["demo"] * n,
        "attributes": ["{}"] * n,
    }, n)  # fmt: skip
