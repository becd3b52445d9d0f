"""The broker killed (SIGKILL) under ingest: a quick 503 with Retry-After, readiness false, and
a retried event with the same id on `notify.events` once after the restart.

Ingest runs in-process against a broker of its own, so the session's broker stays up.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from herald_core.envelope import Event
from herald_core.settings import HttpSettings, KafkaSettings, LogSettings
from herald_core.topics import EVENTS
from herald_devstack.kafka import KafkaNode
from herald_devstack.processes import free_port
from herald_ingest.app import IngestService
from herald_ingest.settings import IngestSettings
from herald_kafka.admin import wait_until_ready
from herald_kafka.topics import apply_file
from herald_testing.polling import eventually
from herald_testing.topics import records_now

from support.helpers import deployed

pytestmark = pytest.mark.integration

ACK_TIMEOUT_S = 2.0


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[KafkaNode]:
    node = KafkaNode(tmp_path, port=free_port(), controller_port=free_port(), heap="512m")
    node.start()
    try:
        yield node
    finally:
        node.reset()


@pytest.fixture
async def ingest(own_broker: KafkaNode) -> AsyncIterator[IngestService]:
    await wait_until_ready(own_broker.bootstrap_servers, timeout_s=120)
    await apply_file(own_broker.bootstrap_servers)
    settings = IngestSettings(
        kafka=KafkaSettings(bootstrap_servers=own_broker.bootstrap_servers),
        http=HttpSettings(port=0),
        log=LogSettings(json=False, level="warning"),
        consume_platform_events=False,
        ack_timeout_s=ACK_TIMEOUT_S,
        readiness_probe_s=0.3,
    )
    async with IngestService(settings) as service:
        yield service


async def test_broker_killed_and_restarted_under_ingest(
    ingest: IngestService, own_broker: KafkaNode, http: Any
) -> None:
    base = f"http://127.0.0.1:{ingest.port}"

    async def post(event: dict[str, Any]) -> tuple[int, Any, float]:
        """The status, (headers, body) and how long the answer took."""
        started = time.monotonic()
        async with http.post(f"{base}/v1/events", json=event) as response:
            answer = (response.headers, await response.json(content_type=None))
            return response.status, answer, time.monotonic() - started

    async def readiness() -> int:
        async with http.get(f"{base}/readyz") as response:
            return int(response.status)

    before, during = deployed("app-outage"), deployed("app-outage")
    assert (await post(before))[0] == 202

    own_broker.process.kill()

    status, (headers, body), took_s = await post(during)
    assert status == 503
    assert headers["Retry-After"] == "5"
    assert body["type"].endswith("/unavailable")
    assert took_s < ACK_TIMEOUT_S + 2, f"the 503 took {took_s:.1f} s"

    async def unready() -> bool:
        return await readiness() == 503

    await eventually(unready, timeout_s=15, what="/readyz false while the broker is down")

    own_broker.start()
    await wait_until_ready(own_broker.bootstrap_servers, timeout_s=120)

    async def retried() -> bool:
        """The client retries the same event until it is taken (or known: a duplicate)."""
        status, _, _ = await post(during)
        if status == 503:
            await asyncio.sleep(0.5)
        return status == 202

    await eventually(retried, timeout_s=90, what="the retried event accepted")

    async def ready() -> bool:
        return await readiness() == 200

    await eventually(ready, timeout_s=30, what="/readyz true again")
    written = await records_now(own_broker.bootstrap_servers, EVENTS, lambda r: True)
    ids = [Event.model_validate_json(r.value or b"").id for r in written]
    assert ids.count(before["id"]) == 1
    assert ids.count(during["id"]) == 1, "the retried event is on notify.events once"
