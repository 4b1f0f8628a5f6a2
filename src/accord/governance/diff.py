"""What a proposal changes, in the words the owners argue in: stages, rules, weights, thresholds,
SLAs, routing.

A line diff of two YAML files shows moved comments and reflowed lists; the owners need to know that
Tier 1 now asks for 35 intent points instead of 25. The two specs are compared as validated models
(so formatting and comments never show), lists of named things are matched by their id or name (so a
reordered list is one "order" change, not a cascade), and each changed leaf is classified by where it
sits. A rule whose text differs only in its numbers is a threshold change and says which numbers.
Nothing is hidden: a change no class claims is reported as "other" with its path.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from accord.spec.model import Spec

KINDS = ("stage", "rule", "threshold", "weight", "sla", "routing", "governance", "other")
"""Change kinds, in the order a change log lists them."""

_MISSING: Any = object()
_TOKEN = re.compile(r"'(?:[^']|'')*'|\d+(?:\.\d+)?|[A-Za-z_][\w.]*|[<>!=]=|<>|\S")


@dataclass(frozen=True)
class Change:
    kind: str  # one of KINDS
    path: str  # where in the spec, e.g. "tiers[Tier 1].when"
    summary: str  # one line a leader reads
    before: Any  # None when added
    after: Any  # None when removed


@dataclass(frozen=True)
class SpecDiff:
    changes: tuple[Change, ...]

    def kinds(self) -> list[str]:
        present = {c.kind for c in self.changes}
        return [k for k in KINDS if k in present]

    def of(self, kind: str) -> list[Change]:
        return [c for c in self.changes if c.kind == kind]

    def summary(self) -> str:
        """'2 threshold, 1 sla' — how a list of proposals says what each touches."""
        if not self.changes:
            return "no change in meaning"
        return ", ".join(f"{len(self.of(k))} {k}" for k in self.kinds())

    def to_dict(self) -> list[dict[str, Any]]:
        return [asdict(c) for c in self.changes]

    @classmethod
    def from_dict(cls, data: list[dict[str, Any]] | None) -> SpecDiff:
        return cls(tuple(Change(**c) for c in data or []))


def diff_specs(old: Spec, new: Spec) -> SpecDiff:
    """Every difference in meaning between two agreements, classified, in spec order."""
    before = old.model_dump(mode="json", by_alias=True)
    after = new.model_dump(mode="json", by_alias=True)
    before.pop("version", None)  # the label is not the meaning: spec_hash still tells versions apart
    after.pop("version", None)
    changes = [_classify(path, a, b) for path, a, b in _leaves(before, after, ())]
    return SpecDiff(tuple(changes))


# ---- walking two dumps ------------------------------------------------------------------------------


def _item_key(items: list[Any]) -> str | None:
    """The field that names the items of a list (id, name or label), when every item has a distinct one."""
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    for key in ("id", "name", "label"):
        values = [i.get(key) for i in items]
        if all(isinstance(v, str) for v in values):
            return key
    return None


def _leaves(old: Any, new: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any, Any]]:
    if old is not _MISSING and new is not _MISSING and old == new:
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for k in [*old, *(k for k in new if k not in old)]:
            yield from _leaves(old.get(k, _MISSING), new.get(k, _MISSING), (*path, str(k)))
        return
    if isinstance(old, list) and isinstance(new, list):
        key = _item_key(old + new)
        if key is not None:
            mine = {i[key]: i for i in old}
            theirs = {i[key]: i for i in new}
            if len(mine) == len(old) and len(theirs) == len(new):
                for name in [*mine, *(n for n in theirs if n not in mine)]:
                    yield from _leaves(
                        mine.get(name, _MISSING), theirs.get(name, _MISSING), (*path, f"[{name}]")
                    )
                common = [n for n in mine if n in theirs]
                reordered = [n for n in theirs if n in mine]
                if common != reordered:
                    yield (*path, "order"), common, reordered
                return
    yield path, old, new


# ---- classifying ------------------------------------------------------------------------------------


def _render(path: tuple[str, ...]) -> str:
    out = ""
    for part in path:
        out += part if part.startswith("[") or not out else f".{part}"
    return out


def _show(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    text = f'"{text}"' if isinstance(value, str) else text
    return text if len(text) <= 90 else text[:87] + "..."


def thresholds(old: str, new: str) -> list[tuple[str, str, str]]:
    """(context, old number, new number) when two rules differ only in their numbers; else empty."""
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    if len(a) != len(b):
        return []
    out = []
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        numbers = x[0].isdigit() and y[0].isdigit()
        if x == y:
            continue
        if not numbers:
            return []
        out.append((" ".join(b[max(0, i - 2) : i]), x, y))
    return out


def _classify(path: tuple[str, ...], old: Any, new: Any) -> Change:
    where = _render(path)
    before = None if old is _MISSING else old
    after = None if new is _MISSING else new
    if old is _MISSING:
        summary = f"{where} added: {_show(new)}"
    elif new is _MISSING:
        summary = f"{where} removed (was {_show(old)})"
    elif path[-1] == "order":
        summary = f"{_render(path[:-1])} reordered: {', '.join(old)} -> {', '.join(new)}"
    else:
        summary = f"{where}: {_show(old)} -> {_show(new)}"
    kind = _kind(path)
    if kind in ("rule", "stage", "weight", "routing") and isinstance(old, str) and isinstance(new, str):
        moved = thresholds(old, new) if path[-1] in ("when", "entry", "where") else []
        if moved:
            kind = "threshold"
            summary = f"{where}: " + "; ".join(f"{ctx} {a} -> {b}".strip() for ctx, a, b in moved)
    return Change(kind, where, summary, before, after)


def _kind(path: tuple[str, ...]) -> str:
    head = path[0] if path else ""
    rest = path[1:]
    if head == "journey":
        if path[-1] == "entry":
            return "rule"
        return "stage" if not rest or rest[0] in ("stages", "regressions", "track_accounts") else "other"
    if head == "tiers":
        return "rule"
    if head == "features":
        return "rule"
    if head == "scoring":
        leaf = path[-1]
        if leaf in ("when", "where"):
            return "rule"
        if "require" in path:
            return "threshold"
        return "weight"
    if head == "slas" or (head == "motions" and rest[-1:] == ("slas",)):
        return "sla"
    if head == "motions":
        return "rule"
    if head == "routing" or (
        head == "teams" and rest[-1:] and rest[-1] in ("routing", "capacity", "members")
    ):
        return "routing"
    if head == "people" and rest[-1:] and rest[-1] in ("capacity", "active", "out_of_office"):
        return "routing"
    if head == "governance":
        return "governance"
    return "other"
