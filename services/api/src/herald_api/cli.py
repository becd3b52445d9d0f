"""`herald-api` (also `python -m herald_api`): serve the API, or administer it.

\b
    herald-api                      serve (the default)
    herald-api migrate              apply pending SQL migrations
    herald-api tokens create ...    create an API token (printed once)
    herald-api tokens list|revoke   list or revoke tokens
    herald-api rebuild-topics       republish every notifier, app and owner from Postgres
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import asyncpg
import typer
from herald_core.logging import configure
from herald_runtime.startup import refuse_unsafe_start
from rich.console import Console
from rich.table import Table

from herald_api.app import serve
from herald_api.http.auth import TokenScope, create_token, revoke_token
from herald_api.native.unsubscribe_api import UnsubscribeSettings
from herald_api.pipes.rebuild import republish_everything
from herald_api.production import production_problems
from herald_api.settings import ApiSettings
from herald_api.store.migrate import migrate as apply_migrations

app = typer.Typer(help=__doc__, rich_markup_mode=None, invoke_without_command=True)
tokens = typer.Typer(help="API tokens: admin, or scoped to one app or one owner.")
app.add_typer(tokens, name="tokens")
console = Console()
T = TypeVar("T")


def _with_connection(work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    async def run() -> T:
        connection = await asyncpg.connect(ApiSettings().database_url.get_secret_value())
        try:
            return await work(connection)
        finally:
            await connection.close()

    return asyncio.run(run())


@app.callback()
def main_callback(ctx: typer.Context) -> None:
    """Serve when no command is given."""
    if ctx.invoked_subcommand is None:
        settings = ApiSettings()
        configure(json=settings.log.json_output, level=settings.log.level, service="api")
        unsubscribe = UnsubscribeSettings()
        refuse_unsafe_start(
            "api", lambda environment: production_problems(settings, unsubscribe, environment)
        )
        asyncio.run(serve(settings))


@app.command()
def migrate() -> None:
    """Apply every pending migration (safe to run concurrently)."""
    applied = _with_connection(apply_migrations)
    for migration in applied:
        console.print(f"[green]✓[/green] {migration.version:04d} {migration.name}")
    console.print(f"{len(applied)} migration(s) applied")


@tokens.command("create")
def tokens_create(
    name: Annotated[str, typer.Option(help="What the token is for")],
    admin: Annotated[bool, typer.Option(help="Full access (platform components)")] = False,
    app_id: Annotated[str | None, typer.Option("--app", help="Scope to one app")] = None,
    owner_id: Annotated[
        str | None, typer.Option("--owner", help="Scope to one owner's apps")
    ] = None,
) -> None:
    """Create a token and print it once (only its hash is stored)."""
    chosen = [
        s
        for s, v in (
            (TokenScope.ADMIN, admin),
            (TokenScope.APP, app_id),
            (TokenScope.OWNER, owner_id),
        )
        if v
    ]
    if len(chosen) != 1:
        raise typer.BadParameter("give exactly one of --admin, --app, --owner")
    scope_id = app_id or owner_id
    token_id, token = _with_connection(lambda c: create_token(c, name, chosen[0], scope_id))
    console.print(f"token id: {token_id}\ntoken:    {token}\n(store it now: it is not shown again)")


@tokens.command("list")
def tokens_list() -> None:
    """List tokens (never their values)."""
    rows: list[Any] = _with_connection(
        lambda c: c.fetch(
            "SELECT id, name, scope_kind, scope_id, created_at, revoked_at FROM api_tokens"
            " ORDER BY created_at"
        )
    )
    table = Table("id", "name", "scope", "created", "revoked")
    for row in rows:
        scope = row["scope_kind"] + (f":{row['scope_id']}" if row["scope_id"] else "")
        table.add_row(
            row["id"], row["name"], scope, str(row["created_at"]), str(row["revoked_at"] or "")
        )
    console.print(table)


@tokens.command("revoke")
def tokens_revoke(token_id: str) -> None:
    """Revoke a token now (its JWTs stop working too)."""
    if not _with_connection(lambda c: revoke_token(c, token_id)):
        console.print(f"[red]no active token {token_id}[/red]")
        raise typer.Exit(1)
    console.print(f"revoked {token_id}")


@app.command("rebuild-topics")
def rebuild_topics() -> None:
    """Queue every notifier, app and owner for publication again (a running API relays them)."""
    counts = _with_connection(republish_everything)
    console.print(", ".join(f"{v} {k}" for k, v in counts.items()) + " queued for publication")


def main() -> None:
    app()
