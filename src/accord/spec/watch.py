"""Watch rules: the agreement's red flags, checked on every tick.

Each rule names a check whose figure comes from the same functions the reports use, the person it
goes to, and optionally its own threshold and number of weeks; otherwise the targets are the signed
agreement's (acceptance rate, weekly MQL volume and tolerance, routing minutes, first-touch
compliance), the pipeline review's pattern size and the content policy's rebuilds per month.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from accord.spec.types import Id, Model

WatchCheck = Literal[
    "acceptance_rate",
    "mql_volume",
    "routing_speed",
    "first_touch_compliance",
    "stall_pattern",
    "content_rebuilds",
]
WATCH_CHECKS: dict[str, str] = {
    "acceptance_rate": "MQL acceptance below agreement.marketing.acceptance_rate in each of the last "
    "`weeks` complete weeks (default agreement.joint.acceptance_alert_weeks)",
    "mql_volume": "MQLs in the last complete week outside agreement.marketing.mql_volume_per_week "
    "± tolerance",
    "routing_speed": "median minutes from MQL to assignment in the last complete week above "
    "agreement.marketing.routing_minutes",
    "first_touch_compliance": "first-touch SLA compliance of clocks started in the last complete week "
    "below agreement.sales.first_touch_compliance",
    "stall_pattern": "one stall reason shared by pipeline.pattern_min_deals or more stalled deals",
    "content_rebuilds": "content for one stage and committee role rebuilt from scratch more than "
    "content.rebuilds_per_month times in the last complete calendar month",
}
"""Each check and what fires it; the figures are the reports' own (docs/plays.md, Watch rules)."""


class WatchRule(Model):
    """A red flag: a check, the person it goes to, and what to do about it."""

    id: Id = Field(description="Rule id; part of every firing's id.")
    check: WatchCheck = Field(description="Which figure is watched (see docs/plays.md).")
    owner: Id = Field(description="Person the firing goes to (webhook, dashboard); they acknowledge it.")
    threshold: float | None = Field(
        None,
        description="Overrides the agreement's figure: a share for rates, minutes for routing, MQLs per "
        "week for volume, deals for stall patterns, rebuilds per month for content.",
    )
    weeks: int | None = Field(
        None, ge=1, le=12, description="Complete weeks in a row the figure must be off (weekly checks)."
    )
    action: str | None = Field(None, description="What the owner should do when it fires.")
