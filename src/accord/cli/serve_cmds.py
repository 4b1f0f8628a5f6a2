"""`accord serve` (the REST API and the dashboard) and `accord keys` (who may call them)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from accord import service
from accord.cli.app import WorkspaceOpt, app, err, handled, out

keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@app.command()
@handled
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    tick_every: Annotated[
        float, typer.Option(help="Seconds between background ticks (routing, SLA clocks); 0 turns it off.")
    ] = 60.0,
    rate_per_minute: Annotated[int, typer.Option(help="Requests a minute allowed per API key.")] = 600,
    demo_login: Annotated[
        bool,
        typer.Option(help="Create a local admin key for the first governance owner and print a login link."),
    ] = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Serve the REST API (/api/v1, docs at /api/v1/docs) and the dashboard for one workspace.

    The server holds the workspace's ledger while it runs (DuckDB allows one writing process): stop it
    before running other writing commands, or do them through the API. The clock can be frozen for
    tests and demos with ACCORD_NOW=2026-11-02T12:00:00Z.
    """
    import uvicorn

    from accord.api.app import clock_from_env, create_app

    ws = service.locate(workspace)
    clock = clock_from_env()
    api = create_app(ws.root, now=clock, rate_per_minute=rate_per_minute, tick_every=tick_every or None)
    held = api.state.workspace
    base = f"http://{host}:{port}"
    if demo_login:
        owner = (held.spec.governance.owners or list(held.spec.people))[0]
        _, key = service.create_key(held, owner, "admin", "demo login (make run)")
        out.print(f"dashboard: {base}/login?key={key}", soft_wrap=True)
        err.print("  a local admin key for the demo; anyone with this link is admin while the server runs")
    elif not service.has_admin_key(held):
        owner = (held.spec.governance.owners or list(held.spec.people))[0]
        err.print(
            f"no admin key yet: stop the server and run `accord keys create {owner} --role admin`, "
            "then send it as `Authorization: Bearer <key>`",
            soft_wrap=True,
        )
    out.print(
        f"serving {ws.spec.workspace.name} on {base} (API {base}/api/v1, docs {base}/api/v1/docs)",
        soft_wrap=True,
    )
    uvicorn.run(api, host=host, port=port, log_level="warning", access_log=False)


@keys_app.command("create")
@handled
def keys_create(
    person: Annotated[str, typer.Argument(help="Person id (spec people or users table).")],
    role: Annotated[
        str, typer.Option("--role", help="admin, revops, marketing, sales_manager, rep or viewer.")
    ],
    label: Annotated[str | None, typer.Option("--label", help="What the key is for.")] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Create an API key; it is printed once and never stored (only a salted hash is)."""
    ws = service.locate(workspace)
    key_id, key = service.create_key(ws, person, role, label)
    out.print(key, soft_wrap=True, markup=False)
    err.print(
        f"key {key_id} for {person} ({role}): store it now, it cannot be shown again "
        "(send it as `Authorization: Bearer <key>`)"
    )


@keys_app.command("list")
@handled
def keys_list(workspace: WorkspaceOpt = None) -> None:
    """Every key: id, person, role, label, created, revoked (never the secret)."""
    ws = service.locate(workspace)
    table = Table("key id", "person", "role", "label", "created", "revoked")
    for k in service.list_keys(ws):
        table.add_row(
            k.key_id,
            k.person,
            k.role,
            k.label or "",
            f"{k.created_at:%Y-%m-%d %H:%M}",
            f"{k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "",
        )
    out.print(table)


@keys_app.command("revoke")
@handled
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key id (the part after acc_).")],
    workspace: WorkspaceOpt = None,
) -> None:
    """Revoke a key at once; its row stays so the audit log still names its holder."""
    ws = service.locate(workspace)
    info = service.revoke_key(ws, key_id)
    out.print(f"revoked {info.key_id} ({info.person}, {info.role})")
