"""Writing to the transactional outbox: called inside the transaction that makes the change.

What is written here is published by `relay.OutboxRelay` after the transaction commits, so a
change and its publication can never disagree: both happen, or neither.
"""

from __future__ import annotations

import json

import asyncpg
from herald_core.envelope import Event
from herald_core.headers import cloudevent_headers
from herald_core.topics import EVENTS

NOTIFY_CHANNEL = "herald_outbox"


async def enqueue(
    connection: asyncpg.Connection,
    topic: str,
    key: str | None,
    value: bytes | None,
    headers: list[tuple[str, bytes]] | None = None,
) -> None:
    """Add a record to publish (value None = a tombstone). Must run inside a transaction."""
    assert connection.is_in_transaction(), "outbox rows are written in the change's transaction"
    encoded = json.dumps([[k, v.decode("utf-8", "replace")] for k, v in headers or []])
    await connection.execute(
        "INSERT INTO outbox (topic, key, value, headers) VALUES ($1, $2, $3, $4::jsonb)",
        topic,
        key.encode() if key is not None else None,
        value,
        encoded,
    )
    await connection.execute(f"NOTIFY {NOTIFY_CHANNEL}")


async def enqueue_event(connection: asyncpg.Connection, event: Event) -> None:
    """Publish a platform event (notifier_added, collaborator_invited, …) to `notify.events`."""
    headers = cloudevent_headers(event.id, event.type, event.source, event.created_at.isoformat())
    await enqueue(connection, EVENTS, event.key, event.to_json(), headers)
