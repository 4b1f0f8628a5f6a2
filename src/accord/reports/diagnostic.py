"""Placeholder until the diagnostic lands (being written now)."""
