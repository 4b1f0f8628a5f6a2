"""Which closed-won revenue Marketing sourced and influenced, and how credit splits across touches.

Definitions (docs/metrics.md, "Attribution"):
- Won deals: opportunities closed-won with the close in the period.
- A deal's touches: engagement events (marketing touches) and rep-activity events (sales touches)
  of its account stream (every contact of the deal's account, events naming only the account,
  and the deal's primary contact) up to the deal's creation.
- Sourced: the earliest touch before creation was a marketing touch.
- Influenced: at least one marketing touch in the window (default 90 days) before creation.
- First-touch credit: the whole amount to the channel of the first touch.
- Linear credit: the amount split equally across every touch in the window, marketing and sales.
- A touch's channel: its campaign's channel, else its `channel` property, else "sales outreach"
  for rep activity and "direct / unattributed" for engagement.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from accord.reports.base import Column, Report, Section
from accord.reports.data import DAY, OppRow, ReportData, status_against, ts
from accord.spec.catalog import STANDARD_EVENT_TYPES

DEFAULT_WINDOW_DAYS = 90.0


@dataclass
class Touch:
    at: int
    type: str
    marketing: bool
    channel: str


@dataclass
class DealCredit:
    deal: OppRow
    touches: list[Touch] = field(default_factory=list)  # before creation, oldest first
    window: list[Touch] = field(default_factory=list)  # within the window before creation

    @property
    def sourced(self) -> bool:
        return bool(self.touches) and self.touches[0].marketing

    @property
    def influenced(self) -> bool:
        return any(t.marketing for t in self.window)


def touch_types(data: ReportData) -> tuple[set[str], set[str]]:
    """Engagement (marketing) and rep-activity (sales) types: the catalog's plus the spec's own."""
    categories = dict(STANDARD_EVENT_TYPES)
    for name, declared in data.spec.event_types.items():
        categories[name] = declared.category
    marketing = {t for t, c in categories.items() if c == "engagement"}
    sales = {t for t, c in categories.items() if c == "rep_activity"}
    return marketing, sales


def won_deals(data: ReportData) -> list[OppRow]:
    return [
        o
        for o in data.opportunities.values()
        if o.is_won and o.closed_at is not None and data.filters.in_period(o.closed_at)
    ]


def credits(data: ReportData, deals: list[OppRow], window_days: float) -> list[DealCredit]:
    """Every deal's touches, read in one query keyed by the deals' accounts and contacts."""
    marketing, sales = touch_types(data)
    out = [DealCredit(d) for d in deals]
    dated = [c for c in out if c.deal.created_at is not None]
    if not dated:
        return out
    keys = pa.table(
        {
            "deal": [c.deal.opportunity_id for c in dated],
            "account_id": [c.deal.account_id for c in dated],
            "contact_id": [c.deal.contact_id for c in dated],
            "created": [datetime.fromtimestamp(c.deal.created_at or 0, UTC) for c in dated],
        }
    )
    con = data.ledger.con
    con.register("accord_report_deals", keys)
    try:
        rows = data.query(
            "WITH stream AS ("
            "  SELECT d.deal, d.created, c.contact_id, NULL AS account_id FROM accord_report_deals d"
            "  JOIN contacts c ON c.account_id = d.account_id"
            "  UNION SELECT d.deal, d.created, d.contact_id, NULL FROM accord_report_deals d"
            "  WHERE d.contact_id IS NOT NULL"
            ") "
            "SELECT s.deal, e.occurred_at, e.type, g.channel AS campaign_channel, "
            "json_extract_string(e.properties, '$.channel') AS channel FROM stream s "
            "JOIN events e ON e.contact_id = s.contact_id AND e.occurred_at <= s.created "
            "LEFT JOIN campaigns g ON g.campaign_id = e.campaign_id "
            "WHERE e.type IN (SELECT unnest(?)) "
            "UNION ALL "
            "SELECT d.deal, e.occurred_at, e.type, g.channel, json_extract_string(e.properties, '$.channel') "
            "FROM accord_report_deals d JOIN events e ON e.account_id = d.account_id "
            "AND e.contact_id IS NULL AND e.occurred_at <= d.created "
            "LEFT JOIN campaigns g ON g.campaign_id = e.campaign_id WHERE e.type IN (SELECT unnest(?)) "
            "ORDER BY 1, 2, 3",
            [sorted(marketing | sales), sorted(marketing | sales)],
        )
    finally:
        con.unregister("accord_report_deals")
    by_deal = {c.deal.opportunity_id: c for c in dated}
    for r in rows:
        is_marketing = r["type"] in marketing
        channel = (
            r["campaign_channel"]
            or r["channel"]
            or ("direct / unattributed" if is_marketing else "sales outreach")
        )
        at = ts(r["occurred_at"])
        assert at is not None
        by_deal[r["deal"]].touches.append(Touch(at, r["type"], is_marketing, channel))
    for c in dated:
        start = (c.deal.created_at or 0) - window_days * DAY
        c.window = [t for t in c.touches if t.at >= start]
    return out


@dataclass
class Summary:
    deals: int
    won: float
    sourced: float
    influenced: float

    @property
    def sourced_share(self) -> float | None:
        return self.sourced / self.won if self.won else None

    @property
    def influenced_share(self) -> float | None:
        return self.influenced / self.won if self.won else None


def summarize(data: ReportData, window_days: float = DEFAULT_WINDOW_DAYS) -> tuple[Summary, list[DealCredit]]:
    """The scorecard's sourced and influenced figures, and the per-deal detail behind them."""
    deals = credits(data, won_deals(data), window_days)
    amount = [c.deal.amount or 0.0 for c in deals]
    summary = Summary(
        len(deals),
        sum(amount),
        sum(a for a, c in zip(amount, deals, strict=True) if c.sourced),
        sum(a for a, c in zip(amount, deals, strict=True) if c.influenced),
    )
    return summary, deals


