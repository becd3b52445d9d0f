"""A client of the API that behaves under an outage, and a watch on a service's readiness.

call_until_2xx   calls until a 2xx: a 503 is tried again after its `Retry-After`, no answer
                 after half a second; every try is kept (`Answer`) for the scenario's checks
ReadinessWatch   polls `/readyz` and keeps every answer with its time
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from herald_testing.api_client import ApiClient


@dataclass(frozen=True)
class Answer:
    """One try of a call: its status (None when nothing answered), `Retry-After`, when."""

    method: str
    path: str
    status: int | None
    retry_after: str | None
    at: float


async def call_until_2xx(
    api: ApiClient,
    method: str,
    path: str,
    body: Any = None,
    *,
    answers: list[Answer],
    headers: dict[str, str] | None = None,
    timeout_s: float = 120.0,
) -> Any:
    """Call the API until it answers 2xx, as a well-behaved client does: a 503 is tried again
    after its `Retry-After` (at most 10 s), no answer after half a second; anything else fails
    the test. Every try is appended to `answers`; the 2xx body is returned."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            status, found, answered = await api.call_with_headers(
                method, path, body, headers=headers
            )
        except (aiohttp.ClientError, TimeoutError):
            answers.append(Answer(method, path, None, None, time.time()))
            pause = 0.5
        else:
            retry_after = answered.get("Retry-After")
            answers.append(Answer(method, path, status, retry_after, time.time()))
            if 200 <= status <= 299:
                return found
            assert status == 503, f"{method} {path}: {status} {found}"
            pause = retry_after_s(retry_after)
        assert time.monotonic() + pause < deadline, f"{method} {path}: no 2xx in {timeout_s} s"
        await asyncio.sleep(pause)


def retry_after_s(value: str | None, *, cap_s: float = 10.0) -> float:
    """A `Retry-After` in delay-seconds as a pause, 1 s when absent or unreadable. Pure."""
    try:
        asked = float(value) if value is not None else 1.0
    except ValueError:
        asked = 1.0
    return min(max(asked, 0.1), cap_s)


@dataclass
class ReadinessWatch:
    """Polls a service's `/readyz` and keeps (wall time, status or None) of every answer."""

    http: aiohttp.ClientSession
    url: str
    seen: list[tuple[float, int | None]] = field(default_factory=list)

    async def watch(self, stop: asyncio.Event, every_s: float = 0.25) -> None:
        timeout = aiohttp.ClientTimeout(total=2)
        while not stop.is_set():
            try:
                async with self.http.get(self.url, timeout=timeout) as response:
                    self.seen.append((time.time(), response.status))
            except (aiohttp.ClientError, TimeoutError):
                self.seen.append((time.time(), None))
            await asyncio.sleep(every_s)

    def first(self, status: int, after: float) -> float | None:
        """When `status` was first answered at or after `after` (wall time), if ever."""
        return next((at for at, seen in self.seen if at >= after and seen == status), None)
