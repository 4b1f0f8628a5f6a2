"""Rules: refused when unsafe or wrong, and evaluated identically by DuckDB and the Python reference."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import ibis
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accord.domain.rule_eval import evaluate, holds, predicate
from accord.engine.rules import compile_rule
from accord.errors import RuleError
from accord.spec import catalog
from accord.spec.rule_ast import Field, Scope, Type
from accord.spec.rules import parse, problems_in

FIELDS = {
    "s1": Field("s1", Type.STRING, "s1"), "s2": Field("s2", Type.STRING, "s2"),
    "n1": Field("n1", Type.NUMBER, "n1"), "n2": Field("n2", Type.NUMBER, "n2"),
    "x1": Field("x1", Type.NUMBER, "x1"),
    "b1": Field("b1", Type.BOOLEAN, "b1"), "t1": Field("t1", Type.TIMESTAMP, "t1"),
    "d1": Field("d1", Type.DATE, "d1"),
    "tier": Field("tier", Type.STRING, "tier", values=("Tier 1", "Tier 2")),
    "account.industry": Field("account.industry", Type.STRING, "account__industry"),
}  # fmt: skip
SCOPE = Scope("test", FIELDS, "America/New_York")
SCHEMA = {"s1": "string", "s2": "string", "n1": "int64", "n2": "int64", "x1": "float64",
          "b1": "boolean", "t1": "timestamp('UTC')", "d1": "date", "tier": "string",
          "account__industry": "string"}  # fmt: skip


def refused(text: str) -> str:
    problems = problems_in(text, SCOPE)
    assert problems, f"{text!r} should be refused"
    return "; ".join(m + " " + (h or "") for m, h in problems)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("n3 > 1", "unknown name 'n3'"),
        ("nn1 > 1", "did you mean 'n1'?"),
        ("account.industri = 'x'", "did you mean 'account.industry'?"),
        ("a.b.c = 1", "at most one dot"),
        ("n1 + 1", "not a yes/no condition"),
        ("s1", "not a yes/no condition"),
        ("sqrt(n1) > 1", "function 'sqrt' is not allowed"),
        ("count(*) > 1", "function 'count' is not allowed"),
        ("n1 IN (SELECT n2 FROM t)", "subqueries are not allowed"),
        ("EXISTS (SELECT 1)", "subqueries are not allowed"),
        ("n1 = 1; DROP TABLE events", "';' is not allowed"),
        ("n1 >", "cannot parse"),
        ("n1 = NULL", "use IS NULL"),
        ("n1 > 'abc'", "cannot compare"),
        ("s1 LIKE 'a\\%'", "backslashes are not allowed"),
        ("s1 LIKE s2", "quoted pattern"),
        ("tier = 'Tier 3'", "'Tier 3' is not a known value of tier"),
        ("t1 > 'yesterday'", "not an ISO timestamp"),
        ("NOT n1", "needs a yes/no condition"),
        ("lower(n1) = 'a'", "needs string arguments"),
        ("CAST(n1 AS VARCHAR) = '1'", "'cast' is not allowed"),
        ("", "cannot be empty"),
        ("__import__('os') = 1", "not allowed"),
    ],
)
def test_bad_rules_are_refused_with_a_reason(text: str, expected: str) -> None:
    assert expected in refused(text)


def test_parse_raises_rule_error_with_every_problem() -> None:
    with pytest.raises(RuleError) as caught:
        parse("nn1 > 1 AND sqrt(n2) > 1", SCOPE)
    assert "unknown name 'nn1'" in caught.value.message
    assert "function 'sqrt'" in caught.value.message


def test_literals_become_timestamps_in_the_workspace_zone() -> None:
    rule = parse("t1 >= '2026-03-08 03:30'", SCOPE)
    # 03:30 EDT on the spring-forward day is 07:30 UTC
    row = {"t1": datetime(2026, 3, 8, 7, 30, tzinfo=UTC)}
    assert holds(rule, row)
    assert not holds(rule, {"t1": datetime(2026, 3, 8, 7, 29, tzinfo=UTC)})


def test_three_valued_logic() -> None:
    assert evaluate(parse("n1 > 1 OR true", SCOPE), {"n1": None}) is True
    assert evaluate(parse("n1 > 1 AND true", SCOPE), {"n1": None}) is None
    assert evaluate(parse("n1 > 1 AND false", SCOPE), {"n1": None}) is False
    assert evaluate(parse("n1 / 0 > 1", SCOPE), {"n1": 3}) is None
    assert evaluate(parse("n1 IS NULL", SCOPE), {"n1": None}) is True
    assert holds(parse("-7 % 3 = -1", SCOPE), {})


def test_every_rule_in_the_starter_spec_compiles(starter_spec: Any) -> None:
    """The starter's rules compile to Ibis against tables shaped like their scopes."""
    data = starter_spec.model_dump(mode="json", by_alias=True)
    scopes = {
        "event": catalog.event_scope(data),
        "profile": catalog.profile_scope(data),
        "lead": catalog.lead_scope(data),
        "journey": catalog.journey_scope(data),
        "routing": catalog.routing_scope(data),
    }
    to_ibis = {
        Type.STRING: "string",
        Type.NUMBER: "float64",
        Type.BOOLEAN: "boolean",
        Type.TIMESTAMP: "timestamp('UTC')",
        Type.DATE: "date",
    }
    texts = [(scopes["event"], f.where) for f in starter_spec.features.values()]
    texts += [(scopes["profile"], r.when) for r in starter_spec.scoring.fit.rules]
    texts += [(scopes["event"], s.when) for s in starter_spec.scoring.intent.signals]
    texts += [(scopes["lead"], t.when) for t in starter_spec.tiers]
    texts += [(scopes["journey"], s.entry) for s in starter_spec.journey.stages]
    texts += [(scopes["routing"], r.when) for r in starter_spec.routing.rules]
    for scope, text in texts:
        columns = {f.column: to_ibis[f.type] for f in scope.fields.values()}
        table = ibis.table(columns, name="t")
        expr = compile_rule(parse(text, scope), table)
        assert ibis.to_sql(table.filter(expr), dialect="duckdb")


