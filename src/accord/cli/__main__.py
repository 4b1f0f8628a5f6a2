"""`python -m accord.cli` runs the CLI (used by tests that need a separate process)."""

from accord.cli.main import run

run()
