"""The alignment diagnostic's questionnaire: the ten questions, the six steps, the bands, the answers.

Leaders answer each question 0 (no), 1 (partly) or 2 (yes), from a file (``q1: 2`` ... or a list of
ten numbers; every problem is named in one error) or on the console, asked again on anything else.
:mod:`accord.reports.diagnostic` scores the answers and puts the data's own answers beside them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import yaml
from rich.console import Console
from rich.prompt import IntPrompt, InvalidResponse

from accord.errors import ReportError
from accord.spec.rules import suggest

MAX_TRIES = 5

STEPS: dict[int, str] = {
    1: "demand states with named owners",
    2: "a written, signed SLA",
    3: "one revenue plan",
    4: "shared pipeline reviews",
    5: "content mapped and tracked",
    6: "loss reviews and governance",
}
"""The six-step alignment model, in the order it is built."""


@dataclass(frozen=True)
class Question:
    number: int
    text: str
    step: int
    measurable: bool
    how: str  # how the data answers it, or why it cannot


QUESTIONS: tuple[Question, ...] = (
    Question(1, "Have both leaders signed one written definition of when a lead becomes an MQL and "
                "when Sales has accepted it?", 2, True,
             "the agreement's MQL and acceptance stages, and an agreement_signed event from every "
             "governance owner for the version in force"),
    Question(2, "Do reps make first contact within one business hour, and give their accept-or-reject "
                "verdict within 48 hours?", 2, True,
             "first-touch and disposition SLA compliance against the agreement's target"),
    Question(3, "Is there a single revenue plan that sets the pipeline and revenue numbers for "
                "Marketing and Sales alike?", 3, True,
             "the spec's revenue plan: a target, and quarter forecasts from both teams"),
    Question(4, "Is part of Marketing's pay tied to revenue it sources or influences, rather than to "
                "lead counts alone?", 3, False, "pay plans are not in the spec or the ledger"),
    Question(5, "Is each sales and marketing asset tagged with the journey stage and the buyer role "
                "it serves?", 5, True,
             "share of live content assets with a known stage and a known committee role"),
    Question(6, "Can you see which assets reps use in open deals, and do unused assets get retired by "
                "rule?", 5, True, "content-use events on opportunities, and the retire rule"),
    Question(7, "Every week, do both leaders go through each deal above an agreed size together?", 4,
             False, "who attends the review is not in the ledger"),
    Question(8, "When a deal stops moving, is one person answerable for it, with a next step and a date "
                "on it?", 4, True,
             "share of stalled open deals with an owner and a dated next action"),
    Question(9, "Once a quarter, do both teams study lost deals together and change the plan, process "
                "or content as a result?", 6, True,
             "proxy: share of recently lost deals that carry a loss reason"),
    Question(10, "Do both teams read their numbers from the same revenue dashboard, with no rival "
                 "spreadsheet or report?", 3, False, "which dashboards people use is not in the ledger"),
)  # fmt: skip

BANDS: tuple[tuple[int, str, int, str], ...] = (
    (
        16,
        "Largely aligned",
        6,
        "keep it that way: hold the governance cadence and the quarterly loss reviews",
    ),
    (10, "Ownership is only partly shared", 3, "build one revenue plan that both teams carry"),
    (5, "The handoff leaks", 2, "write the SLA at the MQL boundary and have both leaders sign it"),
    (0, "Misalignment is structural", 1, "start again from demand states, each with a named owner"),
)
"""(lowest total, band, step to fix first, what that means), highest band first."""

ANSWERS_HINT = (
    "write one line per question, q1: 2 ... q10: 0 (0 = no, 1 = partly, 2 = yes), "
    "or a list of 10 numbers; or answer here with --interactive"
)


def band(total: int) -> tuple[str, int, str]:
    """(band, step to fix first, advice) for a total of 0-20."""
    for low, name, step, advice in BANDS:
        if total >= low:
            return name, step, advice
    raise ValueError(f"a total of {total} is outside 0-20")


# ---- answers: from a file, or asked ----------------------------------------------------------------


def _number(key: object) -> int | None:
    if isinstance(key, bool):
        return None
    if isinstance(key, int):
        return key if 1 <= key <= 10 else None
    match = re.fullmatch(r"q?(\d{1,2})", str(key).strip().lower())
    if match and 1 <= int(match.group(1)) <= 10:
        return int(match.group(1))
    return None


def parse_answers(raw: object, source: str) -> dict[int, int]:
    """Answers from a mapping (q1: 2 ...) or a list of 10; every problem named in one error."""
    if isinstance(raw, list):
        if len(raw) != 10:
            raise ReportError(
                f"{source}: a list of answers needs 10 numbers, got {len(raw)}", hint=ANSWERS_HINT
            )
        items: list[tuple[str, int, object]] = [(f"q{i} (item {i})", i, v) for i, v in enumerate(raw, 1)]
        problems: list[str] = []
    elif isinstance(raw, Mapping):
        items, problems = [], []
        for key, value in raw.items():
            n = _number(key)
            if n is None:
                near = suggest(str(key), [f"q{i}" for i in range(1, 11)])
                problems.append(f"unknown key '{key}'" + (f" (did you mean '{near}'?)" if near else ""))
            else:
                items.append((str(key), n, value))
    else:
        raise ReportError(
            f"{source}: expected a mapping (q1: 2 ... q10: 0) or a list of 10 numbers", hint=ANSWERS_HINT
        )
    out: dict[int, int] = {}
    seen: set[int] = set()
    for label, n, value in items:
        if n in seen:
            problems.append(f"q{n} is given twice")
            continue
        seen.add(n)
        if isinstance(value, bool):
            problems.append(f"{label}: a yes/no value is not an answer (allowed: 0, 1 or 2)")
            continue
        if not isinstance(value, int) or value not in (0, 1, 2):
            problems.append(f"{label}: {value!r} is not an answer (allowed: 0, 1 or 2)")
            continue
        out[n] = value
    missing = [f"q{n}" for n in range(1, 11) if n not in seen]
    if missing:
        problems.append("missing " + ", ".join(missing))
    if problems:
        raise ReportError(f"{source}: " + "; ".join(problems), hint=ANSWERS_HINT)
    return out


def load_answers(path: Path) -> dict[int, int]:
    """The leaders' answers from a YAML or JSON file (JSON when the name ends in .json)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReportError(f"{path}: no such answers file", hint=ANSWERS_HINT) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportError(f"{path}: cannot read the answers file ({exc})", hint=ANSWERS_HINT) from None
    try:
        raw: Any = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise ReportError(
            f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})", hint=ANSWERS_HINT
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ReportError(f"{path}: not valid YAML{where}", hint=ANSWERS_HINT) from None
    if raw is None:
        raise ReportError(f"{path}: the answers file is empty", hint=ANSWERS_HINT)
    return parse_answers(raw, str(path))


