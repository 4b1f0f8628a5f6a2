"""Load a spec: YAML -> shape checks (pydantic, section by section) + cross checks -> Spec.

All problems are collected before anything is refused, each with its path, YAML line and a hint.
"""

from __future__ import annotations

import hashlib
import json
import re
import types
import typing
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel, TypeAdapter, ValidationError

from accord.errors import Problem, SpecError
from accord.spec.checks import cross_check
from accord.spec.model import SECTIONS, Spec
from accord.spec.rules import suggest
from accord.spec.source import Source, join_path, load_file, load_text

_ADAPTERS: dict[str, TypeAdapter[Any]] = {name: TypeAdapter(tp) for name, tp in SECTIONS.items()}


def load_spec(path: str | Path) -> Spec:
    """Read and validate a spec file; raise SpecError listing every problem."""
    return validate(load_file(Path(path)))


def parse_spec(text: str, file: str | None = None) -> Spec:
    """Validate spec text (the API's proposed specs, tests)."""
    return validate(load_text(text, file))


def validate(source: Source) -> Spec:
    problems = check(source)
    if problems:
        raise SpecError(problems, source.file)
    return Spec.model_validate(source.data)


def check(source: Source) -> list[Problem]:
    """Every problem in a parsed spec, in file order; empty when the spec is usable."""
    data = source.data
    if not isinstance(data, dict):
        return [
            source.problem(
                "",
                "a spec is a mapping of sections",
                "start from `accord init` or examples/starter/accord.yaml",
            )
        ]
    problems: list[Problem] = []
    for key in data:
        if key not in SECTIONS:
            close = suggest(str(key), list(SECTIONS))
            problems.append(
                source.problem(
                    str(key),
                    f"unknown section '{key}'",
                    f"did you mean '{close}'?" if close else f"sections: {', '.join(SECTIONS)}",
                    key=True,
                )
            )
    for name, adapter in _ADAPTERS.items():
        if name not in data:
            if Spec.model_fields[name].is_required():
                problems.append(
                    source.problem("", f"missing section '{name}'", f"add '{name}:'; see docs/spec.md#{name}")
                )
            continue
        try:
            adapter.validate_python(data[name])
        except ValidationError as exc:
            problems.extend(_translate(exc, name, SECTIONS[name], source))
    problems.extend(cross_check(source))
    unique: dict[tuple[str, str], Problem] = {}
    for p in problems:
        unique.setdefault((p.path, p.message), p)
    return sorted(unique.values(), key=lambda p: (p.line or 0, p.column or 0, p.path))


def spec_hash(spec: Spec) -> str:
    """A version id that changes exactly when the agreement's meaning changes (not its comments)."""
    canonical = json.dumps(spec.model_dump(mode="json", by_alias=True), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


# ---- pydantic errors in the spec's own words ------------------------------------------------------


def _translate(exc: ValidationError, section: str, annotation: Any, source: Source) -> list[Problem]:
    out: list[Problem] = []
    for err in exc.errors(include_url=False):
        loc = [section, *(x for x in err["loc"] if not _is_union_tag(x))]
        path = ""
        for part in loc:
            path = join_path(path, part)
        kind = err["type"]
        message = str(err["msg"])
        hint: str | None = None
        if kind == "extra_forbidden":
            known = _fields_at(annotation, list(err["loc"])[:-1])
            name = str(loc[-1])
            close = suggest(name, known) if known else None
            out.append(
                source.problem(
                    path,
                    f"unknown key '{name}'",
                    f"did you mean '{close}'?"
                    if close
                    else (f"known keys: {', '.join(known)}" if known else None),
                    key=True,
                )
            )
            continue
        if kind == "missing":
            message = "required, but missing"
            hint = f"add '{loc[-1]}:'"
        elif kind == "literal_error":
            got = err.get("input")
            expected = re.findall(r"'([^']*)'", str(err.get("ctx", {}).get("expected", "")))
            close = suggest(str(got), expected) if expected else None
            message = f"'{got}' is not one of: {', '.join(expected)}"
            hint = f"did you mean '{close}'?" if close else None
        elif kind == "string_pattern_mismatch":
            message = f"'{err.get('input')}' is not a valid id"
            hint = "ids use lower-case letters, digits and _ and start with a letter"
        elif kind in ("value_error", "assertion_error"):
            message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
        elif kind == "too_short":
            message = message.replace("List should have at least", "needs at least").replace(
                "Dictionary should have at least", "needs at least"
            )
        out.append(source.problem(path, message, hint))
    return out


def _is_union_tag(part: Any) -> bool:
    """Pydantic inserts the union member's name into locations; users never wrote it."""
    return isinstance(part, str) and (
        part.startswith(("function-", "lax-", "strict-", "json-"))
        or part in {"timedelta", "date", "str", "int", "float", "bool", "list[str]", "none", "Absence"}
        or bool(re.match(r"^[A-Z][A-Za-z]+$", part))
    )


def _fields_at(annotation: Any, loc: list[Any]) -> list[str]:
    """Field names of the model found by following a pydantic location from an annotation."""
    current = annotation
    for part in loc:
        model = _model_of(current)
        if model is not None and isinstance(part, str) and part in _names(model):
            current = _field_annotation(model, part)
            continue
        origin = get_origin(current)
        args = [a for a in get_args(current) if a is not type(None)]
        if origin in (list, tuple) and args:
            current = args[0]
        elif origin is dict and len(args) == 2:
            current = args[1]
        elif _model_of(current) is None and args:
            current = next((a for a in args if _model_of(a) is not None or get_origin(a)), args[0])
    model = _model_of(current)
    return _names(model) if model is not None else []


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = get_origin(annotation)
    if origin in (typing.Union, types.UnionType) or origin is typing.Annotated:
        for arg in get_args(annotation):
            found = _model_of(arg)
            if found is not None:
                return found
    return None


def _names(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


def _field_annotation(model: type[BaseModel], name: str) -> Any:
    for field_name, info in model.model_fields.items():
        if name in (field_name, info.alias):
            return info.annotation
    return None


__all__ = ["check", "load_spec", "parse_spec", "spec_hash", "validate"]
