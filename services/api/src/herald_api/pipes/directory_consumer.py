"""Keeps the directory in step with the platform's own events on `notify.events`.

    collaborator_invited / _accepted / _role_changed / _removed, app_renamed,
    app_transferred, app_deleted  →  Postgres (+ outbox to notify.config.apps, and to
                                     notify.config.alerts when the app has alerts)

An app transferred to an owner the directory does not know creates that owner, with the
defaults every owner gets (`herald_api.model.owner_defaults`).

Events the API itself emitted (source `herald-api`) are skipped: their change is already made.
Applying an event twice gives the same state, so redelivery is harmless.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from datetime import UTC, datetime

import asyncpg
import structlog
from herald_core.envelope import Event

from herald_api.model.owner_defaults import ensure_owner
from herald_api.model.platform_events import SOURCE
from herald_api.store import alert_store, notifier_store
from herald_api.store import directory_store as store

log = structlog.get_logger(__name__)

Apply = Callable[[asyncpg.Connection, Event], Awaitable[bool]]


async def _collaborator_upsert(connection: asyncpg.Connection, event: Event) -> bool:
    data = event.type_data
    collaborator_id = str(data.get("id") or data.get("user_id") or data.get("email") or "")
    if not collaborator_id or event.app_id is None:
        return False
    status = "accepted" if event.type == "collaborator_accepted" else "invited"
    current = await store.load_app(connection, event.app_id)
    previous = (
        next((c for c in current.collaborators if c.id == collaborator_id), None)
        if current
        else None
    )
    if previous is not None and previous.status == "accepted":
        status = "accepted"
    await store.upsert_collaborator(
        connection,
        event.app_id,
        collaborator_id,
        email=data.get("email"),
        user_id=data.get("user_id"),
        username=data.get("username"),
        role=data.get("role") or (previous.role if previous else "collaborator"),
        status=status,
    )
    return True


async def _collaborator_removed(connection: asyncpg.Connection, event: Event) -> bool:
    data = event.type_data
    collaborator_id = str(data.get("id") or data.get("user_id") or data.get("email") or "")
    return bool(
        event.app_id
        and collaborator_id
        and await store.delete_collaborator(connection, event.app_id, collaborator_id)
    )


async def _renamed(connection: asyncpg.Connection, event: Event) -> bool:
    name = event.type_data.get("new_name") or event.app_name
    return bool(event.app_id and name and await store.rename_app(connection, event.app_id, name))


async def _transferred(connection: asyncpg.Connection, event: Event) -> bool:
    owner = event.type_data.get("new_owner_id")
    return bool(
        event.app_id and owner and await store.transfer_app(connection, event.app_id, owner)
    )


async def _deleted(connection: asyncpg.Connection, event: Event) -> bool:
    if event.app_id is None:
        return False
    await alert_store.delete_for_app(connection, event.app_id)  # tombstones its alert record
    for notifier_id in await store.delete_app(connection, event.app_id):
        await notifier_store.publish(connection, notifier_id, None)
    return True


HANDLERS: dict[str, Apply] = {
    "collaborator_invited": _collaborator_upsert,
    "collaborator_accepted": _collaborator_upsert,
    "collaborator_role_changed": _collaborator_upsert,
    "collaborator_removed": _collaborator_removed,
    "app_renamed": _renamed,
    "app_transferred": _transferred,
    "app_deleted": _deleted,
}


async def apply_event(
    pool: asyncpg.Pool,
    event: Event,
    *,
    faces: Collection[str] = (),
    now: datetime | None = None,
) -> bool:
    """Apply one platform event to the directory; True when something changed.

    `faces` are the faces whose defaults a new owner gets (`ApiSettings.default_faces`).
    """
    handler = HANDLERS.get(event.type)
    if handler is None or event.source == SOURCE or event.app_id is None:
        return False
    async with pool.acquire() as connection, connection.transaction():
        exists = await connection.fetchval(
            "SELECT true FROM apps WHERE id = $1 FOR UPDATE", event.app_id
        )
        if not exists:
            log.info("directory_event_for_unknown_app", event_type=event.type, app_id=event.app_id)
            return False
        changed = await handler(connection, event)
        new_owner = event.type_data.get("new_owner_id")
        if changed and event.type == "app_transferred" and isinstance(new_owner, str):
            await ensure_owner(connection, new_owner, faces=faces, now=now or datetime.now(UTC))
        if changed:
            app = await store.publish_app(connection, event.app_id)
            if app is not None and event.type in ("app_renamed", "app_transferred"):
                await alert_store.republish_if_any(connection, app)  # it names app and owner
    if changed:
        log.info("directory_updated", event_type=event.type, event_id=event.id, app_id=event.app_id)
    return changed
