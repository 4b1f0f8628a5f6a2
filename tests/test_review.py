"""Review packs (`accord review`): periods, every agenda item on a world counted by hand, the demo in
every format, and the HTML page parsed."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from accord import service
from accord.cli.main import app
from accord.errors import ReportError
from accord.reports.base import Filters
from accord.reports.review import ReviewPack
from accord.reports.review.period import choose, last_complete, month_of, quarter_of
from tests.report_world import DAY, T0, Event, at, build, fill, insert, new_workspace, write_derived

NY = ZoneInfo("America/New_York")
AS_OF = 64  # days after T0 (Monday 2026-01-05 noon UTC): Tuesday 2026-03-10, noon UTC
H = 3600
ITEMS = ["rejections", "false_positives", "tiers", "sla", "stalled", "definitions", "decisions"]


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp())


# ---- periods -----------------------------------------------------------------------------------------


def test_months_and_quarters_are_whole_days_in_the_workspace_zone() -> None:
    september = month_of(date(2026, 9, 17), NY)
    assert (september.first, september.last, september.label, september.name) == (
        date(2026, 9, 1), date(2026, 9, 30), "2026-09", "September 2026")  # fmt: skip
    assert (september.since, september.until) == (utc(2026, 9, 1, 4), utc(2026, 10, 1, 4))  # EDT: UTC-4
    assert september.previous(NY).label == "2026-08" and september.previous(NY).days == 31
    january = month_of(date(2026, 1, 2), NY)
    assert january.previous(NY).label == "2025-12" and january.since == utc(2026, 1, 1, 5)  # EST
    q3 = quarter_of(date(2026, 8, 1), NY)
    assert (q3.label, q3.name, q3.first, q3.last) == (
        "2026-Q3",
        "Q3 2026",
        date(2026, 7, 1),
        date(2026, 9, 30),
    )
    assert q3.previous(NY).label == "2026-Q2"
    assert quarter_of(date(2026, 2, 1), NY).previous(NY).label == "2025-Q4"


def test_the_default_is_the_last_complete_period_before_the_report_instant() -> None:
    mid_october = utc(2026, 10, 15, 15)
    assert last_complete("month", mid_october, NY).label == "2026-09"
    assert last_complete("quarter", mid_october, NY).label == "2026-Q3"
    # 03:59 UTC on 1 October is still 30 September in New York: September is not complete yet
    assert last_complete("month", utc(2026, 10, 1, 3, 59), NY).label == "2026-08"
    # at New York's midnight exactly, September has just ended
    assert last_complete("month", utc(2026, 10, 1, 4), NY).label == "2026-09"
    assert last_complete("quarter", utc(2026, 10, 1, 4), NY).label == "2026-Q3"
    assert choose(None, None, mid_october, NY).label == "2026-09"
    assert choose("", None, mid_october, NY).label == "2026-09"
    assert choose(None, "", mid_october, NY).label == "2026-Q3"
    assert choose("2026-02", None, mid_october, NY).label == "2026-02"
    assert choose(None, "2025q4", mid_october, NY).label == "2025-Q4"
    assert choose("2026-10", None, mid_october, NY).until > mid_october  # current month: allowed, partial


@pytest.mark.parametrize(
    ("month", "quarter", "message"),
    [
        ("2026-13", None, "--month '2026-13' is not a month"),
        ("Sept", None, "--month 'Sept' is not a month"),
        (None, "2026-Q5", "--quarter '2026-Q5' is not a quarter"),
        ("2026-09", "2026-Q3", "give --month or --quarter, not both"),
        ("2026-11", None, "2026-11 starts after the report's instant"),
    ],
)
def test_bad_periods_are_refused(month: str | None, quarter: str | None, message: str) -> None:
    with pytest.raises(ReportError, match=message.replace("?", r"\?")):
        choose(month, quarter, utc(2026, 10, 15, 15), NY)


# ---- a world counted by hand -------------------------------------------------------------------------
#
# The report's instant is 2026-03-10 (day 64), so the default pack covers February 2026 (days 26.7 to
# 54.7 after T0: 1 February 00:00 New York = 05:00 UTC) against January 2026 (days -4.3 to 26.7).


def _world(root: Path) -> service.Workspace:
    """Dispositions, MQLs, tiers, SLA clocks and deals whose every figure below is counted by hand.

    February rejections: bad_fit c1 c2 c12, no_budget c3, duplicate c6 (5); accepted c4 c13-c16 (5).
    January rejections: bad_fit c9, no_budget c17-c19 (4); accepted c8 c20-c24 (6).
    MQLs (reached evaluation): February c1 c2 c3 c4 c5 c6, January c8 c9 c10 (c11 in December).
    Tiers, first scored in February: Tier 1 c1 c2 c3 c4 c5 (c4 converts), Tier 2 c25 c26 c27 (c25 and
    c26 convert), Tier 3 c28; in January: Tier 1 c8 c9 c10 (c8 converts), Tier 2 c29.
    SLA clocks: s1-s4 in February (sam in SDR North America, tom in SDR EMEA), s5 in January.
    Deals: o1-o3 stall without a next action by the end of February; o4 is stuck in discovery at the
    end of January and moves on day 40; o6 waits on legal all along; o5 is won on day 20.
    """
    ws = new_workspace(root)
    events: list[Event] = []
    n = 0

    def ev(day: float, kind: str, contact: str | None = None, **extra: object) -> None:
        nonlocal n
        n += 1
        props = extra.pop("props", {})
        events.append(Event(f"e{n}", T0 + round(day * DAY), kind, contact_id=contact, props=props, **extra))  # type: ignore[arg-type]

    for contact, day, reason in [
        ("c1", 31, "bad_fit"),
        ("c2", 32, "bad_fit"),
        ("c12", 45, "bad_fit"),
        ("c3", 34, "no_budget"),
        ("c6", 29, "duplicate"),
        ("c9", 3, "bad_fit"),
        ("c17", 5, "no_budget"),
        ("c18", 6, "no_budget"),
        ("c19", 7, "no_budget"),
    ]:
        ev(day, "rejected", contact, props={"reason_code": reason})  # fmt: skip
    for contact, day in [("c4", 36), ("c13", 38), ("c14", 39), ("c15", 41), ("c16", 43), ("c8", 1),
                         ("c20", 8), ("c21", 9), ("c22", 10), ("c23", 11), ("c24", 12)]:  # fmt: skip
        ev(day, "accepted", contact)
    # SLA clocks: 1 business hour to touch (New York for sam, London for tom), 48 hours to disposition
    for contact, owner, start, touch, recycle in [
        ("s1", "sam", 29 + 3 / 24, 20 / 1440, 1 / 24),  # Tue 3 Feb 10:00 New York: touched in 20 min
        ("s2", "sam", 30 + 3 / 24, 4 / 24, 5 / 24),  # Wed 4 Feb 10:00: touched at 14:00, 3 business hours
        ("s3", "tom", 31 + 3 / 24, 2 / 24, None),  # Thu 5 Feb 15:00 London: 2 hours late; no disposition
        ("s4", "tom", 32 - 2 / 24, 10 / 1440, 1 / 24),  # Fri 6 Feb 10:00 London: touched in 10 min
        ("s5", "sam", 1 + 3 / 24, 10 / 1440, 1 / 24),  # Tue 6 Jan 10:00 New York: in 10 min
    ]:
        ev(start, "assigned", contact, actor_id=owner)
        ev(start + touch, "call_attempt", contact, actor_id=owner)
        if recycle is not None:
            ev(start + recycle, "recycled", contact, actor_id=owner)
    ev(1, "deal_note", opportunity_id="o6", props={"stall_reason": "waiting on legal"})
    contacts: dict[str, dict[str, Any]] = {}
    for name in [f"c{i}" for i in range(1, 30)] + [f"s{i}" for i in range(1, 6)]:
        contacts[name] = {}
    with ws.ledger() as ledger:
        fill(ledger, contacts, {}, events)

        def opp(
            opp_id: str, owner: str, amount: float, stage: str, created: float, **more: object
        ) -> dict[str, object]:
            return {"opportunity_id": opp_id, "owner_id": owner, "amount": amount, "stage": stage,
                    "created_at": at(created), **more}  # fmt: skip

        insert(ledger, "opportunities", [
            opp("o1", "rosa", 10000, "discovery", 10),
            opp("o2", "jon", 20000, "qualification", 20),
            opp("o3", "rosa", 30000, "proposal", 25),
            opp("o4", "jon", 40000, "solution", -5, next_action="Call", next_action_due=date(2026, 3, 20)),
            opp("o5", "rosa", 70000, "closed_won", -30, closed_at=at(20)),
            opp("o6", "jon", 50000, "negotiation", 0, next_action="Legal call",
                next_action_due=date(2026, 4, 1)),
        ])  # fmt: skip
        c, o = "contact", "opportunity"
        stages = [
            (c, "c1", "evaluation", at(30), None, None, False),
            (c, "c2", "evaluation", at(30), None, None, False),
            (c, "c3", "evaluation", at(33), None, None, False),
            (c, "c4", "evaluation", at(35), at(36), "sales_accepted", False),
            (c, "c4", "sales_accepted", at(36), at(40), "opportunity", False),
            (c, "c4", "opportunity", at(40), None, None, False),
            (c, "c5", "evaluation", at(40), None, None, False),
            (c, "c6", "evaluation", at(28), None, None, False),
            (c, "c8", "evaluation", at(0), at(10), "opportunity", False),
            (c, "c8", "opportunity", at(10), None, None, False),
            (c, "c9", "evaluation", at(2), None, None, False),
            (c, "c10", "evaluation", at(5), None, None, False),
            (c, "c11", "evaluation", at(-10), None, None, False),
            (c, "c25", "consideration", at(28), at(45), "opportunity", False),
            (c, "c25", "opportunity", at(45), None, None, False),
            (c, "c26", "consideration", at(29), at(50), "opportunity", False),
            (c, "c26", "opportunity", at(50), None, None, False),
            (c, "c27", "awareness", at(30), None, None, False),
            (o, "o1", "discovery", at(10), None, None, False),
            (o, "o2", "qualification", at(20), None, None, False),
            (o, "o3", "discovery", at(25), at(30), "proposal", False),
            (o, "o3", "proposal", at(30), None, None, False),
            (o, "o4", "discovery", at(-5), at(40), "solution", False),
            (o, "o4", "solution", at(40), None, None, False),
            (o, "o5", "discovery", at(-30), at(20), "closed_won", False),
            (o, "o5", "closed_won", at(20), None, None, False),
            (o, "o6", "negotiation", at(0), None, None, False),
        ]
        tiers = [("c1", 30, 1), ("c2", 30, 1), ("c3", 33, 1), ("c4", 35, 1), ("c5", 40, 1), ("c25", 28, 2),
                 ("c26", 29, 2), ("c27", 30, 2), ("c28", 31, 3), ("c8", 0, 1), ("c9", 2, 1), ("c10", 5, 1),
                 ("c29", 3, 2)]  # fmt: skip
        scores = [{"contact_id": cid, "at": at(day), "tier": f"Tier {t}"} for cid, day, t in tiers]
        write_derived(ledger, at(AS_OF), stages=stages, scores=scores)
    return ws


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> service.Workspace:
    return _world(tmp_path_factory.mktemp("review-world"))


def _pack(ws: service.Workspace, **options: object) -> ReviewPack:
    return service.review(ws, **options)  # type: ignore[arg-type]


def _rows(pack: ReviewPack, item: str, section: int = 0) -> list[dict[str, Any]]:
    return pack.item(item).sections[section].records()


def r4(rows: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Shares to 4 decimals, so hand-computed fractions compare exactly."""
    return [tuple(round(v, 4) if isinstance(v, float) else v for v in row) for row in rows]


