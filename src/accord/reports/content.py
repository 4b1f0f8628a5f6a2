"""Content in deals: where the map has holes, which assets deals actually use, and what to retire.

Definitions (docs/metrics.md, "Content"):
- An asset is live at the report's instant when it was published by then (or has no date) and not
  retired by then; it is mapped when it names both a journey stage and a buying-committee role.
- Gap matrix: for each stage that needs content (``content.stages``, default every stage that is not
  optional) and each committee role, the number of live assets mapped there; a zero is a gap.
- A deal used an asset when a content_shared or content_viewed event names the asset and either the
  deal itself, or the deal's contact or account while the deal was open (created, not yet closed).
- Active-deal utilization = open deals that used at least one mapped asset during their life / open
  deals, at the report's instant.
- Retire list: live assets whose last use in a deal is more than ``content.retire_after`` (90 days)
  old, or never used in a deal and published more than that long ago.
- Rebuilt from scratch: ``content_rebuilt`` events per calendar month (workspace time zone) and per
  (stage, committee role) they name; more than ``content.rebuilds_per_month`` in one month for one
  cell is a gap in the map (the watch rule ``content_rebuilds`` reads the same counts).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from accord.reports.base import Column, Report, Section
from accord.reports.data import DAY, OppRow, ReportData
from accord.reports.pipeline import local_day


@dataclass(frozen=True)
class Asset:
    content_id: str
    title: str | None
    format: str | None
    stage: str | None
    role: str | None
    created_at: int | None
    retired_at: int | None

    def live(self, at: int) -> bool:
        return (self.created_at is None or self.created_at <= at) and (
            self.retired_at is None or self.retired_at > at
        )

    @property
    def mapped(self) -> bool:
        return bool(self.stage) and bool(self.role)


def assets(data: ReportData) -> dict[str, Asset]:
    return {
        r["content_id"]: Asset(r["content_id"], r["title"], r["format"], r["stage"], r["committee_role"],
                               r["created_at"], r["retired_at"])
        for r in data.content_assets
    }  # fmt: skip


def deal_uses(data: ReportData) -> dict[str, dict[str, list[int]]]:
    """content_id -> deal -> instants the asset was used in that deal (deals the filters keep).

    An event naming a deal counts for that deal; one naming only a contact or an account counts for
    every deal of that contact or account that was open at the time, since the buyer met the asset
    while that deal was being worked.
    """
    deals = data.opportunities
    by_account: dict[str, list[OppRow]] = defaultdict(list)
    by_contact: dict[str, list[OppRow]] = defaultdict(list)
    for o in deals.values():
        if o.account_id:
            by_account[o.account_id].append(o)
        if o.contact_id:
            by_contact[o.contact_id].append(o)
    out: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for use in data.content_uses:
        at: int = use["at"]
        if use["opportunity_id"]:
            if use["opportunity_id"] in deals:
                out[use["content_id"]][use["opportunity_id"]].append(at)
            continue
        candidates = {o.opportunity_id: o for o in by_contact.get(use["contact_id"] or "", [])}
        candidates.update((o.opportunity_id, o) for o in by_account.get(use["account_id"] or "", []))
        for opp_id, o in candidates.items():
            if (o.created_at is None or o.created_at <= at) and (o.closed_at is None or at <= o.closed_at):
                out[use["content_id"]][opp_id].append(at)
    return out


def _utilization(
    data: ReportData, catalogue: dict[str, Asset], uses: dict[str, dict[str, list[int]]]
) -> tuple[int, int]:
    active = {k for k, o in data.opportunities.items() if not o.is_closed}
    used = {deal for cid, per in uses.items() if cid in catalogue and catalogue[cid].mapped for deal in per}
    return len(active & used), len(active)


def last_deal_use(uses: dict[str, dict[str, list[int]]], content_id: str) -> int | None:
    return max((t for ts in uses.get(content_id, {}).values() for t in ts), default=None)


def due_for_retirement(asset: Asset, last: int | None, at: int, limit: float) -> bool:
    """The retire rule: a live asset last used in a deal more than ``limit`` seconds before ``at``,
    or never used and published longer ago than that (an undated one is never due)."""
    if not asset.live(at):
        return False
    if last is not None:
        return at - last > limit
    return asset.created_at is not None and at - asset.created_at > limit


def retire_list(data: ReportData) -> list[Asset]:
    """Live assets the retire rule (``content.retire_after``) says should go, as the content report
    lists them; the diagnostic's Q6 reads the same list."""
    catalogue, uses = assets(data), deal_uses(data)
    limit = data.spec.content.retire_after.total_seconds()
    return [
        a
        for a in catalogue.values()
        if due_for_retirement(a, last_deal_use(uses, a.content_id), data.as_of, limit)
    ]


