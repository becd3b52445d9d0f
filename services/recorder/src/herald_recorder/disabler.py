"""The edge of endpoint health: ask the config API to disable a notifier.

`POST {api_url}/v1/notifiers/{id}/disable` with an admin token. The API sets the notifier
inactive (a new version, published like any change) and emits `notifier_disabled` so the owner
hears of it through their other notifiers; disabling a disabled notifier changes nothing.

A connection error, a timeout, a 5xx, 408 or 429 is tried again, `attempts` times in all with a
doubling pause; then, or on any other answer, the call gives up and says so. It never raises for
the API's sake: the tracker keeps the streak, and the next failure of the endpoint tries again.
After a call that found the API unreachable, calls give up at once for `cooldown_s`, so a batch
full of failing notifiers does not wait out every timeout while the API is down.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import datetime
from enum import StrEnum
from urllib.parse import quote

import aiohttp
import structlog

log = structlog.get_logger(__name__)

RETRYABLE_STATUSES = frozenset({408, 425, 429})


class DisableOutcome(StrEnum):
    DISABLED = "disabled"  # now inactive (by this call or an earlier one)
    UNKNOWN = "unknown"  # the API knows no such notifier: nothing to disable
    FAILED = "failed"  # the API could not be reached or refused: try again later


class ApiDisabler:
    """Disables notifiers through the config API; an async context manager (its HTTP session)."""

    def __init__(
        self,
        api_url: str,
        token: str | None,
        stop: asyncio.Event,
        *,
        timeout_s: float = 5.0,
        attempts: int = 3,
        backoff_s: float = 0.5,
        cooldown_s: float = 30.0,
    ) -> None:
        self._base = api_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._stop = stop
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._attempts = attempts
        self._backoff_s = backoff_s
        self._cooldown_s = cooldown_s
        self._down_until = 0.0
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> ApiDisabler:
        self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def disable(
        self,
        notifier_id: str,
        *,
        reason: str,
        failing_since: datetime | None,
        consecutive_failures: int,
    ) -> DisableOutcome:
        """Disable `notifier_id`; retry what may pass later; never raise for the API's sake."""
        body: dict[str, object] = {
            "reason": reason,
            "failing_since": failing_since.isoformat() if failing_since else None,
            "consecutive_failures": consecutive_failures,
        }
        url = f"{self._base}/v1/notifiers/{quote(notifier_id, safe='')}/disable"
        if time.monotonic() < self._down_until:
            log.info("notifier_disable_deferred_api_down", notifier_id=notifier_id)
            return DisableOutcome.FAILED
        pause = self._backoff_s
        status: int | None = None
        problem = ""
        for attempt in range(1, self._attempts + 1):
            status, problem = await self._post(url, body)
            if status == 200:
                self._down_until = 0.0
                return DisableOutcome.DISABLED
            if status == 404:
                return DisableOutcome.UNKNOWN
            if status is not None and status < 500 and status not in RETRYABLE_STATUSES:
                break  # the API refuses this call (401, 422, …): trying again cannot help
            if attempt == self._attempts or self._stop.is_set():
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), pause)
            pause *= 2
        if status is None or status >= 500 or status in RETRYABLE_STATUSES:
            self._down_until = time.monotonic() + self._cooldown_s
        log.warning("notifier_disable_failed", notifier_id=notifier_id, problem=problem[:300])
        return DisableOutcome.FAILED

    async def _post(self, url: str, body: dict[str, object]) -> tuple[int | None, str]:
        """One call: (status, a description of the problem) or (None, …) when unanswered."""
        assert self._session is not None, "use ApiDisabler as an async context manager"
        try:
            async with self._session.post(
                url, json=body, headers=self._headers, allow_redirects=False
            ) as response:
                text = await response.text(errors="replace")
                return response.status, f"HTTP {response.status}: {text[:200]}"
        except (aiohttp.ClientError, TimeoutError) as error:
            return None, f"{type(error).__name__}: {error}"