def test_the_pack_covers_last_month_against_the_one_before(world: service.Workspace) -> None:
    pack = _pack(world)
    assert (pack.period.label, pack.previous.label) == ("2026-02", "2026-01")
    assert pack.period.since == utc(2026, 2, 1, 5) and pack.period.until == utc(2026, 3, 1, 5)
    assert [i.key for i in pack.items] == ITEMS
    assert [i.minutes for i in pack.items] == [10, 10, 10, 10, 10, 5, 5] and pack.minutes == 60
    assert pack.title == "Revenue council review: February 2026"
    explicit = _pack(world, month="2026-02")
    assert explicit.to_dict() == pack.to_dict()
    quarter = _pack(world, quarter="")
    assert (quarter.period.label, quarter.previous.label, quarter.minutes) == ("2025-Q4", "2025-Q3", 90)


def test_rejection_reasons_with_their_change(world: service.Workspace) -> None:
    item = _pack(world).item("rejections")
    got = [(r["reason"], r["rejections"], r["share"], r["previous"], r["previous_share"],
            r["rejections_change"], r["share_change"]) for r in item.sections[0].records()]  # fmt: skip
    assert r4(got) == [
        ("bad_fit", 3, 0.6, 1, 0.25, 2, 0.35),  # c1 c2 c12 / c9
        ("no_budget", 1, 0.2, 3, 0.75, -2, -0.55),  # c3 / c17 c18 c19
        ("duplicate", 1, 0.2, 0, 0.0, 1, 0.2),  # c6
    ]
    assert item.discuss[0].startswith(
        "'Not our ideal customer' grew most: 3 of 5 rejections (60.0%) against 1 of 4 (25.0%) in January "
        "2026, +35.0 points."
    )
    assert "Acceptance is 50.0% against 75.0%" in item.discuss[1]  # 5 accepted, 5 rejected
    assert item.sections[0].flags == ["acceptance 50.0% is below its target of 75.0%"]
    assert "5 accepted, 5 rejected, 3 recycled" in item.sections[0].notes[0]  # s1 s2 s4 recycled
    assert "January 2026: 6 accepted, 4 rejected, 60.0%" in item.sections[0].notes[0]


