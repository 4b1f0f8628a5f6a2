"""Import presets for CRM exports whose shape is known, including their quirks.

A preset maps a file's columns onto a ledger table, repairs what can be repaired with certainty
(and says so), derives the events the file implies (a won deal is a ``closed_won`` event at its close
date), and reports what it could not map. The SQL here is Accord's own code run on a private in-memory
staging database; users never supply SQL.

Staging tables a preset can read: ``raw_file`` (the file as text), ``raw`` (after ``prepare``),
``staged`` (typed rows that passed), and ``ref_products``, ``ref_accounts``, ``ref_contacts``,
``ref_users`` (what the ledger already holds).
"""

from accord.ledger.presets import hubspot, salesforce, shared_data  # noqa: F401 - each registers its presets
from accord.ledger.presets.base import INDUSTRIES, PRESETS, Preset

__all__ = ["INDUSTRIES", "PRESETS", "Preset"]
