"""The streaks of `health.py` in Postgres: table `endpoint_health` (the api's migration 0004).

Each result is applied in its own transaction, under a row lock on its notifier (`FOR UPDATE`),
so two trackers handling one notifier's results on different partitions take turns; the pure
`step` decides, this module only loads and stores. A result that changes nothing (stale,
duplicate, ignored) writes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

import asyncpg

from herald_recorder.health import Mark, Streak, Verdict

COLUMNS = "consecutive_failures, first_failure_at, last_failure_at, reset_at, recent"
LOCK = f"SELECT {COLUMNS} FROM endpoint_health WHERE notifier_id = $1 FOR UPDATE"  # noqa: S608
CREATE = "INSERT INTO endpoint_health (notifier_id) VALUES ($1) ON CONFLICT DO NOTHING"
SAVE = """
UPDATE endpoint_health SET consecutive_failures = $2, first_failure_at = $3, last_failure_at = $4,
    reset_at = $5, recent = $6::jsonb, updated_at = now()
WHERE notifier_id = $1
"""
DISABLED = "UPDATE endpoint_health SET disabled_at = $2 WHERE notifier_id = $1"
SCHEMA_PRESENT = "SELECT to_regclass('endpoint_health') IS NOT NULL"

Step = Callable[[Streak], tuple[Streak, Verdict]]


def _streak(row: asyncpg.Record) -> Streak:
    return Streak(
        consecutive_failures=row["consecutive_failures"],
        first_failure_at=row["first_failure_at"],
        last_failure_at=row["last_failure_at"],
        reset_at=row["reset_at"],
        recent=tuple(
            Mark(key, datetime.fromisoformat(at)) for key, at in json.loads(row["recent"])
        ),
    )


def _recent(streak: Streak) -> str:
    return json.dumps([[mark.key, mark.at.isoformat()] for mark in streak.recent])


async def _locked(connection: asyncpg.Connection, notifier_id: str) -> Streak:
    row = await connection.fetchrow(LOCK, notifier_id)
    if row is None:
        await connection.execute(CREATE, notifier_id)
        row = await connection.fetchrow(LOCK, notifier_id)
    return _streak(row)


async def _save(connection: asyncpg.Connection, notifier_id: str, streak: Streak) -> None:
    await connection.execute(
        SAVE,
        notifier_id,
        streak.consecutive_failures,
        streak.first_failure_at,
        streak.last_failure_at,
        streak.reset_at,
        _recent(streak),
    )


async def advance(pool: asyncpg.Pool, notifier_id: str, step: Step) -> tuple[Streak, Verdict]:
    """Apply `step` to the notifier's stored streak; return the new streak and the verdict.

    Raises:
        asyncpg.PostgresError, OSError: the transaction rolled back; nothing changed.
    """
    async with pool.acquire() as connection, connection.transaction():
        before = await _locked(connection, notifier_id)
        after, verdict = step(before)
        if after != before:
            await _save(connection, notifier_id, after)
    return after, verdict


async def replace_streak(
    pool: asyncpg.Pool,
    notifier_id: str,
    change: Callable[[Streak], Streak],
    disabled_at: datetime | None,
) -> Streak:
    """Store `change(streak)`, and when given the time the notifier's disable was decided."""
    async with pool.acquire() as connection, connection.transaction():
        streak = change(await _locked(connection, notifier_id))
        await _save(connection, notifier_id, streak)
        if disabled_at is not None:
            await connection.execute(DISABLED, notifier_id, disabled_at)
    return streak


async def schema_present(pool: asyncpg.Pool) -> bool:
    """Whether the api's migrations created `endpoint_health` yet."""
    return bool(await pool.fetchval(SCHEMA_PRESENT))
