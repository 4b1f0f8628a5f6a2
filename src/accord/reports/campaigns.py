"""Campaign charters: is each one complete, is its RACI sound, and is it delivering against its goal.

A charter judged on one outcome, with one Accountable per activity, is what keeps a campaign from
becoming everybody's and nobody's; this report checks those rules on every charter and puts the
campaign's measured results beside its goal and key results.

Each charter is followed by its retrospectives and the actions still open (accord.reports.reviews).

Definitions (docs/metrics.md, "Campaigns"):
- Window: the charter's start to end, both days included, in the workspace time zone (and inside
  --from/--to when given); nothing after the report's instant counts.
- Touch: any ledger event whose campaign_id is one of the charter's ``ledger_ids`` (default: the
  charter's own id). An account is touched by its own events and its contacts' events.
- Pipeline created: amount of opportunities created in the window whose account or primary contact
  had a touch strictly before the opportunity was created. Bookings: the closed-won amount of the same
  opportunities. Opportunities created: how many. MQLs: contacts that entered the MQL stage in the
  window after a touch of theirs or their account's. Meetings held: `meeting_held` events in the window
  after a touch of the contact or its account.
- Status: met when actual >= target; before the window "not started"; after it "missed"; during it
  "on pace" when actual >= target x the share of the window elapsed, else "behind pace".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from accord.errors import ReportError
from accord.reports.base import Column, Report, Section
from accord.reports.data import ReportData, ts
from accord.reports.reviews import campaign_sections
from accord.spec.model import Campaign, Raci
from accord.spec.rules import suggest

OK, PROBLEM = "ok", "problem"

MEASURE_UNITS = {
    "pipeline_created": None,  # the workspace currency
    "bookings": None,
    "mqls": "MQLs",
    "meetings_held": "meetings",
    "opportunities_created": "opportunities",
}
PRIMARY_MEASURE = {"pipeline": "pipeline_created", "bookings": "bookings"}


@dataclass(frozen=True)
class Window:
    """The charter's days as instants, and the part of them that counts (period and as-of applied)."""

    opens: int  # the charter's first instant
    closes: int  # the instant after its last day
    start: int  # counting starts here (later when --from is later)
    end: int  # and stops before here (the report's instant, --to)

    def holds(self, at: int | None) -> bool:
        return at is not None and self.start <= at < self.end


def window(data: ReportData, campaign: Campaign) -> Window:
    zone = ZoneInfo(data.spec.workspace.timezone)

    def midnight(day: date) -> int:
        return int(datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC).timestamp())

    start, closes = midnight(campaign.start), midnight(campaign.end + timedelta(days=1))
    f = data.filters
    lo = max(start, f.since) if f.since is not None else start
    hi = min(closes, f.until) if f.until is not None else closes
    return Window(start, closes, lo, min(hi, data.as_of + 1))


class Touches:
    """When each account and contact was first touched by a set of ledger campaigns."""

    def __init__(self, data: ReportData, ledger_ids: list[str]) -> None:
        self.account: dict[str, int] = {}
        self.contact: dict[str, int] = {}
        if not ledger_ids:
            return
        marks = ", ".join("?" for _ in ledger_ids)
        for r in data.query(
            "SELECT e.contact_id, COALESCE(e.account_id, c.account_id) AS account_id, "
            "CAST(floor(epoch(min(e.occurred_at))) AS BIGINT) AS first FROM events e "
            "LEFT JOIN contacts c ON c.contact_id = e.contact_id "
            f"WHERE e.campaign_id IN ({marks}) AND e.occurred_at <= to_timestamp(?) GROUP BY ALL",
            [*ledger_ids, data.as_of],
        ):
            at = int(r["first"])
            for key, book in ((r["account_id"], self.account), (r["contact_id"], self.contact)):
                if key is not None and (key not in book or at < book[key]):
                    book[key] = at

    def before(self, account: str | None, contact: str | None, at: int) -> bool:
        """Whether the account or the contact was touched strictly before ``at``."""
        first = [self.account.get(account or ""), self.contact.get(contact or "")]
        return any(t is not None and t < at for t in first)


