"""Ibis expressions for everything derived: written once, run on DuckDB, Spark or any Ibis back end."""
