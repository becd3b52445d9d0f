"""Rebuild the compacted config topics from Postgres (after a topic was lost or reset).

Every current notifier, app, owner and app's alert rules is written to the outbox again, in one
transaction; the relay publishes them. Deleted ones are gone from Postgres: their old records are
compacted away by their tombstones, or remain harmlessly until then.
"""

from __future__ import annotations

import asyncpg
from herald_core.topics import CONFIG_NOTIFIERS

from herald_api.store import alert_store, directory_store, notifier_store
from herald_api.store.outbox import enqueue


async def republish_everything(connection: asyncpg.Connection) -> dict[str, int]:
    """Queue every notifier, app, owner and app's alerts for publication; return the counts."""
    async with connection.transaction():
        notifiers = await notifier_store.all_documents(connection)
        for notifier_id, document in notifiers:
            await enqueue(connection, CONFIG_NOTIFIERS, notifier_id, document.encode())
        apps = [r["id"] for r in await connection.fetch("SELECT id FROM apps ORDER BY id")]
        for app_id in apps:
            await directory_store.publish_app(connection, app_id)
        owners = [r["id"] for r in await connection.fetch("SELECT id FROM owners ORDER BY id")]
        for owner_id in owners:
            await directory_store.publish_owner(connection, owner_id)
        alerted = await alert_store.apps_with_alerts(connection)
        for app_id in alerted:  # one AppAlerts record per app, as the API writes them
            app = await directory_store.load_app(connection, app_id)
            if app is not None:
                await alert_store.publish(connection, app)
    return {
        "notifiers": len(notifiers),
        "apps": len(apps),
        "owners": len(owners),
        "apps with alerts": len(alerted),
    }