def measures(data: ReportData, cid: str, campaign: Campaign, win: Window) -> dict[str, float]:
    """Every measure a key result may name, for one charter."""
    touches = Touches(data, ledger_ids(cid, campaign))
    opps = [
        o
        for o in data.opportunities.values()
        if win.holds(o.created_at)
        and o.created_at is not None
        and touches.before(o.account_id, o.contact_id, o.created_at)
    ]
    mql_stage = data.spec.agreement.mql_stage
    everyone = data.all_contacts
    mqls = {
        entity
        for entity, history in data.contact_stages.items()
        for row in history
        if row.stage == mql_stage
        and win.holds(row.entered_at)
        and touches.before(
            everyone[entity].account_id if entity in everyone else None, entity, row.entered_at
        )
    }
    meetings = 0
    narrowed = any(v is not None for v in (data.filters.segment, data.filters.team, data.filters.source))
    for r in data.query(
        "SELECT e.contact_id, COALESCE(e.account_id, c.account_id) AS account_id, e.occurred_at "
        "FROM events e LEFT JOIN contacts c ON c.contact_id = e.contact_id WHERE e.type = 'meeting_held' "
        "AND e.occurred_at >= to_timestamp(?) AND e.occurred_at < to_timestamp(?)",
        [win.start, win.end],
    ):
        at = ts(r["occurred_at"])
        if at is None or (narrowed and r["contact_id"] not in data.contacts):
            continue
        if touches.before(r["account_id"], r["contact_id"], at):
            meetings += 1
    return {
        "pipeline_created": sum(o.amount or 0.0 for o in opps),
        "bookings": sum(o.amount or 0.0 for o in opps if o.is_won),
        "opportunities_created": float(len(opps)),
        "mqls": float(len(mqls)),
        "meetings_held": float(meetings),
    }


def ledger_ids(cid: str, campaign: Campaign) -> list[str]:
    return list(campaign.ledger_ids) or [cid]


def campaigns(data: ReportData, *, campaign: str | None = None) -> Report:
    charters = data.spec.campaigns
    if campaign is not None and campaign not in charters:
        near = suggest(campaign, charters)
        raise ReportError(
            f"--campaign: no campaign charter '{campaign}'" + (f"; did you mean '{near}'?" if near else ""),
            hint="charters in the spec: "
            + (", ".join(sorted(charters)) or "none (add one under campaigns:)"),
        )
    chosen = {campaign: charters[campaign]} if campaign is not None else dict(charters)
    sections: list[Section] = []
    for cid, charter in chosen.items():
        sections += [_charter(data, cid, charter), _raci(data, cid, charter), _scorecard(data, cid, charter)]
        sections += campaign_sections(data, cid, charter.name, charter.end)
    if not sections:
        empty = Section("campaigns", "Campaign charters", [Column("campaign", "Campaign")])
        empty.notes.append(
            "The spec has no campaign charters; add one under campaigns: to check and score it."
        )
        sections.append(empty)
    return Report(
        "campaigns",
        "Campaign charters: checks, RACI and scorecards",
        data.as_of,
        data.filters,
        sections,
        data.spec.workspace.currency,
    )


# ---- charter check -------------------------------------------------------------------------------


def _known_people(data: ReportData) -> set[str]:
    return set(data.spec.people) | set(data.users)


def _names(data: ReportData, ids: Iterable[str]) -> str:
    return ", ".join(data.name_of(i) or i if i in _known_people(data) else _team_name(data, i) for i in ids)


def _team_name(data: ReportData, team: str) -> str:
    found = data.spec.teams.get(team)
    return (found.name or team) if found else team


