"""The reference evaluator for rules: one row of plain Python values in, True / False / None out.

It is the yardstick the engine is tested against, so it spells out SQL's three-valued logic and
the semantics fixed in ``accord.spec.rules`` instead of borrowing Python's.

:func:`predicate` turns a rule into nested closures with exactly these semantics, each node's work
chosen once instead of by a chain of ``isinstance`` tests at every row: a real-time decision
evaluates some fifty rules, and walking their trees was a fifth of its time. A property test holds
the two equal on random rules and rows (tests/test_rules.py).
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

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
)

_WHITESPACE = " \t\n\r\v\f"


def evaluate(rule: Rule, row: Mapping[str, Any]) -> bool | None:
    """Truth value of a rule on one row keyed by field column; None means SQL unknown."""
    value = _eval(rule.root, row)
    return None if value is None else bool(value)


def holds(rule: Rule, row: Mapping[str, Any]) -> bool:
    """Whether a filter keeps the row: unknown counts as no, as in SQL WHERE."""
    return evaluate(rule, row) is True


def _eval(node: Node, row: Mapping[str, Any]) -> Any:
    if isinstance(node, Lit):
        return node.value
    if isinstance(node, Ref):
        return row.get(node.field.column)
    if isinstance(node, Not):
        value = _eval(node.operand, row)
        return None if value is None else not value
    if isinstance(node, Logic):
        values = [_eval(op, row) for op in node.operands]
        if node.op == "and":
            if any(v is False for v in values):
                return False
            return None if any(v is None for v in values) else True
        if any(v is True for v in values):
            return True
        return None if any(v is None for v in values) else False
    if isinstance(node, Compare):
        return _compare(node.op, _eval(node.left, row), _eval(node.right, row))
    if isinstance(node, Arith):
        return _arith(node.op, _eval(node.left, row), _eval(node.right, row))
    if isinstance(node, Neg):
        value = _eval(node.operand, row)
        return None if value is None else -value
    if isinstance(node, Between):
        value = _eval(node.operand, row)
        low = _compare(">=", value, _eval(node.low, row))
        high = _compare("<=", value, _eval(node.high, row))
        if low is False or high is False:
            return False
        return None if low is None or high is None else True
    if isinstance(node, InList):
        value = _eval(node.operand, row)
        if value is None:
            return None
        return any(value == item.value for item in node.items)
    if isinstance(node, Like):
        value = _eval(node.operand, row)
        if value is None:
            return None
        flags = re.IGNORECASE if node.case_insensitive else 0
        return _like_regex(node.pattern, flags).fullmatch(value) is not None
    if isinstance(node, IsNull):
        return _eval(node.operand, row) is None
    if isinstance(node, Func):
        return _func(node.name, [_eval(a, row) for a in node.args])
    raise TypeError(f"unknown rule node {node!r}")


Value = Callable[[Mapping[str, Any]], Any]
"""A compiled node: the row in, the node's value out (None for SQL's unknown)."""

_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "<>": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _operator(op: str) -> Callable[[Any, Any], Any]:
    """A comparison's function; the parser writes only these six (``!=`` becomes ``<>``)."""
    found: Callable[[Any, Any], Any] = _OPS.get(op, operator.ge)
    return found


def predicate(rule: Rule) -> Callable[[Mapping[str, Any]], bool]:
    """:func:`holds` for one rule, compiled once: call it per row."""
    value = _compile(rule.root)

    def test(row: Mapping[str, Any]) -> bool:
        return bool(value(row))  # unknown (None) is falsy: as holds, whose evaluate returns bool(value)

    return test


