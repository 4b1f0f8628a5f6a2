"""Handoff commands: tick, queue, sla, and the three dispositions (accept, reject, recycle)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from accord import service
from accord.cli.app import WorkspaceOpt, app, handled, out, progress_bar
from accord.cli.derive_cmds import parse_instant
from accord.errors import AccordError

FUTURE_SLACK = timedelta(minutes=5)
"""Clocks of two machines disagree by seconds, not minutes."""
NowOpt = Annotated[
    str | None, typer.Option("--now", help="Act as of this instant (ISO, UTC) (default: now).")
]
ByOpt = Annotated[
    str, typer.Option("--by", help="Person id of who dispositions (the owner or their manager).")
]


def _when(ts: int | None, zone: ZoneInfo) -> str:
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, UTC).astimezone(zone).strftime("%a %d %b %H:%M")


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


@app.command()
@handled
def tick(now: NowOpt = None, workspace: WorkspaceOpt = None) -> None:
    """Route new MQLs, advance every SLA clock, write due at-risk/breach notices and escalations.

    It derives first, as of the tick's instant, and writes what it decides as events dated then:
    running it twice writes nothing new, and it never runs behind handoff events already stored or
    ahead of the clock (`--now` is for replaying a day in order).
    """
    ws = service.locate(workspace)
    moment = parse_instant(now, "--now")
    if moment is not None and moment > datetime.now(UTC) + FUTURE_SLACK:
        raise AccordError(
            f"--now {moment:%Y-%m-%d %H:%M:%S} UTC is in the future; a tick writes breaches and "
            "escalations dated at its instant, and they would stay in the ledger",
            hint="leave out --now to tick as of now",
        )
    with progress_bar() as bar:
        task = bar.add_task("tick", total=1.0)
        result = service.run_tick(
            ws,
            now=moment,
            progress=lambda phase, f: bar.update(task, description=phase, completed=f * 0.8),
        )
    zone = ZoneInfo(ws.spec.workspace.timezone)
    out.print(f"[green]tick[/green] as of {_when(result.as_of, zone)} ({ws.spec.workspace.timezone})")
    for contact, d in result.routed:
        out.print(f"  assigned {contact} -> {d.owner}: {d.why}", soft_wrap=True)
    for contact, d in result.unrouted:
        out.print(f"  [yellow]not assigned[/yellow] {contact}: {d.why}", soft_wrap=True)
    written = ", ".join(f"{k} {v}" for k, v in result.written.items())
    out.print(f"new events: {written}")
    out.print("clocks: " + ", ".join(f"{k} {v}" for k, v in sorted(result.clocks.items())))
    if result.plays is not None and result.plays.written:
        out.print("plays: " + ", ".join(f"{k} {v}" for k, v in result.plays.written.items()))
    for firing in result.watch:
        out.print(f"  [red]watch[/red] {firing.message} -> {firing.owner}", soft_wrap=True)
    if result.delivery is not None:
        d = result.delivery
        out.print(
            f"webhooks: sent {sum(d.sent.values())}, failed {sum(d.failed.values())}, "
            f"gave up {sum(d.gave_up.values())}"
        )
        for hook, why in d.skipped.items():
            out.print(f"  [yellow]{hook} skipped:[/yellow] {why}")


@app.command()
@handled
def queue(
    owner: Annotated[
        str | None, typer.Argument(help="Person id whose queue to show (none: every queue, with its size).")
    ] = None,
    now: NowOpt = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """A rep's leads, most urgent deadline first, each with its clocks and why-now driver.

    Without an owner: every queue in sales with its count of open leads, fullest first.
    """
    ws = service.locate(workspace)
    moment = parse_instant(now, "--now")
    if owner is None:
        _queue_sizes(ws, moment)
        return
    items = service.owner_queue(ws, owner, now=moment)
    context = service.handoff_context(ws, [i.contact_id for i in items], now=moment)
    person = ws.spec.people[owner]
    zone = ZoneInfo(
        ws.spec.calendars[
            ws.spec.people[owner].calendar or ws.spec.workspace.calendar or next(iter(ws.spec.calendars))
        ].timezone
    )
    table = Table(title=f"{person.name}: {len(items)} leads", title_justify="left")
    for col in (
        "contact",
        "name",
        "account",
        "score",
        "tier",
        "status",
        "next deadline",
        "why now",
        "next step",
    ):
        table.add_column(col, no_wrap=col in ("contact", "score", "tier"))
    for item in items:
        states = ", ".join(f"{c.sla} {c.status.replace('_', ' ')}" for c in item.clocks) or item.latest
        driver = f"{item.top_driver} {item.top_points:+g}" if item.top_driver else ""
        table.add_row(
            item.contact_id,
            item.name,
            item.account or "",
            f"{item.score:g}" if item.score is not None else "",
            item.tier or "",
            states,
            _when(item.next_deadline, zone),
            driver,
            _next_step(context.get(item.contact_id), zone),
        )
    out.print(table)
    out.print(
        f"[dim]times in {zone.key}; "
        f"disposition with `accord accept|reject|recycle CONTACT --by {owner}`[/dim]"
    )


def _queue_sizes(ws: service.Workspace, moment: datetime | None) -> None:
    """Where the work sits: the sales people's queues (and anyone else holding leads), fullest first."""
    rows = service.queue_overview(ws, "", "admin", now=moment)  # the command line reads as an admin
    people = ws.spec.people
    table = Table(title=f"Queues: {sum(n for _, _, n in rows)} open leads", title_justify="left")
    for col in ("owner", "name", "role", "open leads"):
        table.add_column(col, justify="right" if col == "open leads" else "left")
    for pid, name, n in rows:
        table.add_row(pid, name, people[pid].role if pid in people else "", str(n))
    out.print(table)
    out.print("[dim]one queue with its clocks: `accord queue OWNER`[/dim]")


