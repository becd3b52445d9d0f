"""A sender killed with SIGKILL mid-burst loses nothing (issue 6): at-least-once, end to end.

5 000 deliveries (unique ids) go to the Web Push deliveries topic, which no other test
consumes. A webhook sender runs as a subprocess (a small runner: the CLI only sends a channel
with its own sender, and Web Push has none, so the runner injects the webhook sender as the
in-process tests do with `sender_factory`), in a consumer group of its own, against a slow
local receiver (20 ms per request). When the receiver has seen about 40 % of the deliveries
the sender is killed with SIGKILL: no drain, no commit. A second sender in the same group
must bring every delivery to the receiver: duplicates are allowed (the batch in flight is
sent again), a missing delivery is not.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from herald_core import headers as h
from herald_core.deliveries import Delivery
from herald_core.intake import parse_event
from herald_core.notifiers import Notifier, Selection
from herald_core.settings import KafkaSettings
from herald_core.topics import Channel, deliveries_topic
from herald_kafka.producer import OutgoingRecord, send_all
from herald_testing.loopback import serve_on_loopback
from herald_testing.polling import eventually

pytestmark = pytest.mark.integration

CHANNEL = Channel.WEBPUSH
COUNT = 5_000
NOTIFIERS = 250  # deliveries are keyed by notifier: 20 each, in order
RECEIVER_DELAY_S = 0.02
KILL_AT = 0.4  # of COUNT seen by the receiver

RUNNER = textwrap.dedent(
    """
    import asyncio

    from herald_core.logging import configure
    from herald_runtime.signals import stop_event_on_signals
    from herald_sender.app import SenderService
    from herald_sender.channels.webhook import WebhookSender
    from herald_sender.settings import SenderSettings


    async def main() -> None:
        settings = SenderSettings()
        configure(json=False, level=settings.log.level, service="sender-sigkill")
        stop = stop_event_on_signals()
        async with SenderService(settings, sender_factory=WebhookSender.from_settings):
            await stop.wait()


    asyncio.run(main())
    """
)


class SlowReceiver:
    """Answers 200 after RECEIVER_DELAY_S; counts every `webhook-id` it is sent."""

    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()
        self.port = 0
        self._runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.Response:
        await request.read()
        await asyncio.sleep(RECEIVER_DELAY_S)
        self.seen[request.headers.get("webhook-id", "")] += 1
        return web.Response(text="ok")

    async def start(self) -> SlowReceiver:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner, self.port = await serve_on_loopback(app)
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def slow_receiver() -> AsyncIterator[SlowReceiver]:
    receiver = await SlowReceiver().start()
    yield receiver
    await receiver.stop()


@pytest.fixture
def spawn(kafka_settings: KafkaSettings, tmp_path: Path) -> Iterator[Any]:
    """Start runner subprocesses in one consumer group; every one still alive is killed after."""
    group = f"herald-test-sigkill-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "HERALD_SENDER_CHANNEL": CHANNEL.value,
        "HERALD_SENDER_GROUP_ID": group,
        "HERALD_SENDER_KAFKA__BOOTSTRAP_SERVERS": kafka_settings.bootstrap_servers,
        "HERALD_SENDER_HTTP__PORT": "0",
        "HERALD_SENDER_ALLOW_LOOPBACK_TARGETS": "true",
        "HERALD_SENDER_ENDPOINT_RATE_PER_S": "0",
        "HERALD_SENDER_ENDPOINT_CONCURRENCY": "64",
        "HERALD_SENDER_LOG__LEVEL": "warning",
    }
    started: list[subprocess.Popen[bytes]] = []

    def start(name: str) -> subprocess.Popen[bytes]:
        with (tmp_path / f"{name}.log").open("wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-c", RUNNER], env=env, stdout=log, stderr=subprocess.STDOUT
            )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def deliveries(url: str) -> list[Delivery]:
    now = datetime.now(UTC)
    notifiers = [
        Notifier(
            id=f"n-{uuid.uuid4().hex[:12]}",
            name="sigkill hook",
            app_id="app-sigkill",
            platform=CHANNEL,
            selection=Selection(send_all_events=True),
            type_data={"webhook_url": url, "format": "raw"},
        )
        for _ in range(NOTIFIERS)
    ]
    made = []
    for i in range(COUNT):
        event = parse_event(
            {
                "id": f"ev-{uuid.uuid4().hex}",
                "type": "app_deployed",
                "created_at": now.isoformat(),
                "source": "deployer",
                "app_id": "app-sigkill",
                "owner_id": "owner-1",
                "type_data": {"status": "success", "n": i},
            }
        )
        made.append(Delivery.for_(event, notifiers[i % NOTIFIERS], now))
    return made


async def test_a_sender_killed_mid_burst_loses_no_delivery(
    spawn, slow_receiver: SlowReceiver, producer: Any
) -> None:
    burst = deliveries(f"http://127.0.0.1:{slow_receiver.port}/hook")
    expected = {d.id for d in burst}
    assert len(expected) == COUNT
    records = [
        OutgoingRecord(
            deliveries_topic(CHANNEL),
            d.to_json(),
            d.notifier.id.encode(),
            [(h.DELIVERY_ID, d.id.encode())],
        )
        for d in burst
    ]
    await send_all(producer, records)

    started = time.monotonic()
    first = spawn("first")
    await eventually(
        lambda: sum(slow_receiver.seen.values()) >= COUNT * KILL_AT,
        timeout_s=90,  # about 10 s on a quiet machine; generous for a loaded one
        what=f"{KILL_AT:.0%} of the burst at the receiver",
    )
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    seen_at_kill = len(slow_receiver.seen)
    assert seen_at_kill < COUNT, "the first sender finished before it was killed"

    spawn("second")
    await eventually(
        lambda: expected <= set(slow_receiver.seen),
        timeout_s=90,
        what="every delivery at the receiver",
    )

    missing = expected - set(slow_receiver.seen)
    assert not missing
    assert set(slow_receiver.seen) == expected  # and nothing else
    duplicates = sum(slow_receiver.seen.values()) - COUNT
    print(
        f"\nkilled at {seen_at_kill}/{COUNT}, {duplicates} duplicates, "
        f"{time.monotonic() - started:.1f}s"
    )