def test_false_positives_by_the_documented_definition(world: service.Workspace) -> None:
    item = _pack(world).item("false_positives")
    got = {r["measure"]: (r["count"], r["previous"]) for r in item.sections[0].records()}
    # February MQLs: c1 c2 c6 rejected as bad fit / duplicate, c4 c25 c26 reached an opportunity (c25
    # and c26 reached the MQL stage by passing it), c3 (rejected for budget: not a false positive by
    # itself) and c5 still inside 90 days. January: c9 rejected as bad fit, c8 converted, c10 maturing.
    assert got == {
        "MQLs (reached Evaluation (MQL))": (8, 3),
        "Rejected as a false positive": (3, 1),
        "No opportunity within 90 days": (0, 0),
        "False positives": (3, 1),
        "Reached an opportunity within 90 days": (3, 1),
        "Still maturing (under 90 days, no opportunity yet)": (2, 1),
    }
    shares = {r["measure"]: (r["share"], r["share_change"]) for r in item.sections[0].records()}
    assert shares["False positives"] == pytest.approx((3 / 8, 3 / 8 - 1 / 3))
    assert [(r["reason"], r["count"], r["previous"]) for r in item.sections[1].records()] == [
        ("bad_fit", 2, 1),
        ("duplicate", 1, 0),
    ]
    assert item.discuss[0].startswith("37.5% of the 8 MQLs of February 2026 are false positives so far")
    assert item.sections[0].flags == ["false positives rose from 33.3% to 37.5% of MQLs"]
    # With 30 days to convert, c3 (31 days, no opportunity) and c10 (59 days) count; c5 (24) still matures.
    short = {
        r["measure"]: (r["count"], r["previous"])
        for r in _rows(_pack(world, horizon_days=30), "false_positives")
    }
    assert short["No opportunity within 30 days"] == (1, 1)
    assert short["False positives"] == (4, 2)
    assert short["Still maturing (under 30 days, no opportunity yet)"] == (1, 0)


