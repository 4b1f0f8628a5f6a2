"""Compile a checked rule to an Ibis boolean expression over a table whose columns match its scope."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import ibis
import ibis.expr.types as ir

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
    Type,
)

_NULL_TYPES = {
    Type.STRING: "string", Type.NUMBER: "float64", Type.BOOLEAN: "boolean",
    Type.TIMESTAMP: "timestamp('UTC')", Type.DATE: "date", Type.NULL: "string",
}  # fmt: skip


def compile_rule(rule: Rule, table: ir.Table) -> ir.BooleanValue:
    """The rule as a boolean column of ``table`` (NULL where SQL says unknown)."""
    return _compile(rule.root, table)


def _literal(node: Lit) -> Any:
    if node.value is None:
        return ibis.null(_NULL_TYPES[node.type])
    if isinstance(node.value, bool):
        return ibis.literal(node.value, type="boolean")
    if isinstance(node.value, datetime):
        return ibis.literal(node.value, type="timestamp('UTC')")
    if isinstance(node.value, date):
        return ibis.literal(node.value, type="date")
    if isinstance(node.value, int):
        return ibis.literal(node.value, type="int64")
    if isinstance(node.value, float):
        return ibis.literal(node.value, type="float64")
    return ibis.literal(node.value, type="string")


def _compile(node: Node, t: ir.Table) -> Any:
    if isinstance(node, Lit):
        return _literal(node)
    if isinstance(node, Ref):
        return t[node.field.column]
    if isinstance(node, Not):
        return ~_compile(node.operand, t)
    if isinstance(node, Logic):
        parts = [_compile(op, t) for op in node.operands]
        return ibis.and_(*parts) if node.op == "and" else ibis.or_(*parts)
    if isinstance(node, Compare):
        left, right = _compile(node.left, t), _compile(node.right, t)
        return {
            "=": lambda: left == right, "<>": lambda: left != right, "<": lambda: left < right,
            "<=": lambda: left <= right, ">": lambda: left > right, ">=": lambda: left >= right,
        }[node.op]()  # fmt: skip
    if isinstance(node, Arith):
        left, right = _compile(node.left, t), _compile(node.right, t)
        if node.op == "+":
            return left + right
        if node.op == "-":
            return left - right
        if node.op == "*":
            return left * right
        safe = right.nullif(0)
        return left / safe if node.op == "/" else left % safe
    if isinstance(node, Neg):
        return -_compile(node.operand, t)
    if isinstance(node, Between):
        return _compile(node.operand, t).between(_compile(node.low, t), _compile(node.high, t))
    if isinstance(node, InList):
        return _compile(node.operand, t).isin([_literal(i) for i in node.items])
    if isinstance(node, Like):
        operand = _compile(node.operand, t)
        return operand.ilike(node.pattern) if node.case_insensitive else operand.like(node.pattern)
    if isinstance(node, IsNull):
        return _compile(node.operand, t).isnull()
    if isinstance(node, Func):
        return _function(node, [_compile(a, t) for a in node.args])
    raise TypeError(f"unknown rule node {node!r}")


def _function(node: Func, args: list[Any]) -> Any:
    name = node.name
    if name == "coalesce":
        return ibis.coalesce(*args)
    if name == "least":
        return ibis.least(*args)
    if name == "greatest":
        return ibis.greatest(*args)
    first = args[0]
    if name == "lower":
        return first.lower()
    if name == "upper":
        return first.upper()
    if name == "trim":
        return first.strip()
    if name == "length":
        return first.length()
    if name == "abs":
        return first.abs()
    if name == "floor":
        return first.floor()
    if name == "ceil":
        return first.ceil()
    if name == "starts_with":
        return first.startswith(args[1])
    if name == "ends_with":
        return first.endswith(args[1])
    if name == "contains":
        return first.contains(args[1])
    raise ValueError(f"unknown function {name}")
