"""An open-loop load generator for ingest's `POST /v1/events`, keeping the ledger's books.

Events are made at a fixed rate (`rate_per_s`, whatever ingest does meanwhile), spread over the
apps in turn, each with a unique id from `make_event`. Each app has one worker that posts its
events one after the other, in the order they were made, so the order of the 202s within an app
is the order of its events on `notify.events` (one partition per app key).

    202                 accepted: `ledger.accepted(Sent(...))`, with the POSTs it took
    503, no answer      sent again with the same id after a pause: `Retry-After`, but at most
                        `max_pause_s` (the client is eager, so the table measures Herald and
                        not the client's patience); after `give_up_s` the event is abandoned
                        (not accepted, so not expected either, and counted)
    anything else       refused: counted with the answer, not retried

A worker falling behind (ingest down) queues its app's later events: they are made on time and
posted as soon as the worker can.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from herald_testing.ledger import Ledger, Sent

EventFactory = Callable[[str, int], tuple[dict[str, Any], frozenset[str]]]
"""(app id, sequence number) → (the event as posted, every id it answers to)."""


@dataclass
class LoadReport:
    """What the generator did."""

    made: int = 0
    accepted: int = 0
    retried: int = 0
    """Events accepted after more than one POST."""
    unanswered: int = 0
    """POSTs that got a 503 or no answer at all (connection refused or cut)."""
    abandoned: int = 0
    refused: list[str] = field(default_factory=list)


@dataclass
class LoadGenerator:
    """Posts `rate_per_s` events a second to `ingest_url` for `run(seconds)`."""

    http: aiohttp.ClientSession
    ingest_url: str
    ledger: Ledger
    apps: Sequence[str]
    make_event: EventFactory
    rate_per_s: float
    max_pause_s: float = 1.0
    give_up_s: float = 180.0
    request_timeout_s: float = 10.0
    headers: Mapping[str, str] = field(default_factory=dict)
    """Sent with every POST: ingest's `Authorization: Bearer <producer token>`."""
    report: LoadReport = field(default_factory=LoadReport)

    async def run(self, seconds: float) -> LoadReport:
        """Make `seconds * rate_per_s` events on schedule; return once each is settled."""
        queues: dict[str, asyncio.Queue[tuple[dict[str, Any], frozenset[str]] | None]] = {
            app: asyncio.Queue() for app in self.apps
        }
        async with asyncio.TaskGroup() as workers:
            for queue in queues.values():
                workers.create_task(self._work(queue))
            started = time.monotonic()
            for index in range(round(seconds * self.rate_per_s)):
                delay = started + index / self.rate_per_s - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                app = self.apps[index % len(self.apps)]
                queues[app].put_nowait(self.make_event(app, index))
                self.report.made += 1
            for queue in queues.values():
                queue.put_nowait(None)
        return self.report

    async def _work(
        self, queue: asyncio.Queue[tuple[dict[str, Any], frozenset[str]] | None]
    ) -> None:
        while (item := await queue.get()) is not None:
            await self._post(*item)

    async def _post(self, event: dict[str, Any], answers_to: frozenset[str]) -> None:
        deadline = time.monotonic() + self.give_up_s
        tries = 0
        while True:
            tries += 1
            status, pause, text = await self._attempt(event)
            if status == 202:
                self.report.accepted += 1
                self.report.retried += tries > 1
                self.ledger.accepted(
                    Sent(event["id"], event["app_id"], answers_to, time.time(), tries)
                )
                return
            if status not in (None, 503):
                self.report.refused.append(f"{event['id']}: {status} {text[:200]}")
                return
            self.report.unanswered += 1
            if time.monotonic() + pause > deadline:
                self.report.abandoned += 1
                return
            await asyncio.sleep(pause)

    async def _attempt(self, event: dict[str, Any]) -> tuple[int | None, float, str]:
        """One POST: (status or None when nothing answered, the pause before a retry, text)."""
        timeout = aiohttp.ClientTimeout(total=self.request_timeout_s)
        try:
            async with self.http.post(
                self.ingest_url, json=event, headers=self.headers, timeout=timeout
            ) as response:
                text = await response.text()
                return response.status, self._pause(response.headers.get("Retry-After")), text
        except (aiohttp.ClientError, TimeoutError) as error:
            return None, self.max_pause_s / 2, type(error).__name__

    def _pause(self, retry_after: str | None) -> float:
        try:
            asked = float(retry_after) if retry_after is not None else self.max_pause_s
        except ValueError:
            asked = self.max_pause_s
        return min(max(asked, 0.05), self.max_pause_s)