def test_false_positive_codes_come_from_the_spec(tmp_path: Path) -> None:
    ws = _world(tmp_path)  # the starter marks bad_fit, wrong_person, duplicate and competitor
    marked = "{id: duplicate, label: Duplicate of an open lead, false_positive: true}"
    text = ws.spec_path.read_text().replace(marked, "{id: duplicate, label: Duplicate of an open lead}")
    ws.spec_path.write_text(text)
    ws = service.locate(ws.root)
    got = {r["measure"]: r["count"] for r in _rows(_pack(ws), "false_positives")}
    assert got["Rejected as a false positive"] == 2  # c6's duplicate no longer counts; it matures instead
    assert got["Still maturing (under 90 days, no opportunity yet)"] == 3


def test_tier_performance_flags_a_lower_tier_converting_better(world: service.Workspace) -> None:
    item = _pack(world).item("tiers")
    got = [(r["tier"], r["leads"], r["dispositioned"], r["acceptance"], r["converted"], r["conversion"],
            r["previous_leads"], r["previous_conversion"]) for r in item.sections[0].records()]  # fmt: skip
    assert r4(got) == r4(
        [
            (
                "Tier 1",
                5,
                4,
                0.25,
                1,
                0.2,
                3,
                1 / 3,
            ),  # c1 c2 c3 rejected as Tier 1, c4 accepted and converted
            ("Tier 2", 3, 0, None, 2, 2 / 3, 1, 0.0),  # c25 c26 convert
            ("Tier 3", 1, 0, None, 0, 0.0, 0, None),
            ("All leads (baseline)", 9, 10, 0.5, 3, 1 / 3, 4, 0.25),  # every disposition, scored or not
        ]
    )
    assert item.sections[0].flags == [
        "Tier 1 converts at 20.0%, not above the baseline 33.3%: revisit its thresholds at the next "
        "recalibration",
        "Tier 2 converts better than Tier 1: 2 of 3 (66.7%) against 1 of 5 (20.0%), +46.7 points (the 95% "
        "intervals overlap: could still be noise)",
    ]
    assert item.discuss[0].startswith("Tier 2 converts better than Tier 1")
    # the same figures as `accord report tiers` for the period, with the same horizon
    tiers = build(world, "tiers", Filters(utc(2026, 2, 1, 5), utc(2026, 3, 1, 5)), horizon_days=90)
    assert [r["rate"] for r in tiers.section("tiers").records()] == [r[5] for r in got]


