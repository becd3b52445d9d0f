"""A new user's default account notifications (Cloud 66): e-mail on for every account
type but `account_suspended` (`herald_api.model.account_notifiers`).
`directory_api.put_user` calls `ensure_email_notifier` in the transaction that creates the user."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from herald_api.model.account_notifiers import default_email_notifier
from herald_api.model.owner_defaults import ensure_default


async def ensure_email_notifier(
    connection: asyncpg.Connection, user_id: str, now: datetime
) -> None:
    """Create the user's default e-mail notifier unless it exists (in the caller's transaction)."""
    notifier = default_email_notifier(user_id, now)
    await ensure_default(connection, notifier, now, owner_id=user_id)