class _AnswerPrompt(IntPrompt):
    """0, 1 or 2, asked again on anything else, a few times at most (input may be a pipe)."""

    validate_error_message = "[prompt.invalid]Answer 0 (no), 1 (partly) or 2 (yes)"
    illegal_choice_message = "[prompt.invalid]Answer 0 (no), 1 (partly) or 2 (yes)"
    failures = 0

    @classmethod
    def get_input(cls, console: Console, prompt: Any, password: bool, stream: TextIO | None = None) -> str:
        line = console.input(prompt, password=password, stream=stream)
        if stream is not None and line == "":
            raise EOFError  # a stream at its end reads "", which would otherwise be asked forever
        return line

    def on_validate_error(self, value: str, error: InvalidResponse) -> None:
        self.failures += 1
        if self.failures >= MAX_TRIES:
            raise EOFError
        super().on_validate_error(value, error)


def ask(console: Console, *, stream: TextIO | None = None) -> dict[int, int]:
    """Ask the ten questions on the console; re-asks on anything but 0, 1 or 2."""
    console.print("[bold]Alignment diagnostic[/bold]: answer 0 (no), 1 (partly) or 2 (yes).")
    answers: dict[int, int] = {}
    for q in QUESTIONS:
        console.print(f"\n[bold]Q{q.number}[/bold] [dim](step {q.step}: {STEPS[q.step]})[/dim]")
        prompt = _AnswerPrompt(q.text, console=console, choices=["0", "1", "2"])
        try:
            answers[q.number] = int(prompt(stream=stream))
        except EOFError:
            raise ReportError(
                f"no valid answer to Q{q.number}",
                hint="answer each question 0, 1 or 2, or pass --answers FILE",
            ) from None
    return answers