def test_sla_misses_per_sla_team_and_owner(world: service.Workspace) -> None:
    item = _pack(world).item("sla")
    per_sla = [(r["sla"], r["resolved"], r["met"], r["breached"], r["compliance"], r["status"],
                r["previous_breached"], r["previous_compliance"])
               for r in item.sections[0].records()]  # fmt: skip
    assert per_sla == [
        ("First touch", 4, 2, 2, 0.5, "below target", 0, 1.0),  # s2 (3 business hours), s3 (2 hours late)
        ("Disposition feedback", 4, 3, 1, 0.75, "below target", 0, 1.0),  # s3 never dispositioned
    ]
    teams = [(r["team"], r["sla"], r["resolved"], r["breached"]) for r in item.sections[1].records()]
    assert teams == [
        ("SDR EMEA", "Disposition feedback", 2, 1),
        ("SDR EMEA", "First touch", 2, 1),
        ("SDR North America", "First touch", 2, 1),
        ("SDR North America", "Disposition feedback", 2, 0),
    ]
    owners = {(r["owner"], r["sla"]): r["breached"] for r in item.sections[2].records()}
    assert owners == {
        ("Sam Okafor", "First touch"): 1,
        ("Sam Okafor", "Disposition feedback"): 0,
        ("Tom Fletcher", "First touch"): 1,
        ("Tom Fletcher", "Disposition feedback"): 1,
    }
    assert item.discuss == [
        "First touch: 50.0% against 90.0% (January 2026: 100.0%), 2 breaches; by team: SDR EMEA 1, "
        "SDR North America 1.",
        "Disposition feedback: 75.0% against 90.0% (January 2026: 100.0%), 1 breach; by team: SDR EMEA 1.",
    ]
    # the pack's per-SLA figures are `accord sla`'s
    sla = service.sla(world, now=at(AS_OF), since=datetime(2026, 2, 1, 5, tzinfo=UTC),
                      until=datetime(2026, 3, 1, 5, tzinfo=UTC))  # fmt: skip
    assert [line.compliance for line in sla.lines] == [r[4] for r in per_sla]


def test_stalled_patterns_at_the_end_of_each_period(world: service.Workspace) -> None:
    item = _pack(world).item("stalled")
    got = [(r["reason"], r["deals"], r["amount"], r["structural"], r["previous"], r["previous_amount"],
            r["deals_change"]) for r in item.sections[0].records()]  # fmt: skip
    assert got == [
        ("no next action", 3, 60000, True, 0, 0, 3),  # o1 (44.7 days), o2 (34.7), o3 (24.7) on 28 Feb
        ("waiting on legal", 1, 50000, False, 1, 50000, 0),  # o6, its recorded reason
        ("stuck in Discovery", 0, 0, False, 1, 40000, -1),  # o4 on 31 Jan (31.7 days); it moved on day 40
    ]
    assert item.sections[0].flags == [
        "3 stalled deals lack a named owner or a dated next action: off the forecast until both are set",
        "'no next action' holds 3 stalled deals: structural, route to the loss post-mortem",
    ]
    assert item.discuss[0].startswith(
        "Structural at the end of February 2026: 'no next action' (3 deals, USD 60,000)"
    )


def test_decisions_collect_every_proposal_with_an_owner(world: service.Workspace) -> None:
    item = _pack(world).item("decisions")
    got = [(r["topic"], r["owner"], r["due"]) for r in item.sections[0].records()]
    both = "Dana Whitfield and Omar Haddad"
    assert got == [
        ("Rejection reasons", both, date(2026, 3, 31)),
        ("Rejection reasons", both, date(2026, 3, 31)),
        ("False positives", both, date(2026, 3, 31)),
        ("Tier performance", both, date(2026, 3, 31)),
        ("SLA misses", "Lena Vogel", date(2026, 3, 31)),  # governance.sla_owner
        ("SLA misses", "Lena Vogel", date(2026, 3, 31)),
        ("Stalled-deal patterns", "Omar Haddad", date(2026, 3, 31)),  # the sales leader
    ]
    assert item.discuss == ["7 decisions raised by the figures: leave with an owner and a date for each."]


# ---- renderings --------------------------------------------------------------------------------------

VOID = {"meta", "br", "hr", "img", "input", "link", "col", "wbr"}


