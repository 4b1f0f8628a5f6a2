"""Watch rule alerts on the command line: list them, acknowledge one with a note."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape
from rich.table import Table

from accord import service
from accord.cli.app import WorkspaceOpt, app, handled, out
from accord.cli.derive_cmds import parse_instant
from accord.watch.rules import PREFIX


def _local(ts: int | None, zone: ZoneInfo) -> str:
    return "" if ts is None else datetime.fromtimestamp(ts, UTC).astimezone(zone).strftime("%a %d %b %H:%M")


@app.command()
@handled
def alerts(
    all_: Annotated[
        bool, typer.Option("--all", help="Acknowledged alerts too (default: open ones).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON, with the evidence.")] = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Watch rule alerts (red flags of the agreement), newest first, until acknowledged with a note.

    The tick fires them (`accord tick`); acknowledge one with `accord ack ID --by PERSON --note "..."`.
    """
    ws = service.locate(workspace)
    found = service.list_alerts(ws, open_only=not all_)
    if as_json:
        out.print_json(json.dumps([a.as_dict() for a in found]))
        return
    zone = ZoneInfo(ws.spec.workspace.timezone)
    table = Table(title=f"{len(found)} {'alerts' if all_ else 'open alerts'}", title_justify="left")
    for col in ("id", "fired", "owner", "what", "acknowledged"):
        table.add_column(col, no_wrap=col in ("id", "fired"))
    for a in found:
        ack = "" if a.open else f"{a.acknowledged_by}, {_local(a.acknowledged_at, zone)}: {a.note}"
        table.add_row(a.alert_id.removeprefix(PREFIX), _local(a.at, zone), a.owner, a.message, ack)
    out.print(table)
    if not found:
        out.print("[dim]nothing to look at: the watch rules fire on `accord tick`[/dim]")


@app.command()
@handled
def ack(
    alert_id: Annotated[str, typer.Argument(help="Alert id as `accord alerts` lists it.")],
    by: Annotated[str, typer.Option("--by", help="Person id of who acknowledges (owner, manager, leader).")],
    note: Annotated[str, typer.Option("--note", help="What was decided; required.")],
    now: Annotated[
        str | None, typer.Option("--now", help="Record as of this instant (ISO, UTC) (default: now).")
    ] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Acknowledge an alert with a note: it leaves the dashboard banner and keeps its evidence."""
    ws = service.locate(workspace)
    done = service.acknowledge_alert(ws, alert_id, by, note, now=parse_instant(now, "--now"))
    out.print(
        "[green]acknowledged[/green] " + escape(f"{done.alert_id.removeprefix(PREFIX)} by {by}: {done.note}")
    )
