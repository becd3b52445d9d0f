"""`herald-api` administration commands against a fresh real fresh_database: migrate (idempotent),
tokens create / list / revoke, and rebuild-topics republishing everything through the outbox."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from typing import Any

import asyncpg
import pytest
from herald_api.http.auth import find_principal
from herald_api.model.defaults import default_notifier
from herald_api.store import directory_store, notifier_store
from herald_core.topics import CONFIG_APPS, CONFIG_NOTIFIERS

pytestmark = pytest.mark.integration


def herald_api(fresh_database: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HERALD_API_DATABASE_URL": fresh_database, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "herald_api", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_migrate_tokens_and_rebuild(fresh_database: str, unique: str) -> None:
    first = herald_api(fresh_database, "migrate")
    assert first.returncode == 0, first.stderr
    assert "0001 init" in first.stdout
    again = herald_api(fresh_database, "migrate")
    assert "0 migration(s) applied" in again.stdout

    created = herald_api(fresh_database, "tokens", "create", "--name", "ci", "--app", "app-1")
    assert created.returncode == 0, created.stderr
    token = re.search(r"token:\s+(hrld_\S+)", created.stdout)
    token_id = re.search(r"token id:\s+(\S+)", created.stdout)
    assert token
    assert token_id
    refused = herald_api(fresh_database, "tokens", "create", "--name", "x", "--admin", "--app", "a")
    assert refused.returncode != 0
    listed = herald_api(fresh_database, "tokens", "list")
    assert token_id.group(1) in listed.stdout
    assert token.group(1) not in listed.stdout, "a token is shown once, at creation"

    connection = await asyncpg.connect(fresh_database)
    try:
        pool: Any = connection  # find_principal only needs fetchrow
        principal = await find_principal(pool, token.group(1))
        assert principal is not None
        assert (principal.scope.value, principal.scope_id) == ("app", "app-1")
        assert herald_api(fresh_database, "tokens", "revoke", token_id.group(1)).returncode == 0
        assert await find_principal(pool, token.group(1)) is None
        assert herald_api(fresh_database, "tokens", "revoke", token_id.group(1)).returncode == 1

        async with connection.transaction():
            await directory_store.upsert_app(connection, f"app-{unique}", name="a", owner_id="o")
            await notifier_store.insert(connection, default_notifier(f"app-{unique}", "o", _now()))
        await connection.execute("UPDATE outbox SET sent_at = now()")
        rebuilt = herald_api(fresh_database, "rebuild-topics")
        assert rebuilt.returncode == 0, rebuilt.stderr
        assert "1 notifiers, 1 apps, 0 owners" in rebuilt.stdout
        pending = await connection.fetch(
            "SELECT topic FROM outbox WHERE sent_at IS NULL ORDER BY id"
        )
        assert [r["topic"] for r in pending] == [CONFIG_NOTIFIERS, CONFIG_APPS]
    finally:
        await connection.close()


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def test_help_lists_the_commands() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "herald_api", "--help"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0
    for command in ("migrate", "tokens", "rebuild-topics"):
        assert command in result.stdout
