"""What every agenda item of a review pack reads: the two periods and the reports' data for each.

One :class:`ReportData` per period (the same filters, the period narrowed), the SLA report of each
period and the SLA clocks read once: the items compose the existing reports over these rather than
querying the ledger their own way, so the pack and `accord report` never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from zoneinfo import ZoneInfo

from accord.domain.clocks import Clock
from accord.handoffs.report import SlaReport, sla_report
from accord.ledger.store import Ledger
from accord.reports.base import Filters
from accord.reports.data import DAY, ReportData, StageRow
from accord.reports.review.period import Period
from accord.spec.model import Spec

HORIZON_DAYS = 90.0
"""Days an MQL has to reach an opportunity before it counts as a false positive (a quarter)."""


SHARED = ("users", "all_contacts", "contacts", "all_contact_stages", "contact_stages", "journey_order")
"""ReportData's cached records that depend on the segment, team and source filters only, never on the
period: the two periods' data can share them."""


class AsAt(ReportData):
    """The reports' data at an earlier instant: stage histories cut at that instant.

    Derived stage histories run to the last derive; a deal's stage at the end of last month is the
    row it had entered by then, still open then. Records the ledger holds as their latest state
    (an opportunity's next action typed into the CRM table) cannot be rewound; events can.
    """

    def stages(self, entity_type: str) -> dict[str, list[StageRow]]:
        out: dict[str, list[StageRow]] = {}
        for entity, rows in super().stages(entity_type).items():
            kept = [
                r if r.exited_at is None or r.exited_at <= self.as_of
                else StageRow(r.entity_id, r.stage, r.seq, r.entered_at, None, None, r.skipped)
                for r in rows
                if r.entered_at <= self.as_of
            ]  # fmt: skip
            if kept:
                out[entity] = kept
        return out


@dataclass
class Context:
    ledger: Ledger
    spec: Spec
    as_of: int
    period: Period
    previous: Period
    filters: Filters = field(default_factory=Filters)
    horizon_days: float = HORIZON_DAYS

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.spec.workspace.timezone)

    @property
    def horizon(self) -> int:
        return round(self.horizon_days * DAY)

    def narrowed(self, period: Period) -> Filters:
        f = self.filters
        return Filters(period.since, period.until, f.segment, f.team, f.source)

    @cached_property
    def current(self) -> ReportData:
        return ReportData(self.ledger, self.spec, self.narrowed(self.period), as_of=self.as_of)

    @cached_property
    def before(self) -> ReportData:
        """The previous period's data; the records the period does not narrow are read once."""
        data = ReportData(self.ledger, self.spec, self.narrowed(self.previous), as_of=self.as_of)
        for name in SHARED:
            if name in self.current.__dict__:
                data.__dict__[name] = self.current.__dict__[name]
        return data

    def data(self, period: Period) -> ReportData:
        return self.current if period is self.period else self.before

    def at_end(self, period: Period) -> AsAt:
        """Snapshot data at the period's last second (or the report's instant, if that comes first)."""
        f = self.filters
        instant = min(period.until - 1, self.as_of)
        return AsAt(self.ledger, self.spec, Filters(None, None, f.segment, f.team, f.source), as_of=instant)

    @cached_property
    def _sla_now(self) -> SlaReport:
        return sla_report(self.ledger, self.spec, self.as_of, self.period.since, self.period.until)

    @cached_property
    def _sla_before(self) -> SlaReport:
        return sla_report(self.ledger, self.spec, self.as_of, self.previous.since, self.previous.until)

    def sla(self, period: Period) -> SlaReport:
        return self._sla_now if period is self.period else self._sla_before

    @cached_property
    def clocks(self) -> list[Clock]:
        """Every SLA clock as of the report's instant, as `accord sla` computes them."""
        from accord.handoffs.view import HandoffView

        return HandoffView(self.ledger, self.spec, self.as_of).clocks()

    def person(self, who: str | None) -> str:
        return self.current.name_of(who) or "(nobody)"

    def owners(self) -> str:
        """The governance owners by name: the two leaders who decide changes to the agreement."""
        names = [self.person(p) for p in self.spec.governance.owners]
        return " and ".join(names) if names else "the governance owners"

    def leader(self, function: str) -> str:
        """The governance owner who leads a function (role sales_leader...), else both owners."""
        for who in self.spec.governance.owners:
            person = self.spec.people.get(who)
            if person is not None and str(person.role).startswith(function):
                return self.person(who)
        return self.owners()
