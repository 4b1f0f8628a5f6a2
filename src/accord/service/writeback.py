"""Write-back: the agreement's current view of each contact, shaped for the CRM where reps work."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from accord.errors import WorkspaceError
from accord.service.workspace import Workspace
from accord.spec.rules import suggest
from accord.writeback.rows import changed, current_rows, last_fingerprints, remember
from accord.writeback.targets import csv_text, post_batches, salesforce_mapping

TARGETS = ("hubspot", "salesforce", "webhook")


@dataclass
class WritebackResult:
    target: str
    export_id: str
    rows: int  # rows sent
    unchanged: int  # rows left out because the target already has them
    files: list[Path] = field(default_factory=list)
    batches: int = 0
    failed: list[str] = field(default_factory=list)


def writeback(
    ws: Workspace,
    target: str,
    *,
    all_rows: bool = False,
    out: Path | None = None,
    webhook: str | None = None,
    now: datetime | None = None,
) -> WritebackResult:
    """Export current stage, score, tier, drivers, owner and next step per contact to ``target``.

    Only rows that changed since the target's last export go, unless ``all_rows``. What the target
    received is remembered only once the file is written or every batch was accepted, so a failed
    delivery is sent again next time rather than lost.
    """
    if target not in TARGETS:
        near = suggest(target, list(TARGETS))
        raise WorkspaceError(
            f"unknown write-back target '{target}'" + (f"; did you mean '{near}'?" if near else ""),
            hint="targets: " + ", ".join(TARGETS),
        )
    moment = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    spec = ws.spec
    hook = None
    key = target
    if target == "webhook":
        hooks = {h.id: h for h in spec.notifications.webhooks}
        if webhook is None or webhook not in hooks:
            raise WorkspaceError(
                "a webhook write-back names one of the spec's webhooks"
                + (f": no webhook '{webhook}'" if webhook else ""),
                hint="use --webhook ID with one of: "
                + (", ".join(hooks) or "(none: add notifications.webhooks)"),
            )
        hook = hooks[webhook]
        key = f"webhook:{hook.id}"
    with ws.ledger() as ledger:
        if not ledger.has_table("derived_leads"):
            raise WorkspaceError("nothing derived yet", hint="run `accord derive` first")
        rows = current_rows(ledger, spec, moment)
        before = last_fingerprints(ledger, key)
        send = rows if all_rows else changed(rows, before)
        export_id = f"wb_{moment:%Y%m%dT%H%M%S}_{secrets.token_hex(3)}"
        result = WritebackResult(key, export_id, len(send), len(rows) - len(send))
        if not send:
            return result
        if hook is not None:
            secret = os.environ.get(hook.secret_env)
            if not secret:
                raise WorkspaceError(
                    f"webhook '{hook.id}' needs its secret in ${hook.secret_env}",
                    hint=f"export {hook.secret_env}=... (the key the receiver verifies signatures with)",
                )
            sent = post_batches(hook.url, secret, export_id, send, timeout=hook.timeout.total_seconds())
            result.batches, result.failed = sent.batches, sent.failed
            if sent.failed:
                return result  # nothing remembered: the next run sends these rows again
        else:
            folder = out or ws.root / "exports"
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{target}-contacts-{moment:%Y%m%dT%H%M%S}.csv"
            path.write_text(csv_text(target, send), encoding="utf-8")
            result.files.append(path)
            if target == "salesforce":
                mapping = folder / "salesforce-lead-update.sdl"
                mapping.write_text(salesforce_mapping(), encoding="utf-8")
                result.files.append(mapping)
        remember(ledger, key, send, moment, export_id)
    return result
