"""The directory in Postgres (apps, collaborators, owners, members, users) and its publication.

Every write runs in the caller's transaction and ends by republishing the entries it touched
(`publish_app`, `publish_owner`) through the outbox, so `notify.config.apps` and
`notify.config.owners` always carry the committed state.
"""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg
from herald_core.directory import AppEntry, CollaboratorEntry, MemberEntry, OwnerEntry, OwnerKind
from herald_core.topics import CONFIG_APPS, CONFIG_OWNERS

from herald_api.store.outbox import enqueue

_USER = "SELECT id, email, name, username, version FROM users WHERE id = $1"
_USER_LOCKED = _USER + " FOR UPDATE"


async def load_app(connection: asyncpg.Connection, app_id: str) -> AppEntry | None:
    """The app as published: collaborators with their own e-mail, else their user's."""
    row = await connection.fetchrow("SELECT * FROM apps WHERE id = $1", app_id)
    if row is None:
        return None
    collaborators = await connection.fetch(
        "SELECT c.id, c.user_id, coalesce(c.email, u.email) AS email,"
        " coalesce(c.username, u.username) AS username, c.role, c.status"
        " FROM collaborators c LEFT JOIN users u ON u.id = c.user_id"
        " WHERE c.app_id = $1 ORDER BY c.created_at, c.id",
        app_id,
    )
    return AppEntry(
        id=row["id"],
        name=row["name"],
        owner_id=row["owner_id"],
        region=row["region"],
        url=row["url"],
        collaborators=tuple(CollaboratorEntry(**dict(c)) for c in collaborators),
        version=row["version"],
        updated_at=row["updated_at"],
    )


async def load_owner(connection: asyncpg.Connection, owner_id: str) -> OwnerEntry | None:
    """The owner as published: members with their users' contact details."""
    row = await connection.fetchrow("SELECT * FROM owners WHERE id = $1", owner_id)
    if row is None:
        return None
    members = await connection.fetch(
        "SELECT m.user_id, m.role, u.email, u.name, u.username FROM owner_members m"
        " LEFT JOIN users u ON u.id = m.user_id WHERE m.owner_id = $1 ORDER BY m.user_id",
        owner_id,
    )
    return OwnerEntry(
        id=row["id"],
        kind=OwnerKind(row["kind"]),
        name=row["name"],
        members=tuple(MemberEntry(**dict(m)) for m in members),
        version=row["version"],
        updated_at=row["updated_at"],
    )


async def load_user(
    connection: asyncpg.Connection, user_id: str, *, lock: bool = False
) -> asyncpg.Record | None:
    """The user's row (id, email, name, username, version); None for an unregistered user.
    `lock` holds it (FOR UPDATE) until the transaction ends."""
    row: asyncpg.Record | None = await connection.fetchrow(_USER_LOCKED if lock else _USER, user_id)
    return row


async def publish_app(connection: asyncpg.Connection, app_id: str) -> AppEntry | None:
    """Write the app's current entry (or its tombstone) to the outbox."""
    entry = await load_app(connection, app_id)
    value = entry.model_dump_json().encode() if entry else None
    await enqueue(connection, CONFIG_APPS, app_id, value)
    return entry


async def publish_owner(connection: asyncpg.Connection, owner_id: str) -> OwnerEntry | None:
    entry = await load_owner(connection, owner_id)
    value = entry.model_dump_json().encode() if entry else None
    await enqueue(connection, CONFIG_OWNERS, owner_id, value)
    return entry


async def upsert_app(
    connection: asyncpg.Connection,
    app_id: str,
    *,
    name: str,
    owner_id: str,
    region: str | None = None,
    url: str | None = None,
) -> bool:
    """Create or update an app; True when it was created."""
    created: bool = await connection.fetchval(
        "INSERT INTO apps (id, name, owner_id, region, url) VALUES ($1, $2, $3, $4, $5)"
        " ON CONFLICT (id) DO UPDATE SET name = $2, owner_id = $3, region = $4, url = $5,"
        " version = apps.version + 1, updated_at = now()"
        " RETURNING (xmax = 0)",
        app_id,
        name,
        owner_id,
        region,
        url,
    )
    return created


async def rename_app(connection: asyncpg.Connection, app_id: str, name: str) -> bool:
    result: str = await connection.execute(
        "UPDATE apps SET name = $2, version = version + 1, updated_at = now() WHERE id = $1",
        app_id,
        name,
    )
    return result.endswith(" 1")


