"""The endpoint health tracker: the recorder's second consumer group on `notify.delivery-results`.

    result → skip test deliveries and garbage → step the notifier's streak in Postgres
           (health_store + the pure health.step) → when the verdict says so, disable the
           notifier through the API (disabler) → on success start a fresh streak

It writes nothing to Kafka, so its offsets are committed once each batch's streaks are stored.
It acts only on recent results (`health_act_within_s`): in a backlog, one notifier's results
(keyed by delivery id, so on every partition) are read far out of order.
A disable the API did not take (down, 5xx) is logged and the streak is kept: the endpoint's next
failure tries again. Without an API URL the tracker only logs the notifiers it would disable.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TypeVar

import asyncpg
import structlog
from herald_core import headers as h
from herald_core.deliveries import DeliveryResult
from herald_core.topics import DELIVERY_RESULTS
from herald_kafka.consumer import Record, run_group
from herald_kafka.producer import OutgoingRecord
from prometheus_client import CollectorRegistry, Counter
from pydantic import ValidationError

from herald_recorder import health_store
from herald_recorder.disabler import ApiDisabler, DisableOutcome
from herald_recorder.health import Policy, Streak, Verdict, disabled, step
from herald_recorder.settings import RecorderSettings

log = structlog.get_logger(__name__)

T = TypeVar("T")

# Database errors worth another try before the result is given up (logged and skipped).
TRANSIENT = (OSError, TimeoutError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError)
DB_ATTEMPTS = 3


class _NoOutputs:
    """The tracker's `producer`: it has no outputs, so the consumer shell never sends."""

    async def send(self, *args: object, **kwargs: object) -> Awaitable[None]:
        raise AssertionError("the health tracker produces nothing")


class HealthTracker:
    """Runs the health consumer group until `stop`; see the module docstring."""

    def __init__(
        self,
        settings: RecorderSettings,
        pool: asyncpg.Pool,
        stop: asyncio.Event,
        registry: CollectorRegistry,
        clock: Callable[[], datetime],
        disabler: ApiDisabler | None,
    ) -> None:
        self.settings = settings
        self.policy = Policy(
            window=timedelta(seconds=settings.health_window_s),
            min_failures=settings.health_min_failures,
        )
        self._pool = pool
        self._stop = stop
        self._clock = clock
        self._disabler = disabler
        self.subscribed = False
        self.disables = Counter(
            "herald_recorder_notifier_disables_total",
            "Notifiers the health tracker asked the API to disable, by outcome",
            ["outcome"],
            registry=registry,
        )

    async def run(self) -> None:
        if self._disabler is None:
            log.warning(
                "endpoint_health_without_api",
                detail="no api_url: failing notifiers are logged, not disabled",
            )
        if not await self._wait_for_schema():
            return

        def subscribed() -> None:
            self.subscribed = True
            log.info("endpoint_health_tracking", group_id=self.settings.health_group_id)

        await run_group(
            self.settings.kafka,
            self.settings.health_group_id,
            [DELIVERY_RESULTS],
            producer=_NoOutputs(),
            handle=self.handle,
            on_error=_log_and_skip,
            stop=self._stop,
            on_subscribed=subscribed,
            max_records=self.settings.batch_max,
        )

    async def handle(self, record: Record) -> list[OutgoingRecord]:
        """Step the streak of the result's notifier; disable it when the verdict says so."""
        if any(key == h.TEST for key, _ in record.headers):
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
        fields = {
            "notifier_id": notifier_id,
            "reason": verdict.reason,
            "failing_since": streak.first_failure_at,
            "consecutive_failures": streak.consecutive_failures,
        }
        if self._disabler is None:
            log.warning("notifier_disable_skipped_without_api", **fields)
        else:
            outcome = await self._disabler.disable(
                notifier_id,
                reason=verdict.reason or "failing",
                failing_since=streak.first_failure_at,
                consecutive_failures=streak.consecutive_failures,
            )
            self.disables.labels(outcome.value).inc()
            if outcome is DisableOutcome.FAILED:
                return  # keep the streak: the next failure asks again
            if outcome is DisableOutcome.UNKNOWN:
                log.info("failing_notifier_unknown_to_api", **fields)
            else:
                log.warning("notifier_disabled", **fields)
        now = self._clock()
        await self._retrying(
            lambda: health_store.replace_streak(
                self._pool, notifier_id, disabled, now if self._disabler else None
            )
        )

    async def _retrying(self, work: Callable[[], Awaitable[T]]) -> T:
        """`work()`, tried again after a database blip; the last error is raised."""
        for attempt in range(1, DB_ATTEMPTS + 1):
            try:
                return await work()
            except TRANSIENT:
                if attempt == DB_ATTEMPTS:
                    raise
                await asyncio.sleep(self.settings.retry_initial_s * 2**attempt)
        raise AssertionError("unreachable")

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
    log.error(
        "endpoint_health_result_failed",
        partition=record.partition,
        offset=record.offset,
        error=f"{type(exc).__name__}: {str(exc)[:300]}",
    )
    return []
