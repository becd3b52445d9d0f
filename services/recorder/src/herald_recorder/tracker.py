"""The endpoint health tracker: the recorder's second consumer group on `notify.delivery-results`.

    result → skip test deliveries and garbage → step the notifier's streak in Postgres
           (health_store + the pure health.step) → when the verdict says so, produce a
           `DisableNotifier` to `notify.commands.notifiers` (idempotent producer, ack awaited)
           → once acknowledged, start a fresh streak

The api's command consumer applies the record (herald_api.pipes.notifier_commands); the recorder
never calls the api. A record the broker did not acknowledge is logged and the streak is kept:
the endpoint's next failure decides again. Offsets are committed once each batch's streaks are
stored; a database outage is waited out, however long, so no result is skipped because of it.
It acts only on recent results (`health_act_within_s`): in a backlog, one notifier's results
(keyed by delivery id, so on every partition) are read far out of order.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TypeVar

import asyncpg
import structlog
from herald_core import headers as h
from herald_core.deliveries import DeliveryResult
from herald_core.topics import DELIVERY_RESULTS, NOTIFIER_COMMANDS
from herald_kafka import AIOKafkaProducer, KafkaError
from herald_kafka.consumer import Record, run_group
from herald_kafka.producer import OutgoingRecord, send_all
from herald_runtime.database import DATABASE_OUTAGE
from herald_runtime.outage import let_through, wait_out
from prometheus_client import CollectorRegistry, Counter
from pydantic import ValidationError

from herald_recorder import health_store
from herald_recorder.health import Policy, Streak, Verdict, disable_command, disabled, step
from herald_recorder.settings import RecorderSettings

log = structlog.get_logger(__name__)

T = TypeVar("T")

# A database outage: waited out (herald_runtime.outage), so no result is skipped because of it.
TRANSIENT = DATABASE_OUTAGE


class DisableOutcome(StrEnum):
    PUBLISHED = "published"  # the broker acknowledged the DisableNotifier record
    FAILED = "failed"  # it did not: the streak is kept, the next failure decides again


class HealthTracker:
    """Runs the health consumer group until `stop`; see the module docstring."""

    def __init__(
        self,
        settings: RecorderSettings,
        pool: asyncpg.Pool,
        stop: asyncio.Event,
        registry: CollectorRegistry,
        clock: Callable[[], datetime],
        producer: AIOKafkaProducer,
        *,
        on_lag: Callable[[Mapping[str, int]], None] | None = None,
    ) -> None:
        self._on_lag = on_lag
        self.settings = settings
        self.policy = Policy(
            window=timedelta(seconds=settings.health_window_s),
            min_failures=settings.health_min_failures,
        )
        self._pool = pool
        self._stop = stop
        self._clock = clock
        self._producer = producer
        self.subscribed = False
        self.disables = Counter(
            "herald_recorder_notifier_disables_total",
            "DisableNotifier records the health tracker produced, by outcome",
            ["outcome"],
            registry=registry,
        )

    async def run(self) -> None:
        if not await self._wait_for_schema():
            return

        def subscribed() -> None:
            self.subscribed = True
            log.info("endpoint_health_tracking", group_id=self.settings.health_group_id)

        await run_group(
            self.settings.kafka,
            self.settings.health_group_id,
            [DELIVERY_RESULTS],
            producer=self._producer,
            handle=self.handle,
            on_error=_log_and_skip,
            stop=self._stop,
            on_subscribed=subscribed,
            max_records=self.settings.batch_max,
            on_lag=self._on_lag,
        )

    async def handle(self, record: Record) -> list[OutgoingRecord]:
        """Step the streak of the result's notifier; disable it when the verdict says so."""
        if h.is_test(record.headers):
            return []  # a notifier test says nothing about everyday deliveries
        try:
            result = DeliveryResult.model_validate_json(record.value or b"")
        except ValidationError:
            return []  # the history consumer logs and counts garbage; once is enough
        streak, verdict = await self._retrying(
            lambda: health_store.advance(
                self._pool, result.notifier_id, lambda s: step(s, result, self.policy)
            )
        )
        if verdict.disable and self._recent(result):
            await self._disable(result.notifier_id, streak, verdict)
        return []

    def _recent(self, result: DeliveryResult) -> bool:
        """Whether `result` is recent enough to act on (see `health_act_within_s`).

        A backlog is read partition by partition, so a success may wait on one partition while
        the failures after it are read on another. The streak is kept: the first live failure
        acts on it, once the tracker has caught up.
        """
        age = (self._clock() - result.at).total_seconds()
        if age <= self.settings.health_act_within_s:
            return True
        log.info(
            "notifier_disable_deferred_old_result",
            notifier_id=result.notifier_id,
            age_s=round(age),
        )
        return False

    async def _disable(self, notifier_id: str, streak: Streak, verdict: Verdict) -> None:
        """Produce the decision and await its ack; only then start the streak afresh."""
        command = disable_command(notifier_id, streak, verdict, self._clock())
        fields = {
            "notifier_id": notifier_id,
            "reason": command.reason,
            "failing_since": command.failing_since,
            "consecutive_failures": command.consecutive_failures,
        }
        try:
            await send_all(
                self._producer,
                [OutgoingRecord(NOTIFIER_COMMANDS, command.to_json(), command.key)],
            )
        except KafkaError as error:
            self.disables.labels(DisableOutcome.FAILED.value).inc()
            log.warning("notifier_disable_unpublished", error=str(error)[:300], **fields)
            return  # keep the streak: the next failure decides again
        self.disables.labels(DisableOutcome.PUBLISHED.value).inc()
        log.warning("notifier_disable_decided", topic=NOTIFIER_COMMANDS, **fields)
        await self._retrying(
            lambda: health_store.replace_streak(
                self._pool, notifier_id, disabled, command.decided_at
            )
        )

    async def _retrying(self, work: Callable[[], Awaitable[T]]) -> T:
        """`work()`, tried again for as long as the database is out (a step is idempotent).

        Raises:
            herald_runtime.outage.StoppedWaiting: when the service stops meanwhile.
        """
        return await wait_out(
            work,
            self._stop,
            transient=TRANSIENT,
            what="endpoint_health",
            first_pause_s=self.settings.retry_initial_s,
            max_pause_s=self.settings.retry_max_s,
        )

    async def _wait_for_schema(self) -> bool:
        """Poll until `endpoint_health` exists; False if the service stopped first."""
        logged = False
        while not self._stop.is_set():
            with contextlib.suppress(*TRANSIENT, asyncpg.PostgresError):
                if await health_store.schema_present(self._pool):
                    return True
            if not logged:
                log.warning("endpoint_health_waiting_for_schema")
                logged = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.settings.schema_poll_s)
        return False


def _log_and_skip(record: Record, exc: Exception) -> list[OutgoingRecord]:
    let_through(exc)  # stopping during a database outage: nothing committed
    log.error(
        "endpoint_health_result_failed",
        partition=record.partition,
        offset=record.offset,
        error=f"{type(exc).__name__}: {str(exc)[:300]}",
    )
    return []
