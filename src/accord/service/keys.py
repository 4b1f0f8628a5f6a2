"""API keys and the audit log: who may call the API, and what every write did.

A key reads ``acc_<key_id>_<secret>``. Only a per-key random salt and ``sha256(salt + secret)`` are
stored, never the key: a copy of the ledger does not let anyone call the API. The key id in clear makes
the lookup one primary-key read; the hash is compared in constant time. A key belongs to a person of the
agreement (the spec's people or the users table) and carries one role of the permission matrix
(:mod:`accord.api.permissions`). Revoking keeps the row, so the audit log still says whose key it was.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from accord.api.permissions import Principal, Role
from accord.errors import AccordError
from accord.reports.base import utc_text
from accord.service.grouped import GroupWriter, Waiting
from accord.service.hosted import HostedWorkspace
from accord.service.workspace import Workspace
from accord.spec.rules import suggest

PREFIX = "acc"


class KeyError_(AccordError):
    """A key that cannot be created or revoked as asked."""


@dataclass(frozen=True)
class KeyInfo:
    """A key as listed: everything but the secret, which is never stored."""

    key_id: str
    person: str
    role: str
    label: str | None
    created_at: datetime
    revoked_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "person": self.person,
            "role": self.role,
            "label": self.label,
            "created_at": utc_text(self.created_at),
            "revoked_at": utc_text(self.revoked_at) if self.revoked_at else None,
        }


def _digest(salt: str, secret: str) -> str:
    return hashlib.sha256((salt + secret).encode("utf-8")).hexdigest()


def parse_key(key: str) -> tuple[str, str] | None:
    """Split ``acc_<key_id>_<secret>``; None when the text is not shaped like a key."""
    parts = key.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def _people(ws: Workspace) -> list[str]:
    with ws.ledger(read_only=True) as ledger:
        users = [r[0] for r in ledger.con.execute("SELECT user_id FROM users").fetchall()]
    return sorted(set(ws.spec.people) | set(users))


def create_key(
    ws: Workspace, person: str, role: str, label: str | None = None, *, now: datetime | None = None
) -> tuple[str, str]:
    """Make a key for a person of the agreement; returns (key_id, the full key), shown only this once."""
    try:
        chosen = Role(role)
    except ValueError:
        near = suggest(role, [r.value for r in Role])
        raise KeyError_(
            f"unknown role '{role}'" + (f"; did you mean '{near}'?" if near else ""),
            hint="roles: " + ", ".join(r.value for r in Role),
        ) from None
    people = _people(ws)
    if person not in people:
        near = suggest(person, people)
        raise KeyError_(
            f"'{person}' is not a person of this agreement" + (f"; did you mean '{near}'?" if near else ""),
            hint="a key belongs to a person id of the spec's people or the users table",
        )
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(24)
    salt = secrets.token_hex(16)
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    with ws.ledger() as ledger:
        ledger.execute_write(  # the working copy and, when configured, PostgreSQL
            "INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, ?, NULL, ?)",
            [key_id, person, chosen.value, salt, _digest(salt, secret), moment, label],
        )
    _forget_keys(ws)
    return key_id, f"{PREFIX}_{key_id}_{secret}"


def list_keys(ws: Workspace) -> list[KeyInfo]:
    with ws.ledger(read_only=True) as ledger:
        rows = ledger.con.execute(
            "SELECT key_id, person, role, label, created_at, revoked_at FROM api_keys ORDER BY created_at"
        ).fetchall()
    return [KeyInfo(*r) for r in rows]


def revoke_key(ws: Workspace, key_id: str, *, now: datetime | None = None) -> KeyInfo:
    """Revoke a key at once; its row stays so the audit log keeps naming its holder."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    with ws.ledger() as ledger:
        found = ledger.con.execute(
            "SELECT key_id, person, role, label, created_at, revoked_at FROM api_keys WHERE key_id = ?",
            [key_id],
        ).fetchall()
        if not found:
            raise KeyError_(f"no key '{key_id}'", hint="list keys with `accord keys list`")
        if found[0][5] is None:
            ledger.execute_write("UPDATE api_keys SET revoked_at = ? WHERE key_id = ?", [moment, key_id])
            _forget_keys(ws)
            row = found[0]
            return KeyInfo(row[0], row[1], row[2], row[3], row[4], moment)
    return KeyInfo(*found[0])


