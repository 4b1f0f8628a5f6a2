"""The command line: a thin Typer layer over accord.service."""
