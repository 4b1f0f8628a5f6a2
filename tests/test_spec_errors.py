"""Every kind of spec mistake is reported with its path, YAML line and a hint, all in one run."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from accord.cli.main import app
from accord.errors import Problem, SpecError
from accord.spec.load import check, parse_spec, spec_hash
from accord.spec.model import Spec
from accord.spec.source import load_text


def problems_for(text: str) -> list[Problem]:
    try:
        return check(load_text(text, "spec.yaml"))
    except SpecError as exc:  # YAML-level problems are raised while parsing
        return exc.problems


def edit(text: str, old: str, new: str) -> str:
    assert old in text, f"fixture text not found: {old!r}"
    return text.replace(old, new, 1)


def line_of(text: str, fragment: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if fragment in line:
            return number
    raise AssertionError(fragment)


def test_starter_spec_is_valid(starter_text: str) -> None:
    assert problems_for(starter_text) == []
    spec = parse_spec(starter_text)
    assert [s.id for s in spec.journey.stages][:6] == [
        "awareness",
        "consideration",
        "evaluation",
        "sales_accepted",
        "opportunity",
        "customer",
    ]


def test_starter_encodes_the_seed_figures(starter_spec: Spec) -> None:
    first_touch = starter_spec.slas["first_touch"]
    assert first_touch.target.total_seconds() == 3600 and first_touch.clock == "business"
    assert starter_spec.slas["disposition"].target.total_seconds() == 48 * 3600
    assert starter_spec.agreement.marketing.acceptance_rate == pytest.approx(0.75)
    assert starter_spec.agreement.sales.first_touch_compliance == pytest.approx(0.90)
    assert starter_spec.pipeline.stalled_after.days == 21
    assert starter_spec.content.retire_after.days == 90
    assert first_touch.at_risk == pytest.approx(0.25)
    assert starter_spec.pipeline.pattern_min_deals == 3
    assert starter_spec.pipeline.review_minutes == 45


@pytest.mark.parametrize(
    ("old", "new", "path", "message", "hint"),
    [
        (
            "timezone: Europe/London",
            "timezone: Europe/Londn",
            "calendars.uk.timezone",
            "not an IANA time zone",
            None,
        ),
        (
            "holidays: {country: GB, subdivision: ENG}",
            "holidays: {country: ZZ}",
            "calendars.uk.holidays",
            "no public holidays known for country 'ZZ'",
            None,
        ),
        (
            'hours: {mon-thu: ["09:00-17:30"]',
            'hours: {mon-thu: ["09:00-07:30"]',
            "calendars.uk.hours",
            "ends before it starts",
            None,
        ),
        (
            "role: sdr, manager: marco}",
            "role: sdrr, manager: marco}",
            "people.sam.role",
            "'sdrr' is not one of",
            "did you mean 'sdr'?",
        ),
        (
            "members: [dana, lena]}",
            "members: [dana, lena, bob]}",
            "teams.marketing.members[2]",
            "unknown person 'bob'",
            "declare it under people",
        ),
        (
            "manager: marco}",
            "manager: marcoo}",
            "people.sam.manager",
            "unknown person 'marcoo'",
            "did you mean 'marco'?",
        ),
        (
            "      entry: \"tier = 'Tier 1'\"",
            "      entry: \"tier = 'Tier1'\"",
            "journey.stages[2].entry",
            "'Tier1' is not a known value of tier",
            "did you mean 'Tier 1'?",
        ),
        (
            'entry: "engaged_90d >= 1"',
            'entry: "engagd_90d >= 1"',
            "journey.stages[0].entry",
            "unknown name 'engagd_90d'",
            "did you mean 'engaged_90d'?",
        ),
        (
            'entry: "engaged_90d >= 1"',
            'entry: "engaged_90d + 1"',
            "journey.stages[0].entry",
            "not a yes/no condition",
            None,
        ),
        (
            'entry: "engaged_90d >= 1"',
            'entry: "sqrt(engaged_90d) >= 1"',
            "journey.stages[0].entry",
            "function 'sqrt' is not allowed",
            "allowed:",
        ),
        (
            'entry: "engaged_90d >= 1"',
            'entry: "engaged_90d IN (SELECT 1)"',
            "journey.stages[0].entry",
            "subqueries are not allowed",
            None,
        ),
        (
            "      owner: ae\n",
            "      owner: aes\n",
            "journey.stages[4].owner",
            "unknown team 'aes'",
            "did you mean 'ae'?",
        ),
        (
            "kpi: engagement_rate",
            "kpi: engagment_rate",
            "journey.stages[0].kpi",
            "unknown KPI 'engagment_rate'",
            "did you mean 'engagement_rate'?",
        ),
        ("    target: 1h\n", "    target: 1\n", "slas.first_touch.target", "has no unit", None),
        (
            "at_risk: 25%\n    cadence",
            "at_risk: 125%\n    cadence",
            "slas.first_touch.at_risk",
            "outside 0%..100%",
            None,
        ),
        (
            "stop: {events: [call_attempt,",
            "stop: {events: [call_atempt,",
            "slas.first_touch.stop.events[0]",
            "unknown event type 'call_atempt'",
            "did you mean 'call_attempt'?",
        ),
        (
            "review_minutes: 45\n",
            "review_minutes: 45\n  reveiw_day: tue\n",
            "pipeline.reveiw_day",
            "unknown key 'reveiw_day'",
            "did you mean 'review_day'?",
        ),
        (
            "{from: [opportunity], to: consideration",
            "{from: [awareness], to: consideration",
            "journey.regressions[2].from[0]",
            "does not go back",
            None,
        ),
        (
            "accountable: dana, consulted: [omar]",
            "accountable: [dana, omar], consulted: [omar]",
            "campaigns.security_pipeline_h1.raci[0].accountable",
            "exactly one Accountable",
            None,
        ),
        ("  days_since_touch:", "  score:", "features.score", "'score' is a built-in name", None),
        (
            "lead_source: Original Source",
            "lead_sauce: Original Source",
            "imports.hubspot_contacts.columns.lead_sauce",
            "not a column of contacts",
            "did you mean 'lead_source'?",
        ),
        (
            "governance:\n  owners: [dana, omar]",
            "governance:\n  owners: [dana]",
            "governance.owners",
            "needs at least 2",
            None,
        ),
        ("half_life: 14d", "half_life: 14 fortnights", "scoring.intent.half_life", "unknown unit", None),
    ],
)
def test_each_kind_of_mistake(
    starter_text: str, old: str, new: str, path: str, message: str, hint: str | None
) -> None:
    text = edit(starter_text, old, new)
    problems = problems_for(text)
    matching = [p for p in problems if p.path == path and message in p.message]
    assert matching, f"expected {path}: {message}; got {[(p.path, p.message) for p in problems]}"
    problem = matching[0]
    assert problem.line is not None
    if hint:
        assert problem.hint is not None and hint in problem.hint
    assert len(problems) == 1, [(p.path, p.message) for p in problems]


def test_lines_point_at_the_mistake(starter_text: str) -> None:
    text = edit(starter_text, "members: [dana, lena]}", "members: [dana, lena, bob]}")
    (problem,) = problems_for(text)
    assert problem.line == line_of(text, "members: [dana, lena, bob]")


def test_yaml_syntax_and_duplicate_keys_are_located() -> None:
    broken = problems_for("workspace: {name: [x\n")
    assert broken[0].message.startswith("not valid YAML") and broken[0].line is not None
    twice = problems_for("workspace: {name: A}\nworkspace: {name: B}\n")
    assert twice[0].path == "workspace" and "given twice" in twice[0].message and twice[0].line == 2


BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefg", "bcdefgh", strict=True)
)  # 244 bytes that expand to 9 ** 8 values: it once held the server for 40 s


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (BOMB, "expands to more than 100,000 values"),
        ("a: &a [*a]\n", "alias refers to the value it is inside"),
        ("x: " + "[" * 5000 + "]" * 5000, "nested too deeply"),
    ],
)
def test_hostile_yaml_is_refused_in_words(text: str, said: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec(text)
    assert said in caught.value.problems[0].message


def test_aliases_within_reason_still_work() -> None:
    """Anchors are YAML a person may use on purpose: the limit is on what they expand to."""
    data = load_text("a: &x [1, 2]\nb: *x\nc: {k: *x}\n").data
    assert data == {"a": [1, 2], "b": [1, 2], "c": {"k": [1, 2]}}


def test_missing_and_unknown_sections(starter_text: str) -> None:
    text = edit(starter_text, "governance:\n  owners", "govrnance:\n  owners")
    messages = {(p.path, p.message) for p in problems_for(text)}
    assert ("govrnance", "unknown section 'govrnance'") in messages
    assert ("", "missing section 'governance'") in messages


def test_yaml_1_1_surprises_stay_strings() -> None:
    source = load_text("a: on\nb: 12:30\nc: no\n")
    assert source.data == {"a": "on", "b": "12:30", "c": "no"}


def test_five_mistakes_five_errors_in_one_run(starter_text: str, tmp_path: Path) -> None:
    text = starter_text
    for old, new in [
        ("timezone: Europe/London", "timezone: Europe/Londn"),  # shape: bad value
        ("members: [dana, lena]}", "members: [dana, lena, bob]}"),  # reference
        ("      entry: \"tier = 'Tier 1'\"", "      entry: \"tier = 'Tier1'\""),  # rule value
        ("    target: 1h\n", "    target: 1\n"),  # duration
        ("review_minutes: 45\n", "review_minutes: 45\n  reveiw_day: tue\n"),  # unknown key
    ]:
        text = edit(text, old, new)
    spec_file = tmp_path / "accord.yaml"
    spec_file.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(spec_file)])
    assert result.exit_code != 0
    with pytest.raises(SpecError) as caught:
        parse_spec(text, str(spec_file))
    problems = caught.value.problems
    assert len(problems) == 5
    assert [p.line for p in problems] == sorted(p.line or 0 for p in problems)
    rendered = caught.value.lines()
    assert all(line.startswith(f"{spec_file}:") for line in rendered)
    assert any("did you mean 'Tier 1'?" in line for line in rendered)


def test_spec_hash_ignores_comments_but_not_meaning(starter_text: str) -> None:
    base = spec_hash(parse_spec(starter_text))
    assert spec_hash(parse_spec("# a new comment\n" + starter_text)) == base
    changed = edit(starter_text, "fit >= 30 AND intent >= 25", "fit >= 35 AND intent >= 25")
    assert spec_hash(parse_spec(changed)) != base


def test_manager_loops_are_refused(starter_text: str) -> None:
    text = edit(
        starter_text,
        "grace:  {name: Grace Liu, role: cro,",
        "grace:  {name: Grace Liu, role: cro, manager: omar,",
    )
    problems = problems_for(text)
    assert any("managers form a loop" in p.message for p in problems)


def test_feature_shorthands_expand(starter_spec: Spec) -> None:
    feature = starter_spec.features["active_days_30d"]
    assert feature.agg == "count_distinct" and feature.of == "day"
    assert starter_spec.features["meetings_held"].window is None
    assert starter_spec.features["high_intent_30d"].window is not None
    assert starter_spec.features["high_intent_30d"].window.days == 30


def test_libyaml_reads_a_spec_exactly_as_the_python_parser(
    starter_text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Specs are composed by libyaml for speed (70 ms to 4 ms for the starter); values, and the line
    and column of every path that problems point at, must be the pure-Python parser's."""
    from accord.spec import source

    texts = [
        starter_text,
        "a: &x {b: 1, c: [yes, no, 1:30, 0o17, .5]}\nd: *x\ne: |\n  two\n  lines\nf: 'it''s'\n",
    ]
    fast = [source.load_text(t) for t in texts]
    monkeypatch.setattr(source, "_Composer", source._Loader)
    slow = [source.load_text(t) for t in texts]
    for f, s in zip(fast, slow, strict=True):
        assert (f.data, f.positions, f.key_positions) == (s.data, s.positions, s.key_positions)
