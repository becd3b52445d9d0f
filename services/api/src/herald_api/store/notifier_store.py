"""Notifiers in Postgres, published through the outbox with the events their changes are."""

from __future__ import annotations

import json

import asyncpg
from herald_core.notifiers import Notifier
from herald_core.topics import CONFIG_NOTIFIERS

from herald_api.store import alert_store
from herald_api.store.outbox import enqueue

_LOAD = "SELECT document FROM notifiers WHERE id = $1"
_LOAD_FOR_UPDATE = _LOAD + " FOR UPDATE"


def _notifier(row: asyncpg.Record) -> Notifier:
    return Notifier.model_validate_json(row["document"])


async def load(
    connection: asyncpg.Connection, notifier_id: str, *, lock: bool = False
) -> Notifier | None:
    query = _LOAD_FOR_UPDATE if lock else _LOAD
    row = await connection.fetchrow(
        query,
        notifier_id,
    )
    return _notifier(row) if row else None


async def list_for_app(
    connection: asyncpg.Connection, app_id: str, *, offset: int, limit: int
) -> tuple[list[Notifier], int]:
    """One page of an app's notifiers, oldest first, and the total count."""
    rows = await connection.fetch(
        "SELECT document, count(*) OVER () AS total FROM notifiers"
        " WHERE app_id = $1 AND scope = 'app'"
        " ORDER BY created_at, id OFFSET $2 LIMIT $3",
        app_id,
        offset,
        limit,
    )
    if rows:
        return [_notifier(r) for r in rows], int(rows[0]["total"])
    total = await connection.fetchval(
        "SELECT count(*) FROM notifiers WHERE app_id = $1 AND scope = 'app'", app_id
    )
    return [], int(total)


async def list_by_face(
    connection: asyncpg.Connection,
    face: str,
    *,
    app_id: str | None = None,
    user_id: str | None = None,
) -> list[Notifier]:
    """The notifiers another platform's face made (`type_data.face`), of an app or a user,
    oldest first."""
    rows = await connection.fetch(
        "SELECT document FROM notifiers WHERE document->'type_data'->>'face' = $1"
        " AND (($2::text IS NOT NULL AND scope = 'app' AND app_id = $2)"
        " OR ($3::text IS NOT NULL AND scope = 'user' AND user_id = $3))"
        " ORDER BY created_at, id",
        face,
        app_id,
        user_id,
    )
    return [_notifier(r) for r in rows]


async def publish(
    connection: asyncpg.Connection, notifier_id: str, notifier: Notifier | None
) -> None:
    """The notifier's state (or tombstone) to `notify.config.notifiers` via the outbox."""
    value = notifier.model_dump_json().encode() if notifier else None
    await enqueue(connection, CONFIG_NOTIFIERS, notifier_id, value)


async def insert(connection: asyncpg.Connection, notifier: Notifier) -> None:
    await connection.execute(
        "INSERT INTO notifiers (id, scope, app_id, owner_id, user_id, is_default, document,"
        " version,"
        " created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8,"
        " coalesce($9, now()), coalesce($10, now()))",
        notifier.id,
        notifier.scope.value,
        notifier.app_id,
        notifier.owner_id,
        notifier.user_id,
        notifier.is_default,
        notifier.model_dump_json(),
        notifier.version,
        notifier.created_at,
        notifier.updated_at,
    )
    await publish(connection, notifier.id, notifier)


async def update(connection: asyncpg.Connection, notifier: Notifier) -> None:
    await connection.execute(
        "UPDATE notifiers SET document = $2::jsonb, version = $3, updated_at = $4, app_id = $5,"
        " owner_id = $6, user_id = $7, scope = $8 WHERE id = $1",
        notifier.id,
        notifier.model_dump_json(),
        notifier.version,
        notifier.updated_at,
        notifier.app_id,
        notifier.owner_id,
        notifier.user_id,
        notifier.scope.value,
    )
    await publish(connection, notifier.id, notifier)


async def delete(connection: asyncpg.Connection, notifier_id: str) -> None:
    """Delete a notifier (a tombstone), and take it out of the alerts of its app that list it."""
    row = await connection.fetchrow(
        "DELETE FROM notifiers WHERE id = $1 RETURNING scope, app_id", notifier_id
    )
    await publish(connection, notifier_id, None)
    if row is not None and row["scope"] == "app" and row["app_id"] is not None:
        await alert_store.forget_notifier(connection, row["app_id"], notifier_id)


async def all_documents(connection: asyncpg.Connection) -> list[tuple[str, str]]:
    """Every notifier as (id, JSON): for rebuilding the compacted topic."""
    return [
        (r["id"], json.dumps(json.loads(r["document"])))
        for r in await connection.fetch("SELECT id, document FROM notifiers ORDER BY id")
    ]


async def candidates(
    connection: asyncpg.Connection,
    *,
    app_id: str | None,
    owner_id: str | None,
    user_ids: list[str],
    notifier_ids: list[str],
) -> list[Notifier]:
    """Notifiers that may care about an event: its app's, owner's and users', and listed ones."""
    rows = await connection.fetch(
        "SELECT document FROM notifiers WHERE (scope = 'app' AND app_id = $1)"
        " OR (scope = 'owner' AND owner_id = $2) OR (scope = 'user' AND user_id = ANY($3::text[]))"
        " OR id = ANY($4::text[]) ORDER BY id",
        app_id,
        owner_id,
        user_ids,
        notifier_ids,
    )
    return [_notifier(r) for r in rows]