async def transfer_app(connection: asyncpg.Connection, app_id: str, owner_id: str) -> bool:
    result: str = await connection.execute(
        "UPDATE apps SET owner_id = $2, version = version + 1, updated_at = now() WHERE id = $1",
        app_id,
        owner_id,
    )
    return result.endswith(" 1")


async def delete_app(connection: asyncpg.Connection, app_id: str) -> list[str]:
    """Delete the app and its collaborators; return the ids of its notifiers (to tombstone)."""
    notifier_ids = [
        r["id"]
        for r in await connection.fetch(
            "DELETE FROM notifiers WHERE app_id = $1 AND scope = 'app' RETURNING id", app_id
        )
    ]
    await connection.execute("DELETE FROM apps WHERE id = $1", app_id)
    return notifier_ids


async def upsert_collaborator(
    connection: asyncpg.Connection,
    app_id: str,
    collaborator_id: str,
    *,
    email: str | None,
    user_id: str | None,
    username: str | None,
    role: str,
    status: str,
) -> tuple[bool, str | None]:
    """Create or update a collaborator; returns (created, previous role)."""
    previous = await connection.fetchval(
        "SELECT role FROM collaborators WHERE app_id = $1 AND id = $2", app_id, collaborator_id
    )
    await connection.execute(
        "INSERT INTO collaborators (app_id, id, email, user_id, username, role, status)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7)"
        " ON CONFLICT (app_id, id) DO UPDATE SET email = $3, user_id = $4, username = $5,"
        " role = $6, status = $7, updated_at = now()",
        app_id,
        collaborator_id,
        email,
        user_id,
        username,
        role,
        status,
    )
    await _bump_app(connection, app_id)
    return previous is None, previous


async def delete_collaborator(
    connection: asyncpg.Connection, app_id: str, collaborator_id: str
) -> bool:
    result: str = await connection.execute(
        "DELETE FROM collaborators WHERE app_id = $1 AND (id = $2 OR user_id = $2)",
        app_id,
        collaborator_id,
    )
    if result.endswith(" 0"):
        return False
    await _bump_app(connection, app_id)
    return True


async def _bump_app(connection: asyncpg.Connection, app_id: str) -> None:
    await connection.execute(
        "UPDATE apps SET version = version + 1, updated_at = now() WHERE id = $1", app_id
    )


async def upsert_owner(
    connection: asyncpg.Connection,
    owner_id: str,
    *,
    kind: OwnerKind,
    name: str,
    members: Iterable[tuple[str, str]] | None,
) -> bool:
    """Create or update an owner; `members` (user id, role) replaces the list when given."""
    created: bool = await connection.fetchval(
        "INSERT INTO owners (id, kind, name) VALUES ($1, $2, $3)"
        " ON CONFLICT (id) DO UPDATE SET kind = $2, name = $3, version = owners.version + 1,"
        " updated_at = now() RETURNING (xmax = 0)",
        owner_id,
        kind.value,
        name,
    )
    if members is not None:
        await connection.execute("DELETE FROM owner_members WHERE owner_id = $1", owner_id)
        await connection.executemany(
            "INSERT INTO owner_members (owner_id, user_id, role) VALUES ($1, $2, $3)",
            [(owner_id, user_id, role) for user_id, role in members],
        )
    return created


async def upsert_user(
    connection: asyncpg.Connection,
    user_id: str,
    *,
    email: str | None,
    name: str | None,
    username: str | None,
) -> tuple[bool, list[str], list[str]]:
    """Create or update a user; returns (created, owners and apps whose entries show them)."""
    created: bool = await connection.fetchval(
        "INSERT INTO users (id, email, name, username) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (id) DO UPDATE SET email = $2, name = $3, username = $4,"
        " version = users.version + 1, updated_at = now() RETURNING (xmax = 0)",
        user_id,
        email,
        name,
        username,
    )
    owners = [
        r["owner_id"]
        for r in await connection.fetch(
            "SELECT owner_id FROM owner_members WHERE user_id = $1 ORDER BY owner_id", user_id
        )
    ]
    apps = [
        r["app_id"]
        for r in await connection.fetch(
            "SELECT DISTINCT app_id FROM collaborators WHERE user_id = $1 ORDER BY app_id", user_id
        )
    ]
    return created, owners, apps
