"""Workspace commands: init, validate, import, presets, status, demo."""

from __future__ import annotations

import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from accord import service
from accord.cli.app import WorkspaceOpt, app, handled, out, phases, progress_bar
from accord.errors import AccordError
from accord.ledger.importer import ImportReport, ImportRequest
from accord.ledger.presets import PRESETS
from accord.ledger.schema import TABLES


@app.command()
@handled
def init(
    directory: Annotated[Path, typer.Argument(help="Folder to create the workspace in.")],
    force: Annotated[bool, typer.Option(help="Start over if a workspace is already there.")] = False,
) -> None:
    """Create a workspace: the starter agreement (accord.yaml) and an empty ledger (accord.duckdb)."""
    ws = service.init_workspace(directory, force=force)
    out.print(f"[green]created[/green] {ws.root}/")
    out.print(f"  {service.SPEC_FILE:<16} the agreement: edit it, then `accord validate {ws.spec_path}`")
    out.print(f"  {'accord.duckdb':<16} the ledger: fill it with `accord import KIND FILE -w {ws.root}`")


@app.command()
@handled
def validate(
    file: Annotated[
        Path | None,
        typer.Argument(help="Spec file (default: the workspace's accord.yaml)", show_default=False),
    ] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Check an agreement: every mistake is listed at once with its path, line and a hint."""
    path = file or (Path(workspace or ".") / service.SPEC_FILE)
    spec, version = service.validate_spec(path)
    out.print(
        f"[green]OK[/green] {path}: {spec.workspace.name}, version {version} "
        f"({len(spec.journey.stages)} stages, {len(spec.tiers)} tiers, {len(spec.slas)} SLAs, "
        f"{len(spec.features)} features)"
    )


def _pairs(values: list[str], flag: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for value in values:
        if "=" not in value:
            raise AccordError(
                f"{flag} '{value}' needs the form TARGET=VALUE", hint=f"e.g. {flag} occurred_at='Event Time'"
            )
        target, _, source = value.partition("=")
        pairs[target.strip()] = source.strip()
    return pairs


@app.command("import")
@handled
def import_(
    kind: Annotated[str, typer.Argument(help=f"What the file holds: {', '.join(TABLES)}.")],
    file: Annotated[Path, typer.Argument(help="CSV, Parquet or JSON-lines file.")],
    map_: Annotated[
        list[str],
        typer.Option(
            "--map",
            "-m",
            help="TARGET=COLUMN: fill a ledger column "
            "from a file column (repeatable). properties.NAME / attributes.NAME keep extra "
            "fields. Columns named like the ledger's are mapped on their own.",
        ),
    ] = [],  # noqa: B006
    set_: Annotated[list[str], typer.Option("--set", help="TARGET=VALUE: a fixed value for every row.")] = [],  # noqa: B006
    preset: Annotated[str | None, typer.Option(help=f"Known export shape: {', '.join(PRESETS)}.")] = None,
    mapping: Annotated[str | None, typer.Option(help="Name of a mapping under imports: in the spec.")] = None,
    date_format: Annotated[
        list[str],
        typer.Option(
            "--date-format",
            help="strptime format for dates, "
            "e.g. '%d-%m-%Y %H:%M' (repeatable). Default: ISO 8601, else detected.",
        ),
    ] = [],  # noqa: B006
    timezone: Annotated[
        str | None, typer.Option(help="Zone of naive timestamps (default: the workspace's).")
    ] = None,
    source: Annotated[str | None, typer.Option(help="Value of the source column (default: import).")] = None,
    format_: Annotated[
        str | None, typer.Option("--format", help="csv, parquet or jsonl (default: from the extension).")
    ] = None,
    encoding: Annotated[str, typer.Option(help="Text encoding of CSV/JSON files.")] = "utf-8",
    delimiter: Annotated[str | None, typer.Option(help="CSV delimiter (default: detected).")] = None,
    rejects: Annotated[
        Path | None, typer.Option(help="Where to write refused rows (default: WORKSPACE/rejects/).")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check and report; store nothing.")] = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Import a file into the ledger: atomic, idempotent, every refused row listed with its reason.

    Re-importing the same file changes nothing. Changed records are updated and their old values
    kept as record_updated events. Examples:

    $ accord import events web.csv --map occurred_at='Event Time' -m type=Activity
    $ accord import opportunities sales_pipeline.csv --preset maven-pipeline
    """
    ws = service.locate(workspace)
    request = ImportRequest(
        file=file,
        kind=kind,
        preset=preset,
        mapping_name=mapping,
        columns=_pairs(map_, "--map"),
        constants=_pairs(set_, "--set"),
        date_formats=date_format,
        timezone=timezone,
        source=source,
        format=format_,
        encoding=encoding,
        delimiter=delimiter,
        rejects_path=rejects,
        dry_run=dry_run,
    )
    with phases(f"importing {file.name}") as say:
        report = service.import_file(ws, request, say)
    _render_import(report)


def _render_import(report: ImportReport) -> None:
    verb = "would import" if report.dry_run else "imported"
    out.print(f"[bold]{Path(report.file).name}[/bold] -> {report.kind}")
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row("rows read", f"{report.rows_read:,}")
    table.add_row(verb, f"{report.imported:,}")
    table.add_row("updated", f"{report.updated:,}")
    table.add_row("duplicates (already stored)", f"{report.duplicates:,}")
    table.add_row("rejected", f"[red]{report.rejected:,}[/red]" if report.rejected else "0")
    if report.events_written or report.kind != "events":
        table.add_row("events derived", f"{report.events_written:,}")
    out.print(table)
    for note in report.notes:
        out.print(f"  [yellow]note:[/yellow] {note}", soft_wrap=True)
    for reject in report.rejects[:5]:
        out.print(f"  [red]row {reject.row}:[/red] {reject.reason}", soft_wrap=True)
    if len(report.rejects) > 5:
        out.print(f"  ... and {len(report.rejects) - 5} more")
    if report.rejects_file:
        out.print(f"  refused rows with reasons: {report.rejects_file}")
    if report.dry_run:
        out.print("  dry run: nothing was stored")


@app.command()
@handled
def presets() -> None:
    """List import presets for known CRM exports."""
    table = Table("preset", "imports", "what it reads")
    for preset in PRESETS.values():
        table.add_row(preset.name, preset.kind, preset.description)
    out.print(table)


@app.command()
@handled
def status(workspace: WorkspaceOpt = None) -> None:
    """What a workspace holds: agreement version, ledger schema, records per table, last imports."""
    info = service.status(service.locate(workspace))
    out.print(f"[bold]{info['agreement']}[/bold]  {info['workspace']}")
    out.print(f"spec version {info['spec_version']}, ledger schema v{info['schema_version']}")
    table = Table("table", "rows")
    for kind, n in info["counts"].items():
        table.add_row(kind, f"{n:,}")
    out.print(table)
    if info["imports"]:
        out.print("last imports (+new ~updated =duplicate xrejected):")
    for imp in info["imports"]:
        out.print(
            f"  {imp['started_at']:%Y-%m-%d %H:%M} {imp['kind']:<13} +{imp['imported']} "
            f"~{imp['updated']} ={imp['duplicates']} x{imp['rejected']}  {Path(imp['file'] or '').name}"
        )


def _parse_as_of(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC).replace(second=0, microsecond=0)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise AccordError(
            f"--as-of '{text}' is not an ISO date/time", hint="e.g. 2026-11-23 or 2026-11-23T09:00:00Z"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@app.command()
@handled
def demo(
    directory: Annotated[Path, typer.Argument(help="Folder for the demo workspace.")] = Path("accord-demo"),
    contacts: Annotated[int, typer.Option(min=50, max=2_000_000, help="Number of contacts.")] = 5000,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed builds the same world.")] = 7,
    as_of: Annotated[
        str | None, typer.Option(help="End of the generated year (ISO, UTC) (default: now).")
    ] = None,
    force: Annotated[bool, typer.Option(help="Replace a workspace already in the folder.")] = False,
    derive: Annotated[
        bool, typer.Option("--derive/--no-derive", help="Derive and tick the world once built.")
    ] = True,
) -> None:
    """A workspace with the starter agreement and a year of a realistic B2B world, derived and ticked."""
    moment = _parse_as_of(as_of)
    with progress_bar(transient=True) as bar:
        task = bar.add_task("building the demo world", total=1.0)

        def say(phase: str, fraction: float) -> None:
            bar.update(task, description=phase, completed=fraction)

        result = service.build_demo(
            directory, contacts=contacts, seed=seed, as_of=moment, force=force, progress=say, run=derive
        )
    ws = result.workspace
    out.print(
        f"[green]built[/green] {ws.root}/ in {result.seconds:.1f} s "
        f"(seed {seed}, history up to {moment:%Y-%m-%d %H:%M} UTC)"
    )
    table = Table("table", "rows", title="ledger")
    for kind, n in result.counts.items():
        table.add_row(kind, f"{n:,}")
    out.print(table)
    if result.tick is not None:
        t = result.tick
        out.print(
            "derived and ticked: clocks "
            + ", ".join(f"{k} {v}" for k, v in sorted(t.clocks.items()))
            + "; written "
            + ", ".join(f"{k} {v}" for k, v in t.written.items()),
            soft_wrap=True,
        )
    interesting = {k: v for k, v in result.summary.items() if k not in result.counts}
    if interesting:
        out.print("  " + ", ".join(f"{k}: {v:,}" for k, v in interesting.items()), soft_wrap=True)
    exe = _executable()
    root = ws.root
    steps = [
        (f"{exe} leads --tier 1 -w {root}", "the Tier 1 queue with why-now drivers"),
        (f"{exe} explain CONTACT -w {root}", "one lead, explained"),
        (f"{exe} sla -w {root}", "SLA compliance, speed-to-lead, acceptance"),
        (f"{exe} queue sam -w {root}", "one rep's queue by deadline"),
        (f"{exe} report scorecard -w {root}", "the seven shared metrics against targets"),
        (f"{exe} report pipeline -w {root}", "this week's pipeline review agenda"),
        (f"{exe} report --help", "every report: funnel, tiers, plan, diagnostic..."),
        (f"{exe} tick -w {root}", "route new MQLs, advance clocks (run it often)"),
        (f"{exe} validate {ws.spec_path}", "the agreement, checked"),
    ]
    width = max(len(cmd) for cmd, _ in steps)
    out.print("\nWhat to try next:")
    for cmd, why in steps:
        out.print(f"  {cmd:<{width}}  # {why}", soft_wrap=True)


def _executable() -> str:
    """How the user can call accord from where they are (make run leaves it in .venv/bin)."""
    if shutil.which("accord"):
        return "accord"
    candidate = Path(sys.argv[0])
    if candidate.name == "accord" and candidate.exists():
        try:
            return str(candidate.resolve().relative_to(Path.cwd()))
        except ValueError:
            return str(candidate)
    return "accord"
