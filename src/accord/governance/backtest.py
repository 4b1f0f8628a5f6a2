"""Backtest: the ledger's history derived again under a proposal, beside the agreement in force.

Filled in below; the data shapes are what proposals store and the change log compares against.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class TierShare:
    tier: str
    leads: int
    share: float


@dataclass(frozen=True)
class TierConversion:
    tier: str
    leads: int
    converted: int
    rate: float | None
    lift: float | None


@dataclass(frozen=True)
class Figures:
    """What one version of the agreement makes of the same history (definitions: docs/governance.md)."""

    version: str
    tiers: list[TierShare]
    top_tier: str
    top_per_week: float
    top_weekly: list[int]
    reps: int
    capacity: int | None
    reps_needed: int | None
    mql_per_week: float
    mqls: int
    acceptance: float | None
    dispositioned: int
    sla_per_week: dict[str, float]
    conversion: list[TierConversion]
    conversion_target: str
    baseline_rate: float | None


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
    moved: int
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
    ledger: Any, active: Any, proposed: Any, *, as_of: datetime, progress: Any = None
) -> Backtest:  # pragma: no cover - replaced by the full backtest in the next commit
    raise NotImplementedError("backtest not implemented yet; pass backtest=False")
