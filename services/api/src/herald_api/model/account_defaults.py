"""A new user's default account notifications (Cloud 66): e-mail on for every account
type but `account_suspended` (`herald_api.faces.cloud66.account_notifications`).
`directory_api.put_user` calls `ensure_email_notifier` in the transaction that creates the user."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from herald_api.faces.cloud66.account_notifications import default_email_notifier
from herald_api.model.platform_events import notifier_event
from herald_api.store import notifier_store
from herald_api.store.outbox import enqueue_event


async def ensure_email_notifier(
    connection: asyncpg.Connection, user_id: str, now: datetime
) -> None:
    """Create the user's default e-mail notifier unless it exists (in the caller's transaction)."""
    notifier = default_email_notifier(user_id, now)
    if await notifier_store.load(connection, notifier.id) is None:
        await notifier_store.insert(connection, notifier)
        await enqueue_event(
            connection, notifier_event("notifier_added", notifier, now=now, owner_id=user_id)
        )
