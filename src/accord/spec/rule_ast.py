"""The typed tree a checked rule becomes: the contract between the checker and every back end.

Kept apart from the parser so that readers (the Ibis compiler, the pure-Python evaluator, the
catalog) depend on the shapes alone, not on sqlglot.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import TypeAlias


class Type(StrEnum):
    """What a field or expression holds; rules compare only like with like."""

    STRING = "string"
    NUMBER = "number"
    BOOLEAN = "boolean"
    TIMESTAMP = "timestamp"
    DATE = "date"
    NULL = "null"


@dataclass(frozen=True)
class Field:
    """A name a rule may use: its type, the column the engine reads, and allowed values if closed."""

    name: str
    type: Type
    column: str
    doc: str = ""
    values: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Scope:
    """The names visible to one kind of rule (events, profiles, leads, ...)."""

    kind: str
    fields: Mapping[str, Field]
    timezone: str = "UTC"
    refused: Mapping[str, str] = field(default_factory=dict)

    def key(self) -> tuple[object, ...]:
        return (
            self.kind,
            self.timezone,
            tuple(sorted((k, f.type, f.column, f.values) for k, f in self.fields.items())),
            tuple(sorted(self.refused.items())),
        )


# ---- the checked tree ---------------------------------------------------------------------------

Value: TypeAlias = str | int | float | bool | datetime | date | None


@dataclass(frozen=True)
class Lit:
    value: Value
    type: Type


@dataclass(frozen=True)
class Ref:
    field: Field

    @property
    def type(self) -> Type:
        return self.field.type


@dataclass(frozen=True)
class Not:
    operand: Node
    type: Type = Type.BOOLEAN


@dataclass(frozen=True)
class Logic:
    op: str  # "and" | "or"
    operands: tuple[Node, ...]
    type: Type = Type.BOOLEAN


@dataclass(frozen=True)
class Compare:
    op: str  # "=", "<>", "<", "<=", ">", ">="
    left: Node
    right: Node
    type: Type = Type.BOOLEAN


@dataclass(frozen=True)
class Arith:
    op: str  # "+", "-", "*", "/", "%"
    left: Node
    right: Node
    type: Type = Type.NUMBER


@dataclass(frozen=True)
class Neg:
    operand: Node
    type: Type = Type.NUMBER


@dataclass(frozen=True)
class Between:
    operand: Node
    low: Node
    high: Node
    type: Type = Type.BOOLEAN


@dataclass(frozen=True)
class InList:
    operand: Node
    items: tuple[Lit, ...]
    type: Type = Type.BOOLEAN


@dataclass(frozen=True)
class Like:
    operand: Node
    pattern: str
    case_insensitive: bool
    type: Type = Type.BOOLEAN


@dataclass(frozen=True)
class IsNull:
    operand: Node
    type: Type = Type.BOOLEAN


@dataclass(frozen=True)
class Func:
    name: str
    args: tuple[Node, ...]
    type: Type


Node: TypeAlias = Lit | Ref | Not | Logic | Compare | Arith | Neg | Between | InList | Like | IsNull | Func


@dataclass(frozen=True)
class Rule:
    """A checked rule: the text as written and its typed tree."""

    text: str
    root: Node
    scope_kind: str

    def names(self) -> set[str]:
        """Every field the rule reads, so callers know what data it depends on."""
        return {ref.field.name for ref in _refs(self.root)}

    def columns(self) -> set[str]:
        """Every row column the rule reads (a field's ``column``), so a caller can skip reading others."""
        return {ref.field.column for ref in _refs(self.root)}


def _refs(node: Node) -> list[Ref]:
    found = [node] if isinstance(node, Ref) else []
    for child in children(node):
        found += _refs(child)
    return found


def children(node: Node) -> tuple[Node, ...]:
    """Direct sub-expressions, for generic walks."""
    if isinstance(node, Not | Neg | IsNull | Like):
        return (node.operand,)
    if isinstance(node, Logic):
        return node.operands
    if isinstance(node, Compare | Arith):
        return (node.left, node.right)
    if isinstance(node, Between):
        return (node.operand, node.low, node.high)
    if isinstance(node, InList):
        return (node.operand, *node.items)
    if isinstance(node, Func):
        return node.args
    return ()
