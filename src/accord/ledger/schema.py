"""The ledger's tables: one place that says what each record holds, used for DDL, imports and docs.

Dimension tables hold the latest known state of a record (re-importing a changed row updates it and
writes a ``record_updated`` event with the old and new values, so nothing is lost). ``events`` is
append-only and keyed by ``event_id``: appending the same event twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

EARLIEST_EVENT = datetime(1990, 1, 1, tzinfo=UTC)
LATEST_EVENT = datetime(2100, 1, 1, tzinfo=UTC)
"""Events must happen in [EARLIEST_EVENT, LATEST_EVENT). No marketing or sales system recorded
anything before 1990, so earlier instants are placeholders from an export (1970-01-01, 1900-01-01, year
1); stored, they would score and route as real history. The bounds also keep every instant clear of
the ends of Python's and DuckDB's calendars, where converting a zone overflows."""
EVENT_TIME_PROBLEM = (
    "occurred_at is outside 1990-01-01 to 2099-12-31 (a placeholder date from an export?); fix the value"
)


def event_time_problem(when: datetime) -> str | None:
    """Why an event's instant cannot be stored, or None; ``when`` carries its zone."""
    try:
        utc = when.astimezone(UTC)
    except (OverflowError, ValueError):  # year 1 at +14:00 is before the calendar begins
        return EVENT_TIME_PROBLEM
    return None if EARLIEST_EVENT <= utc < LATEST_EVENT else EVENT_TIME_PROBLEM


ColumnType = Literal["string", "timestamp", "date", "number", "integer", "boolean", "json"]

SQL_TYPES: dict[str, str] = {
    "string": "VARCHAR", "timestamp": "TIMESTAMPTZ", "date": "DATE", "number": "DOUBLE",
    "integer": "BIGINT", "boolean": "BOOLEAN", "json": "JSON",
}  # fmt: skip


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    doc: str
    required: bool = False


@dataclass(frozen=True)
class Table:
    """A ledger table as imports and the engine see it."""

    kind: str
    name: str
    key: str
    columns: tuple[Column, ...]
    extra: str
    doc: str
    entity_column: str | None = None  # which events column names this record in record_updated

    def importable(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)

    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]


def _c(name: str, type_: ColumnType, doc: str, required: bool = False) -> Column:
    return Column(name, type_, doc, required)


_ID: ColumnType = "string"