# ---- property: DuckDB (through Ibis) and the Python reference agree ------------------------------

WORDS = st.sampled_from(["", "a", "ab", "abc", "B", "Tier 1", "x y", "é", "%", "_", "a_c", " pad "])
PATTERNS = st.sampled_from(["a%", "%b%", "_b%", "%", "", "a_c", "%c", "A%", "é%", "% pad %"])
BASE_TS = datetime(2026, 3, 1, tzinfo=UTC)


def _num_literal() -> st.SearchStrategy[str]:
    return st.one_of(st.integers(-20, 20).map(str), st.sampled_from(["0.5", "2.25", "-1.5", "0", "3"]))


def num_expr(depth: int) -> st.SearchStrategy[str]:
    leaf = st.one_of(st.sampled_from(["n1", "n2", "x1"]), _num_literal(), st.just("length(s1)"))
    if depth <= 0:
        return leaf
    sub = num_expr(depth - 1)
    return st.one_of(
        leaf,
        st.tuples(sub, st.sampled_from(["+", "-", "*", "/", "%"]), sub).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        sub.map(lambda e: f"abs({e})"),
        sub.map(lambda e: f"floor({e})"),
        sub.map(lambda e: f"ceil({e})"),
        sub.map(lambda e: f"-({e})"),
        st.tuples(sub, sub).map(lambda t: f"coalesce({t[0]}, {t[1]})"),
        st.tuples(sub, sub).map(lambda t: f"greatest({t[0]}, {t[1]})"),
        st.tuples(sub, sub).map(lambda t: f"least({t[0]}, {t[1]})"),
    )


def str_expr(depth: int) -> st.SearchStrategy[str]:
    leaf = st.one_of(st.sampled_from(["s1", "s2", "account.industry"]), WORDS.map(lambda w: f"'{w}'"))
    if depth <= 0:
        return leaf
    sub = str_expr(depth - 1)
    return st.one_of(
        leaf,
        sub.map(lambda e: f"lower({e})"),
        sub.map(lambda e: f"upper({e})"),
        sub.map(lambda e: f"trim({e})"),
        st.tuples(sub, sub).map(lambda t: f"coalesce({t[0]}, {t[1]})"),
    )


CMP = st.sampled_from(["=", "<>", "!=", "<", "<=", ">", ">="])


