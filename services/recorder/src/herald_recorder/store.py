"""The recorder's SQL: a batch of attempt rows into `delivery_attempts` and `deliveries`.

One transaction per batch: the rows are COPY'd into a session-private staging table, then one
statement inserts the attempts and upserts each delivery from its *new* attempts only. A repeat
of an attempt already held changes nothing (`ON CONFLICT (delivery_id, attempt)`), unless the
held one scheduled a retry and the repeat settled the delivery (`rows.settles`, which says
why): then the repeat replaces the attempt row, and the delivery's status follows it.

- `attempt_count` grows by the number of new attempts, so a replayed result counts nothing;
- `status`, `status_code` and `reason` follow the highest attempt number ever recorded, so an
  attempt arriving late (attempt 2 before 1) never rolls the status back, or a settling repeat
  of that highest attempt;
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
from herald_core.deliveries import AttemptOutcome

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

SCHEDULED = AttemptOutcome.RETRY_SCHEDULED.value
FOLLOWS = f"""(EXCLUDED.latest_attempt > d.latest_attempt
    OR (EXCLUDED.latest_attempt = d.latest_attempt
        AND d.status = '{SCHEDULED}' AND EXCLUDED.status <> '{SCHEDULED}'))"""
"""Whether the delivery's status follows the batch's highest new attempt: a higher attempt
than any recorded, or a settling repeat of the highest one."""

RECORD = f"""
WITH new AS (
    INSERT INTO delivery_attempts AS a (delivery_id, attempt, outcome, reason, detail,
                                        status_code, duration_ms, at, response_excerpt)
    SELECT delivery_id, attempt, outcome, reason, detail, status_code, duration_ms, at,
           response_excerpt
    FROM {STAGING}
    ON CONFLICT (delivery_id, attempt) DO UPDATE SET
        outcome = EXCLUDED.outcome, reason = EXCLUDED.reason, detail = EXCLUDED.detail,
        status_code = EXCLUDED.status_code, duration_ms = EXCLUDED.duration_ms,
        at = EXCLUDED.at, response_excerpt = EXCLUDED.response_excerpt
    WHERE a.outcome = '{SCHEDULED}' AND EXCLUDED.outcome <> '{SCHEDULED}'
    RETURNING a.delivery_id, a.attempt, a.at, a.xmax = 0 AS inserted
),
fresh AS (
    SELECT DISTINCT ON (s.delivery_id) s.*,
           count(*) FILTER (WHERE n.inserted) OVER per_delivery AS added,
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
    WHERE added > 0
    ON CONFLICT (id) DO UPDATE SET
        attempt_count = d.attempt_count + EXCLUDED.attempt_count,
        status = CASE WHEN {FOLLOWS} THEN EXCLUDED.status ELSE d.status END,
        status_code = CASE WHEN {FOLLOWS} THEN EXCLUDED.status_code ELSE d.status_code END,
        reason = CASE WHEN {FOLLOWS} THEN EXCLUDED.reason ELSE d.reason END,
        delivery = CASE WHEN {FOLLOWS} THEN COALESCE(EXCLUDED.delivery, d.delivery)
                        ELSE COALESCE(d.delivery, EXCLUDED.delivery) END,
        latest_attempt = GREATEST(d.latest_attempt, EXCLUDED.latest_attempt),
        first_attempt_at = LEAST(d.first_attempt_at, EXCLUDED.first_attempt_at),
        last_attempt_at = GREATEST(d.last_attempt_at, EXCLUDED.last_attempt_at),
        app_id = COALESCE(d.app_id, EXCLUDED.app_id),
        owner_id = COALESCE(d.owner_id, EXCLUDED.owner_id),
        updated_at = now()
),
settled AS (  -- deliveries with no new attempt, only a settling repeat (no row to insert)
    UPDATE deliveries AS d SET
        status = f.outcome, status_code = f.status_code, reason = f.reason,
        delivery = COALESCE(f.payload::jsonb, d.delivery),
        last_attempt_at = GREATEST(d.last_attempt_at, f.last_at),
        updated_at = now()
    FROM fresh f
    WHERE f.added = 0 AND d.id = f.delivery_id AND d.latest_attempt = f.attempt
      AND d.status = '{SCHEDULED}' AND f.outcome <> '{SCHEDULED}'
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
