"""`accord writeback`: the agreement's view of each contact, as files a CRM imports or webhook batches."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from accord import service
from accord.cli.app import WorkspaceOpt, app, handled, out
from accord.cli.derive_cmds import parse_instant


@app.command()
@handled
def writeback(
    target: Annotated[str, typer.Argument(help="hubspot, salesforce or webhook.")],
    all_rows: Annotated[
        bool, typer.Option("--all", help="Every contact, not only those changed since the last export.")
    ] = False,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Folder for the files (default: <workspace>/exports).")
    ] = None,
    webhook: Annotated[
        str | None, typer.Option("--webhook", help="For target webhook: the id of a webhook in the spec.")
    ] = None,
    now: Annotated[
        str | None, typer.Option("--now", help="As of this instant (ISO, UTC) (default: now).")
    ] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Write back stage, score, tier, top drivers, owner and next step for each contact.

    hubspot and salesforce write an import file (Salesforce also a Data Loader mapping); webhook POSTs
    signed batches to a sync service. Only rows changed since that target's last export are sent,
    unless --all. The column mapping is in docs/writeback.md. Derive first: rows come from the last
    derive and the handoffs as of now.
    """
    from accord.service.writeback import writeback as run_writeback  # httpx and targets: on use

    ws = service.locate(workspace)
    result = run_writeback(
        ws, target, all_rows=all_rows, out=out_dir, webhook=webhook, now=parse_instant(now, "--now")
    )
    if not result.rows:
        out.print(f"nothing to write back to {result.target}: all {result.unchanged} rows already sent")
        return
    out.print(
        f"[green]write-back[/green] {result.target}: {result.rows} rows"
        + (f" ({result.unchanged} unchanged left out)" if result.unchanged else "")
        + f", export {result.export_id}"
    )
    for path in result.files:
        out.print(f"  {path}", soft_wrap=True)
    if result.batches:
        out.print(f"  {result.batches} signed batches POSTed")
    if result.failed:
        for failure in result.failed:
            out.print(f"  [red]failed[/red] {failure}")
        out.print("  nothing was marked as sent: run the same command again to retry")
        raise typer.Exit(1)