def _compile(node: Node) -> Value:
    if isinstance(node, Lit):
        constant = node.value
        return lambda row: constant
    if isinstance(node, Ref):
        column = node.field.column
        return lambda row: row.get(column)
    if isinstance(node, Not):
        inner = _compile(node.operand)

        def negated(row: Mapping[str, Any]) -> Any:
            value = inner(row)
            return None if value is None else not value

        return negated
    if isinstance(node, Logic):
        return _logic(node.op, tuple(_compile(op) for op in node.operands))
    if isinstance(node, Compare):
        return _comparison(node.op, _compile(node.left), _compile(node.right))
    if isinstance(node, Arith):
        op, left, right = node.op, _compile(node.left), _compile(node.right)
        return lambda row: _arith(op, left(row), right(row))
    if isinstance(node, Neg):
        inner = _compile(node.operand)

        def minus(row: Mapping[str, Any]) -> Any:
            value = inner(row)
            return None if value is None else -value

        return minus
    if isinstance(node, Between):
        operand, low, high = _compile(node.operand), _compile(node.low), _compile(node.high)

        def between(row: Mapping[str, Any]) -> Any:
            value = operand(row)
            above = _compare(">=", value, low(row))
            below = _compare("<=", value, high(row))
            if above is False or below is False:
                return False
            return None if above is None or below is None else True

        return between
    if isinstance(node, InList):
        operand, items = _compile(node.operand), tuple(item.value for item in node.items)

        def among(row: Mapping[str, Any]) -> Any:
            value = operand(row)
            if value is None:
                return None
            return any(value == item for item in items)

        return among
    if isinstance(node, Like):
        operand = _compile(node.operand)
        match = _like_regex(node.pattern, re.IGNORECASE if node.case_insensitive else 0).fullmatch

        def like(row: Mapping[str, Any]) -> Any:
            value = operand(row)
            return None if value is None else match(value) is not None

        return like
    if isinstance(node, IsNull):
        inner = _compile(node.operand)
        return lambda row: inner(row) is None
    if isinstance(node, Func):
        name, args = node.name, tuple(_compile(a) for a in node.args)
        return lambda row: _func(name, [a(row) for a in args])
    raise TypeError(f"unknown rule node {node!r}")


def _logic(op: str, operands: tuple[Value, ...]) -> Value:
    """AND / OR in three-valued logic: False decides an AND, True an OR. Every operand is evaluated,
    as :func:`_eval` does, so a rule that fails on a row fails the same way both ways."""
    decisive = op != "and"

    def combined(row: Mapping[str, Any]) -> Any:
        values = [f(row) for f in operands]
        if any(v is decisive for v in values):
            return decisive
        return None if any(v is None for v in values) else not decisive

    return combined


def _comparison(op: str, left: Value, right: Value) -> Value:
    compare = _operator(op)

    def comparison(row: Mapping[str, Any]) -> Any:
        a, b = left(row), right(row)
        if a is None or b is None:
            return None
        return bool(compare(a, b))

    return comparison


def _compare(op: str, left: Any, right: Any) -> bool | None:
    if left is None or right is None:
        return None
    return bool(_operator(op)(left, right))


def _arith(op: str, left: Any, right: Any) -> Any:
    if left is None or right is None:
        return None
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    if right == 0:
        return None
    if op == "/":
        return left / right
    if isinstance(left, int) and isinstance(right, int):
        magnitude = abs(left) % abs(right)
        return magnitude if left >= 0 else -magnitude
    return math.fmod(left, right)


def _func(name: str, args: list[Any]) -> Any:
    if name == "coalesce":
        return next((a for a in args if a is not None), None)
    if name in ("least", "greatest"):
        present = [a for a in args if a is not None]
        if not present:
            return None
        return min(present) if name == "least" else max(present)
    if any(a is None for a in args):
        return None
    if name == "lower":
        return args[0].lower()
    if name == "upper":
        return args[0].upper()
    if name == "trim":
        return args[0].strip(_WHITESPACE)
    if name == "length":
        return len(args[0])
    if name == "abs":
        return abs(args[0])
    if name == "floor":
        return math.floor(args[0])
    if name == "ceil":
        return math.ceil(args[0])
    if name == "starts_with":
        return args[0].startswith(args[1])
    if name == "ends_with":
        return args[0].endswith(args[1])
    if name == "contains":
        return args[1] in args[0]
    raise ValueError(f"unknown function {name}")


@lru_cache(maxsize=256)
def _like_regex(pattern: str, flags: int) -> re.Pattern[str]:
    parts = []
    for char in pattern:
        if char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), flags | re.DOTALL)
