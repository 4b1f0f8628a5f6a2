"""Accord: the agreement between Marketing and Sales, as code that runs."""

__version__ = "0.1.0"
