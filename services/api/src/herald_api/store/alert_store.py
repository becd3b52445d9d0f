"""Alert rules in Postgres, published per app to `notify.config.alerts` through the outbox.

Every change runs in one transaction that first locks the app's row (`lock_app`): two changes
to the alerts of one app are serialised, so each publishes the whole set as it committed, and
the relay publishes them in commit order. The value is `AppAlerts` (all of the
app's rules, with its owner and name); an app with no rule left gets a tombstone.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg
from herald_core.alerts import AlertRule, AppAlerts
from herald_core.directory import AppEntry
from herald_core.topics import CONFIG_ALERTS

from herald_api.model.alert_rules import without_notifier
from herald_api.store import directory_store
from herald_api.store.outbox import enqueue

MAX_PER_APP = 100  # the whole set travels in one record: keep it small


def _rule(row: asyncpg.Record) -> AlertRule:
    return AlertRule.model_validate_json(row["document"])


async def lock_app(connection: asyncpg.Connection, app_id: str) -> bool:
    """Serialise the alert changes of one app (inside the caller's transaction); False when
    the app does not exist."""
    assert connection.is_in_transaction(), "the app lock lives as long as the transaction"
    found = await connection.fetchval("SELECT 1 FROM apps WHERE id = $1 FOR UPDATE", app_id)
    return found is not None


async def load(connection: asyncpg.Connection, alert_id: str) -> AlertRule | None:
    row = await connection.fetchrow("SELECT document FROM alerts WHERE id = $1", alert_id)
    return _rule(row) if row else None


async def list_for_app(
    connection: asyncpg.Connection, app_id: str, *, offset: int = 0, limit: int = MAX_PER_APP
) -> tuple[list[AlertRule], int]:
    """One page of an app's rules, oldest first, and the total count."""
    rows = await connection.fetch(
        "SELECT document, count(*) OVER () AS total FROM alerts WHERE app_id = $1"
        " ORDER BY created_at, id OFFSET $2 LIMIT $3",
        app_id,
        offset,
        limit,
    )
    if rows:
        return [_rule(r) for r in rows], int(rows[0]["total"])
    total = await connection.fetchval("SELECT count(*) FROM alerts WHERE app_id = $1", app_id)
    return [], int(total)


async def count_for_app(connection: asyncpg.Connection, app_id: str) -> int:
    return int(await connection.fetchval("SELECT count(*) FROM alerts WHERE app_id = $1", app_id))


async def app_notifier_ids(connection: asyncpg.Connection, app_id: str) -> list[str]:
    """The ids of the app's own notifiers: the only ones its alerts may list."""
    rows = await connection.fetch(
        "SELECT id FROM notifiers WHERE app_id = $1 AND scope = 'app' ORDER BY id", app_id
    )
    return [r["id"] for r in rows]


async def publish(connection: asyncpg.Connection, app: AppEntry) -> AppAlerts | None:
    """All of the app's rules (or a tombstone) to `notify.config.alerts` via the outbox."""
    rules, _ = await list_for_app(connection, app.id, limit=MAX_PER_APP)
    if not rules:
        await enqueue(connection, CONFIG_ALERTS, app.id, None)
        return None
    value = AppAlerts(app_id=app.id, owner_id=app.owner_id, app_name=app.name, alerts=tuple(rules))
    await enqueue(connection, CONFIG_ALERTS, app.id, value.model_dump_json().encode())
    return value


async def insert(connection: asyncpg.Connection, rule: AlertRule) -> None:
    await connection.execute(
        "INSERT INTO alerts (id, app_id, document, version, created_at, updated_at)"
        " VALUES ($1, $2, $3::jsonb, $4,"
        " coalesce($5, now()), coalesce($6, now()))",
        rule.id,
        rule.app_id,
        rule.model_dump_json(),
        rule.version,
        rule.created_at,
        rule.updated_at,
    )


async def update(connection: asyncpg.Connection, rule: AlertRule) -> None:
    await connection.execute(
        "UPDATE alerts SET document = $2::jsonb, version = $3, updated_at = coalesce($4, now())"
        " WHERE id = $1",
        rule.id,
        rule.model_dump_json(),
        rule.version,
        rule.updated_at,
    )


async def delete(connection: asyncpg.Connection, alert_id: str) -> None:
    await connection.execute("DELETE FROM alerts WHERE id = $1", alert_id)


_LISTING = "SELECT document FROM alerts WHERE app_id = $1 AND document -> 'notifier_ids' ? $2"


async def forget_notifier(
    connection: asyncpg.Connection, app_id: str, notifier_id: str
) -> list[AlertRule]:
    """Take a deleted notifier out of the app's rules that list it (each gets a new version),
    and republish them if any changed. Returns the changed rules.

    Called by `notifier_store.delete`, in the transaction that deletes the notifier: an alert
    never lists a notifier that is gone (docs/alerts.md). The app's lock is taken only when a
    rule lists the notifier: a notifier deletion holds the notifier's row lock already, and an
    `app_deleted` event takes them the other way round (app, then notifiers), so locking the
    app on every notifier deletion would invite deadlocks for nothing. (A rule created
    concurrently, listing the notifier, may keep its id; the router skips ids it does not
    know.)
    """
    if not await connection.fetch(_LISTING, app_id, notifier_id):
        return []
    if not await lock_app(connection, app_id):
        return []
    rows = await connection.fetch(_LISTING, app_id, notifier_id)  # again, under the lock
    now: datetime = await connection.fetchval("SELECT now()")
    changed = [r for r in (without_notifier(_rule(row), notifier_id, now) for row in rows) if r]
    for rule in changed:
        await update(connection, rule)
    app = await directory_store.load_app(connection, app_id)
    if changed and app is not None:
        await publish(connection, app)
    return changed


async def republish_if_any(connection: asyncpg.Connection, app: AppEntry) -> bool:
    """Republish the app's rules when it has any: its name or owner changed, and the record
    carries both. True when something was queued."""
    if not await count_for_app(connection, app.id):
        return False
    await publish(connection, app)
    return True


async def delete_for_app(connection: asyncpg.Connection, app_id: str) -> int:
    """Delete the app's rules (the app is being deleted) and tombstone its record if it had any.

    Returns how many rules were deleted.
    """
    deleted = await connection.fetch("DELETE FROM alerts WHERE app_id = $1 RETURNING id", app_id)
    if deleted:
        await enqueue(connection, CONFIG_ALERTS, app_id, None)
    return len(deleted)


async def apps_with_alerts(connection: asyncpg.Connection) -> list[str]:
    """The ids of every app with at least one rule: for rebuilding the compacted topic."""
    rows = await connection.fetch("SELECT DISTINCT app_id FROM alerts ORDER BY app_id")
    return [r["app_id"] for r in rows]
