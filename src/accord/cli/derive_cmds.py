"""Derive commands: derive (batch), explain (one lead), leads (the queue)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape
from rich.table import Table

from accord import service
from accord.cli.app import WorkspaceOpt, app, handled, out, progress_bar
from accord.errors import AccordError


def parse_instant(text: str | None, flag: str = "--as-of") -> datetime | None:
    """ISO text to an aware UTC instant; naive text is UTC."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise AccordError(
            f"{flag} '{text}' is not an ISO date/time", hint="e.g. 2026-11-23 or 2026-11-23T09:00:00Z"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _local(moment: Any, zone: ZoneInfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if moment is None:
        return "now"
    if isinstance(moment, datetime):
        aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return aware.astimezone(zone).strftime(fmt)
    return str(moment)


def _points(value: float | None) -> str:
    """Signed points as a rep reads them: +25, +18.4, +0.04 (never a rounded-away +0.0)."""
    if value is None:
        return ""
    if value == int(value):
        return f"{value:+.0f}"
    return f"{value:+.2f}".rstrip("0")


@app.command()
@handled
def derive(
    as_of: Annotated[
        str | None, typer.Option(help="Derive as of this instant (ISO, UTC) (default: now).")
    ] = None,
    engine: Annotated[
        str,
        typer.Option(
            help="duckdb, or spark (a local Spark session; needs Java; Spark settings from "
            "$ACCORD_SPARK_CONF, e.g. 'spark.driver.memory=8g;spark.sql.shuffle.partitions=8')."
        ),
    ] = "duckdb",
    memory_limit: Annotated[
        str | None,
        typer.Option(
            envvar="ACCORD_MEMORY_LIMIT",
            help="Cap DuckDB's memory for this run, e.g. 3GB (or $ACCORD_MEMORY_LIMIT); past it DuckDB "
            "spills to disk beside the workspace (default: DuckDB's own, 80% of RAM).",
        ),
    ] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Compute features, scores, drivers, tiers and stage histories and store them in the workspace.

    Every derived row is stamped with the spec version that made it. Definitions: docs/derive.md.
    A ledger of tens of millions of events derives account by account; give it --memory-limit on a
    machine shared with other work.
    """
    ws = service.locate(workspace)
    with progress_bar() as bar:
        task = bar.add_task("deriving", total=1.0)
        result = service.run_derive(
            ws,
            engine=engine,
            as_of=parse_instant(as_of),
            memory_limit=memory_limit,
            progress=lambda phase, f: bar.update(task, description=phase, completed=f),
        )
    zone = ZoneInfo(ws.spec.workspace.timezone)
    out.print(
        f"[green]derived[/green] as of {_local(result.as_of, zone)} ({ws.spec.workspace.timezone}), "
        f"spec version {result.spec_version}, run {result.run_id}"
    )
    timing = Table("step", "seconds", title="timing", title_justify="left")
    for name, secs in result.timings:
        timing.add_row(name, f"{secs:.2f}")
    timing.add_row("[bold]total[/bold]", f"[bold]{sum(s for _, s in result.timings):.2f}[/bold]")
    out.print(timing)
    tables = Table("table", "rows", title="derived tables", title_justify="left")
    for name, n in result.counts.items():
        tables.add_row(name, f"{n:,}")
    out.print(tables)
    out.print("tiers:  " + ", ".join(f"{k} {v:,}" for k, v in result.tiers.items()))
    out.print("stages: " + ", ".join(f"{k} {v:,}" for k, v in result.stages.items()), soft_wrap=True)
    if result.unknown_opportunity_stages:
        out.print(
            f"[yellow]note:[/yellow] {result.unknown_opportunity_stages} opportunity events name a stage "
            "that is not in pipeline.stages; they were left out of opportunity histories"
        )
    out.print("\nnext: accord leads --tier 1, then accord explain CONTACT")


@app.command()
@handled
def explain(
    contact: Annotated[str, typer.Argument(help="Contact id.")],
    workspace: WorkspaceOpt = None,
) -> None:
    """Why a lead scores what it scores: drivers that add up to the score, tier, motion, stage history."""
    ws = service.locate(workspace)
    info = service.explain(ws, contact)
    spec = ws.spec
    zone = ZoneInfo(spec.workspace.timezone)
    c, lead = info.contact, info.lead
    name = " ".join(x for x in (c.get("first_name"), c.get("last_name")) if x) or contact
    where = ", ".join(str(x) for x in (c.get("title"), c.get("account_name")) if x)
    facts = ", ".join(
        str(x)
        for x in (c.get("industry"), f"{c['employees']:,} employees" if c.get("employees") else None)
        if x
    )
    out.print(
        f"[bold]{escape(name)}[/bold]"
        + (f" — {escape(where)}" if where else "")
        + (f" ({escape(facts)})" if facts else "")
        + f"   [dim]{escape(contact)}[/dim]"
    )
    chosen = spec.motions.get(lead.get("motion") or "")
    motion = chosen.name if chosen is not None else lead.get("motion")
    out.print(
        f"score [bold]{lead['score']:g}[/bold] = fit {lead['fit']:g} + intent {lead['intent']:g} "
        f"+ committee {lead['committee']:g}     [bold]{lead['tier'] or 'no tier'}[/bold]"
        + (f" -> {motion}" if motion else "")
    )
    stage_names = {s.id: s.name for s in spec.journey.stages}
    if lead.get("stage"):
        since = _local(lead.get("stage_since"), zone)
        out.print(f"stage: {stage_names.get(lead['stage'], lead['stage'])} since {since}")
    out.print()
    table = Table("points", "why", box=None, pad_edge=False, title="drivers", title_justify="left")
    for d in info.drivers:
        table.add_row(_points(d["points"]), _driver_text(d, zone, info.lead.get("as_of")))
    table.add_row("[bold]" + f"= {lead['score']:g}" + "[/bold]", "")
    out.print(table)
    history = Table(
        "stage",
        "entered",
        "left",
        "to",
        box=None,
        pad_edge=False,
        title="stage history",
        title_justify="left",
    )
    for row in info.stages:
        label = stage_names.get(row["stage"], row["stage"]) + (
            "  [dim](skipped)[/dim]" if row["skipped"] else ""
        )
        history.add_row(
            label,
            _local(row["entered_at"], zone),
            _local(row["exited_at"], zone) if row["exited_at"] is not None else "",
            stage_names.get(row["exit_to"], row["exit_to"] or ""),
        )
    out.print(history)
    _print_context(ws, contact, zone, info.run.get("as_of"))
    out.print(f"[dim]as of {_local(info.run['as_of'], zone)}, spec version {info.run['spec_version']}[/dim]")
    if info.stale:
        out.print("[yellow]the spec changed since this derive: run `accord derive` to refresh[/yellow]")


def _print_context(ws: service.Workspace, contact: str, zone: ZoneInfo, as_of: Any) -> None:
    """The handoff context a rep is given with the lead (as of the derive, which the tick shares): next
    play step, talk track, content engaged."""
    moment = as_of if isinstance(as_of, datetime) else None
    context = service.handoff_context(ws, [contact], now=moment).get(contact)
    if context is None:
        return
    step = context.next_step
    if step is not None:
        due = datetime.fromtimestamp(step.due, UTC) if step.due is not None else None
        state = "in play" if step.enrolled else "recommended play"
        out.print(
            f"\n[bold]next step[/bold] ({escape(f'{state}: {step.play_name}): {step.action}')}, "
            f"by {_local(due, zone)}"
        )
        if step.talk_track:
            out.print(f"  talk track: {step.talk_track}", soft_wrap=True)
    if context.content:
        titles = ", ".join(str(c["title"] or c["content_id"]) for c in context.content)
        out.print(f"content engaged: {titles}", soft_wrap=True)


def _driver_text(d: dict[str, Any], zone: ZoneInfo, as_of: Any) -> str:
    text = str(d["label"])
    if d["component"] == "intent" and d.get("count") is not None and d["key"].split(":")[1].isdigit():
        if d["count"]:
            text += f" x{d['count']} in the last 30 days"
        if d.get("last_at") is not None and as_of is not None:
            days = (as_of - d["last_at"]).total_seconds() / 86400
            text += ", last " + (
                "today" if days < 1 else f"{int(days)} day{'s' if int(days) != 1 else ''} ago"
            )
    if d.get("detail"):
        text += f" ({d['detail']})"
    return text


@app.command()
@handled
def leads(
    tier: Annotated[str | None, typer.Option(help="Tier name or its number: --tier 1 is 'Tier 1'.")] = None,
    stage: Annotated[str | None, typer.Option(help="Only leads in this stage (id).")] = None,
    owner: Annotated[str | None, typer.Option(help="Only leads owned by this person id.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="How many to list.")] = 25,
    workspace: WorkspaceOpt = None,
) -> None:
    """The queue: leads by score with the top driver of each, the why-now a rep opens with."""
    ws = service.locate(workspace)
    rows, run = service.leads(ws, tier=tier, stage=stage, owner=owner, limit=limit)
    zone = ZoneInfo(ws.spec.workspace.timezone)
    title = f"{len(rows)} leads" + (f" in {run['tier']}" if run.get("tier") else "") + " by score"
    table = Table(title=title, title_justify="left")
    table.add_column("contact", no_wrap=True)
    table.add_column("name")
    table.add_column("account")
    table.add_column("score", justify="right", no_wrap=True)
    table.add_column("tier", no_wrap=True)
    table.add_column("stage")
    table.add_column("why now (top driver)")
    for r in rows:
        driver = f"{_points(r['points_top'])} {_driver_text(r, zone, r['as_of'])}" if r["label"] else ""
        table.add_row(
            r["contact_id"],
            r["name"] or "",
            r["account"] or "",
            f"{r['score']:g}",
            r["tier"] or "",
            r["stage"] or "",
            driver,
        )
    out.print(table)
    out.print(f"[dim]as of {_local(run['as_of'], zone)}; explain one with `accord explain CONTACT`[/dim]")
