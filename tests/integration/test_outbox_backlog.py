"""The relay's backlog gauges (`herald_outbox_pending`, `herald_outbox_oldest_pending_seconds`)
come from `outbox_backlog`, here on a database of its own and the real broker."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from herald_api.pipes.relay import OutboxRelay, outbox_backlog
from herald_api.store.migrate import migrate
from herald_core.settings import KafkaSettings

from support.helpers import create_topic

pytestmark = pytest.mark.integration


async def test_backlog_counts_pending_rows_and_ages_the_oldest(
    fresh_database: str, kafka_settings: KafkaSettings, producer: Any, unique: str
) -> None:
    topic = f"test.outbox.{unique}"
    await create_topic(kafka_settings, topic)
    connection = await asyncpg.connect(fresh_database)
    try:
        await migrate(connection)
        assert await outbox_backlog(connection) == (0, 0.0)
        await connection.execute(
            "INSERT INTO outbox (topic, key, value, created_at) VALUES"
            " ($1, 'a', 'x', now() - interval '90 seconds'),"
            " ($1, 'b', 'y', now() - interval '5 seconds')",
            topic,
        )

        pending, oldest_s = await outbox_backlog(connection)
        assert pending == 2
        assert 90 <= oldest_s < 90 + 60

        pool = await asyncpg.create_pool(fresh_database, min_size=1, max_size=1)
        try:
            assert await OutboxRelay(pool, producer).publish_pending(connection) == 2
        finally:
            await pool.close()
        assert await outbox_backlog(connection) == (0, 0.0)
    finally:
        await connection.close()
