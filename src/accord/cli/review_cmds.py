"""`accord review`: the revenue council's pack for a month or a quarter."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from accord import service
from accord.cli.app import WorkspaceOpt, app, handled, out
from accord.errors import AccordError
from accord.files import check_writable, write_text


class PackFormat(StrEnum):
    text = "text"
    md = "md"
    html = "html"
    json = "json"


@app.command()
@handled
def review(
    period: Annotated[
        str | None,
        typer.Argument(
            metavar="[PERIOD]",
            help="YYYY-MM or YYYY-Qn (default: the last complete month, or quarter with --quarter).",
            show_default=False,
        ),
    ] = None,
    month: Annotated[bool, typer.Option("--month", help="Review a calendar month (the default).")] = False,
    quarter: Annotated[bool, typer.Option("--quarter", help="Review a calendar quarter.")] = False,
    format: Annotated[PackFormat, typer.Option("--format", "-f", help="Output format.")] = PackFormat.text,
    output: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write to this file instead of the terminal.")
    ] = None,
    horizon: Annotated[
        float | None,
        typer.Option(
            help="Days an MQL has to reach an opportunity before it is a false positive (default: 90)."
        ),
    ] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """The revenue council's agenda for a month or a quarter, with time boxes.

    Rejection reasons, false positives, tier performance, SLA misses, stalled-deal patterns and the
    definitions nobody changed in 90 days, each beside the period before and with what to discuss;
    then the decisions to take, with owners. `accord review --month 2026-09`, `accord review --quarter`
    (the last complete quarter), `accord review 2026-Q3`. Periods are whole months or quarters in the
    workspace's time zone; "now" is the last derive, as for every report.
    """
    if month and quarter:
        raise AccordError("give --month or --quarter, not both", hint="a pack covers one period")
    wanted_month, wanted_quarter = _period(period or "", month, quarter)
    ws = service.locate(workspace)
    if output is not None:
        check_writable(output, "--out", example="review.md")
    pack = service.review(ws, month=wanted_month, quarter=wanted_quarter, horizon_days=horizon)
    if format == PackFormat.json:
        text = pack.to_json() + "\n"
    elif format == PackFormat.md:
        text = pack.to_markdown()
    elif format == PackFormat.html:
        text = pack.to_html()
    else:
        text = pack.to_text()
    if output is not None:
        write_text(output, text, "--out")
        out.print(f"wrote {output} ({pack.title}, {pack.minutes} minutes)")
    else:
        sys.stdout.write(text)


def _period(text: str, month: bool, quarter: bool) -> tuple[str | None, str | None]:
    """(month, quarter) for the service: "" asks for the last complete one; the kind follows the text."""
    is_quarter = "q" in text.lower()
    if quarter or (text and is_quarter and not month):
        return None, text
    return text, None