def bool_expr(depth: int) -> st.SearchStrategy[str]:
    n, s = num_expr(1), str_expr(1)
    leaf = st.one_of(
        st.tuples(n, CMP, n).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
        st.tuples(s, CMP, s).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
        st.tuples(n, n, n).map(lambda t: f"{t[0]} BETWEEN {t[1]} AND {t[2]}"),
        st.tuples(n, st.lists(_num_literal(), min_size=1, max_size=3)).map(
            lambda t: f"{t[0]} IN ({', '.join(t[1])})"
        ),
        st.tuples(s, st.lists(WORDS, min_size=1, max_size=3)).map(
            lambda t: f"{t[0]} NOT IN ({', '.join(repr(w) for w in t[1])})"
        ),
        st.tuples(s, st.sampled_from(["LIKE", "NOT LIKE", "ILIKE"]), PATTERNS).map(
            lambda t: f"{t[0]} {t[1]} '{t[2]}'"
        ),
        st.tuples(
            st.sampled_from(["n1", "s1", "b1", "t1", "d1", "x1"]), st.sampled_from(["IS NULL", "IS NOT NULL"])
        ).map(lambda t: f"{t[0]} {t[1]}"),
        st.tuples(st.sampled_from(["starts_with", "ends_with", "contains"]), s, WORDS).map(
            lambda t: f"{t[0]}({t[1]}, '{t[2]}')"
        ),
        st.tuples(
            CMP, st.sampled_from(["2026-03-01 00:00", "2026-03-08 03:30", "2026-03-15T12:00:00+00:00"])
        ).map(lambda t: f"t1 {t[0]} '{t[1]}'"),
        st.tuples(CMP, st.sampled_from(["2026-03-01", "2026-03-10"])).map(lambda t: f"d1 {t[0]} '{t[1]}'"),
        st.sampled_from(["b1", "NOT b1", "true", "false", "b1 = true", "tier = 'Tier 1'"]),
    )
    if depth <= 0:
        return leaf
    sub = bool_expr(depth - 1)
    return st.one_of(
        leaf,
        sub.map(lambda e: f"NOT ({e})"),
        st.tuples(sub, st.sampled_from(["AND", "OR"]), sub).map(lambda t: f"({t[0]}) {t[1]} ({t[2]})"),
    )


def _maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy, strategy, strategy)


ROWS = st.lists(
    st.fixed_dictionaries(
        {
            "s1": _maybe(WORDS),
            "s2": _maybe(WORDS),
            "n1": _maybe(st.integers(-30, 30)),
            "n2": _maybe(st.integers(-5, 5)),
            "x1": _maybe(st.sampled_from([-2.5, 0.0, 0.5, 1.25, 7.0])),
            "b1": _maybe(st.booleans()),
            "t1": _maybe(st.integers(0, 30 * 24).map(lambda h: BASE_TS + timedelta(hours=h))),
            "d1": _maybe(st.integers(0, 20).map(lambda d: date(2026, 3, 1) + timedelta(days=d))),
            "tier": _maybe(st.sampled_from(["Tier 1", "Tier 2"])),
            "account__industry": _maybe(WORDS),
        }
    ),
    min_size=1,
    max_size=12,
)

_BACKEND = ibis.duckdb.connect()


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules=st.lists(bool_expr(2), min_size=1, max_size=4), rows=ROWS)
def test_duckdb_and_reference_agree(rules: list[str], rows: list[dict[str, Any]]) -> None:
    checked = [r for r in (text for text in rules) if not problems_in(r, SCOPE)]
    if not checked:
        return
    table = ibis.memtable([{"_i": i, **row} for i, row in enumerate(rows)], schema={"_i": "int64", **SCHEMA})
    parsed = [parse(text, SCOPE) for text in checked]
    query = table.select("_i", **{f"r{k}": compile_rule(rule, table) for k, rule in enumerate(parsed)})
    result = _BACKEND.to_pyarrow(query.order_by("_i")).to_pylist()
    for k, (text, rule) in enumerate(zip(checked, parsed, strict=True)):
        for row, got in zip(rows, result, strict=True):
            want = evaluate(rule, row)
            assert got[f"r{k}"] == want, f"{text!r} on {row}: duckdb {got[f'r{k}']} != reference {want}"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules=st.lists(bool_expr(3), min_size=1, max_size=4), rows=ROWS)
def test_compiled_rules_hold_exactly_where_the_reference_does(
    rules: list[str], rows: list[dict[str, Any]]
) -> None:
    """The closures real-time decisions evaluate agree with the reference on every row, unknowns
    included: a rule and its negation both fail to hold on a row where the rule is unknown."""
    for text in rules:
        if problems_in(text, SCOPE):
            continue
        for rule in (parse(text, SCOPE), parse(f"NOT ({text})", SCOPE)):
            test = predicate(rule)
            for row in rows:
                assert test(row) is holds(rule, row), f"{rule.text!r} on {row}"


def test_a_compiled_rule_reads_unknown_as_the_reference_does() -> None:
    rule = parse("n1 > 3 OR s1 = 'a'", SCOPE)
    test = predicate(rule)
    assert [test(r) for r in ({"n1": 5}, {"n1": 1, "s1": "a"}, {"n1": None, "s1": "b"}, {})] == [
        True,
        True,
        False,
        False,
    ]
    assert predicate(parse("NOT (n1 > 3)", SCOPE))({"n1": None}) is False  # unknown, negated: unknown


@given(bool_expr(2))
@settings(max_examples=200, deadline=None)
def test_generated_rules_parse(text: str) -> None:
    """The generator only writes valid rules, so the agreement test above is never vacuous."""
    assert problems_in(text, SCOPE) == []
