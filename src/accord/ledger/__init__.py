"""Ledger: the workspace store, its schema and migrations, and lossless imports."""
