"""Backtest: the ledger's history derived again under a proposal, beside the agreement in force.

Both versions are derived from scratch, as of the same instant, in a scratch in-memory copy of the
ledger, so the workspace's derived tables (what reports and reps read) are never touched, and the
two sides differ only by the spec: the side "in force" is not the last stored derive, which may be
older or made under another text. The figures come from :mod:`accord.governance.figures`, the same
code the 30/90-day check later runs on what really happened.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from accord.governance.figures import WEEK, Figures, TierConversion, TierShare, measure
from accord.ledger.schema import TABLES
from accord.ledger.store import Ledger, connect
from accord.spec.load import spec_hash
from accord.spec.model import Spec

Progress = Callable[[str, float], None]

WEEKS = 12
"""The backtest's period: the 12 weeks before its instant (a quarter, one recalibration cycle)."""
EXAMPLES = 5


@dataclass(frozen=True)
class Mover:
    """A lead whose tier the proposal changes, with the drivers behind it under each version."""

    contact_id: str
    before_tier: str | None
    after_tier: str | None
    before_score: float | None
    after_score: float | None
    before_drivers: list[str]
    after_drivers: list[str]


@dataclass(frozen=True)
class Backtest:
    as_of: datetime
    since: datetime
    weeks: int
    active: Figures
    proposed: Figures
    moved: int  # leads whose tier as of the instant differs between the versions
    movers: list[Mover] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["as_of"] = self.as_of.isoformat()
        out["since"] = self.since.isoformat()
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Backtest:
        def figures(d: dict[str, Any]) -> Figures:
            return Figures(
                **{
                    **d,
                    "tiers": [TierShare(**t) for t in d["tiers"]],
                    "conversion": [TierConversion(**c) for c in d["conversion"]],
                }
            )

        return cls(
            datetime.fromisoformat(data["as_of"]),
            datetime.fromisoformat(data["since"]),
            int(data["weeks"]),
            figures(data["active"]),
            figures(data["proposed"]),
            int(data["moved"]),
            [Mover(**m) for m in data.get("movers", [])],
        )


def run_backtest(
    ledger: Ledger,
    active: Spec,
    proposed: Spec,
    *,
    as_of: datetime,
    weeks: int = WEEKS,
    examples: int = EXAMPLES,
    progress: Progress | None = None,
) -> Backtest:
    """Derive history under both versions as of ``as_of`` and measure each over the last ``weeks``."""
    moment = as_of.astimezone(UTC).replace(microsecond=0)
    until = int(moment.timestamp())
    since = until - weeks * WEEK

    def say(phase: str, start: float, span: float) -> Progress:
        return lambda step, f: progress(f"{phase}: {step}", start + span * f) if progress else None

    scratch = _scratch(ledger)
    try:
        if progress:
            progress("copying the ledger", 0.02)
        _derive(scratch, active, moment, say("in force", 0.05, 0.4))
        before = measure(scratch, active, spec_hash(active), since=since, until=until)
        scratch.con.execute("CREATE TABLE bt_leads AS SELECT contact_id, tier, score FROM derived_leads")
        scratch.con.execute(
            "CREATE TABLE bt_drivers AS SELECT contact_id, rank, label, points FROM derived_drivers"
        )
        _derive(scratch, proposed, moment, say("proposed", 0.5, 0.4))
        after = measure(scratch, proposed, spec_hash(proposed), since=since, until=until)
        if progress:
            progress("leads that change tier", 0.95)
        moved, movers = _movers(scratch, before.top_tier, after.top_tier, examples)
    finally:
        scratch.close()
    if progress:
        progress("done", 1.0)
    return Backtest(moment, moment - timedelta(seconds=weeks * WEEK), weeks, before, after, moved, movers)


def _scratch(ledger: Ledger) -> Ledger:
    """An in-memory ledger holding a copy of every ledger table (not derived ones, keys or audit)."""
    scratch = Ledger(Path("backtest"), connect(":memory:"))
    scratch.migrate()
    for table in TABLES.values():
        rows = ledger.con.execute(f"SELECT * FROM {table.name}").fetch_arrow_table()
        scratch.con.register("_accord_src", rows)
        try:
            scratch.con.execute(f"INSERT INTO {table.name} BY NAME SELECT * FROM _accord_src")
        finally:
            scratch.con.unregister("_accord_src")
    return scratch


def _derive(scratch: Ledger, spec: Spec, moment: datetime, progress: Progress) -> None:
    """What `accord derive` stores, stored in the scratch ledger (its only derive run); the agreement
    in force reuses what the workspace's own derives built and compiled (service.store_derive)."""
    from accord.ledger.derived import record_run
    from accord.service.derive import store_derive

    version = spec_hash(spec)
    counts, _timings, _unknown = store_derive(scratch, spec, int(moment.timestamp()), progress)
    scratch.con.execute("DELETE FROM derive_runs")
    record_run(
        scratch,
        run_id=f"backtest_{secrets.token_hex(3)}",
        spec_version=version,
        as_of=moment,
        started=moment,
        finished=moment,
        engine="duckdb",
        counts=counts,
        timings=[],
    )


def _movers(scratch: Ledger, top_before: str, top_after: str, limit: int) -> tuple[int, list[Mover]]:
    """Leads whose tier differs; examples first those entering or leaving the top tier, by score."""
    rows = scratch.con.execute(
        """
        SELECT contact_id, a.tier, b.tier, a.score, b.score
        FROM bt_leads a FULL JOIN derived_leads b USING (contact_id)
        WHERE a.tier IS DISTINCT FROM b.tier
        ORDER BY (a.tier = ? OR b.tier = ?) DESC NULLS LAST,
                 greatest(coalesce(a.score, 0), coalesce(b.score, 0)) DESC, contact_id""",
        [top_before, top_after],
    ).fetchall()
    chosen = rows[:limit]
    ids = [r[0] for r in chosen]

    def drivers(table: str) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        if not ids:
            return out
        for contact, label, points in scratch.con.execute(
            f"SELECT contact_id, label, points FROM {table} WHERE contact_id IN "
            f"({', '.join('?' for _ in ids)}) AND rank <= 3 ORDER BY contact_id, rank",
            ids,
        ).fetchall():
            out.setdefault(str(contact), []).append(f"{label} {float(points):+g}")
        return out

    before, after = drivers("bt_drivers"), drivers("derived_drivers")
    movers = [
        Mover(
            str(c),
            bt,
            at,
            None if bs is None else float(bs),
            None if as_ is None else float(as_),
            before.get(str(c), []),
            after.get(str(c), []),
        )
        for c, bt, at, bs, as_ in chosen
    ]
    return len(rows), movers
