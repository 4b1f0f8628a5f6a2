"""The Typer app, consoles and helpers every command module shares."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any, ParamSpec

import typer
from rich.console import Console
from rich.errors import MarkupError
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.text import Text

from accord import __version__
from accord.errors import AccordError

P = ParamSpec("P")

app = typer.Typer(
    name="accord",
    help="The Marketing and Sales agreement as code: validate it, feed it data, run it.\n\n"
    "Start with `accord demo` (a workspace with a generated B2B world) or `accord init DIR`.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    add_completion=False,
)
docs_app = typer.Typer(help="Generate reference documentation.", no_args_is_help=True)
app.add_typer(docs_app, name="docs", hidden=True)


class Printer(Console):
    """A console that prints text it cannot read as markup as it is, rather than failing.

    Names, notes and reasons come from users and CRMs, and the commands put them in styled lines and
    table cells: a closing tag such as ``[/b]`` in a contact's name or a retrospective's milestone made
    every later ``accord leads`` or ``accord proposals`` end in a traceback, the text being stored.
    Emoji codes are left alone too: ``acc:watch:...`` is an alert id, not a watch.
    """

    def render_str(self, text: str, **kwargs: Any) -> Text:
        try:
            return super().render_str(text, **kwargs)
        except MarkupError:
            return Text(text, style=kwargs.get("style") or "")


out = Printer(highlight=False, emoji=False)
err = Printer(stderr=True, highlight=False, emoji=False)

WorkspaceOpt = Annotated[
    Path | None,
    typer.Option(
        "--workspace", "-w", help="Workspace folder (default: $ACCORD_WORKSPACE or .)", show_default=False
    ),
]


def literal(paragraph: str) -> bool:
    """A help paragraph laid out by hand (the report list, examples), kept line for line."""
    return any(line[:1].isspace() or line.startswith("$ ") for line in paragraph.splitlines())


def reflow(text: str) -> str:
    """Help text with each prose paragraph on one line, for the terminal to wrap.

    Typer keeps the docstring's line breaks after the first paragraph, so a paragraph wrapped at 100
    columns in the source came out ragged in an 80-column terminal ("--memory-limit on a" alone on a
    line). A paragraph with an indented line or a ``$ `` command line (the report list, examples) is
    kept as written. Typer strips the indentation common to a paragraph, so such blocks must not
    start every line with spaces: examples start with ``$``.
    """
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(p if literal(p) else " ".join(p.split("\n")) for p in paragraphs)


def reflow_help(typer_app: typer.Typer) -> None:
    """Reflow the help of every command and group registered on ``typer_app`` (see :func:`reflow`);
    called once every command module has registered its commands."""
    for info in typer_app.registered_commands:
        text = info.help or inspect.getdoc(info.callback) or ""
        info.help = reflow(text) if text else None
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            reflow_help(group.typer_instance)


def report(exc: AccordError) -> None:
    for line in exc.lines():
        err.print(
            f"[red]error:[/red] {line}" if not line.startswith(" ") else line, markup=True, soft_wrap=True
        )


def parse_day(text: str | None, flag: str) -> date | None:
    """A --flag's YYYY-MM-DD value; a wrong one is an error naming the flag, not a traceback."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise AccordError(f"{flag} '{text}' is not a date", hint="write it as YYYY-MM-DD") from None


def handled(fn: Callable[P, None]) -> Callable[P, None]:
    """Turn AccordError into one line per problem and exit 2, in-process (tests) as from the shell."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            fn(*args, **kwargs)
        except AccordError as exc:
            report(exc)
            raise typer.Exit(exc.exit_code) from None

    return wrapper


def progress_bar(transient: bool = True) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=err,
        transient=transient,
        disable=not err.is_terminal,
    )


@contextmanager
def phases(title: str) -> Iterator[Any]:
    with progress_bar() as bar:
        task = bar.add_task(title, total=None)

        def say(phase: str) -> None:
            bar.update(task, description=f"{title}: {phase}")

        yield say


@app.callback(invoke_without_command=True)
def _root(version: Annotated[bool, typer.Option("--version", help="Show the version.")] = False) -> None:
    if version:
        out.print(f"accord {__version__}")
        raise typer.Exit()
