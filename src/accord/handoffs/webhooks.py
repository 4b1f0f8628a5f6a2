"""Outbound webhooks: Accord's decisions POSTed to the endpoints the spec names, signed, retried.

Each request carries ``X-Accord-Timestamp`` and ``X-Accord-Signature: sha256=<hex>``, the
HMAC-SHA256 of ``"<timestamp>.<body>"`` with the endpoint's secret (read from the environment
variable the spec names, never from the spec). A failed attempt is retried after the endpoint's
backoff, doubling each time, up to its attempt limit; every attempt is recorded in
``webhook_deliveries`` with its outcome, so nothing is sent twice once it has been accepted and
nothing is silently dropped.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from accord.ledger.store import Ledger
from accord.spec.model import Spec, Webhook

SIGNATURE = "X-Accord-Signature"
TIMESTAMP = "X-Accord-Timestamp"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver does: recompute and compare in constant time."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


@dataclass
class DispatchResult:
    sent: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    gave_up: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


def _pending(ledger: Ledger, hook: Webhook, limit: int) -> list[dict[str, Any]]:
    """Events this endpoint wants that were never accepted and still have attempts left."""
    types = ", ".join(f"'{t}'" for t in hook.events)
    cursor = ledger.con.execute(
        f"""SELECT e.event_id, e.type, e.occurred_at, e.contact_id, e.account_id, e.actor_id, e.source,
                   e.properties, coalesce(d.attempts, 0) AS attempts, d.last_at
            FROM events e LEFT JOIN (
                SELECT event_id, count(*) AS attempts, max(attempted_at) AS last_at,
                       bool_or(outcome IN ('sent', 'gave_up')) AS done
                FROM webhook_deliveries WHERE webhook_id = ? GROUP BY event_id) d USING (event_id)
            WHERE e.source = 'accord' AND e.type IN ({types}) AND NOT coalesce(d.done, false)
            ORDER BY e.occurred_at, e.event_id LIMIT ?""",
        [hook.id, limit],
    )
    names = [c[0] for c in cursor.description]
    return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def _payload(hook: Webhook, event: dict[str, Any]) -> bytes:
    body = {
        "webhook": hook.id,
        "delivery_id": f"{hook.id}:{event['event_id']}",
        "event": {
            "event_id": event["event_id"], "type": event["type"],
            "occurred_at": event["occurred_at"].astimezone(UTC).isoformat(),
            "contact_id": event["contact_id"], "account_id": event["account_id"],
            "actor_id": event["actor_id"],
            "source": event["source"], "properties": json.loads(event["properties"] or "{}"),
        },
    }  # fmt: skip
    return json.dumps(body, sort_keys=True).encode()


def _record(
    ledger: Ledger,
    hook: Webhook,
    event_id: str,
    attempt: int,
    outcome: str,
    status: int | None,
    error: str | None,
) -> None:
    ledger.execute_write(  # to PostgreSQL too when it is the store
        "INSERT INTO webhook_deliveries VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [f"{hook.id}:{event_id}", hook.id, event_id, attempt, datetime.now(UTC), outcome, status, error],
    )


def dispatch(
    ledger: Ledger,
    spec: Spec,
    *,
    client: httpx.Client | None = None,
    max_wait: float = 10.0,
    limit: int = 1000,
    sleep: Callable[[float], None] = time.sleep,
) -> DispatchResult:
    """Send what is due to every endpoint; wait for retries that fall due within ``max_wait`` seconds."""
    result = DispatchResult()
    owned = client is None
    http = client or httpx.Client()
    try:
        for hook in spec.notifications.webhooks:
            secret = os.environ.get(hook.secret_env)
            if not secret:
                result.skipped[hook.id] = f"${hook.secret_env} is not set: nothing is sent unsigned"
                continue
            _dispatch_one(ledger, hook, secret, http, result, max_wait, limit, sleep)
    finally:
        if owned:
            http.close()
    return result


def _dispatch_one(
    ledger: Ledger,
    hook: Webhook,
    secret: str,
    http: httpx.Client,
    result: DispatchResult,
    max_wait: float,
    limit: int,
    sleep: Callable[[float], None],
) -> None:
    backoff = hook.backoff.total_seconds()
    deadline = time.monotonic() + max_wait
    while True:
        soonest: float | None = None
        now = datetime.now(UTC)
        for event in _pending(ledger, hook, limit):
            attempts = int(event["attempts"])
            if attempts:
                wait_until = event["last_at"].timestamp() + backoff * 2 ** (attempts - 1)
                if wait_until > now.timestamp():
                    soonest = wait_until if soonest is None else min(soonest, wait_until)
                    continue
            body = _payload(hook, event)
            stamp = str(int(time.time()))
            headers = {
                "Content-Type": "application/json",
                TIMESTAMP: stamp,
                SIGNATURE: sign(secret, stamp, body),
                "X-Accord-Event": event["type"],
                "X-Accord-Delivery": f"{hook.id}:{event['event_id']}",
            }
            status: int | None = None
            error: str | None = None
            try:
                response = http.post(
                    hook.url, content=body, headers=headers, timeout=hook.timeout.total_seconds()
                )
                status = response.status_code
                ok = 200 <= status < 300
                if not ok:
                    error = f"HTTP {status}"
            except httpx.HTTPError as exc:
                ok, error = False, f"{type(exc).__name__}: {exc}"
            attempt = attempts + 1
            if ok:
                outcome = "sent"
                result.sent[hook.id] = result.sent.get(hook.id, 0) + 1
            elif attempt >= hook.max_attempts:
                outcome = "gave_up"
                result.gave_up[hook.id] = result.gave_up.get(hook.id, 0) + 1
            else:
                outcome = "failed"
                result.failed[hook.id] = result.failed.get(hook.id, 0) + 1
                retry_at = time.time() + backoff * 2 ** (attempt - 1)
                soonest = retry_at if soonest is None else min(soonest, retry_at)
            _record(ledger, hook, event["event_id"], attempt, outcome, status, error)
        if soonest is None:
            return
        pause = soonest - time.time()
        if time.monotonic() + max(pause, 0) > deadline:
            return
        sleep(max(pause, 0))
