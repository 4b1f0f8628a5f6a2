"""`accord`: a thin Typer layer over accord.service; it parses, calls one use case, and renders.

Commands live in modules by topic; importing them registers them on the app.
"""

from __future__ import annotations

import os
import sys

from accord.cli import (  # noqa: F401 - registers the commands
    calibrate_cmds,
    derive_cmds,
    governance_cmds,
    handoff_cmds,
    play_cmds,
    report_cmds,
    retro_cmds,
    review_cmds,
    serve_cmds,
    workspace_cmds,
    writeback_cmds,
)
from accord.cli.app import app, docs_app, err, handled, reflow_help, report
from accord.errors import AccordError

__all__ = ["app", "run"]

reflow_help(app)


def run() -> None:
    """Console entry point: user mistakes exit 2 with a hint; bugs say so without a traceback."""
    try:
        app()
    except AccordError as exc:
        report(exc)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception as exc:  # a bug, not a user mistake: say so, keep the details one flag away
        if os.environ.get("ACCORD_DEBUG"):
            raise
        err.print(f"[red]internal error:[/red] {type(exc).__name__}: {exc}", soft_wrap=True)
        err.print("  this is a bug in Accord; rerun with ACCORD_DEBUG=1 for the traceback and report it")
        sys.exit(1)


@docs_app.command("spec")
@handled
def docs_spec() -> None:
    """Print the spec reference (docs/spec-reference.md) generated from the model."""
    from accord.spec.reference import spec_reference

    sys.stdout.write(spec_reference())


@docs_app.command("cli")
@handled
def docs_cli() -> None:
    """Print the CLI reference (docs/cli.md) generated from the commands' help."""
    from accord.cli.reference import cli_reference

    sys.stdout.write(cli_reference(app))


if __name__ == "__main__":  # pragma: no cover
    run()