class Page(HTMLParser):
    """Checks that every element closes in order, and collects ids, headings and forbidden tags."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.ids: list[str] = []
        self.tags: set[str] = set()
        self.problems: list[str] = []
        self.h2: list[str] = []
        self._in_h2 = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.ids += [v for k, v in attrs if k == "id" and v]
        if any(k.startswith("on") or (v or "").startswith(("http:", "https:", "//")) for k, v in attrs):
            self.problems.append(f"external or scripted attribute on <{tag}>")
        if tag not in VOID:
            self.stack.append(tag)
        self._in_h2 = self._in_h2 or tag == "h2"
        if tag == "h2":
            self.h2.append("")

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes <{self.stack[-1] if self.stack else 'nothing'}>")
            return
        self.stack.pop()
        if tag == "h2":
            self._in_h2 = False

    def handle_data(self, data: str) -> None:
        if self._in_h2:
            self.h2[-1] += data


def parsed(page: str) -> Page:
    parser = Page()
    parser.feed(page)
    parser.close()
    assert parser.problems == [] and parser.stack == [], (parser.problems, parser.stack)
    return parser


def test_html_is_well_formed_self_contained_and_has_every_item(world: service.Workspace) -> None:
    pack = _pack(world)
    page = pack.to_html()
    assert page.startswith("<!doctype html>")
    found = parsed(page)
    assert not found.tags & {"script", "link", "iframe", "img", "object"}
    assert {"agenda", *ITEMS} <= set(found.ids)
    assert found.h2 == [
        "Agenda", "1. Rejection reasons 10 min", "2. False positives 10 min", "3. Tier performance 10 min",
        "4. SLA misses 10 min", "5. Stalled-deal patterns 10 min",
        "6. Definitions untouched for 90+ days 5 min", "7. Decisions and owners 5 min",
    ]  # fmt: skip
    assert "@media print" in page and "break-before:page" in page
    assert "+35.0 pts" in page and "&#x27;Not our ideal customer&#x27; grew most" in page


def test_markdown_text_and_json_carry_the_same_agenda(world: service.Workspace) -> None:
    pack = _pack(world)
    md = pack.to_markdown()
    assert md.startswith("# Revenue council review: February 2026\n")
    headings = [line for line in md.splitlines() if line.startswith("## ")]
    assert headings == ["## Agenda"] + [
        f"## {n}. {i.title} ({i.minutes} min)" for n, i in enumerate(pack.items, 1)
    ]
    assert "| bad_fit | Not our ideal customer | 3 | 60.0% | 1 | 25.0% | +2 | +35.0 pts |" in md
    assert "| No opportunity within 90 days | 0 | 0.0% | 0 | 0.0% | 0.0 pts |" in md  # no sign on no change
    assert "| no_budget | No budget | 1 | 20.0% | 3 | 75.0% | -2 | -55.0 pts |" in md
    text = pack.to_text()
    assert "4. SLA misses (10 min)" in text and "To discuss: First touch: 50.0% against 90.0%" in text
    data = json.loads(pack.to_json())
    assert data["period"] == {
        "label": "2026-02",
        "name": "February 2026",
        "from": "2026-02-01",
        "to": "2026-02-28",
    }
    assert data["previous"]["label"] == "2026-01" and data["minutes"] == 60
    assert [(i["key"], i["minutes"]) for i in data["agenda"]] == [(i.key, i.minutes) for i in pack.items]
    stalled = next(i for i in data["agenda"] if i["key"] == "stalled")["sections"][0]["rows"][0]
    assert stalled == {"reason": "no next action", "deals": 3, "amount": 60000.0, "structural": True,
                       "previous": 0, "previous_amount": 0.0, "deals_change": 3}  # fmt: skip


def test_the_registry_report_is_the_pack_flattened(world: service.Workspace) -> None:
    report = build(world, "review")  # no period: the last complete month
    pack = _pack(world)
    assert report.title == pack.title
    assert report.sections[0].title == "1. Rejection reasons (10 min)"
    assert report.sections[0].notes[1].startswith("To discuss: 'Not our ideal customer' grew most")
    assert [s.key for s in report.sections] == [s.key for i in pack.items for s in i.sections]
    assert report.section("stalled_patterns").records() == pack.item("stalled").sections[0].records()
    # --from/--to spanning a calendar month is that month, compared with the month before
    feb = build(world, "review", Filters(utc(2026, 2, 1, 5), utc(2026, 3, 1, 5)))
    assert feb.to_dict()["sections"] == report.to_dict()["sections"]
    # any other span is compared with as many days just before it
    span = build(world, "review", Filters(utc(2026, 2, 2, 5), utc(2026, 2, 16, 5)))
    assert "(2026-02-02 to 2026-02-15), compared with 2026-01-19 to 2026-02-01" in span.sections[0].notes[0]
    assert [r["reason"] for r in span.section("rejection_reasons").records()][:1] == ["bad_fit"]


# ---- the command line --------------------------------------------------------------------------------


def test_cli_writes_every_format(world: service.Workspace, cli: CliRunner, tmp_path: Path) -> None:
    ws = str(world.root)
    result = cli.invoke(app, ["review", "-w", ws])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Revenue council review: February 2026\n")
    result = cli.invoke(app, ["review", "--month", "2026-01", "-f", "json", "-w", ws])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["period"]["label"] == "2026-01"
    result = cli.invoke(app, ["review", "--quarter", "-f", "md", "-w", ws])
    assert result.exit_code == 0 and result.output.startswith("# Revenue council review: Q4 2025")
    result = cli.invoke(app, ["review", "2025-Q4", "-f", "json", "-w", ws])
    assert json.loads(result.output)["review"] == "quarter" and json.loads(result.output)["minutes"] == 90
    out = tmp_path / "pack.html"
    result = cli.invoke(app, ["review", "--month", "-f", "html", "--out", str(out), "-w", ws])
    assert result.exit_code == 0 and "wrote" in result.output
    assert {"agenda", *ITEMS} <= set(parsed(out.read_text()).ids)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--month", "--quarter"], "give --month or --quarter, not both"),
        (["--month", "2026-Q1"], "--month '2026-Q1' is not a month"),
        (["--quarter", "2026-02"], "--quarter '2026-02' is not a quarter"),
        (["2026-04"], "2026-04 starts after the report's instant"),
        (["--horizon", "0"], "--horizon 0 is not a number of days"),
    ],
)
def test_cli_refuses_bad_periods(
    world: service.Workspace, cli: CliRunner, args: list[str], message: str
) -> None:
    result = cli.invoke(app, ["review", *args, "-w", str(world.root)])
    assert result.exit_code == 2
    assert message in result.output


def test_cli_needs_a_derive(cli: CliRunner, tmp_path: Path) -> None:
    ws = service.init_workspace(tmp_path / "empty")
    result = cli.invoke(app, ["review", "-w", str(ws.root)])
    assert result.exit_code == 2 and "nothing derived yet" in result.output


# ---- the demo world ----------------------------------------------------------------------------------

DEMO_AS_OF = datetime(2026, 10, 15, 15, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> service.Workspace:
    root = tmp_path_factory.mktemp("review-demo") / "demo"
    return service.build_demo(root, contacts=300, seed=3, as_of=DEMO_AS_OF).workspace


@pytest.mark.parametrize("period", ["--month", "--quarter"])
def test_the_demo_in_every_format(demo: service.Workspace, period: str, tmp_path: Path) -> None:
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(app, ["review", period, *args, "-w", str(demo.root)])
        assert result.exit_code == 0, result.output
        return result.output

    data = json.loads(run("-f", "json"))
    assert data["period"]["label"] == ("2026-09" if period == "--month" else "2026-Q3")
    assert [i["key"] for i in data["agenda"]] == ITEMS
    assert data["minutes"] == (60 if period == "--month" else 90)
    assert all(i["discuss"] and i["sections"] for i in data["agenda"])
    for item in data["agenda"]:
        for section in item["sections"]:
            keys = [c["key"] for c in section["columns"]]
            assert all(list(row) == keys for row in section["rows"])
    text = run()
    assert all(f"{n}. {i['title']} ({i['minutes']} min)" in text for n, i in enumerate(data["agenda"], 1))
    md = run("-f", "md")
    assert md.count("\n## ") == len(ITEMS) + 1 and "**To discuss:**" in md
    out = tmp_path / "pack.html"
    run("-f", "html", "-o", str(out))
    assert {"agenda", *ITEMS} <= set(parsed(out.read_text()).ids)


def test_the_demo_pack_agrees_with_the_reports(demo: service.Workspace) -> None:
    pack = _pack(demo, quarter="")
    period = Filters(pack.period.since, pack.period.until)
    scorecard = {r["metric"]: r for r in build(demo, "scorecard", period).section("scorecard").records()}
    sla = {r["sla"]: r for r in _rows(pack, "sla")}
    assert sla["First touch"]["compliance"] == scorecard["First-touch SLA compliance"]["value"]
    assert sla["First touch"]["resolved"] > 0  # the demo's quarter has clocks to judge
    for section in (1, 2):  # teams and owners add up to the SLA's own counts
        for name, line in sla.items():
            part = [r for r in _rows(pack, "sla", section) if r["sla"] == name]
            assert sum(r["resolved"] for r in part) == line["resolved"]
            assert sum(r["breached"] for r in part) == line["breached"]
    accepted = scorecard["MQL acceptance rate"]["basis"]
    rejected = sum(r["rejections"] for r in _rows(pack, "rejections"))
    assert accepted.endswith(f"{rejected} rejected")
    fp = {r["measure"]: r["count"] for r in _rows(pack, "false_positives")}
    parts = (
        "Rejected as a false positive",
        "No opportunity within 90 days",
        "Reached an opportunity within 90 days",
        "Still maturing (under 90 days, no opportunity yet)",
    )
    assert sum(fp[p] for p in parts) == fp["MQLs (reached Evaluation (MQL))"] > 0
    tiers = build(demo, "tiers", period, horizon_days=90).section("tiers").records()
    assert [r["leads"] for r in _rows(pack, "tiers")] == [r["n"] for r in tiers]
    csv = build(demo, "review", period).to_csv()
    assert csv.startswith("section,reason,") and "tier_performance," in csv


def test_definitions_untouched_for_a_quarter_from_the_version_history(tmp_path: Path) -> None:
    from accord.governance.versions import FIRST_SEEN, HAND_EDIT, record_activation, record_version
    from accord.spec.load import parse_spec, spec_hash

    ws = new_workspace(tmp_path)
    current = ws.spec_path.read_text()
    one_hour, tier_rule = "    target: 1h\n", 'when: "fit >= 30 AND intent >= 25"'
    texts = [
        # 1 October 2025: first touch within 2 hours
        (current.replace(one_hour, "    target: 2h\n"), datetime(2025, 10, 1, 12, tzinfo=UTC), FIRST_SEEN),
        # 20 January: first touch within 1 hour, and Tier 1 raised to fit 35
        (current.replace(tier_rule, 'when: "fit >= 35 AND intent >= 25"'),
         datetime(2026, 1, 20, 12, tzinfo=UTC), HAND_EDIT),
        # 10 February: Tier 1 back to fit 30 (the text in force now)
        (current, datetime(2026, 2, 10, 12, tzinfo=UTC), HAND_EDIT),
    ]  # fmt: skip
    with ws.ledger() as ledger:
        write_derived(ledger, at(AS_OF))
        for text, moment, origin in texts:
            version = spec_hash(parse_spec(text))
            record_version(ledger, version, text, now=moment, origin=origin)
            record_activation(ledger, version, now=moment, origin=origin)
    item = _pack(ws).item("definitions")
    got = {r["path"]: (r["last_changed"], round(r["days"], 3), r["untouched"], r["previous_untouched"])
           for r in item.sections[0].records()}  # fmt: skip
    assert len(got) == 21  # 10 entry rules, 3 tiers, 3 scoring parts, 2 SLAs, 3 routing rules
    # to the end of February (1 March 05:00 UTC): 150 days 17 hours since 1 October 12:00 UTC
    assert got["scoring.fit"] == (date(2025, 10, 1), 150.708, True, True)
    assert got["journey.stages.evaluation.entry"] == (date(2025, 10, 1), 150.708, True, True)
    assert got["slas.first_touch"] == (date(2026, 1, 20), 39.708, False, False)  # 2h -> 1h
    assert got["tiers.Tier 1"] == (date(2026, 2, 10), 18.708, False, False)  # changed, and changed back
    assert sum(1 for v in got.values() if v[2]) == 19
    assert list(got)[-2:] == ["slas.first_touch", "tiers.Tier 1"]  # the oldest first
    assert item.discuss == [
        "19 of 21 definitions have not changed in 90 days or more at the end of February 2026 (19 at the end "
        "of January 2026), the oldest first: Adoption: entry rule, Awareness: entry rule, Consideration: "
        "entry rule and 16 more. Confirm each still holds or put it on the recalibration list."
    ]
    assert item.actions == [
        ("Confirm or recalibrate the untouched definitions", "Dana Whitfield and Omar Haddad")
    ]
    # a pack for a period before the first recorded version cannot age anything
    early = _pack(ws, month="2025-09").item("definitions")
    assert early.discuss[0].startswith("The first recorded version came into force on 2025-10-01, after")


def test_without_version_history_the_pack_says_so(world: service.Workspace) -> None:
    item = _pack(world).item("definitions")
    assert all(r["last_changed"] is None and r["untouched"] is None for r in item.sections[0].records())
    assert item.sections[0].notes[-1].startswith("No version history: every definition dates from the first")
    assert item.discuss[0].startswith("No version history yet")
