"""The api's command consumer: `notify.commands.notifiers` → `apply_disable` → Postgres + outbox.

    DisableNotifier record → parse (unparsable: log, count, skip) → one transaction:
        lock the notifier → disable_skip? (unknown, already inactive, changed since: log, count)
        → else inactive + new version + `notifier_disabled`, both through the outbox
    → the consumer shell commits the offset once the transaction committed

The recorder's endpoint health produces the records (herald_recorder.tracker). Applying one
twice changes nothing the second time: the notifier is inactive by then, so there is no second
version and no second event. A database outage is waited out, however long (`database_wait`):
a command is never skipped because the database was down; any other failure is logged and
skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

import asyncpg
import structlog
from herald_core.notifier_commands import DisableNotifier, DisableSkip
from herald_kafka.consumer import Record
from herald_kafka.producer import OutgoingRecord
from herald_runtime.outage import let_through
from prometheus_client import CollectorRegistry, Counter
from pydantic import ValidationError

from herald_api.native.notifier_health_api import apply_disable
from herald_api.pipes.database_wait import applied

log = structlog.get_logger(__name__)

APPLIED = "applied"
INVALID = "invalid"


class NotifierCommands:
    """Handles the records of `notify.commands.notifiers` (the handler given to `run_group`)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        registry: CollectorRegistry,
        clock: Callable[[], datetime],
        stop: asyncio.Event,
        retry_pause_s: float = 0.5,
    ) -> None:
        self._pool = pool
        self._clock = clock
        self._stop = stop
        self._retry_pause_s = retry_pause_s
        self.outcomes = Counter(
            "herald_api_notifier_commands_total",
            "Records of notify.commands.notifiers handled, by outcome (applied, invalid, or"
            " why nothing changed)",
            ["outcome"],
            registry=registry,
        )

    async def handle(self, record: Record) -> list[OutgoingRecord]:
        """Apply one command, in its own transaction; it writes nothing to Kafka itself."""
        try:
            command = DisableNotifier.model_validate_json(record.value or b"")
        except ValidationError as error:
            self.outcomes.labels(INVALID).inc()
            log.warning(
                "notifier_command_invalid",
                partition=record.partition,
                offset=record.offset,
                detail=str(error.errors(include_url=False, include_input=False)[:3])[:300],
            )
            return []
        skip = await self._apply(command)
        fields = {
            "notifier_id": command.notifier_id,
            "reason": command.reason,
            "decided_by": command.decided_by,
            "decided_at": command.decided_at.isoformat(),
        }
        if skip is None:
            self.outcomes.labels(APPLIED).inc()
            log.warning("notifier_disabled", **fields)
        else:
            self.outcomes.labels(skip.value).inc()
            log.info("notifier_command_skipped", skipped=skip.value, **fields)
        return []

    async def _apply(self, command: DisableNotifier) -> DisableSkip | None:
        async def once() -> DisableSkip | None:
            async with self._pool.acquire() as connection, connection.transaction():
                _, skip = await apply_disable(connection, command, self._clock())
            return skip

        return await applied(
            once, self._stop, what="notifier_command", first_pause_s=self._retry_pause_s
        )


def log_and_skip(record: Record, exc: Exception) -> list[OutgoingRecord]:
    """The consumer's error handler: a command that failed for good is logged, not retried;
    a stop with the database out ends the loop with nothing committed."""
    let_through(exc)
    log.error(
        "notifier_command_failed",
        partition=record.partition,
        offset=record.offset,
        error=f"{type(exc).__name__}: {str(exc)[:300]}",
    )
    return []
