"""`accord retro`, `accord actions`, `accord action done`, `accord interview`: the joint reviews.

Thin adapters over accord.service.retros: parse the flags (or a YAML file for longer reviews), call
the use case, print what was written or that nothing was.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from accord import service
from accord.cli.app import WorkspaceOpt, app, handled, out, parse_day
from accord.domain.reviews import QUESTIONS
from accord.errors import AccordError

action_app = typer.Typer(help="Work on one action agreed in a retrospective.", no_args_is_help=True)
app.add_typer(action_app, name="action")


def _instant(text: str | None, flag: str) -> datetime | None:
    from accord.cli.derive_cmds import parse_instant

    return parse_instant(text, flag)


@app.command()
@handled
def retro(
    campaign: Annotated[str, typer.Argument(help="Campaign charter id (campaigns: in the spec).")],
    milestone: Annotated[
        str | None, typer.Option(help="Milestone reviewed (launch, mid-campaign...).", show_default=False)
    ] = None,
    close: Annotated[bool, typer.Option("--close", help="The closing retrospective.")] = False,
    worked: Annotated[
        list[str] | None, typer.Option("--worked", help="What worked (repeat for each).", show_default=False)
    ] = None,
    stalled: Annotated[
        list[str] | None, typer.Option("--stalled", help="What stalled (repeat).", show_default=False)
    ] = None,
    change: Annotated[
        list[str] | None,
        typer.Option(
            "--change", help='What to change: "TEXT; owner=ID; due=YYYY-MM-DD" (repeat).', show_default=False
        ),
    ] = None,
    from_file: Annotated[
        Path | None,
        typer.Option("--from-file", help="YAML with milestone or close, worked, stalled, changes, by."),
    ] = None,
    by: Annotated[str | None, typer.Option(help="Person who facilitated it.", show_default=False)] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="When it was held (ISO) (default: now).", show_default=False)
    ] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Record a campaign retrospective: what worked, what stalled, what to change.

    The campaign's scorecard is frozen beside it as it read then (the last derive, or --at if earlier);
    each change becomes an action with an owner and a due date (`accord actions`). Recording the same
    retrospective again writes nothing.
    """
    ws = service.locate(workspace)
    given: dict[str, Any] = {"milestone": milestone, "close": close, "worked": worked or [],
                             "stalled": stalled or [], "changes": change or [], "by": by}  # fmt: skip
    if from_file is not None:
        from accord.service.retros import load_retro_file

        loaded = load_retro_file(from_file)
        for key in ("worked", "stalled", "changes"):
            given[key] = [*loaded[key], *given[key]]
        given["milestone"] = given["milestone"] or loaded["milestone"]
        given["close"] = given["close"] or loaded["close"]
        given["by"] = given["by"] or loaded["by"]
    from accord.service.retros import record_retro

    result = record_retro(ws, campaign, now=_instant(at, "--at"), **given)
    r = result.retro
    if not result.new:
        out.print(
            f"{campaign}: the '{r.milestone}' retrospective is already recorded; nothing written",
            soft_wrap=True,
        )
    else:
        when = datetime.fromtimestamp(r.scorecard_as_of, UTC).strftime("%Y-%m-%d %H:%M UTC")
        out.print(
            f"[green]recorded[/green] the '{escape(r.milestone)}' retrospective of {escape(campaign)}: "
            f"{len(r.worked)} worked, {len(r.stalled)} stalled, {len(result.actions)} actions; "
            f"scorecard frozen as of {when}",
            soft_wrap=True,
        )
    if r.scorecard:
        first = r.scorecard[0]
        out.print(
            f"  {first.get('result')}: {first.get('actual')} of {first.get('target')} ({first.get('status')})"
        )
    if result.actions:
        table = Table("action", "what changes", "owner", "due", title="actions")
        for a in result.actions:
            table.add_row(a.action_id, a.text, a.owner, a.due.isoformat())
        out.print(table)


