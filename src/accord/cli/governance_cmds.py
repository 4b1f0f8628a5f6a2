"""Governed change: propose a new text of the agreement, see its diff and backtest, approve or reject
it, and read the change log."""

from __future__ import annotations

import json
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from accord.cli.app import WorkspaceOpt, app, handled, out, progress_bar
from accord.cli.derive_cmds import parse_instant
from accord.cli.report_cmds import render
from accord.errors import AccordError
from accord.reports.base import Report


class Format(StrEnum):
    text = "text"
    json = "json"
    md = "md"


FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format: text, json or md.")]
NowOpt = Annotated[
    str | None, typer.Option("--now", help="Act as of this instant (ISO, UTC) (default: now).", hidden=True)
]
AsOpt = Annotated[str, typer.Option("--as", help="Person id of the governance owner deciding.")]


def _show(report: Report, data: object, format: Format) -> None:
    if format == Format.json:
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    elif format == Format.md:
        sys.stdout.write(report.to_markdown() + "\n")
    else:
        render(report)


@app.command()
@handled
def propose(
    file: Annotated[Path, typer.Argument(help="The proposed agreement (a full accord.yaml).")],
    why: Annotated[str, typer.Option("--why", help="Why the agreement should change (required).")],
    author: Annotated[
        str | None,
        typer.Option("--as", help="Who proposes (default: $ACCORD_USER, else $USER).", show_default=False),
    ] = None,
    backtest: Annotated[
        bool, typer.Option("--backtest/--no-backtest", help="Re-derive history under both versions.")
    ] = True,
    format: FormatOpt = Format.text,
    now: NowOpt = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Propose a new text of the agreement: its semantic diff and a backtest beside the version in force.

    Nothing changes until every governance owner approves (`accord approve ID --as PERSON`).
    """
    from accord import service
    from accord.governance.views import proposal_report

    ws = service.locate(workspace)
    if not file.is_file():
        raise AccordError(
            f"no file {file}", hint="write the proposed agreement to a file, e.g. a copy of accord.yaml"
        )
    who = author or os.environ.get("ACCORD_USER") or os.environ.get("USER") or "unknown"
    with progress_bar() as bar:
        task = bar.add_task("backtest", total=1.0)
        proposal = service.propose_change(
            ws,
            file.read_text(encoding="utf-8"),
            why=why,
            author=who,
            now=parse_instant(now, "--now"),
            backtest=backtest,
            progress=lambda phase, f: bar.update(task, description=phase, completed=f),
            file=str(file),
        )
    _show(proposal_report(proposal), service.proposal_data(proposal), format)
    if format == Format.text:
        out.print(
            f"\nproposed as [bold]{proposal.id}[/bold]; needs the approval of "
            + ", ".join(proposal.owners)
            + f" (`accord approve {proposal.id} --as PERSON`)"
        )


@app.command()
@handled
def proposals(format: FormatOpt = Format.text, now: NowOpt = None, workspace: WorkspaceOpt = None) -> None:
    """Every proposal to change the agreement, with its state: open, activated, rejected or stale."""
    from accord import service

    ws = service.locate(workspace)
    found = service.list_proposals(ws, now=parse_instant(now, "--now"))
    if format == Format.json:
        data = [service.proposal_data(p) for p in found]
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        return
    table = Table(title="Proposals", title_justify="left", title_style="bold")
    for name in ("Id", "State", "Proposed", "By", "Why", "Changes", "Approved by", "Waiting for"):
        table.add_column(name)
    for p in found:
        table.add_row(
            p.id,
            p.state,
            p.proposed_at.strftime("%Y-%m-%d"),
            p.author,
            p.why,
            p.diff.summary(),
            ", ".join(a.person for a in p.approvals),
            ", ".join(p.waiting_for) if p.state == "open" else "",
        )
    if format == Format.md:
        lines = ["| id | state | why | changes | waiting for |", "|---|---|---|---|---|"]
        lines += [
            f"| {p.id} | {p.state} | {p.why} | {p.diff.summary()} | {', '.join(p.waiting_for)} |"
            for p in found
        ]
        sys.stdout.write("\n".join(lines) + "\n")
        return
    out.print(table if found else "no proposals yet; make one with `accord propose FILE --why ...`")


@app.command()
@handled
def proposal(
    proposal_id: Annotated[str, typer.Argument(help="Proposal id, e.g. p1.")],
    format: FormatOpt = Format.text,
    now: NowOpt = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """One proposal: why, its semantic diff, the backtest, and who has approved."""
    from accord import service
    from accord.governance.views import proposal_report

    ws = service.locate(workspace)
    p = service.get_proposal(ws, proposal_id, now=parse_instant(now, "--now"))
    _show(proposal_report(p), service.proposal_data(p), format)


@app.command()
@handled
def approve(
    proposal_id: Annotated[str, typer.Argument(help="Proposal id, e.g. p1.")],
    person: AsOpt,
    now: NowOpt = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Approve a proposal as a governance owner; the last owner's approval puts it in force."""
    from accord import service

    ws = service.locate(workspace)
    result = service.approve_proposal(ws, proposal_id, person, now=parse_instant(now, "--now"))
    p = result.proposal
    if not result.new:
        out.print(f"{person} had already approved {p.id}; nothing written")
    else:
        out.print(f"[green]approved[/green] {p.id} as {person}")
    if result.activated:
        out.print(
            f"[green]{p.id} is in force[/green]: accord.yaml now holds version {p.version}; "
            "run `accord derive` to apply it"
        )
    elif p.state == "open":
        out.print("waiting for: " + ", ".join(p.waiting_for))


def reject_proposal(
    proposal_id: str, person: str, reason: str | None, now: str | None, workspace: Path | None
) -> None:
    """`accord reject ID --as OWNER --reason "..."`: the command is shared with lead dispositions."""
    from accord import service

    ws = service.locate(workspace)
    result = service.reject_proposal(
        ws, proposal_id, person, reason=reason or "", now=parse_instant(now, "--now")
    )
    if result.new:
        out.print(
            "[red]rejected[/red] " + escape(f"{result.proposal.id} as {person}: {(reason or '').strip()}")
        )
    else:
        out.print(f"{person} had already rejected {result.proposal.id}; nothing written")


@app.command()
@handled
def changelog(format: FormatOpt = Format.text, now: NowOpt = None, workspace: WorkspaceOpt = None) -> None:
    """What changed in the agreement, why, who approved, and at 30 and 90 days how the forecast held."""
    from accord import service
    from accord.governance.views import changelog_report

    ws = service.locate(workspace)
    log = service.change_log(ws, now=parse_instant(now, "--now"))
    _show(changelog_report(log), service.change_log_data(log), format)