def _charter(data: ReportData, cid: str, c: Campaign) -> Section:
    money = data.spec.workspace.currency
    people = _known_people(data)
    rows: list[list[Any]] = []
    outcome: Any = c.primary_outcome
    several = isinstance(outcome, list | tuple | set)
    rows.append([
        "One primary outcome",
        ", ".join(map(str, outcome)) if several else str(outcome),
        PROBLEM if several and len(outcome) != 1 else OK,
    ])  # fmt: skip
    goal = f"{money} {c.goal:,.0f}" if c.primary_outcome in PRIMARY_MEASURE else f"{c.goal:,.0f}"
    rows.append(["Goal", goal, OK if c.goal > 0 else PROBLEM])
    rows.append([
        "Owner",
        f"{data.name_of(c.owner)} ({c.owner})" if c.owner in people else f"{c.owner} (not a known person)",
        OK if c.owner in people else PROBLEM,
    ])  # fmt: skip
    rows.append([
        "Window",
        f"{c.start.isoformat()} to {c.end.isoformat()} ({_phase(data, c)})",
        OK if c.end >= c.start else PROBLEM,
    ])  # fmt: skip
    rows.append(
        ["Problem statement", c.problem or "missing", OK if c.problem and c.problem.strip() else PROBLEM]
    )
    krs = [kr for okr in c.okrs for kr in okr.key_results]
    rows.append([
        "Shared OKRs",
        f"{_count(len(c.okrs), 'objective')}, {_count(len(krs), 'key result')}, "
        f"{sum(1 for k in krs if k.measure)} measured",
        OK if c.okrs else PROBLEM,
    ])  # fmt: skip
    strangers = sorted({k.owner for k in krs if k.owner and k.owner not in people})
    if strangers:
        rows.append(["Key-result owners", ", ".join(strangers) + " (not known people)", PROBLEM])
    ids = ledger_ids(cid, c)
    unknown = _unknown_ledger_ids(data, ids)
    rows.append([
        "Ledger campaigns counted",
        ", ".join(ids) + (f" (not in the ledger: {', '.join(unknown)})" if unknown else ""),
        PROBLEM if unknown else OK,
    ])  # fmt: skip
    for label, values in (("Segments", c.segments), ("Offers", c.offers), ("Channels", c.channels)):
        rows.append([label, ", ".join(values) or "none named", OK])
    section = Section(
        f"{cid}.charter",
        f"{c.name}: charter",
        [Column("check", "Check"), Column("value", "Charter says"), Column("status", "Status")],
        rows,
    )
    section.flags += [f"{c.name}: {r[0].lower()}: {r[1]}" for r in rows if r[2] == PROBLEM]
    return section


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _phase(data: ReportData, c: Campaign) -> str:
    win = window(data, c)
    if data.as_of < win.opens:
        return "not started"
    if data.as_of >= win.closes:
        return "ended"
    total = (c.end - c.start).days + 1
    today = datetime.fromtimestamp(data.as_of, UTC).astimezone(ZoneInfo(data.spec.workspace.timezone)).date()
    return f"running, day {(today - c.start).days + 1} of {total}"


def _unknown_ledger_ids(data: ReportData, ids: list[str]) -> list[str]:
    marks = ", ".join("?" for _ in ids)
    known = {
        r["id"]
        for r in data.query(
            f"SELECT campaign_id AS id FROM campaigns WHERE campaign_id IN ({marks}) "
            f"UNION SELECT DISTINCT campaign_id FROM events WHERE campaign_id IN ({marks})",
            [*ids, *ids],
        )
    }
    return [i for i in ids if i not in known]


# ---- RACI ----------------------------------------------------------------------------------------


def raci_problems(data: ReportData, row: Raci) -> list[str]:
    """What breaks the RACI rules in one activity (the spec's loader catches most; a hand-built or
    API-supplied charter may not have passed it)."""
    people = _known_people(data)
    everyone = people | set(data.spec.teams)
    problems: list[str] = []
    accountable: Any = row.accountable
    chosen = (
        list(accountable) if isinstance(accountable, list | tuple) else [accountable] if accountable else []
    )
    if len(chosen) != 1:
        problems.append(f"{len(chosen)} Accountable, needs exactly one")
    for person in chosen:
        if person not in people:
            kind = "a team, not one person" if person in data.spec.teams else "not a known person"
            problems.append(f"Accountable '{person}' is {kind}")
    if not row.responsible:
        problems.append("no Responsible")
    for role, names in (
        ("Responsible", row.responsible),
        ("Consulted", row.consulted),
        ("Informed", row.informed),
    ):
        for name in names:
            if name not in everyone:
                near = suggest(name, sorted(everyone))
                problems.append(
                    f"{role} '{name}' is not a known person or team"
                    + (f" (did you mean '{near}'?)" if near else "")
                )
    return problems


