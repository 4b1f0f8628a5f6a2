"""YAML in, plain data out, with the line of every key and value kept for error messages.

The loader follows YAML 1.2 where 1.1 surprises people writing an agreement: ``on``, ``yes`` and
``no`` stay strings (``on: rejected`` is a regression trigger, not ``True: rejected``), and ``12:30``
is not a base-60 number. Duplicate keys are reported instead of silently keeping the last one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from accord.errors import Problem, SpecError


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans and no sexagesimal numbers."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in {
        "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"}]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}  # fmt: skip
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?(?:0|[1-9][0-9_]*)|0x[0-9a-fA-F]+|0o[0-7]+)$"),
    list("-+0123456789"),
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:[0-9][0-9_]*)?\.[0-9]+(?:[eE][-+]?[0-9]+)?|[-+]?[0-9]+[eE][-+]?[0-9]+"
               r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."),
)  # fmt: skip

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def join_path(parent: str, key: object) -> str:
    """Paths read like the spec: ``stages[3].entry``, ``calendars.us_east.hours["mon-fri"]``."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    text = str(key)
    if _IDENT.match(text):
        return f"{parent}.{text}" if parent else text
    return f'{parent}["{text}"]'


class _Composer(yaml.CSafeLoader):
    """The same rules over libyaml's parser: composing the starter spec takes 4 ms, not 70. A text
    it refuses is parsed again by the pure-Python one, whose messages and lines the docs show."""


_Composer.yaml_implicit_resolvers = _Loader.yaml_implicit_resolvers


@dataclass
class Source:
    """A parsed spec document: its data and where each path sits in the file."""

    data: Any
    file: str | None = None
    text: str = ""
    positions: dict[str, tuple[int, int]] = field(default_factory=dict)
    key_positions: dict[str, tuple[int, int]] = field(default_factory=dict)

    def locate(self, path: str, *, key: bool = False) -> tuple[int | None, int | None]:
        """Line and column of a path, falling back to the nearest ancestor that has one."""
        table = self.key_positions if key else self.positions
        probe = path
        while True:
            if probe in table:
                return table[probe]
            if key and probe in self.positions:
                return self.positions[probe]
            parent = _parent(probe)
            if parent == probe:
                return (None, None)
            probe = parent
            key = False
            table = self.positions

    def problem(self, path: str, message: str, hint: str | None = None, *, key: bool = False) -> Problem:
        line, column = self.locate(path, key=key)
        return Problem(path=path, message=message, hint=hint, line=line, column=column)


def _parent(path: str) -> str:
    if path.endswith("]"):
        return path[: path.rindex("[")]
    if "." in path:
        return path[: path.rindex(".")]
    return ""


def load_text(text: str, file: str | None = None) -> Source:
    """Parse YAML text into a Source; a syntax error becomes a SpecError with its line."""
    source = Source(data=None, file=file, text=text)
    problems: list[Problem] = []
    try:
        try:
            node = yaml.compose(text, Loader=_Composer)
        except yaml.YAMLError:  # the pure-Python parser's message and line, as the docs show them
            node = yaml.compose(text, Loader=_Loader)
        # a tag the safe loader cannot build (`!!python/object`) fails here, also a YAML error
        walk = _Walk(_Loader(text))
        source.data = {} if node is None else _build(node, "", source, problems, walk)
    except _Unbuildable as exc:
        raise SpecError([Problem("", str(exc), exc.hint, exc.line, None)], file) from None
    except RecursionError:
        raise SpecError(
            [Problem("", "nested too deeply to read", "a spec needs a few levels of nesting, not hundreds")],
            file,
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        column = mark.column + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        raise SpecError(
            [
                Problem(
                    "",
                    f"not valid YAML: {reason}",
                    "check indentation and quoting near this line",
                    line,
                    column,
                )
            ],
            file,
        ) from None
    if problems:
        raise SpecError(problems, file)
    return source


def load_file(path: Path) -> Source:
    """Read a spec file; a missing or unreadable file is reported with what to do."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(
            [Problem("", "file not found", "create one with `accord init DIR` or pass the right path")],
            str(path),
        ) from None
    except UnicodeDecodeError as exc:
        raise SpecError(
            [Problem("", f"not UTF-8 text (byte {exc.start})", "save the file as UTF-8")], str(path)
        ) from None
    return load_text(text, str(path))


MAX_VALUES = 100_000
"""Values a spec may expand to. A real spec has a few thousand; aliases can make a few hundred bytes
expand to billions (each alias of an alias repeats the whole), which took the server 40 s of CPU."""


class _Unbuildable(Exception):
    def __init__(self, message: str, hint: str, line: int | None) -> None:
        super().__init__(message)
        self.hint, self.line = hint, line


@dataclass
class _Walk:
    """The constructor, the values built so far and the nodes being built (an alias inside itself)."""

    ctor: yaml.SafeLoader
    values: int = 0
    open: set[int] = field(default_factory=set)


def _build(node: yaml.Node, path: str, source: Source, problems: list[Problem], walk: _Walk) -> Any:
    walk.values += 1
    line = node.start_mark.line + 1
    if walk.values > MAX_VALUES:
        raise _Unbuildable(
            f"the spec expands to more than {MAX_VALUES:,} values",
            "aliases (*name) that repeat aliases multiply: write the values out instead",
            line,
        )
    if id(node) in walk.open:
        raise _Unbuildable(
            "an alias refers to the value it is inside", "remove the alias or its anchor", line
        )
    walk.open.add(id(node))
    try:
        return _built(node, path, source, problems, walk)
    finally:
        walk.open.discard(id(node))


def _built(node: yaml.Node, path: str, source: Source, problems: list[Problem], walk: _Walk) -> Any:
    ctor = walk.ctor
    source.positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        ctor.flatten_mapping(node)
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = ctor.construct_object(key_node, deep=True)
            if isinstance(key, list | dict):
                problems.append(
                    Problem(
                        path,
                        "a key must be a plain name",
                        None,
                        key_node.start_mark.line + 1,
                        key_node.start_mark.column + 1,
                    )
                )
                continue
            child = join_path(path, key)
            if key in out:
                first = source.key_positions.get(child, (None, None))[0]
                problems.append(
                    Problem(
                        child,
                        f"'{key}' is given twice (first on line {first})",
                        "keep one; YAML would silently use the last",
                        key_node.start_mark.line + 1,
                        key_node.start_mark.column + 1,
                    )
                )
                continue
            source.key_positions[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            out[key] = _build(value_node, child, source, problems, walk)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, join_path(path, i), source, problems, walk) for i, item in enumerate(node.value)]
    return ctor.construct_object(node, deep=True)
