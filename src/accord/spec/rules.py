"""Rules: boolean conditions in SQL syntax, parsed with sqlglot into a small checked AST.

A rule is user text that decides who is a hot lead and who gets routed where, so it is never
evaluated as code. It is parsed, every name is checked against the fields the rule may see (its
scope), every operator against its operand types, and every function against an allow-list. The
result is a tiny typed tree that two back ends read: the engine compiles it to Ibis, and the
pure-Python reference in ``accord.domain.rule_eval`` evaluates it row by row.

Semantics fixed here so that every back end agrees:
- SQL three-valued logic: a comparison with NULL is unknown, and a filter keeps only true rows.
- ``a / b`` and ``a % b`` with ``b = 0`` are NULL (engines otherwise disagree: inf, NULL or error).
- ``%`` keeps the sign of the dividend, as in SQL.
- ``LIKE`` knows ``%`` and ``_``; a backslash in a pattern is refused, since engines escape it
  differently.
- ``least`` and ``greatest`` skip NULLs and are NULL only when every argument is.
- ``trim`` removes spaces, tabs and line breaks at both ends.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

import sqlglot
from sqlglot import exp

from accord.errors import RuleError
from accord.spec.rule_ast import (
    Arith,
    Between,
    Compare,
    Func,
    InList,
    IsNull,
    Like,
    Lit,
    Logic,
    Neg,
    Node,
    Not,
    Ref,
    Rule,
    Scope,
    Type,
)

# ---- functions ----------------------------------------------------------------------------------

_STRING_FUNCS = {"lower", "upper", "trim"}
_NUMBER_FUNCS = {"abs", "floor", "ceil"}
_PREDICATES = {"starts_with", "ends_with", "contains"}
_VARIADIC = {"coalesce", "least", "greatest"}
ALLOWED_FUNCTIONS: tuple[str, ...] = tuple(
    sorted(_STRING_FUNCS | _NUMBER_FUNCS | _PREDICATES | _VARIADIC | {"length"})
)

_SQLGLOT_FUNCS: dict[type[exp.Expr], str] = {
    exp.Lower: "lower", exp.Upper: "upper", exp.Trim: "trim", exp.Length: "length",
    exp.Abs: "abs", exp.Floor: "floor", exp.Ceil: "ceil", exp.StartsWith: "starts_with",
    exp.EndsWith: "ends_with", exp.Contains: "contains", exp.Coalesce: "coalesce",
    exp.Least: "least", exp.Greatest: "greatest",
}  # fmt: skip

_COMPARE: dict[type[exp.Expr], str] = {
    exp.EQ: "=", exp.NEQ: "<>", exp.LT: "<", exp.LTE: "<=", exp.GT: ">", exp.GTE: ">=",
}  # fmt: skip
_ARITH: dict[type[exp.Expr], str] = {
    exp.Add: "+", exp.Sub: "-", exp.Mul: "*", exp.Div: "/", exp.Mod: "%",
}  # fmt: skip


# ---- checking -----------------------------------------------------------------------------------


def suggest(name: str, candidates: Sequence[str] | Mapping[str, object]) -> str | None:
    """The closest known name, for 'did you mean' hints."""
    pool = list(candidates)
    match = difflib.get_close_matches(name, pool, n=1, cutoff=0.6)
    if not match:
        lowered = {c.lower(): c for c in pool}
        if name.lower() in lowered:
            return lowered[name.lower()]
    return match[0] if match else None


class _Checker:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.problems: list[tuple[str, str | None]] = []
        self.failed: set[int] = set()

    def fail(self, message: str, hint: str | None = None) -> Lit:
        """Record a problem and stand in for the bad part, so checking goes on and finds the rest."""
        self.problems.append((message, hint))
        stand_in = Lit(None, Type.NULL)
        self.failed.add(id(stand_in))
        return stand_in

    def is_null(self, node: Node) -> bool:
        return isinstance(node, Lit) and node.value is None and id(node) not in self.failed

    # dispatch
    def node(self, e: exp.Expr) -> Node:
        if isinstance(e, exp.Paren):
            return self.node(e.this)
        if isinstance(e, exp.Boolean):
            return Lit(bool(e.this), Type.BOOLEAN)
        if isinstance(e, exp.Null):
            return Lit(None, Type.NULL)
        if isinstance(e, exp.Literal):
            return self.literal(e)
        if isinstance(e, exp.Column):
            return self.column(e)
        if isinstance(e, exp.Not):
            inner = e.this
            operand = self.node(inner)
            self.expect_boolean(operand, "NOT")
            return Not(operand)
        if isinstance(e, exp.And | exp.Or):
            op = "and" if isinstance(e, exp.And) else "or"
            left, right = self.node(e.this), self.node(e.expression)
            self.expect_boolean(left, op.upper())
            self.expect_boolean(right, op.upper())
            flat: list[Node] = []
            for side in (left, right):
                if isinstance(side, Logic) and side.op == op:
                    flat.extend(side.operands)
                else:
                    flat.append(side)
            return Logic(op, tuple(flat))
        if type(e) in _COMPARE:
            return self.compare(_COMPARE[type(e)], e.this, e.expression)
        if type(e) in _ARITH:
            left, right = self.node(e.this), self.node(e.expression)
            sym = _ARITH[type(e)]
            for side in (left, right):
                if side.type not in (Type.NUMBER, Type.NULL):
                    self.fail(f"'{sym}' needs numbers, got {side.type} in '{_sql(e)}'")
            return Arith(sym, left, right)
        if isinstance(e, exp.Neg):
            operand = self.node(e.this)
            if operand.type not in (Type.NUMBER, Type.NULL):
                self.fail(f"'-' needs a number, got {operand.type} in '{_sql(e)}'")
            if isinstance(operand, Lit) and isinstance(operand.value, int | float):
                return Lit(-operand.value, Type.NUMBER)
            return Neg(operand)
        if isinstance(e, exp.Between):
            return self.between(e)
        if isinstance(e, exp.In):
            return self.in_list(e)
        if isinstance(e, exp.Like | exp.ILike):
            return self.like(e)
        if isinstance(e, exp.Is):
            if not isinstance(e.expression, exp.Null):
                return self.fail(
                    f"'IS {_sql(e.expression)}' is not supported",
                    "use IS NULL / IS NOT NULL, or compare with = true",
                )
            return IsNull(self.node(e.this))
        if type(e) in _SQLGLOT_FUNCS:
            return self.function(_SQLGLOT_FUNCS[type(e)], e)
        if isinstance(e, exp.Subquery | exp.Select | exp.Query):
            return self.fail(
                "subqueries are not allowed in rules",
                "a rule sees one record; declare a feature for aggregates over events",
            )
        if isinstance(e, exp.Anonymous | exp.Func | exp.AggFunc):
            name = str(e.this if isinstance(e, exp.Anonymous) else e.sql_name()).lower()
            close = suggest(name, ALLOWED_FUNCTIONS)
            hint = f"did you mean '{close}'? " if close else ""
            return self.fail(
                f"function '{name}' is not allowed", f"{hint}allowed: {', '.join(ALLOWED_FUNCTIONS)}"
            )
        return self.fail(
            f"'{_sql(e)}' is not supported in rules",
            "use comparisons, AND/OR/NOT, IN, BETWEEN, LIKE, IS NULL and arithmetic",
        )

    def literal(self, e: exp.Literal) -> Lit:
        if e.is_string:
            return Lit(str(e.this), Type.STRING)
        text = str(e.this)
        try:
            number: int | float = int(text) if re.fullmatch(r"\d+", text) else float(text)
        except ValueError:
            return self.fail(f"'{text}' is not a number")
        return Lit(number, Type.NUMBER)

    def column(self, e: exp.Column) -> Node:
        parts = [p.name for p in e.parts]
        name = ".".join(parts)
        if name in self.scope.fields:
            return Ref(self.scope.fields[name])
        if name in self.scope.refused:
            return self.fail(f"'{name}' cannot be used here", self.scope.refused[name])
        close = suggest(name, self.scope.fields)
        hint = f"did you mean '{close}'?" if close else None
        if hint is None:
            hint = (
                "declare it under features: (event aggregates) or fields: (custom attributes)"
                if self.scope.kind != "event"
                else "declare it under fields.event: to read it from event properties"
            )
        if len(parts) > 2:
            hint = "names have at most one dot, as in account.industry"
        return self.fail(f"unknown name '{name}'", hint)

    def expect_boolean(self, node: Node, where: str) -> None:
        if node.type not in (Type.BOOLEAN, Type.NULL):
            self.fail(f"{where} needs a yes/no condition, got a {node.type}")

    def coerce(self, node: Node, target: Type) -> Node:
        """Let string literals stand for timestamps and dates, as people write them in SQL."""
        if isinstance(node, Lit) and node.type == Type.STRING and target in (Type.TIMESTAMP, Type.DATE):
            try:
                if target == Type.DATE:
                    return Lit(date.fromisoformat(str(node.value)), Type.DATE)
                moment = datetime.fromisoformat(str(node.value))
                if moment.tzinfo is None:
                    moment = moment.replace(tzinfo=_zone(self.scope.timezone))
                return Lit(moment.astimezone(UTC), Type.TIMESTAMP)
            except ValueError:
                return self.fail(
                    f"'{node.value}' is not an ISO {target}",
                    "write dates as '2026-01-31' and times as '2026-01-31 09:00'",
                )
        return node

    def unify(self, nodes: list[Node], context: str) -> list[Node]:
        """Coerce literals to the type of the typed operand; report mixed types once."""
        typed = [
            n.type
            for n in nodes
            if n.type != Type.NULL and not (isinstance(n, Lit) and n.type == Type.STRING)
        ]
        target = typed[0] if typed else None
        if target is None:
            target = next((n.type for n in nodes if n.type != Type.NULL), None)
        if target is None:
            return nodes
        out = [self.coerce(n, target) for n in nodes]
        kinds = {n.type for n in out} - {Type.NULL}
        if len(kinds) > 1:
            self.fail(
                f"cannot compare {' and '.join(sorted(kinds))} in '{context}'",
                "compare like with like: quote text ('Tier 1'), leave numbers bare (200)",
            )
        return out

    def check_values(self, ref: Node, literals: Sequence[Node]) -> None:
        """Catch typos in closed vocabularies: tier names, stage ids, event types, reason codes."""
        if not isinstance(ref, Ref) or ref.field.values is None:
            return
        for lit in literals:
            if isinstance(lit, Lit) and isinstance(lit.value, str) and lit.value not in ref.field.values:
                close = suggest(lit.value, ref.field.values)
                hint = f"did you mean '{close}'?" if close else f"known values: {', '.join(ref.field.values)}"
                self.fail(f"'{lit.value}' is not a known value of {ref.field.name}", hint)

    def compare(self, op: str, left_e: exp.Expr, right_e: exp.Expr) -> Node:
        left, right = self.node(left_e), self.node(right_e)
        if self.is_null(left) or self.is_null(right):
            return self.fail(f"'{op} NULL' is never true", "use IS NULL or IS NOT NULL")
        text = f"{_sql(left_e)} {op} {_sql(right_e)}"
        left, right = self.unify([left, right], text)
        if op in ("<", "<=", ">", ">=") and Type.BOOLEAN in (left.type, right.type):
            self.fail(f"'{op}' does not order yes/no values in '{text}'")
        self.check_values(left, [right])
        self.check_values(right, [left])
        return Compare(op, left, right)

    def between(self, e: exp.Between) -> Node:
        operand, low, high = self.node(e.this), self.node(e.args["low"]), self.node(e.args["high"])
        operand, low, high = self.unify([operand, low, high], _sql(e))
        if Type.BOOLEAN in (operand.type, low.type, high.type):
            self.fail(f"BETWEEN does not order yes/no values in '{_sql(e)}'")
        return Between(operand, low, high)

    def in_list(self, e: exp.In) -> Node:
        if e.args.get("query") is not None or e.args.get("unnest") is not None:
            return self.fail(
                "subqueries are not allowed in rules",
                "list the values: type IN ('pricing_view', 'demo_request')",
            )
        operand = self.node(e.this)
        items: list[Node] = []
        for item in e.expressions:
            node = self.node(item)
            if not isinstance(node, Lit):
                self.fail(f"IN lists take literal values, not '{_sql(item)}'")
                continue
            if self.is_null(node):
                self.fail("NULL in an IN list never matches", "use IS NULL separately")
                continue
            if node.value is None:
                continue
            items.append(node)
        unified = self.unify([operand, *items], _sql(e))
        self.check_values(unified[0], unified[1:])
        lits = tuple(n for n in unified[1:] if isinstance(n, Lit))
        return InList(unified[0], lits)

    def like(self, e: exp.Like | exp.ILike) -> Node:
        operand = self.node(e.this)
        pattern = e.expression
        if e.args.get("escape") is not None:
            return self.fail("LIKE ... ESCAPE is not supported")
        if not (isinstance(pattern, exp.Literal) and pattern.is_string):
            return self.fail("LIKE needs a quoted pattern, such as '%security%'")
        if "\\" in pattern.this:
            return self.fail(
                "backslashes are not allowed in LIKE patterns",
                "engines treat them differently; use contains() for literal % or _",
            )
        if operand.type not in (Type.STRING, Type.NULL):
            self.fail(f"LIKE needs text, got {operand.type}")
        node: Node = Like(operand, str(pattern.this), isinstance(e, exp.ILike))
        return Not(node) if e.args.get("negate") else node

    def function(self, name: str, e: exp.Expr) -> Node:
        args = [self.node(a) for a in _function_args(e)]
        if name in _STRING_FUNCS:
            self.arity(name, args, 1)
            self.expect(name, args, Type.STRING)
            return Func(name, tuple(args), Type.STRING)
        if name == "length":
            self.arity(name, args, 1)
            self.expect(name, args, Type.STRING)
            return Func(name, tuple(args), Type.NUMBER)
        if name in _NUMBER_FUNCS:
            self.arity(name, args, 1)
            self.expect(name, args, Type.NUMBER)
            return Func(name, tuple(args), Type.NUMBER)
        if name in _PREDICATES:
            self.arity(name, args, 2)
            self.expect(name, args, Type.STRING)
            return Func(name, tuple(args), Type.BOOLEAN)
        if len(args) < 2:
            self.fail(f"{name}() needs at least two arguments")
        unified = self.unify(args, _sql(e))
        kinds = {a.type for a in unified} - {Type.NULL}
        result = kinds.pop() if len(kinds) == 1 else Type.NULL
        if name in ("least", "greatest") and result == Type.BOOLEAN:
            self.fail(f"{name}() does not order yes/no values")
        return Func(name, tuple(unified), result)

    def arity(self, name: str, args: list[Node], n: int) -> None:
        if len(args) != n:
            self.fail(f"{name}() takes {n} argument{'s' if n > 1 else ''}, got {len(args)}")

    def expect(self, name: str, args: list[Node], kind: Type) -> None:
        for a in args:
            if a.type not in (kind, Type.NULL):
                self.fail(f"{name}() needs {kind} arguments, got {a.type}")


def _function_args(e: exp.Expr) -> list[exp.Expr]:
    args: list[exp.Expr] = []
    if e.this is not None and isinstance(e.this, exp.Expr):
        args.append(e.this)
    if isinstance(e.args.get("expression"), exp.Expr):
        args.append(e.args["expression"])
    args.extend(x for x in e.expressions if isinstance(x, exp.Expr))
    if isinstance(e, exp.Trim) and (e.args.get("position") or e.args.get("collation")):
        args.append(exp.Literal.string("?"))  # trim(x FROM y) and friends: refuse via arity
    return args


def _sql(e: exp.Expr) -> str:
    return e.sql(dialect="duckdb")


@lru_cache(maxsize=64)
def _zone(name: str) -> tzinfo:
    return ZoneInfo(name)


def parse(text: str, scope: Scope) -> Rule:
    """Parse and check a rule; raise RuleError naming every problem found."""
    problems = problems_in(text, scope)
    if problems:
        message = "; ".join(m for m, _ in problems)
        hints = [h for _, h in problems if h]
        raise RuleError(f"rule '{text}': {message}", hint="; ".join(hints) or None)
    return _parse_cached(text, scope.key(), scope)[0]  # type: ignore[return-value]


def problems_in(text: str, scope: Scope) -> list[tuple[str, str | None]]:
    """Every (message, hint) wrong with a rule, empty when it is fine."""
    return _parse_cached(text, scope.key(), scope)[1]


_CACHE: dict[tuple[str, tuple[object, ...]], tuple[Rule | None, list[tuple[str, str | None]]]] = {}


def _parse_cached(
    text: str, key: tuple[object, ...], scope: Scope
) -> tuple[Rule | None, list[tuple[str, str | None]]]:
    cache_key = (text, key)
    hit = _CACHE.get(cache_key)
    if hit is None:
        hit = _parse_uncached(text, scope)
        if len(_CACHE) > 4096:
            _CACHE.clear()
        _CACHE[cache_key] = hit
    return hit


def _parse_uncached(text: str, scope: Scope) -> tuple[Rule | None, list[tuple[str, str | None]]]:
    if not isinstance(text, str) or not text.strip():
        return None, [("a rule cannot be empty", "write a condition such as: fit >= 30, or true")]
    if ";" in text:
        return None, [("a rule is one condition; ';' is not allowed", None)]
    try:
        tree = sqlglot.parse_one(text, read="duckdb")
    except sqlglot.errors.ParseError as exc:
        detail = exc.errors[0] if exc.errors else {}
        col = detail.get("col")
        where = f" near column {col}" if col else ""
        return None, [
            (f"cannot parse '{text}'{where}", "rules use SQL syntax: fit >= 30 AND type IN ('a', 'b')")
        ]
    except sqlglot.errors.SqlglotError as exc:
        return None, [(f"cannot parse '{text}': {exc}", None)]
    if not isinstance(tree, exp.Expr) or isinstance(tree, exp.Block | exp.Query | exp.Command):
        return None, [("a rule is one condition, not a statement", "write e.g. fit >= 30")]
    if tree.find(exp.Query, exp.Subquery, exp.Exists) is not None:
        return None, [
            (
                "subqueries are not allowed in rules",
                "a rule sees one record; declare a feature for aggregates over events",
            )
        ]
    checker = _Checker(scope)
    root = checker.node(tree)
    if not checker.problems and root.type not in (Type.BOOLEAN,):
        checker.fail(
            f"'{text}' is a {root.type}, not a yes/no condition",
            "compare it with something, e.g. score >= 50",
        )
    if checker.problems:
        seen: dict[str, str | None] = {}
        for message, hint in checker.problems:
            seen.setdefault(message, hint)
        return None, list(seen.items())
    return Rule(text=text, root=root, scope_kind=scope.kind), []