def attribution(data: ReportData, *, window_days: float | None = None) -> Report:
    window = DEFAULT_WINDOW_DAYS if window_days is None else window_days
    summary, deals = summarize(data, window)
    plan = data.spec.revenue_plan
    sourced_target = plan.sourced_share if plan else None
    influenced_target = plan.influenced_share if plan else None
    head = Section(
        "summary",
        "Marketing's share of closed-won revenue",
        [
            Column("metric", "Metric"),
            Column("deals", "Deals", "int"),
            Column("amount", "Amount", "money"),
            Column("share", "Share of won", "share"),
            Column("target", "Target", "share"),
            Column("status", "Status"),
        ],
        [
            ["closed-won", summary.deals, summary.won, 1.0 if summary.won else None, None, ""],
            [
                "marketing-sourced",
                sum(c.sourced for c in deals),
                summary.sourced,
                summary.sourced_share,
                sourced_target,
                status_against(summary.sourced_share, sourced_target),
            ],
            [
                "marketing-influenced",
                sum(c.influenced for c in deals),
                summary.influenced,
                summary.influenced_share,
                influenced_target,
                status_against(summary.influenced_share, influenced_target),
            ],
        ],
    )
    head.notes.append(
        f"Sourced: the first touch before the opportunity was a marketing touch. Influenced: a marketing "
        f"touch in the {window:g} days before the opportunity was created."
    )
    undated = sum(1 for c in deals if c.deal.created_at is None)
    if undated:
        head.flags.append(f"{undated} won deals have no creation date: no touch can be dated before them")
    first: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    linear: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    for c in deals:
        amount = c.deal.amount or 0.0
        if c.touches:
            first[c.touches[0].channel][0] += 1
            first[c.touches[0].channel][1] += amount
        for t in c.window:
            linear[t.channel][0] += 1
            linear[t.channel][1] += amount / len(c.window)
    columns = [
        Column("channel", "Channel"),
        Column("count", "Deals", "int"),
        Column("amount", "Credited amount", "money"),
        Column("share", "Share of won", "share"),
    ]
    won = summary.won

    def table(credit: dict[str, list[float]]) -> list[list[Any]]:
        ordered = sorted(credit.items(), key=lambda kv: (-kv[1][1], kv[0]))
        return [[k, int(v[0]), v[1], v[1] / won if won else None] for k, v in ordered]

    first_section = Section("first_touch", "First-touch credit", columns, table(first))
    linear_columns = [columns[0], Column("count", "Touches", "int"), *columns[2:]]
    linear_section = Section("linear", "Linear multi-touch credit", linear_columns, table(linear))
    linear_section.notes.append(
        f"Each won deal's amount is split equally across its touches (marketing and sales) in the {window:g} "
        "days before the opportunity; deals with no touch in the window credit no one."
    )
    detail = Section(
        "deals",
        "Won deals",
        [
            Column("opportunity", "Opportunity"),
            Column("amount", "Amount", "money"),
            Column("created", "Created", "date"),
            Column("first_touch", "First touch"),
            Column("sourced", "Sourced", "flag"),
            Column("marketing_touches", "Marketing touches in window", "int"),
            Column("influenced", "Influenced", "flag"),
        ],
        [
            [
                c.deal.opportunity_id,
                c.deal.amount,
                None if c.deal.created_at is None else datetime.fromtimestamp(c.deal.created_at, UTC).date(),
                c.touches[0].type if c.touches else None,
                c.sourced,
                sum(1 for t in c.window if t.marketing),
                c.influenced,
            ]
            for c in sorted(deals, key=lambda c: (-(c.deal.amount or 0), c.deal.opportunity_id))
        ],
    )
    return Report(
        "attribution",
        "Attribution: marketing-sourced and -influenced revenue",
        data.as_of,
        data.filters,
        [head, first_section, linear_section, detail],
        data.spec.workspace.currency,
    )
