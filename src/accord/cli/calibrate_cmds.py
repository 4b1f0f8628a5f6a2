"""`accord calibrate`: suggested points from closed-loop outcomes, judged on a held-out period."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from accord import service
from accord.cli.app import WorkspaceOpt, app, handled, out, parse_day, progress_bar
from accord.files import check_writable, write_text

if TYPE_CHECKING:
    from accord.governance.calibrate import Calibration, Check


class CalibrateFormat(StrEnum):
    text = "text"
    json = "json"
    md = "md"


def _auc(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def _points(x: float) -> str:
    return f"{x:+g}" if x else "0"


def to_markdown(result: Calibration) -> str:
    """The calibration as a Markdown page: the verdict, the weights, calibration by band, the text."""
    c = result.counts
    lines = [
        f"# Calibration: reaching {result.target} within {result.horizon_days} days",
        "",
        result.why(),
        "",
        f"Training: {c['train_rows']:,} snapshots of {c['train_leads']:,} leads, {c['train_converted']:,} "
        f"converted ({c['train_converters']:,} leads). Held out: {c['holdout_rows']:,} snapshots of "
        f"{c['holdout_leads']:,} leads, {c['holdout_converted']:,} converted "
        f"({c['holdout_converters']:,} leads).",
        "",
        "| model | held-out AUC | training AUC | Brier | ECE |",
        "|---|---|---|---|---|",
    ]
    for name, check in (("current points", result.current), ("suggested points", result.suggested)):
        lines.append(
            f"| {name} | {_auc(check.auc)} | {_auc(check.train_auc)} | {check.brier:.5f} | {check.ece:.5f} |"
        )
    lines += [
        "",
        "| weight | kind | current | suggested | log-odds per unit | note |",
        "|---|---|---|---|---|---|",
    ]
    for w in result.weights:
        lines.append(
            f"| {w.label} | {w.kind} | {_points(w.current)} | {_points(w.suggested)} | "
            f"{w.coefficient:.3f} | {w.note or ''} |"
        )
    for name, check in (("current", result.current), ("suggested", result.suggested)):
        lines += ["", f"Calibration of the {name} points (held out, by band of predicted probability):", ""]
        lines += ["| scores | leads | predicted | observed |", "|---|---|---|---|"]
        for b in check.bands:
            lines.append(
                f"| {b.low_score:g} to {b.high_score:g} | {b.n:,} | {b.predicted:.2%} | {b.observed:.2%} |"
            )
    lines += [f"- {note}" for note in result.notes]
    return "\n".join(lines) + "\n"


def _render(result: Calibration) -> None:
    c = result.counts
    out.print(f"[bold]Calibration[/bold]: reaching {result.target} within {result.horizon_days} days")
    out.print(
        f"training {c['train_rows']:,} snapshots ({c['train_converted']:,} converted, "
        f"{c['train_converters']:,} leads); held out {c['holdout_rows']:,} ({c['holdout_converted']:,} "
        f"converted, {c['holdout_converters']:,} leads)"
    )
    verdict = Table("model", "held-out AUC", "training AUC", "Brier", "ECE", title_justify="left")

    def row(name: str, check: Check) -> None:
        verdict.add_row(
            name, _auc(check.auc), _auc(check.train_auc), f"{check.brier:.5f}", f"{check.ece:.5f}"
        )

    row("current points", result.current)
    row("suggested points", result.suggested)
    out.print(verdict)
    weights = Table("weight", "kind", "current", "suggested", "log-odds/unit", "note", title_justify="left")
    for w in result.weights:
        changed = w.suggested != w.current
        weights.add_row(
            w.label,
            w.kind,
            _points(w.current),
            f"[bold]{_points(w.suggested)}[/bold]" if changed else _points(w.suggested),
            f"{w.coefficient:.3f}",
            w.note or "",
        )
    out.print(weights)
    for note in result.notes:
        out.print(f"note: {note}")


@app.command("calibrate")
@handled
def calibrate_cmd(
    horizon: Annotated[
        int, typer.Option(help="Days after a snapshot in which reaching the target counts.")
    ] = 30,
    holdout_from: Annotated[
        str | None,
        typer.Option(help="First day of the held-out period, YYYY-MM-DD (default: 8 weeks before its end)."),
    ] = None,
    holdout_days: Annotated[
        int, typer.Option(help="Length of the held-out period in days when --holdout-from is not given.")
    ] = 56,
    train_until: Annotated[
        str | None,
        typer.Option(
            help="Last training snapshot, YYYY-MM-DD (default: a horizon before the held-out period)."
        ),
    ] = None,
    every: Annotated[int, typer.Option(help="Days between snapshots.")] = 7,
    target: Annotated[
        str | None, typer.Option(help="Stage that counts as converted (default: the one after acceptance).")
    ] = None,
    l2: Annotated[
        float | None,
        typer.Option(help="Penalty on moving away from the current weights (default: chosen by validation)."),
    ] = None,
    format: Annotated[CalibrateFormat, typer.Option("--format", "-f", help="Output format.")] = (
        CalibrateFormat.text
    ),
    output: Annotated[
        Path | None, typer.Option("--out", help="Write the suggested accord.yaml here.")
    ] = None,
    propose: Annotated[
        bool, typer.Option(help="Record the suggestion as a proposal for the governance owners.")
    ] = True,
    author: Annotated[str, typer.Option(help="Who the proposal is recorded as coming from.")] = "accord",
    backtest: Annotated[bool, typer.Option(help="Backtest the proposal against the ledger.")] = True,
    workspace: WorkspaceOpt = None,
) -> None:
    """Learn suggested points for fit rules and intent signals from what converted, and judge them.

    Weekly snapshots of open leads before the held-out period train an L2-regularised logistic
    regression centred on the current weights; the suggested integer points and the current ones are
    compared on the later held-out period (AUC, Brier score, calibration by band). Only `points:`
    values change in the suggested text. Method: docs/calibration.md.
    """
    ws = service.locate(workspace)
    if output is not None:  # before minutes of fitting, not after
        check_writable(output, "--out", example="accord.suggested.yaml")
    from accord.governance.calibrate import Options, calibrate, submit  # Ibis and the engine: on use

    options = Options(
        horizon_days=horizon,
        every_days=every,
        holdout_days=holdout_days,
        holdout_from=parse_day(holdout_from, "--holdout-from"),
        train_until=parse_day(train_until, "--train-until"),
        target=target,
        l2=l2,
    )
    with progress_bar() as bar:
        task = bar.add_task("calibrating", total=1.0)
        result = calibrate(
            ws, options, progress=lambda phase, f: bar.update(task, description=phase, completed=f)
        )
    if output is not None:
        write_text(output, result.text, "--out")
    proposal = None
    if propose and result.changed:
        proposal = submit(ws, result, author=author, backtest=backtest)
    if format == CalibrateFormat.json:
        data = result.to_dict()
        data["proposal"] = proposal
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return
    if format == CalibrateFormat.md:
        sys.stdout.write(to_markdown(result))
    else:
        _render(result)
    if output is not None:
        out.print(f"suggested agreement written to {output}")
    if proposal is not None:
        out.print(f"proposed as {proposal}: owners approve with `accord approve {proposal} --as PERSON`")
    elif propose and not result.changed:
        out.print("nothing to propose: the suggested points are the current ones")