def _raci(data: ReportData, cid: str, c: Campaign) -> Section:
    rows: list[list[Any]] = []
    flags: list[str] = []
    for row in c.raci:
        problems = raci_problems(data, row)
        accountable: Any = row.accountable
        chosen = (
            list(accountable)
            if isinstance(accountable, list | tuple)
            else [accountable]
            if accountable
            else []
        )
        rows.append([
            row.activity, _names(data, row.responsible), _names(data, chosen), _names(data, row.consulted),
            _names(data, row.informed), "; ".join(problems) or OK,
        ])  # fmt: skip
        flags += [f"{c.name}, activity '{row.activity}': {p}" for p in problems]
    section = Section(
        f"{cid}.raci",
        f"{c.name}: RACI",
        [
            Column("activity", "Activity"),
            Column("responsible", "Responsible"),
            Column("accountable", "Accountable"),
            Column("consulted", "Consulted"),
            Column("informed", "Informed"),
            Column("check", "Check"),
        ],
        rows,
        flags=flags,
    )
    if not c.raci:
        section.flags.append(
            f"{c.name}: no RACI; name who does, decides, advises and hears about each activity."
        )
    section.notes.append(
        "Rules: exactly one Accountable (a person) per activity, at least one Responsible, and every name a "
        "person or team the spec or the ledger's users know."
    )
    return section


# ---- scorecard -----------------------------------------------------------------------------------


def _status(actual: float | None, target: float, data: ReportData, win: Window) -> str:
    if actual is None:
        return "not measured"
    if target > 0 and actual >= target:
        return "met"
    if data.as_of < win.opens:
        return "not started"
    if data.as_of >= win.closes:
        return "missed"
    elapsed = (data.as_of - win.opens) / max(win.closes - win.opens, 1)
    return "on pace" if actual >= target * elapsed else "behind pace"


def scorecard(data: ReportData, cid: str, c: Campaign) -> Section:
    """One charter's scorecard as the report reads it at ``data.as_of``: what a retrospective freezes."""
    return _scorecard(data, cid, c)


def _scorecard(data: ReportData, cid: str, c: Campaign) -> Section:
    money = data.spec.workspace.currency
    win = window(data, c)
    found = measures(data, cid, c, win)
    rows: list[list[Any]] = []
    primary = PRIMARY_MEASURE.get(c.primary_outcome)
    actual = found[primary] if primary else None
    rows.append([
        f"{c.primary_outcome.capitalize()} (primary outcome)", primary or "not measurable", money, c.goal,
        actual, actual / c.goal if actual is not None and c.goal else None,
        _status(actual, c.goal, data, win), data.name_of(c.owner),
    ])  # fmt: skip
    for okr in c.okrs:
        for kr in okr.key_results:
            value = found[kr.measure] if kr.measure else None
            rows.append([
                kr.metric, kr.measure or "not measured", (MEASURE_UNITS.get(kr.measure or "") or money)
                if kr.measure else "", kr.target, value,
                value / kr.target if value is not None and kr.target else None,
                _status(value, kr.target, data, win), data.name_of(kr.owner) if kr.owner else None,
            ])  # fmt: skip
    section = Section(
        f"{cid}.scorecard",
        f"{c.name}: scorecard",
        [
            Column("result", "Result"),
            Column("measure", "Measure"),
            Column("unit", "Unit"),
            Column("target", "Target", "number"),
            Column("actual", "Actual", "number"),
            Column("progress", "Of target", "share"),
            Column("status", "Status"),
            Column("owner", "Owner"),
        ],
        rows,
    )
    ids = ", ".join(ledger_ids(cid, c))
    section.notes.append(
        f"Touches are ledger events of campaign {ids}. Pipeline = amount of opportunities created from "
        f"{c.start.isoformat()} to {c.end.isoformat()} whose account or contact was touched before the "
        "opportunity was created; bookings = the closed-won amount of those; MQLs and meetings count when "
        "they follow a touch of the contact or its account, inside the window."
    )
    if data.as_of < win.opens:
        section.notes.append(
            f"The window opens on {c.start.isoformat()}, after the report's instant: nothing counts yet."
        )
    unmeasured = [kr.metric for okr in c.okrs for kr in okr.key_results if not kr.measure]
    if unmeasured:
        section.notes.append(
            "Not measured (set `measure:` on the key result to measure it): " + "; ".join(unmeasured) + "."
        )
    return section