def content_utilization(data: ReportData) -> tuple[int, int]:
    """(open deals that used a mapped asset, open deals) at the report's instant; the scorecard's input."""
    return _utilization(data, assets(data), deal_uses(data))


def month_bounds(data: ReportData, at: int, back: int = 0) -> tuple[int, int, str]:
    """[start, end) of the calendar month ``back`` months before the one holding ``at``, in the
    workspace time zone, and its label (2026-10)."""
    zone = ZoneInfo(data.spec.workspace.timezone)
    day = local_day(data, at)
    index = day.year * 12 + day.month - 1 - back

    def start(i: int) -> int:
        return int(datetime(i // 12, i % 12 + 1, 1, tzinfo=zone).timestamp())

    return start(index), start(index + 1), date(index // 12, index % 12 + 1, 1).strftime("%Y-%m")


def rebuilds(data: ReportData, since: int, until: int) -> dict[tuple[str, str], list[tuple[int, str | None]]]:
    """(stage, committee role) -> (instant, rep) of every deck rebuilt from scratch in [since, until)."""
    out: dict[tuple[str, str], list[tuple[int, str | None]]] = defaultdict(list)
    for r in data.query(
        "SELECT CAST(floor(epoch(occurred_at)) AS BIGINT) AS at, actor_id, "
        "coalesce(json_extract_string(properties, '$.stage'), '(no stage)') AS stage, "
        "coalesce(json_extract_string(properties, '$.committee_role'), '(no role)') AS role "
        "FROM events WHERE type = 'content_rebuilt' AND occurred_at >= to_timestamp(?) "
        "AND occurred_at < to_timestamp(?) ORDER BY occurred_at, event_id",
        [since, until],
    ):
        out[(r["stage"], r["role"])].append((int(r["at"]), r["actor_id"]))
    return dict(out)


def rebuilt_section(data: ReportData, months: int = 3) -> Section:
    """Rebuilds per month and cell for the last ``months`` calendar months (the current one first)."""
    limit = data.spec.content.rebuilds_per_month
    rows: list[list[Any]] = []
    for back in range(months):
        since, until, label = month_bounds(data, data.as_of, back)
        for (stage, role), uses in sorted(rebuilds(data, since, until).items()):
            reps = sorted({r for _, r in uses if r})
            rows.append([label, stage, role, len(uses), ", ".join(reps), len(uses) > limit])
    section = Section(
        "rebuilt",
        "Rebuilt from scratch",
        [Column("month", "Month"), Column("stage", "Stage"), Column("role", "Committee role"),
         Column("rebuilds", "Rebuilds", "int"), Column("reps", "By"), Column("gap", "Gap", "flag")],
        rows,
    )  # fmt: skip
    section.notes.append(
        f"Decks rebuilt from scratch (content_rebuilt events) per calendar month; more than {limit} in a "
        "month for one stage and role is a gap in the content map."
    )
    section.flags += [f"{r[0]}: {r[1]} x {r[2]} rebuilt {r[3]} times: fill the gap" for r in rows if r[5]]
    return section


def gap_matrix(data: ReportData, catalogue: dict[str, Asset]) -> tuple[Section, Section]:
    spec = data.spec
    stages = spec.content.stages or [s.id for s in spec.journey.stages if not s.optional]
    roles = spec.buying_committee
    counts: dict[tuple[str, str], int] = defaultdict(int)
    live = [a for a in catalogue.values() if a.live(data.as_of)]
    for a in live:
        if a.mapped:
            counts[(a.stage or "", a.role or "")] += 1
    rows: list[list[Any]] = []
    gaps: list[list[Any]] = []
    for stage in stages:
        cells = [counts[(stage, r.id)] for r in roles]
        rows.append([stage, *cells, cells.count(0)])
        gaps += [[stage, r.id, r.label] for r, n in zip(roles, cells, strict=True) if n == 0]
    matrix = Section(
        "gap_matrix",
        "Content gap matrix (live assets by stage and committee role)",
        [
            Column("stage", "Stage"),
            *(Column(r.id, r.label, "int") for r in roles),
            Column("gaps", "Gaps", "int"),
        ],
        rows,
    )
    if gaps:
        matrix.flags.append(
            f"{len(gaps)} of {len(stages) * len(roles)} stage x role cells have no live asset: fill them "
            "before producing new top-of-funnel assets"
        )
    known = {(s, r.id) for s in stages for r in roles}
    off_map = sum(1 for a in live if (a.stage, a.role) not in known)
    if off_map:
        matrix.notes.append(
            f"{off_map} live asset{'s' if off_map != 1 else ''} not counted: no stage or role, or one the "
            "map does not list."
        )
    gap_section = Section(
        "gaps",
        "Gaps in the content map",
        [Column("stage", "Stage"), Column("role", "Committee role"), Column("role_label", "Role")],
        gaps,
    )
    return matrix, gap_section


def content(data: ReportData) -> Report:
    catalogue = assets(data)
    uses = deal_uses(data)
    matrix, gaps = gap_matrix(data, catalogue)
    used, active = _utilization(data, catalogue, uses)
    utilization = Section(
        "active_deals",
        "Active-deal utilization",
        [
            Column("open_deals", "Open deals", "int"),
            Column("used", "Used a mapped asset", "int"),
            Column("share", "Utilization", "share"),
        ],
        [[active, used, used / active if active else None]],
    )
    f = data.filters
    in_period = f.in_period if f.since is not None or f.until is not None else None
    utilization.notes.append(
        "Share of open deals that used at least one mapped asset (stage and role) at any time in their life."
        # a snapshot: a reader who picked a period should not take the same figure for the period's
        + (
            " Deals open at the report's instant: the period does not narrow this figure."
            if in_period
            else ""
        )
    )
    asset_rows: list[list[Any]] = []
    retire: list[list[Any]] = []
    undated = 0
    limit = data.spec.content.retire_after.total_seconds()
    for a in catalogue.values():
        per = uses.get(a.content_id, {})
        last = last_deal_use(uses, a.content_id)
        deals = sum(1 for ts in per.values() if in_period is None or any(in_period(t) for t in ts))
        idle = None if last is None else (data.as_of - last) / DAY
        last_day = None if last is None else local_day(data, last)
        live = a.live(data.as_of)
        asset_rows.append([a.content_id, a.title, a.format, a.stage, a.role, live, deals, last_day, idle])
        if not live:
            continue
        if due_for_retirement(a, last, data.as_of, limit):
            if last is not None:
                why = f"last used in a deal {idle:.0f} days ago"
                retire.append([a.content_id, a.title, a.stage, a.role, last_day, idle, why])
            else:
                age = (data.as_of - (a.created_at or 0)) / DAY
                why = f"never used in a deal, published {age:.0f} days ago"
                retire.append([a.content_id, a.title, a.stage, a.role, None, age, why])
        elif last is None and a.created_at is None:
            undated += 1
    asset_rows.sort(key=lambda r: (-r[6], r[0]))
    per_asset = Section(
        "utilization",
        "Utilization by asset",
        [
            Column("content_id", "Asset"),
            Column("title", "Title"),
            Column("format", "Format"),
            Column("stage", "Stage"),
            Column("role", "Committee role"),
            Column("live", "Live", "flag"),
            Column("deals", "Deals used in", "int"),
            Column("last_use", "Last use in a deal", "date"),
            Column("days_since", "Days since", "days"),
        ],
        asset_rows,
    )
    per_asset.notes.append(
        "A use is a content_shared or content_viewed event naming the asset and the deal, or the deal's "
        "contact or account while the deal was open."
        + (
            " Deals counted are those with a use in the period; the last use looks at all time."
            if in_period
            else ""
        )
    )
    days = limit / DAY
    retire_section = Section(
        "retire",
        "Retire list",
        [
            Column("content_id", "Asset"),
            Column("title", "Title"),
            Column("stage", "Stage"),
            Column("role", "Committee role"),
            Column("last_use", "Last use in a deal", "date"),
            Column("days_unused", "Days unused", "days"),
            Column("why", "Why"),
        ],
        retire,
    )
    retire_section.notes.append(
        f"Live assets no deal has used for more than {days:g} days"
        + (", as of the report's instant whatever the period." if in_period else ".")
    )
    if undated:
        retire_section.notes.append(
            f"{undated} live asset{'s' if undated != 1 else ''} never used and without a publish date: "
            "cannot tell how long unused; record when each was published."
        )
    if f.segment or f.team or f.source:
        retire_section.notes.append(
            "Only uses in deals the segment, team and source filters keep count here."
        )
    return Report(
        "content",
        "Content: gap matrix, utilization in deals, retire list",
        data.as_of,
        data.filters,
        [matrix, gaps, utilization, per_asset, retire_section, rebuilt_section(data)],
        data.spec.workspace.currency,
    )
