"""The engine's inputs: the ledger flattened into typed columns, the same on every back end.

The ledger keeps event properties and custom attributes as JSON. Engines disagree on JSON (Spark
would need a Python UDF), so this module extracts exactly the fields the spec's rules use, once, in
DuckDB SQL. The engine then sees two plain tables:

- ``ev``: one row per event with ``ts`` (whole epoch seconds), ``day`` (calendar day number in the
  workspace zone), the event columns, the typed properties rules may read, and ``recycle_on_ts``
  (the start of the recycle day in the workspace zone);
- ``profiles``: one row per contact with its partition key ``part`` (its account, or the contact
  itself), contact columns, its account's columns as ``account__<name>``, and custom attributes.

For Spark, :func:`export_inputs` writes both to Parquet so that every engine reads identical bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from accord.engine.plan import Plan
from accord.spec import catalog
from accord.spec.model import Spec
from accord.spec.rule_ast import Type

_SQL_TYPE = {Type.STRING: "VARCHAR", Type.NUMBER: "DOUBLE", Type.BOOLEAN: "BOOLEAN",
             Type.TIMESTAMP: "TIMESTAMPTZ", Type.DATE: "DATE"}  # fmt: skip
_EVENT_COLUMNS = ("event_id", "type", "contact_id", "account_id", "opportunity_id", "actor_id",
                  "campaign_id", "content_id", "topic", "source")  # fmt: skip


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


ENGINE_PROPERTIES = ("reason_code", "stage")
"""Properties derive itself reads: rejection reasons (recycle times) and opportunity stages."""


def property_columns(spec: Spec) -> dict[str, Type]:
    """Event properties the engine needs: those the spec's rules and features name, plus its own."""
    plan = Plan(spec)
    known = {name: kind for name, (kind, _) in catalog.EVENT_PROPERTIES.items()}
    known.update(catalog.custom_fields(plan.data, "event"))
    wanted = set(ENGINE_PROPERTIES) | plan.event_fields
    return {name: kind for name, kind in known.items() if name in wanted}


def events_sql(spec: Spec, *, source: str = "events", where: str = "") -> str:
    """SELECT producing the ``ev`` table from the ledger's events table."""
    tz = _lit(spec.workspace.timezone)
    cols = [
        "event_id",
        "CAST(floor(epoch(occurred_at)) AS BIGINT) AS ts",
        f"CAST(floor(epoch(timezone({tz}, occurred_at)) / 86400) AS BIGINT) AS day",
        *[c for c in _EVENT_COLUMNS if c != "event_id"],
    ]
    for name, kind in property_columns(spec).items():
        raw = f"json_extract_string(properties, {_lit('$.' + name)})"
        cols.append(
            f"TRY_CAST({raw} AS {_SQL_TYPE[kind]}) AS {name}" if kind != Type.STRING else f"{raw} AS {name}"
        )
    cols.append(
        f"CAST(epoch(timezone({tz}, CAST(TRY_CAST(json_extract_string(properties, '$.recycle_on') AS DATE) "
        "AS TIMESTAMP))) AS BIGINT) AS recycle_on_ts"
    )
    return f"SELECT {', '.join(cols)} FROM {source} {where}"


def profiles_sql(spec: Spec, as_of: int | str, *, where: str = "") -> str:
    """SELECT producing the ``profiles`` table: every contact (the contacts table and any contact an
    event up to ``as_of`` names), joined with its account.

    A contact without ``account_id`` takes the account of its latest event that names one (ties in
    the same second: the greatest account id), the most recent fact (docs/derive.md).
    """
    data = spec.model_dump(mode="json", by_alias=True)
    contact_cols = [
        f"c.{name}" for name in catalog.CONTACT_FIELDS if name not in ("account_id", "contact_id")
    ]
    account_cols = [f"a.{name} AS account__{name}" for name in catalog.ACCOUNT_FIELDS]
    for name, kind in catalog.custom_fields(data, "contact").items():
        contact_cols.append(
            f"TRY_CAST(json_extract_string(c.attributes, {_lit('$.' + name)}) AS {_SQL_TYPE[kind]}) AS {name}"
        )
    for name, kind in catalog.custom_fields(data, "account").items():
        account_cols.append(
            f"TRY_CAST(json_extract_string(a.attributes, {_lit('$.' + name)}) AS "
            f"{_SQL_TYPE[kind]}) AS account__{name}"
        )
    return f"""
        WITH live AS (
            SELECT contact_id, account_id, CAST(floor(epoch(occurred_at)) AS BIGINT) AS ts FROM events
            WHERE contact_id IS NOT NULL AND CAST(floor(epoch(occurred_at)) AS BIGINT) <= {as_of}),
        ev_account AS (
            SELECT contact_id, arg_max(account_id, (ts, account_id)) AS account_id FROM live
            WHERE account_id IS NOT NULL GROUP BY contact_id),
        everyone AS (
            SELECT contact_id FROM contacts UNION SELECT DISTINCT contact_id FROM live)
        SELECT p.contact_id, coalesce(NULLIF(c.account_id, ''), e.account_id) AS account_id,
               coalesce(NULLIF(c.account_id, ''), e.account_id, 'c:' || p.contact_id) AS part,
               {", ".join(contact_cols)}, {", ".join(account_cols)}
        FROM everyone p
        LEFT JOIN contacts c USING (contact_id)
        LEFT JOIN ev_account e USING (contact_id)
        LEFT JOIN accounts a ON a.account_id = coalesce(NULLIF(c.account_id, ''), e.account_id)
        {where}"""


@dataclass(frozen=True)
class InputFiles:
    events: Path
    profiles: Path


def export_inputs(con: duckdb.DuckDBPyConnection, spec: Spec, as_of: int, folder: Path) -> InputFiles:
    """Write ``ev`` and ``profiles`` as Parquet (for Spark, benchmarks and parity tests)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = InputFiles(folder / "ev.parquet", folder / "profiles.parquet")
    con.execute(f"COPY ({events_sql(spec)}) TO {_lit(str(files.events))} (FORMAT parquet)")
    con.execute(f"COPY ({profiles_sql(spec, as_of)}) TO {_lit(str(files.profiles))} (FORMAT parquet)")
    return files