TABLES: dict[str, Table] = {
    "accounts": Table("accounts", "accounts", "account_id", (
        _c("account_id", _ID, "Unique account id.", True),
        _c("name", "string", "Company name."),
        _c("domain", "string", "Web domain."),
        _c("industry", "string", "Industry."),
        _c("employees", "integer", "Number of employees."),
        _c("annual_revenue", "number", "Annual revenue in the workspace currency."),
        _c("country", "string", "Headquarters country."),
        _c("region", "string", "Sales region."),
        _c("segment", "string", "Segment: smb, mid_market, enterprise."),
        _c("owner_id", "string", "Account owner (person id)."),
        _c("parent_account_id", "string", "Parent company account id."),
        _c("created_at", "timestamp", "When the account was created."),
        _c("source", "string", "System the record came from."),
    ), "attributes", "Companies you sell to.", "account_id"),
    "contacts": Table("contacts", "contacts", "contact_id", (
        _c("contact_id", _ID, "Unique contact (lead) id.", True),
        _c("account_id", "string", "Account the contact works at."),
        _c("email", "string", "Email address."),
        _c("first_name", "string", "First name."),
        _c("last_name", "string", "Last name."),
        _c("title", "string", "Job title."),
        _c("seniority", "string", "c_level, vp, director, manager or individual."),
        _c("department", "string", "Department."),
        _c("committee_role", "string", "Buying-committee role id."),
        _c("country", "string", "Country."),
        _c("region", "string", "Sales region."),
        _c("lead_source", "string", "Original source of the lead."),
        _c("owner_id", "string", "Current owner (person id)."),
        _c("created_at", "timestamp", "When the contact was created."),
        _c("source", "string", "System the record came from."),
    ), "attributes", "People at accounts: leads and buying-committee members.", "contact_id"),
    "users": Table("users", "users", "user_id", (
        _c("user_id", _ID, "Unique user id (the person id used in the spec).", True),
        _c("name", "string", "Full name."),
        _c("email", "string", "Email address."),
        _c("role", "string", "Role (sdr, ae, manager, marketer...)."),
        _c("team_id", "string", "Team id."),
        _c("manager_id", "string", "Manager's user id."),
        _c("timezone", "string", "IANA time zone."),
        _c("active", "boolean", "Still working here."),
        _c("source", "string", "System the record came from."),
    ), "attributes", "CRM users: reps, managers, marketers.", "actor_id"),
    "opportunities": Table("opportunities", "opportunities", "opportunity_id", (
        _c("opportunity_id", _ID, "Unique opportunity id.", True),
        _c("account_id", "string", "Account."),
        _c("contact_id", "string", "Primary contact."),
        _c("name", "string", "Deal name."),
        _c("owner_id", "string", "Deal owner (person id)."),
        _c("stage", "string", "Current pipeline stage."),
        _c("amount", "number", "Deal amount."),
        _c("currency", "string", "ISO currency of the amount."),
        _c("product", "string", "Product."),
        _c("created_at", "timestamp", "When the opportunity was created."),
        _c("close_date", "date", "Expected or actual close date."),
        _c("closed_at", "timestamp", "When it closed."),
        _c("is_closed", "boolean", "Closed (won or lost)."),
        _c("is_won", "boolean", "Closed-won."),
        _c("loss_reason", "string", "Loss reason id."),
        _c("next_action", "string", "Next action."),
        _c("next_action_due", "date", "When the next action is due."),
        _c("lead_source", "string", "Source of the deal."),
        _c("source", "string", "System the record came from."),
    ), "attributes", "Deals.", "opportunity_id"),
    "products": Table("products", "products", "product_id", (
        _c("product_id", _ID, "Unique product id.", True),
        _c("name", "string", "Product name."),
        _c("family", "string", "Product family or series."),
        _c("list_price", "number", "List price."),
        _c("source", "string", "System the record came from."),
    ), "attributes", "What you sell.", None),
    "content": Table("content", "content_assets", "content_id", (
        _c("content_id", _ID, "Unique asset id.", True),
        _c("title", "string", "Title."),
        _c("format", "string", "deck, case_study, talk_track, whitepaper, email_template..."),
        _c("stage", "string", "Journey stage id it is mapped to."),
        _c("committee_role", "string", "Buying-committee role it is for."),
        _c("topic", "string", "Topic."),
        _c("url", "string", "Where it lives."),
        _c("owner_id", "string", "Owner (person id)."),
        _c("created_at", "timestamp", "When it was published."),
        _c("retired_at", "timestamp", "When it was retired."),
        _c("source", "string", "System the record came from."),
    ), "attributes", "Sales and marketing content assets.", "content_id"),
    "campaigns": Table("campaigns", "campaigns", "campaign_id", (
        _c("campaign_id", _ID, "Unique campaign id.", True),
        _c("name", "string", "Name."),
        _c("channel", "string", "Main channel."),
        _c("status", "string", "planned, active, completed."),
        _c("start_date", "date", "Start."),
        _c("end_date", "date", "End."),
        _c("budget", "number", "Budget."),
        _c("cost", "number", "Actual cost."),
        _c("owner_id", "string", "Owner (person id)."),
        _c("source", "string", "System the record came from."),
    ), "attributes", "Marketing campaigns.", "campaign_id"),
    "events": Table("events", "events", "event_id", (
        _c("event_id", _ID, "Unique id; when a file has none, one is derived from the row's content.", True),
        _c("occurred_at", "timestamp", "When it happened.", True),
        _c("type", "string", "Event type.", True),
        _c("contact_id", "string", "Contact."),
        _c("account_id", "string", "Account."),
        _c("opportunity_id", "string", "Opportunity."),
        _c("actor_id", "string", "Person who acted."),
        _c("campaign_id", "string", "Campaign."),
        _c("content_id", "string", "Content asset."),
        _c("topic", "string", "Topic."),
        _c("source", "string", "System it came from ('accord' for Accord's own decisions)."),
    ), "properties", "Everything that happens, append-only.", None),
}  # fmt: skip

SYSTEM_COLUMNS = {"content_hash", "import_id", "updated_at", "ingested_at"}


def table_ddl(table: Table) -> str:
    cols = [f"{c.name} {SQL_TYPES[c.type]}{' NOT NULL' if c.required else ''}" for c in table.columns]
    cols.append(f"{table.extra} JSON")
    cols.append("content_hash VARCHAR NOT NULL")
    cols.append("import_id VARCHAR")
    cols.append(
        "ingested_at TIMESTAMPTZ NOT NULL" if table.kind == "events" else "updated_at TIMESTAMPTZ NOT NULL"
    )
    cols.append(f"PRIMARY KEY ({table.key})")
    return f"CREATE TABLE {table.name} (\n  " + ",\n  ".join(cols) + "\n)"


IMPORTS_DDL = """CREATE TABLE imports (
  import_id VARCHAR PRIMARY KEY,
  kind VARCHAR NOT NULL,
  file VARCHAR,
  file_sha256 VARCHAR,
  preset VARCHAR,
  mapping JSON,
  started_at TIMESTAMPTZ NOT NULL,
  finished_at TIMESTAMPTZ NOT NULL,
  rows_read BIGINT NOT NULL,
  imported BIGINT NOT NULL,
  updated BIGINT NOT NULL,
  duplicates BIGINT NOT NULL,
  rejected BIGINT NOT NULL,
  events_written BIGINT NOT NULL,
  rejects_file VARCHAR,
  notes JSON
)"""

