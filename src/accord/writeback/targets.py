"""Write-back shapes: a HubSpot contacts import file, a Salesforce Lead update file, webhook batches.

Each CRM file carries the identity columns Accord's own import preset reads for that CRM, with the
values Accord holds, plus the Accord fields; so a file re-imports into Accord unchanged except for the
owner and the Accord fields it is meant to set (the round trip the tests prove). The column mapping is
documented in docs/writeback.md, generated from :data:`COLUMNS`.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from accord.handoffs.webhooks import SIGNATURE, TIMESTAMP, sign
from accord.writeback.rows import WritebackRow

Getter = Callable[[WritebackRow], Any]


def _iso(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _text(value: str | None) -> str:
    return value or ""


_OWNER = "the owner: the assigned rep, else the contact's owner_id"

_ACCORD: list[tuple[str, str, Getter]] = [
    ("Stage", "stage", lambda r: _text(r.stage_name or r.stage)),
    ("Score", "score", lambda r: _num(r.score)),
    ("Tier", "tier", lambda r: _text(r.tier)),
    ("Motion", "motion", lambda r: _text(r.motion)),
    ("Drivers", "drivers", lambda r: r.drivers),
    ("Next Step", "next_step", lambda r: r.next_step),
    ("Next Step Due", "next_step_due", lambda r: _iso(r.next_step_due)),
]
"""Accord's own fields: (label, key, value). HubSpot takes the label, Salesforce Accord_<Key>__c."""

COLUMNS: dict[str, list[tuple[str, str, Getter]]] = {
    "hubspot": [
        ("Record ID", "contact_id (HubSpot's record id)", lambda r: r.contact_id),
        ("Email", "email", lambda r: _text(r.email)),
        ("First Name", "first_name", lambda r: _text(r.first_name)),
        ("Last Name", "last_name", lambda r: _text(r.last_name)),
        ("Job Title", "title", lambda r: _text(r.title)),
        ("Create Date", "created_at (ISO 8601, UTC)", lambda r: _iso(r.created_at)),
        ("Original Source", "lead_source", lambda r: _text(r.lead_source)),
        ("Contact owner", _OWNER, lambda r: _text(r.owner)),
        ("Associated Company IDs", "account_id", lambda r: _text(r.account_id)),
        ("Lifecycle Stage", "HubSpot lifecycle stage id mapped from the Accord stage", lambda r: r.lifecycle),
        *[(f"Accord {label}", f"custom property accord_{key}", get) for label, key, get in _ACCORD],
    ],
    "salesforce": [
        ("Id", "contact_id: the Lead Id", lambda r: r.contact_id),
        ("Email", "email", lambda r: _text(r.email)),
        ("FirstName", "first_name", lambda r: _text(r.first_name)),
        ("LastName", "last_name", lambda r: _text(r.last_name)),
        ("Title", "title", lambda r: _text(r.title)),
        ("LeadSource", "lead_source", lambda r: _text(r.lead_source)),
        ("OwnerId", _OWNER, lambda r: _text(r.owner)),
        ("CreatedDate", "created_at (read-only in Salesforce)", lambda r: _iso(r.created_at)),
        ("ConvertedAccountId", "account_id (read-only in Salesforce)",
         lambda r: _text(r.account_id)),
        *[(f"Accord_{key.title()}__c", "custom field (text; score a number)", get)
          for _, key, get in _ACCORD],
    ],
}  # fmt: skip

UPDATABLE = {
    "hubspot": [c for c, _, _ in COLUMNS["hubspot"] if c != "Create Date"],
    "salesforce": ["Id", "OwnerId", *[c for c, _, _ in COLUMNS["salesforce"] if c.startswith("Accord_")]],
}
"""Columns a CRM import should map; the rest are there for Accord's round trip and for matching."""


def csv_text(target: str, rows: list[WritebackRow]) -> str:
    """The import file for ``target`` (hubspot or salesforce) as CSV text with a header row."""
    columns = COLUMNS[target]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([name for name, _, _ in columns])
    for row in rows:
        writer.writerow([get(row) for _, _, get in columns])
    return buffer.getvalue()


def salesforce_mapping() -> str:
    """A Data Loader mapping (.sdl) for an update: only the fields Salesforce lets an update write."""
    return "".join(f"{c}={c}\n" for c in UPDATABLE["salesforce"])


def payload(row: WritebackRow) -> dict[str, Any]:
    """One row as JSON for a sync service."""
    return {
        "contact_id": row.contact_id,
        "email": row.email,
        "stage": row.stage,
        "lifecycle": row.lifecycle,
        "score": row.score,
        "tier": row.tier,
        "motion": row.motion,
        "drivers": row.drivers,
        "owner": row.owner,
        "next_step": row.next_step,
        "next_step_due": _iso(row.next_step_due) or None,
        "spec_version": row.spec_version,
    }


@dataclass(frozen=True)
class BatchResult:
    batches: int
    rows: int
    failed: list[str]  # "batch 2: HTTP 500"


def post_batches(
    url: str, secret: str, export_id: str, rows: list[WritebackRow], *, size: int = 500, timeout: float = 10.0
) -> BatchResult:
    """POST the rows in signed batches (the same HMAC-SHA256 scheme as decision webhooks).

    A batch is ``{"export_id", "batch", "batches", "rows": [...]}``; the receiver verifies the
    signature over ``<timestamp>.<body>`` and can de-duplicate by (export_id, batch).
    """
    chunks = [rows[i : i + size] for i in range(0, len(rows), size)] or [[]]
    failed: list[str] = []
    with httpx.Client(timeout=timeout) as http:
        for n, chunk in enumerate(chunks, start=1):
            body = json.dumps(
                {"export_id": export_id, "batch": n, "batches": len(chunks),
                 "rows": [payload(r) for r in chunk]},
                separators=(",", ":"),
            ).encode()  # fmt: skip
            stamp = str(int(time.time()))
            headers = {
                "Content-Type": "application/json",
                TIMESTAMP: stamp,
                SIGNATURE: sign(secret, stamp, body),
                "X-Accord-Event": "writeback",
                "X-Accord-Delivery": f"{export_id}:{n}",
            }
            try:
                response = http.post(url, content=body, headers=headers)
                if not 200 <= response.status_code < 300:
                    failed.append(f"batch {n}: HTTP {response.status_code}")
            except httpx.HTTPError as exc:
                failed.append(f"batch {n}: {type(exc).__name__}: {exc}")
    return BatchResult(len(chunks), len(rows), failed)


def mapping_markdown() -> str:
    """The documented column mapping of each file (docs/writeback.md embeds it)."""
    lines: list[str] = []
    for target, columns in COLUMNS.items():
        lines += [
            f"### {target.title()}",
            "",
            "| column | Accord value | an import maps it |",
            "|---|---|---|",
        ]
        lines += [
            f"| `{c}` | {what} | {'yes' if c in UPDATABLE[target] else 'no'} |" for c, what, _ in columns
        ]
        lines.append("")
    return "\n".join(lines)
