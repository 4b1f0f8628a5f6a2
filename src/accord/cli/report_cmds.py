"""`accord report NAME`: any report as Rich tables, JSON, CSV or Markdown."""

from __future__ import annotations

import sys
import textwrap
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from accord import service
from accord.cli.app import WorkspaceOpt, app, handled, out, parse_day
from accord.errors import AccordError
from accord.files import check_writable, write_text
from accord.reports.base import Filters, Report, fmt
from accord.reports.params import check_day
from accord.reports.registry import REPORTS


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    md = "md"
    html = "html"


def _day(text: str | None, flag: str, zone: ZoneInfo, *, end: bool = False) -> int | None:
    """A calendar day in the workspace's time zone; --to is inclusive, so it ends at the next midnight."""
    day = parse_day(text, flag)
    if day is None:
        return None
    check_day(day, flag)
    if end:
        day += timedelta(days=1)
    return int(datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC).timestamp())


def render(report: Report) -> None:
    when = datetime.fromtimestamp(report.as_of, UTC).strftime("%Y-%m-%d %H:%M UTC")
    out.print(f"[bold]{report.title}[/bold]  as of {when}")
    active = {k: v for k, v in report.filters.describe().items() if v is not None}
    if active:
        out.print("filters: " + ", ".join(f"{k} {v}" for k, v in active.items()))
    for s in report.sections:
        table = Table(title=s.title, title_justify="left", title_style="bold")
        for c in s.columns:
            table.add_column(c.label, justify="left" if c.kind in ("text", "date", "flag") else "right")
        for row in s.rows:
            table.add_row(*(fmt(v, c.kind, report.currency) for c, v in zip(s.columns, row, strict=True)))
        out.print(table if s.rows else f"[bold]{s.title}[/bold]\n  (none)")
        for flag in s.flags:
            out.print(f"  [red]flag:[/red] {flag}", soft_wrap=True)
        for note in s.notes:
            out.print(f"  [dim]{note}[/dim]", soft_wrap=True)


# each name at the margin and its summary wrapped under itself: Typer strips an indentation every line
# shares, and the terminal would wrap a long line back to the margin
_NAMES = "\n".join(
    textwrap.fill(d.summary, 78, initial_indent=f"{name:<16} ", subsequent_indent=" " * 17)
    for name, d in REPORTS.items()
)


@app.command(help=f"Run one report of the agreement.\n\nReports:\n\n{_NAMES}")
@handled
def report(
    name: Annotated[str, typer.Argument(help="Report name (see the list above).")],
    since: Annotated[str | None, typer.Option("--from", help="First day of the period (YYYY-MM-DD).")] = None,
    until: Annotated[str | None, typer.Option("--to", help="Last day of the period, inclusive.")] = None,
    segment: Annotated[str | None, typer.Option(help="Only this account segment.")] = None,
    team: Annotated[str | None, typer.Option(help="Only this team (or manager) of the owner.")] = None,
    source: Annotated[str | None, typer.Option(help="Only this lead source.")] = None,
    by: Annotated[str | None, typer.Option(help="Group by: source, segment, tier, team, owner...")] = None,
    from_stage: Annotated[str | None, typer.Option(help="funnel: first stage (id or name).")] = None,
    to_stage: Annotated[str | None, typer.Option(help="funnel: last stage (id or name).")] = None,
    horizon: Annotated[
        float | None, typer.Option(help="funnel, tiers: days allowed to convert (default: no limit).")
    ] = None,
    threshold: Annotated[
        float | None, typer.Option(help="pipeline: deal amount walked in the review (default: the spec's).")
    ] = None,
    window: Annotated[
        float | None, typer.Option(help="attribution: days before opportunity creation a touch counts.")
    ] = None,
    campaign: Annotated[str | None, typer.Option(help="campaigns: only this campaign id.")] = None,
    answers: Annotated[
        Path | None, typer.Option(help="diagnostic: YAML or JSON file of answers (q1: 2, q2: 1, ...).")
    ] = None,
    interactive: Annotated[bool, typer.Option(help="diagnostic: ask the 10 questions here.")] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of the terminal.")
    ] = None,
    format: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
    workspace: WorkspaceOpt = None,
) -> None:
    ws = service.locate(workspace)
    if output is not None:  # before the report's seconds of work, not after
        check_writable(output, "--output", example=f"{name}.{'csv' if format == Format.table else format}")
    zone = ZoneInfo(ws.spec.workspace.timezone)
    filters = Filters(_day(since, "--from", zone), _day(until, "--to", zone, end=True), segment, team, source)
    if filters.since is not None and filters.until is not None and filters.until <= filters.since:
        raise AccordError("--to is before --from", hint="the period runs from --from to --to, both included")
    given: dict[int, int] | None = None
    if interactive:
        service.check_filters(ws, filters)  # before the questions, not after
    if answers is not None or interactive:
        from accord.reports.questionnaire import ask, load_answers

        given = load_answers(answers) if answers is not None else ask(out)
    result = service.report(
        ws, name, filters, by=by, from_stage=from_stage, to_stage=to_stage, horizon_days=horizon,
        threshold=threshold, window_days=window, campaign=campaign, answers=given,
    )  # fmt: skip
    text = {
        Format.json: result.to_json,
        Format.csv: result.to_csv,
        Format.md: result.to_markdown,
        Format.html: result.to_html,
    }.get(format)
    if text is None:
        if output is not None:
            raise AccordError("--output needs a file format", hint="add --format md, json or csv")
        render(result)
        return
    if output is not None:
        write_text(output, text() + ("\n" if format == Format.json else ""), "--output")
        out.print(f"wrote {output}")
    else:
        sys.stdout.write(text() + ("\n" if format == Format.json else ""))


@app.command()
@handled
def sign(
    person: Annotated[str, typer.Argument(help="Person id of a governance owner.")],
    now: Annotated[
        str | None, typer.Option("--now", help="Sign as of this instant (ISO) (default: now).")
    ] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Sign the agreement as it stands: each governance owner signs each version once.

    The signatures appear under "Sign-offs" in `accord report agreement`; a changed spec version needs
    new signatures.
    """
    from accord.cli.derive_cmds import parse_instant

    ws = service.locate(workspace)
    signature = service.sign_agreement(ws, person, now=parse_instant(now, "--now"))
    when = signature.signed_at.strftime("%Y-%m-%d %H:%M UTC")
    if signature.new:
        out.print(f"[green]signed[/green] version {signature.spec_version} as {person} at {when}")
    else:
        out.print(f"{person} already signed version {signature.spec_version} (at {when}); nothing written")
    missing = [p for p in ws.spec.governance.owners if p != person]
    if missing:
        out.print("also needed: " + ", ".join(missing) + " (each runs `accord sign`)")