@app.command()
@handled
def actions(
    open_only: Annotated[bool, typer.Option("--open", help="Only actions not done yet.")] = False,
    owner: Annotated[str | None, typer.Option(help="Only this owner's.", show_default=False)] = None,
    campaign: Annotated[str | None, typer.Option(help="Only this campaign's.", show_default=False)] = None,
    now: Annotated[
        str | None, typer.Option("--now", help="Judge overdue on this day (ISO) (default: today).")
    ] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """The actions agreed in retrospectives: overdue first, then open by due date, then done."""
    from accord.service.retros import list_actions

    ws = service.locate(workspace)
    found, today = list_actions(
        ws, open_only=open_only, owner=owner, campaign=campaign, now=_instant(now, "--now")
    )
    if not found:
        out.print("no actions" + (" open" if open_only else "") + " (a retrospective's --change adds them)")
        return
    table = Table(
        "id", "campaign", "milestone", "what changes", "owner", "due", "status", title=f"actions on {today}"
    )
    for a in found:
        status = a.status(today)
        shown = {"overdue": f"[red]overdue {a.days_overdue(today)} d[/red]", "done": "done"}.get(
            status, status
        )
        table.add_row(a.action_id, a.campaign, a.milestone, a.text, a.owner, a.due.isoformat(), shown)
    out.print(table)


@action_app.command("done")
@handled
def action_done(
    action: Annotated[str, typer.Argument(help="Action id (see `accord actions`).")],
    note: Annotated[str | None, typer.Option(help="What was done.", show_default=False)] = None,
    by: Annotated[str | None, typer.Option(help="Person who closes it.", show_default=False)] = None,
    now: Annotated[
        str | None, typer.Option("--now", help="When it was done (ISO) (default: now).", show_default=False)
    ] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Mark an action done; closing it again writes nothing."""
    from accord.service.retros import close_action

    ws = service.locate(workspace)
    result = close_action(ws, action, note=note, by=by, now=_instant(now, "--now"))
    a = result.action
    day = datetime.fromtimestamp(a.done_at or 0, UTC).strftime("%Y-%m-%d")
    if result.new:
        out.print(
            "[green]done[/green] "
            + escape(f"{a.action_id}: {a.text} (owner {a.owner}, due {a.due}, done {day})")
        )
    else:
        out.print(f"{a.action_id} was already done on {day}; nothing written", soft_wrap=True)


@app.command()
@handled
def interview(
    opportunity: Annotated[str, typer.Argument(help="The closed-lost opportunity's id.")],
    by: Annotated[
        str | None, typer.Option(help="Person who interviewed the buyer.", show_default=False)
    ] = None,
    area: Annotated[
        str | None,
        typer.Option(
            help="Pattern area you assign: icp, qualification, content, pricing, sales_motion, "
            "product, timing.",
            show_default=False,
        ),
    ] = None,
    role: Annotated[
        str | None,
        typer.Option(help="The buyer's committee role (default: the deal contact's).", show_default=False),
    ] = None,
    on: Annotated[
        str | None, typer.Option(help="Day of the interview (default: now).", show_default=False)
    ] = None,
    problem: Annotated[str | None, typer.Option(help=QUESTIONS["problem"][1], show_default=False)] = None,
    committee: Annotated[str | None, typer.Option(help=QUESTIONS["committee"][1], show_default=False)] = None,
    fit_weakened: Annotated[
        str | None, typer.Option(help=QUESTIONS["fit_weakened"][1], show_default=False)
    ] = None,
    competitor: Annotated[
        str | None, typer.Option(help=QUESTIONS["competitor"][1], show_default=False)
    ] = None,
    easier_yes: Annotated[
        str | None, typer.Option(help=QUESTIONS["easier_yes"][1], show_default=False)
    ] = None,
    from_file: Annotated[
        Path | None, typer.Option("--from-file", help="YAML with the five answers and by, area, role, on.")
    ] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Record a loss interview: the buyer's answers to the five questions, for the loss post-mortem.

    The deal must be closed lost. The area you assign places the loss in `accord report losses` when
    its CRM reason is missing or 'other'. Recording the same interview again writes nothing.
    """
    from accord.service.retros import load_interview_file, record_interview

    ws = service.locate(workspace)
    answers: dict[str, str | None] = {
        "problem": problem,
        "committee": committee,
        "fit_weakened": fit_weakened,
        "competitor": competitor,
        "easier_yes": easier_yes,
    }
    extra: dict[str, Any] = {"by": by, "area": area, "role": role, "on": on}
    if from_file is not None:
        loaded = load_interview_file(from_file)
        answers = {k: v or loaded.get(k) for k, v in answers.items()}
        extra = {k: v or loaded.get(k) for k, v in extra.items()}
    if not extra["by"]:
        raise AccordError("who interviewed the buyer?", hint="add --by PERSON")
    day = extra["on"] if isinstance(extra["on"], date) else parse_day(extra["on"], "--on")
    result = record_interview(
        ws, opportunity, by=extra["by"], answers=answers, area=extra["area"], role=extra["role"], on=day
    )
    i = result.interview
    if result.new:
        out.print(
            f"[green]recorded[/green] the loss interview of {opportunity} by {i.interviewer}"
            + (f", area {i.area}" if i.area else "")
            + "; see `accord report losses`"
        )
    else:
        out.print(f"this interview of {opportunity} is already recorded; nothing written", soft_wrap=True)
