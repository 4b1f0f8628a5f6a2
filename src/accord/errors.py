"""One error tree for everything a user can get wrong.

Adapters translate these at the edge: the CLI prints one line per problem with its location and exits 2,
the API answers problem+json. Lower-layer errors (DuckDB, pydantic, YAML) never reach a user untranslated.
"""

from __future__ import annotations

from dataclasses import dataclass


class AccordError(Exception):
    """Root of every error Accord raises on purpose; anything else is a bug."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def lines(self) -> list[str]:
        """The text shown to a user: the message, then the hint if any."""
        out = [self.message]
        if self.hint:
            out.append(f"  hint: {self.hint}")
        return out


@dataclass(frozen=True)
class Problem:
    """One mistake in a spec, located precisely enough to fix without searching."""

    path: str
    message: str
    hint: str | None = None
    line: int | None = None
    column: int | None = None

    def location(self, file: str | None) -> str:
        where = file or "<spec>"
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return where

    def render(self, file: str | None = None) -> str:
        text = f"{self.location(file)}: {self.path or '(top)'}: {self.message}"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text


class SpecError(AccordError):
    """A spec that cannot be used; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem], file: str | None = None) -> None:
        n = len(problems)
        super().__init__(f"{file or 'spec'}: {n} problem{'s' if n != 1 else ''}")
        self.problems = problems
        self.file = file

    def lines(self) -> list[str]:
        return [p.render(self.file) for p in self.problems]


class RuleError(AccordError):
    """A rule (SQL-syntax condition) that is malformed, unsafe or refers to unknown names."""


class LedgerError(AccordError):
    """The ledger cannot be opened, migrated or written as asked."""


class ImportFileError(AccordError):
    """A file that cannot be imported at all (as opposed to single bad rows, which are rejected)."""


class WorkspaceError(AccordError):
    """A workspace directory that is missing, incomplete or already exists."""


class ReportError(AccordError):
    """A report asked for with options it cannot honour (unknown stage, empty period...)."""


class GovernanceError(AccordError):
    """A change to the agreement asked for out of turn: unknown proposal, not an owner, stale base..."""
