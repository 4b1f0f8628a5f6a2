"""Refusals and mistakes as the dashboard's reader should read them.

The service layer is shared with the CLI and the API, so its messages name command-line options
(``pass --reason``), commands (`accord leads`) and person ids; those words are right in a terminal and
wrong on a page, where the same thing is done with a form field or a link. The words are translated
here, at the dashboard's edge, and nowhere else: the CLI and the API keep theirs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from accord.reports.params import reworded_flags

_Rule = tuple[re.Pattern[str], Callable[[re.Match[str], Any], str]]

OPTION_LABELS = {
    "by": "By",
    "campaign": "Campaign",
    "from_stage": "From stage",
    "to_stage": "To stage",
    "horizon": "Horizon (days)",
    "horizon_days": "Horizon (days)",
    "threshold": "Threshold",
    "window": "Window (days)",
    "window_days": "Window (days)",
}
"""A report option as its field on the report page is labelled (the CLI's ``--by`` is "By" there)."""


def _name(spec: Any, person: str) -> str:
    people: Mapping[str, Any] = spec.people
    return str(people[person].name) if person in people else person


def _reasons(spec: Any) -> str:
    return ", ".join(r.label for r in spec.reason_codes)


_OWNER_REFUSAL = re.compile(
    r"^(?P<person>\S+) cannot (?P<what>.+?) (?P<contact>\S+): only (?P<owner>\S+) \(the owner\)"
    r"(?: or (?P<manager>\S+) \(their manager\))? can$"
)
_HINTS: tuple[_Rule, ...] = (
    (re.compile(r"^pass --reason with one of: .*$"), lambda _m, spec: f"choose a reason: {_reasons(spec)}"),
    (re.compile(r"^pass --on YYYY-MM-DD$"), lambda _m, _spec: "pick the day the lead comes back"),
    (
        re.compile(
            r"^(?:list leads with `accord leads`|check the id with (?:GET /api/v1/leads|`accord leads`))"
        ),
        lambda _m, _spec: "check the link, or open the lead from a queue",
    ),
    (re.compile(r"^say what was decided: --note .*$"), lambda _m, _spec: "say what was decided in the note"),
)


def for_page(message: str, hint: str | None, spec: Any) -> tuple[str, str | None]:
    """(message, hint) in the dashboard's words; anything not recognised is left as the service said it."""
    refused = _OWNER_REFUSAL.match(message)
    if refused:
        owner, manager = _name(spec, refused["owner"]), refused["manager"]
        who = f"{owner}, its owner," + (f" or {_name(spec, manager)}, their manager," if manager else "")
        said = f"Only {who} can {refused['what']} {refused['contact']}."
        if hint and hint.startswith("ask the owner"):
            hint = f"ask {owner}" + hint.removeprefix("ask the owner")
        return said, hint
    if hint:
        for pattern, say in _HINTS:
            found = pattern.match(hint)
            if found:
                return _labelled(message), say(found, spec)
    return _labelled(message), None if hint is None else _labelled(hint)


def _labelled(text: str) -> str:
    """A report option's flag (``--from-stage``) as its field on the report page is labelled ("From
    stage"); any other flag is left as it was."""
    return reworded_flags(text, lambda name: OPTION_LABELS.get(name, "--" + name.replace("_", "-")))
