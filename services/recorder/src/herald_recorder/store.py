"""The recorder's SQL: a batch of attempt rows into `delivery_attempts` and `deliveries`.

One transaction per batch: the rows are COPY'd into a session-private staging table, then one
statement inserts the attempts (`ON CONFLICT (delivery_id, attempt) DO NOTHING`) and upserts
each delivery from its *new* attempts only:

- `attempt_count` grows by the number of new attempts, so a replayed result counts nothing;
- `status`, `status_code` and `reason` follow the highest attempt number ever recorded, so an
  attempt arriving late (attempt 2 before 1) never rolls the status back;
- `first_attempt_at` and `last_attempt_at` widen to cover every attempt;
- `delivery` (the payload, for redelivery) is the one of the highest new attempt that carried
  one; it replaces the stored one only when that attempt is the highest ever recorded, and a
  result without a payload never erases one.

The tables belong to the api's migrations (`0002_delivery_history.sql`,
`0003_delivery_payload.sql`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from herald_recorder.rows import STAGING_COLUMNS, AttemptRow

STAGING = "recorder_attempts_in"

CREATE_STAGING = f"""
CREATE TEMP TABLE IF NOT EXISTS {STAGING} (
    delivery_id text, attempt integer, event_id text, event_type text, app_id text,
    owner_id text, notifier_id text, channel text, outcome text, reason text, detail text,
    status_code integer, duration_ms double precision, at timestamptz, response_excerpt text,
    delivery text
) ON COMMIT DELETE ROWS
"""

RECORD = f"""
WITH new AS (
    INSERT INTO delivery_attempts AS a (delivery_id, attempt, outcome, reason, detail,
                                        status_code, duration_ms, at, response_excerpt)
    SELECT delivery_id, attempt, outcome, reason, detail, status_code, duration_ms, at,
           response_excerpt
    FROM {STAGING}
    ON CONFLICT (delivery_id, attempt) DO NOTHING
    RETURNING a.delivery_id, a.attempt, a.at
),
fresh AS (
    SELECT DISTINCT ON (s.delivery_id) s.*,
           count(*) OVER per_delivery AS added,
           min(s.at) OVER per_delivery AS first_at,
           max(s.at) OVER per_delivery AS last_at,
           first_value(s.delivery) OVER (
               PARTITION BY s.delivery_id ORDER BY s.delivery IS NULL, s.attempt DESC
           ) AS payload
    FROM {STAGING} s JOIN new n ON n.delivery_id = s.delivery_id AND n.attempt = s.attempt
    WINDOW per_delivery AS (PARTITION BY s.delivery_id)
    ORDER BY s.delivery_id, s.attempt DESC
),
upserted AS (
    INSERT INTO deliveries AS d (id, event_id, event_type, app_id, owner_id, notifier_id,
                                 channel, status, latest_attempt, attempt_count, status_code,
                                 reason, first_attempt_at, last_attempt_at, delivery)
    SELECT delivery_id, event_id, event_type, app_id, owner_id, notifier_id, channel, outcome,
           attempt, added, status_code, reason, first_at, last_at, payload::jsonb
    FROM fresh
    ON CONFLICT (id) DO UPDATE SET
        attempt_count = d.attempt_count + EXCLUDED.attempt_count,
        status = CASE WHEN EXCLUDED.latest_attempt > d.latest_attempt
                      THEN EXCLUDED.status ELSE d.status END,
        status_code = CASE WHEN EXCLUDED.latest_attempt > d.latest_attempt
                           THEN EXCLUDED.status_code ELSE d.status_code END,
        reason = CASE WHEN EXCLUDED.latest_attempt > d.latest_attempt
                      THEN EXCLUDED.reason ELSE d.reason END,
        delivery = CASE WHEN EXCLUDED.latest_attempt > d.latest_attempt
                        THEN COALESCE(EXCLUDED.delivery, d.delivery)
                        ELSE COALESCE(d.delivery, EXCLUDED.delivery) END,
        latest_attempt = GREATEST(d.latest_attempt, EXCLUDED.latest_attempt),
        first_attempt_at = LEAST(d.first_attempt_at, EXCLUDED.first_attempt_at),
        last_attempt_at = GREATEST(d.last_attempt_at, EXCLUDED.last_attempt_at),
        app_id = COALESCE(d.app_id, EXCLUDED.app_id),
        owner_id = COALESCE(d.owner_id, EXCLUDED.owner_id),
        updated_at = now()
)
SELECT delivery_id, attempt, at FROM new
"""  # noqa: S608 - a constant name

SCHEMA_PRESENT = (
    "SELECT to_regclass('deliveries') IS NOT NULL AND to_regclass('delivery_attempts') IS NOT NULL"
)


@dataclass(frozen=True)
class Recorded:
    """An attempt that was new to the history."""

    delivery_id: str
    attempt: int
    at: datetime


async def record(pool: asyncpg.Pool, rows: Sequence[AttemptRow]) -> list[Recorded]:
    """Write `rows` (no two with the same key) in one transaction; return the new attempts.

    Raises:
        asyncpg.PostgresError, OSError: the transaction rolled back; nothing was written.
    """
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute(CREATE_STAGING)
        await connection.copy_records_to_table(STAGING, records=rows, columns=STAGING_COLUMNS)
        found = await connection.fetch(RECORD)
    return [Recorded(r["delivery_id"], r["attempt"], r["at"]) for r in found]


async def schema_present(pool: asyncpg.Pool) -> bool:
    """Whether the api's migrations created the history tables yet."""
    return bool(await pool.fetchval(SCHEMA_PRESENT))
