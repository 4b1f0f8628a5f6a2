"""What the HubSpot and Salesforce presets share: tolerant column access, id and label clean-up, notes."""

from __future__ import annotations

from accord.ledger.mapping import try_strptime
from accord.ledger.presets.base import INDUSTRIES, Preset, _add, _event  # noqa: F401

# ---- HubSpot and Salesforce ---------------------------------------------------------------------
#
# Which columns a CRM export holds depends on the view the user exported, so these presets never let
# SQL read a column that may be absent: ``_computed`` derives new columns from a copy of the file in
# which every column it reads exists (empty when the export lacks it) and joins them back by row.
# The file's own columns stay exactly as exported (kept in attributes when no ledger column takes
# them); events read them from there, and a note names the expected columns the export lacked.
# Computed columns that an expression reads have snake_case names that contain no file column's
# name, so the importer does not mistake them for a use of that column.


def _col(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _blank(expr: str) -> str:
    return f"NULLIF(trim({expr}), '')"


def _snake(expr: str) -> str:
    """A pick-list label as an id rules can name: 'Proposal/Price Quote' -> 'proposal_price_quote'."""
    return f"NULLIF(trim(regexp_replace(lower(trim({expr})), '[^a-z0-9]+', '_', 'g'), '_'), '')"


def _squash(expr: str) -> str:
    """A HubSpot label as HubSpot's internal value: 'Closed Won' -> 'closedwon' (exports show labels)."""
    return f"NULLIF(regexp_replace(lower({expr}), '[^a-z0-9]', '', 'g'), '')"


def _first_id(expr: str) -> str:
    """The first of a ';'-separated list of ids: HubSpot writes all associations into one cell."""
    return f"NULLIF(trim(split_part({expr}, ';', 1)), '')"


def _yes(expr: str) -> str:
    return f"coalesce(lower(trim({expr})) IN ('true', '1', 'yes'), false)"


def _when(expr: str) -> str:
    """An instant from an ISO 8601 value or a US month-first one, read in the workspace zone.

    For dates read inside events SQL, where the importer's per-column format detection does not
    apply; the staging session's zone is the workspace's.
    """
    formats = ("%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y")
    return f"coalesce(TRY_CAST({expr} AS TIMESTAMPTZ), {try_strptime(expr, formats)}::TIMESTAMPTZ)"


def _stamp(instant: str) -> str:
    """An instant as it goes into an event id (UTC, to the second): a stage entered again is a new fact."""
    return f"strftime({instant} AT TIME ZONE 'UTC', '%Y%m%dT%H%M%SZ')"


def _computed(reads: tuple[str, ...], columns: dict[str, str]) -> str:
    """``prepare`` SQL: the file as exported plus ``columns`` (name -> SQL over the ``reads`` columns)."""
    filler = ", ".join(f"NULL::VARCHAR AS {_col(c)}" for c in reads)
    derived = ", ".join(f"{sql} AS {_col(name)}" for name, sql in columns.items())
    return (
        f"SELECT raw_file.*, t.* EXCLUDE (_row) FROM raw_file JOIN (SELECT _row, {derived} FROM "
        f"(SELECT * FROM raw_file UNION ALL BY NAME SELECT {filler} WHERE false)) AS t USING (_row)"
    )


def _missing_note(expected: tuple[str, ...]) -> str:
    names = ", ".join(_text(c) for c in expected)
    return (
        "SELECT 'columns this preset reads are not in the file (read as empty): ' || "
        "string_agg(c, ', ' ORDER BY c) FROM (SELECT unnest([" + names + "]) AS c) "
        "WHERE c NOT IN (SELECT column_name FROM (DESCRIBE raw_file)) HAVING count(*) > 0"
    )


def _unknown_note(value: str, known: tuple[str, ...], what: str) -> str:
    """Values (an expression over ``staged``) outside the CRM's default pick list: custom or typos."""
    listed = ", ".join(_text(k) for k in known)
    return (
        f"SELECT '{what} outside the CRM''s defaults: ' || string_agg('''' || v || ''' x' || n, ', ' "
        "ORDER BY v) || '; stored as written: declare them in the spec (pipeline stages, fields) for "
        f"rules and reports to use them' FROM (SELECT {value} AS v, count(*) AS n FROM staged "
        f"WHERE {value} NOT IN ({listed}) GROUP BY 1) HAVING count(*) > 0"
    )


def _several_note(column: str, what: str, target: str) -> str:
    return (
        f"SELECT count(*) || ' rows list several {what} in ''{column}'': {target} is the first, the "
        f"whole list is kept in attributes' FROM staged WHERE contains(attributes->>{_text(column)}, ';') "
        "HAVING count(*) > 0"
    )


def _absent_note(column: str, ref: str, what: str, first: str) -> str:
    return (
        f"SELECT count(DISTINCT {column}) || ' {what} named here are not in the ledger yet (import "
        f"{first} first to link them)' FROM staged WHERE {column} IS NOT NULL AND {column} NOT IN "
        f"(SELECT {column} FROM {ref}) HAVING count(*) > 0"
    )


HUBSPOT_LIFECYCLE = ("subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity",
                     "customer", "evangelist", "other")  # fmt: skip
HUBSPOT_DEAL_STAGES = ("appointmentscheduled", "qualifiedtobuy", "presentationscheduled",
                       "decisionmakerboughtin", "contractsent", "closedwon", "closedlost")  # fmt: skip
SALESFORCE_STAGES = ("prospecting", "qualification", "needs_analysis", "value_proposition",
                     "id_decision_makers", "perception_analysis", "proposal_price_quote",
                     "negotiation_review", "closed_won", "closed_lost")  # fmt: skip
"""Each CRM's default pick lists, as the ids the presets store."""

SALESFORCE_PREFIXES = {"001": "account", "003": "contact", "006": "opportunity", "00Q": "lead",
                       "005": "user", "701": "campaign"}  # fmt: skip
"""Salesforce record ids begin with their object's key prefix: it tells what a WhatId points at."""
