"""What the company brings to the market: products, campaigns and the content library.

Campaign dates are laid out relative to the history so every demo, whatever its as-of, has
campaigns that ran, one running and the spec's own charter; the content library deliberately leaves
some (stage x committee role) cells empty and some assets unused, so the content reports have
something true to say.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from accord.demo.clock import DAY, I64
from accord.demo.context import Ctx
from accord.demo.tables import build, dates, dumps, timestamps
from accord.demo.words import (
    CAMPAIGN_PLAN,
    CHANNELS,
    CONTENT_FORMATS,
    FORMAT_TITLES,
    INDUSTRIES,
    PRODUCTS,
)


@dataclass
class Campaigns:
    ids: list[str]
    channel: list[str]
    topic: list[str]
    start: I64  # first instant (UTC us)
    end: I64  # instant after the last day
    table: pa.Table

    def of(self, channel: str) -> list[int]:
        return [i for i, c in enumerate(self.channel) if c == channel]


@dataclass
class Library:
    """The content assets, and which of them reps actually reach for."""

    ids: list[str]
    stage: list[str]
    role: list[str]
    topic: list[str]
    format: list[str]
    created: I64
    used: npt.NDArray[np.intp]  # assets reps share in deals
    downloadable: npt.NDArray[np.intp]  # gated assets contacts download
    uncovered: list[tuple[str, str]]
    table: pa.Table


def products(ctx: Ctx) -> tuple[list[str], list[str], pa.Table]:
    brand = ctx.spec.workspace.name.split()[0]
    ids = [f"prd-{key}" for key, *_ in PRODUCTS]
    names = [f"{brand} {name}" for _, name, _, _ in PRODUCTS]
    table = build("products", {
        "product_id": ids, "name": names, "family": [p[2] for p in PRODUCTS],
        "list_price": [p[3] for p in PRODUCTS], "source": ["demo"] * len(ids),
        "attributes": ["{}"] * len(ids),
    }, len(ids))  # fmt: skip
    return ids, names, table


def campaigns(ctx: Ctx) -> Campaigns:
    rng, staff = ctx.rng, ctx.staff
    rows: list[tuple[str, str, str, int, int, str, int]] = []
    first_day = ctx.start // DAY
    for cid, name, channel, month, length, topic in CAMPAIGN_PLAN:
        begin = first_day + month * 30 + int(rng.integers(0, 10))
        owner = staff.marketers[len(rows) % len(staff.marketers)]
        rows.append((cid, name, channel, begin, begin + length, topic, owner))
    epoch = np.datetime64("1970-01-01", "D")
    for cid, charter in ctx.spec.campaigns.items():
        channel = next((c for c in charter.channels if c in CHANNELS), "email")
        text = f"{charter.name} {charter.problem or ''}".lower()
        topic = "security" if "security" in text else "solutions"
        owner = staff.ids.index(charter.owner) if charter.owner in staff.ids else staff.marketers[0]
        begin = int((np.datetime64(charter.start, "D") - epoch).astype(int))
        finish = int((np.datetime64(charter.end, "D") - epoch).astype(int))
        rows.append((cid, charter.name, channel, begin, finish, topic, owner))
    today = ctx.as_of // DAY
    n = len(rows)
    start = np.array([r[3] for r in rows], dtype=np.int64)
    end = np.array([r[4] for r in rows], dtype=np.int64)
    status = ["planned" if s > today else "completed" if e < today else "active"
              for s, e in zip(start, end, strict=True)]  # fmt: skip
    budget = np.round(rng.uniform(15_000, 120_000, n), -3)
    done = np.clip((today - start) / np.maximum(end - start, 1), 0, 1)
    cost = np.round(budget * rng.uniform(0.75, 1.08, n) * done, 2)
    table = build("campaigns", {
        "campaign_id": [r[0] for r in rows], "name": [r[1] for r in rows],
        "channel": [r[2] for r in rows], "status": status,
        "start_date": dates(start), "end_date": dates(end), "budget": budget, "cost": cost,
        "owner_id": [staff.ids[r[6]] for r in rows], "source": ["demo"] * n,
        "attributes": [dumps({"topic": r[5]}) for r in rows],
    }, n)  # fmt: skip
    return Campaigns([r[0] for r in rows], [r[2] for r in rows], [r[5] for r in rows],
                     start * DAY, (end + 1) * DAY, table)  # fmt: skip


def _bucket(i: int, n: int) -> str:
    frac = i / max(n - 1, 1)
    for limit, name in ((0.2, "early"), (0.45, "middle"), (0.65, "handoff"), (0.85, "deal")):
        if frac < limit:
            return name
    return "late"


def library(ctx: Ctx, n_assets: int = 40) -> Library:
    """About 40 assets over the (stage x role) grid, with gaps where a rep would need one."""
    spec, rng = ctx.spec, ctx.rng
    stages = spec.content.stages or [s.id for s in spec.journey.stages if not s.optional]
    roles = [r.id for r in spec.buying_committee]
    cells = [(s, r) for s in stages for r in roles]
    mql = spec.agreement.mql_stage if spec.agreement.mql_stage in stages else stages[len(stages) // 2]
    deal = stages[min(len(stages) - 1, stages.index(mql) + 2)]
    forced = {(mql, "security_reviewer" if "security_reviewer" in roles else roles[-1]),
              (deal, "procurement" if "procurement" in roles else roles[0])}  # fmt: skip
    drop = rng.random(len(cells)) < 0.22
    uncovered = [c for c, d in zip(cells, drop, strict=True) if d or c in forced]
    covered = [c for c in cells if c not in uncovered] or cells[:1]
    order = list(rng.permutation(len(covered)))
    picks = (order * (n_assets // max(len(order), 1) + 1))[:n_assets]
    ids, titles, formats, stage_of, role_of, topics, urls, owners = ([] for _ in range(8))
    seen: set[str] = set()
    industries = list(INDUSTRIES)
    for k, cell in enumerate(picks):
        stage, role = covered[int(cell)]
        choices = CONTENT_FORMATS[_bucket(stages.index(stage), len(stages))]
        fmt = (
            "security_faq"
            if role == "security_reviewer" and rng.random() < 0.6
            else (str(choices[int(rng.integers(len(choices)))]))
        )
        topic = (
            "security"
            if fmt == "security_faq" or role == "security_reviewer"
            else str(rng.choice(["solutions", "product", "integrations", "customers", "pricing"]))
        )
        title = FORMAT_TITLES[fmt].format(
            Topic=topic.capitalize(),
            topic=topic,
            role=role.replace("_", " "),
            industry=industries[int(rng.integers(len(industries)))].replace("_", " "),
        )
        base, version = title, 1
        while title in seen:  # the next version of the same title, never a suffix piled on a suffix
            version += 1
            title = f"{base} (v{version})"
        seen.add(title)
        cid = f"ast-{k + 1:03d}"
        ids.append(cid)
        titles.append(title)
        formats.append(fmt)
        stage_of.append(stage)
        role_of.append(role)
        topics.append(topic)
        urls.append(f"https://{ctx.domain}/resources/{cid}")
        owners.append(ctx.staff.ids[ctx.staff.marketers[k % len(ctx.staff.marketers)]])
    n = len(ids)
    old = rng.random(n) < 0.25
    created = np.where(
        old,
        ctx.start - rng.uniform(120, 700, n) * DAY,
        ctx.start + rng.uniform(-90 * DAY, 0.8 * (ctx.as_of - ctx.start), n),
    ).astype(np.int64)
    created = np.minimum(created, ctx.as_of - 20 * DAY)
    retired = np.zeros(n, dtype=bool)
    retired[np.flatnonzero(old)[:3]] = True
    retired_at = ctx.start + ((ctx.as_of - ctx.start) * rng.uniform(0.2, 0.9, n)).astype(np.int64)
    shelf = old | (rng.random(n) < 0.1)
    used = np.flatnonzero(~shelf & ~retired)
    if len(used) == 0:
        used = np.arange(n)
    gated = np.array([f in ("whitepaper", "case_study", "security_faq") for f in formats])
    downloadable = np.flatnonzero(gated & ~retired)
    if len(downloadable) == 0:
        downloadable = np.arange(n)
    table = build("content", {
        "content_id": ids, "title": titles, "format": formats, "stage": stage_of,
        "committee_role": role_of, "topic": topics, "url": urls, "owner_id": owners,
        "created_at": timestamps(created), "retired_at": timestamps(retired_at, ~retired),
        "source": ["demo"] * n, "attributes": ["{}"] * n,
    }, n)  # fmt: skip
    return Library(ids, stage_of, role_of, topics, formats, created, used, downloadable,
                   uncovered, table)  # fmt: skip