def principal_for(ws: Workspace, key: str) -> Principal | None:
    """The caller a key stands for; None for a malformed, unknown or revoked key (never says which)."""
    parsed = parse_key(key)
    if parsed is None:
        return None
    key_id, secret = parsed
    row = _key_row(ws, key_id)
    if row is None:
        return None
    person, role, salt, digest, revoked = row
    if revoked is not None or not hmac.compare_digest(_digest(salt, secret), digest):
        return None
    return Principal(person=person, role=Role(role), key_id=key_id)


class _KeyRows:
    """Key rows by id, kept by a server on its own DuckDB file: every request looks its key up, and
    keys change only through :func:`create_key` and :func:`revoke_key` in this process, which empty
    it. With PostgreSQL another process may revoke a key, so every request reads the row."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rows: dict[str, tuple[Any, ...]] = {}
        self.version = 0  # moves when emptied, so a read that raced a revoke is not kept

    def forget(self) -> None:
        with self.lock:
            self.rows.clear()
            self.version += 1


def _key_rows(ws: Workspace) -> _KeyRows | None:
    return ws.kept("keys", _KeyRows) if isinstance(ws, HostedWorkspace) and ws.local else None


def _forget_keys(ws: Workspace) -> None:
    kept = _key_rows(ws)
    if kept is not None:
        kept.forget()


def _key_row(ws: Workspace, key_id: str) -> tuple[Any, ...] | None:
    kept = _key_rows(ws)
    if kept is not None:
        with kept.lock:
            found, version = kept.rows.get(key_id), kept.version
        if found is not None:
            return found
    with ws.ledger(read_only=True) as ledger:
        rows = ledger.con.execute(
            "SELECT person, role, salt, hash, revoked_at FROM api_keys WHERE key_id = ?", [key_id]
        ).fetchall()
    if not rows:
        return None  # unknown ids are not kept: a flood of made-up keys must not fill memory
    row = tuple(rows[0])
    if kept is not None:
        with kept.lock:
            if kept.version == version:
                kept.rows[key_id] = row
    return row


def has_admin_key(ws: Workspace) -> bool:
    with ws.ledger(read_only=True) as ledger:
        row = ledger.con.execute(
            "SELECT count(*) FROM api_keys WHERE role = 'admin' AND revoked_at IS NULL"
        ).fetchall()[0]
    return bool(row[0])


def record_audit(
    ws: Workspace,
    *,
    at: datetime,
    principal: Principal | None,
    method: str,
    path: str,
    status: int,
    detail: dict[str, Any] | None = None,
) -> None:
    """One row per write attempt, refused ones included: who, when, what, and how it ended.

    A server writes the rows of requests that end together in one transaction (every write request
    adds one, so a commit each would queue them); each call still returns once its row is stored.
    """
    row = _AuditRow(
        values=[
            at,
            principal.key_id if principal else None,
            principal.person if principal else None,
            principal.role.value if principal else None,
            method,
            path,
            status,
            json.dumps(detail or {}, default=str, sort_keys=True),
        ]
    )
    if isinstance(ws, HostedWorkspace):
        ws.kept("audit", lambda: GroupWriter[_AuditRow](lambda rows: _write_audit(ws, rows))).run(row)
    else:
        _write_audit(ws, [row])


@dataclass
class _AuditRow(Waiting):
    values: list[Any] = field(default_factory=list)


def _write_audit(ws: Workspace, rows: list[_AuditRow]) -> None:
    # one INSERT, nothing left on the cursor: a held workspace lends this thread's kept cursor
    with ws.kept_ledger() if isinstance(ws, HostedWorkspace) else ws.ledger() as ledger:
        ledger.execute_write(
            "INSERT INTO audit_log VALUES " + ", ".join("(?, ?, ?, ?, ?, ?, ?, ?)" for _ in rows),
            [value for row in rows for value in row.values],
        )


def audit(ws: Workspace, limit: int = 100) -> list[dict[str, Any]]:
    """The latest audit rows, newest first."""
    with ws.ledger(read_only=True) as ledger:
        cursor = ledger.con.execute(
            'SELECT "at", key_id, person, role, method, path, status, detail FROM audit_log '
            'ORDER BY "at" DESC LIMIT ?',
            [max(0, int(limit))],
        )
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
    for row in rows:
        row["at"] = utc_text(row["at"])
        row["detail"] = json.loads(row["detail"]) if row["detail"] else {}
    return rows
