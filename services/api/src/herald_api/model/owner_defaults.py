"""Owners the directory learns of by the way, and the defaults every owner gets.

An owner comes into being three ways: `PUT /v1/owners/{owner}`, an app registered for an owner
the directory does not know yet (`PUT /v1/apps/{app}`), and an app transferred to one (the
platform's `app_transferred`). Each way ends here, so every owner gets Clever Cloud's "Default
deployment result e-mails" hook (when that face's defaults are on), whichever came first.
An owner created by the way is an organisation with no name and no members until the
platform's `PUT /v1/owners/{owner}` says more; its hook mails the members it will have.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

import asyncpg
from herald_core.directory import OwnerKind
from herald_core.notifiers import Notifier

from herald_api.model.defaults import default_deployment_hook
from herald_api.model.platform_events import notifier_event
from herald_api.store import directory_store as store
from herald_api.store import notifier_store
from herald_api.store.outbox import enqueue_event

CLEVERCLOUD_FACE = "clevercloud"


async def ensure_default(
    connection: asyncpg.Connection,
    notifier: Notifier,
    now: datetime,
    *,
    owner_id: str,
    app_name: str | None = None,
) -> None:
    """Store a default notifier unless it exists (its id is deterministic), and announce it
    with `notifier_added` through the outbox, in the caller's transaction."""
    if await notifier_store.load(connection, notifier.id) is None:
        await notifier_store.insert(connection, notifier)
        await enqueue_event(
            connection,
            notifier_event(
                "notifier_added", notifier, now=now, owner_id=owner_id, app_name=app_name
            ),
        )


async def create_default_hook(
    connection: asyncpg.Connection, owner_id: str, kind: OwnerKind, now: datetime
) -> None:
    """The owner's "Default deployment result e-mails" hook, unless it exists."""
    hook = default_deployment_hook(owner_id, kind, now)
    await ensure_default(connection, hook, now, owner_id=owner_id)


async def owner_created(
    connection: asyncpg.Connection,
    owner_id: str,
    kind: OwnerKind,
    *,
    faces: Collection[str],
    now: datetime,
) -> None:
    """What a new owner gets, whichever way it came: its defaults."""
    if CLEVERCLOUD_FACE in faces:
        await create_default_hook(connection, owner_id, kind, now)


async def ensure_owner(
    connection: asyncpg.Connection, owner_id: str, *, faces: Collection[str], now: datetime
) -> bool:
    """Create the owner, published with its defaults, unless the directory knows it; True when
    it was created (in the caller's transaction)."""
    created: bool = (
        await connection.fetchval(
            "INSERT INTO owners (id, kind, name) VALUES ($1, $2, '') ON CONFLICT (id) DO NOTHING"
            " RETURNING true",
            owner_id,
            OwnerKind.ORGANISATION.value,
        )
        or False
    )
    if created:
        await store.publish_owner(connection, owner_id)
        await owner_created(connection, owner_id, OwnerKind.ORGANISATION, faces=faces, now=now)
    return created