def _next_step(context: Any, zone: ZoneInfo) -> str:
    """The play's next step in a cell: what, by when, and the talk track to open with."""
    step = getattr(context, "next_step", None)
    if step is None:
        return ""
    text = f"{step.action}, by {_when(step.due, zone)} ({step.play_name})"
    return text + (f"\n[dim]say: {step.talk_track}[/dim]" if step.talk_track else "")


@app.command()
@handled
def sla(
    now: NowOpt = None,
    since: Annotated[str | None, typer.Option(help="Only clocks started at or after (ISO).")] = None,
    until: Annotated[str | None, typer.Option(help="Only clocks started before (ISO).")] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """SLA compliance, speed-to-lead, MQL acceptance rate and rejection reasons."""
    ws = service.locate(workspace)
    report = service.sla(
        ws,
        now=parse_instant(now, "--now"),
        since=parse_instant(since, "--since"),
        until=parse_instant(until, "--until"),
    )
    table = Table(
        "SLA",
        "met",
        "breached",
        "open",
        "at risk",
        "reassigned",
        "given back",
        "compliance",
        "target",
        title="clocks",
        title_justify="left",
    )
    for line in report.lines:
        c = line.counts
        table.add_row(
            line.name,
            str(c["met"]),
            str(c["breached"]),
            str(c["open"]),
            str(c["at_risk"]),
            str(c["reassigned"]),
            str(c["given_back"]),
            _share(line.compliance),
            _share(line.target) if line.target else "",
        )
    out.print(table)
    s = report.speed
    if s["n"]:
        out.print(
            f"speed-to-lead ({s['n']} first touches, business time): p50 {s['p50_minutes']:.0f} min, "
            f"p90 {s['p90_minutes']:.0f} min; within 5 min {_share(s['within_5_minutes'])}, "
            f"within 1 h {_share(s['within_1_hour'])}"
        )
    a = report.acceptance
    status = (
        ""
        if a["rate"] is None
        else (" [green]on target[/green]" if a["rate"] >= a["target"] else " [red]below target[/red]")
    )
    out.print(
        f"MQL acceptance: {_share(a['rate'])} ({a['accepted']} accepted, {a['rejected']} rejected, "
        f"{a['recycled']} recycled; target {_share(a['target'])}){status}"
    )
    if report.reasons:
        reasons = Table(
            "reason", "code", "rejections", "share", title="rejection reasons", title_justify="left"
        )
        for code, label, n, share in report.reasons:
            reasons.add_row(label, code, str(n), _share(share))
        out.print(reasons)
    if report.escalations:
        out.print("escalations: " + ", ".join(f"{k} {v}" for k, v in report.escalations.items()))


def _disposition(
    contact: str,
    kind: str,
    by: str,
    workspace: WorkspaceOpt,
    reason: str | None = None,
    on: str | None = None,
    note: str | None = None,
) -> None:
    ws = service.locate(workspace)
    recycle_on = None
    if on is not None:
        try:
            recycle_on = date.fromisoformat(on)
        except ValueError:
            raise AccordError(f"--on '{on}' is not a date", hint="write it as YYYY-MM-DD") from None
    result = service.disposition(ws, contact, kind, by, reason=reason, recycle_on=recycle_on, note=note)
    extra = f" ({result.reason_code})" if result.reason_code else ""
    extra += f" until {result.recycle_on}" if result.recycle_on else ""
    out.print(f"[green]{result.type}[/green] {contact} by {by}{extra}")


@app.command()
@handled
def accept(
    contact: Annotated[str, typer.Argument(help="Contact id.")],
    by: ByOpt,
    note: Annotated[str | None, typer.Option(help="Free text kept with the event.")] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Accept a lead: Sales takes it on."""
    _disposition(contact, "accept", by, workspace, note=note)


@app.command()
@handled
def reject(
    contact: Annotated[str, typer.Argument(help="Contact id (or, with --as, a proposal id).")],
    by: Annotated[
        str | None, typer.Option("--by", help="Person id of who dispositions (the owner or their manager).")
    ] = None,
    reason: Annotated[
        str | None, typer.Option(help="Reason code from the spec; for a proposal, why (required).")
    ] = None,
    note: Annotated[str | None, typer.Option(help="Free text kept with the event.")] = None,
    person: Annotated[
        str | None, typer.Option("--as", help="Reject a proposal as this governance owner.")
    ] = None,
    now: Annotated[
        str | None, typer.Option("--now", help="Proposals: act as of this instant.", hidden=True)
    ] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Reject a lead with a reason code (--by); it regresses as the journey says.

    With --as, reject a proposal to change the agreement instead (`accord proposals`): a governance
    owner turns it down with a reason, which closes it.
    """
    if person is not None and by is None:
        from accord.cli.governance_cmds import reject_proposal

        reject_proposal(contact, person, reason, now, workspace)
        return
    if by is None or person is not None:
        raise AccordError(
            "say who rejects: --by PERSON for a lead, or --as OWNER for a proposal",
            hint="e.g. `accord reject CONTACT --by sam --reason bad_fit` or "
            '`accord reject p1 --as dana --reason "..."`',
        )
    _disposition(contact, "reject", by, workspace, reason=reason, note=note)


@app.command()
@handled
def recycle(
    contact: Annotated[str, typer.Argument(help="Contact id.")],
    by: ByOpt,
    on: Annotated[str | None, typer.Option(help="Date it becomes eligible again (YYYY-MM-DD).")] = None,
    note: Annotated[str | None, typer.Option(help="Free text kept with the event.")] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Give a lead back to nurture until a date; routing picks it up again when it qualifies."""
    _disposition(contact, "recycle", by, workspace, on=on, note=note)