META_DDL = "CREATE TABLE accord_meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)"
MIGRATIONS_DDL = """CREATE TABLE IF NOT EXISTS accord_migrations (
  version INTEGER PRIMARY KEY,
  description VARCHAR NOT NULL,
  applied_at TIMESTAMPTZ NOT NULL
)"""


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "ledger: dimension tables, append-only events, import log", (
        META_DDL,
        *(table_ddl(t) for t in TABLES.values()),
        "CREATE INDEX events_contact ON events (contact_id)",
        "CREATE INDEX events_account ON events (account_id)",
        IMPORTS_DDL,
    )),
    Migration(2, "derive runs: spec version, as-of, engine, counts and timings of each derive", (
        """CREATE TABLE derive_runs (
  run_id VARCHAR PRIMARY KEY,
  spec_version VARCHAR NOT NULL,
  as_of TIMESTAMPTZ NOT NULL,
  started_at TIMESTAMPTZ NOT NULL,
  finished_at TIMESTAMPTZ NOT NULL,
  engine VARCHAR NOT NULL,
  counts JSON,
  timings JSON
)""",
    )),
    Migration(3, "webhook deliveries: every attempt to tell an endpoint about a decision", (
        """CREATE TABLE webhook_deliveries (
  delivery_id VARCHAR NOT NULL,
  webhook_id VARCHAR NOT NULL,
  event_id VARCHAR NOT NULL,
  attempt INTEGER NOT NULL,
  attempted_at TIMESTAMPTZ NOT NULL,
  outcome VARCHAR NOT NULL,
  http_status INTEGER,
  error VARCHAR,
  PRIMARY KEY (delivery_id, attempt)
)""",
    )),
    Migration(4, "API keys (salted hashes, never the key) and the audit log of every API write", (
        """CREATE TABLE api_keys (
  key_id VARCHAR PRIMARY KEY,
  person VARCHAR NOT NULL,
  role VARCHAR NOT NULL,
  salt VARCHAR NOT NULL,
  hash VARCHAR NOT NULL,
  created_at TIMESTAMPTZ NOT NULL,
  revoked_at TIMESTAMPTZ,
  label VARCHAR
)""",
        """CREATE TABLE audit_log (
  "at" TIMESTAMPTZ NOT NULL,
  key_id VARCHAR,
  person VARCHAR,
  role VARCHAR,
  method VARCHAR NOT NULL,
  path VARCHAR NOT NULL,
  status INTEGER NOT NULL,
  detail JSON
)""",
    )),
    Migration(5, "governed change: every version of the agreement's text, and proposals to change it", (
        """CREATE TABLE spec_versions (
  version VARCHAR PRIMARY KEY,
  text VARCHAR NOT NULL,
  recorded_at TIMESTAMPTZ NOT NULL,
  why VARCHAR,
  origin VARCHAR NOT NULL
)""",
        """CREATE TABLE proposals (
  proposal_id VARCHAR PRIMARY KEY,
  version VARCHAR NOT NULL,
  base_version VARCHAR,
  author VARCHAR NOT NULL,
  why VARCHAR NOT NULL,
  proposed_at TIMESTAMPTZ NOT NULL,
  diff JSON,
  backtest JSON
)""",
    )),
    Migration(6, "CRM write-back: what each target last received per contact, and each export", (
        """CREATE TABLE writeback_state (
  target VARCHAR NOT NULL,
  contact_id VARCHAR NOT NULL,
  fingerprint VARCHAR NOT NULL,
  exported_at TIMESTAMPTZ NOT NULL,
  export_id VARCHAR NOT NULL,
  PRIMARY KEY (target, contact_id)
)""",
        """CREATE TABLE writeback_exports (
  export_id VARCHAR PRIMARY KEY,
  target VARCHAR NOT NULL,
  exported_at TIMESTAMPTZ NOT NULL,
  rows INTEGER NOT NULL
)""",
    )),
    # Every commit of events updated this index, whose keys each hold thousands of rows (an account's
    # events): storing one event and committing took 1.8 ms with it, 1.3 ms without (a 33k-event
    # demo, DuckDB 1.5). No query reads through it: the slice reads filter by lists or subqueries,
    # which DuckDB answers with a scan either way (measured: the same slice read times).
    Migration(7, "events: no index on account_id (it made every commit slower and no query used it)", (
        "DROP INDEX IF EXISTS events_account",
    )),
)  # fmt: skip
"""Ordered schema changes; a workspace records which it has and applies the rest on open."""

SCHEMA_VERSION = MIGRATIONS[-1].version
