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
from herald_api.app import ApiService
from herald_api.settings import ApiSettings
from herald_core.envelope import Event
from herald_core.settings import HttpSettings, KafkaSettings, LogSettings
from herald_core.topics import CONFIG_NOTIFIERS, EVENTS
from herald_devstack.kafka import KafkaNode
from herald_devstack.processes import distinct_free_ports
from herald_ingest.app import IngestService
from herald_ingest.settings import IngestAuthSettings, IngestSettings
from herald_kafka.admin import wait_until_ready
from herald_kafka.topics import apply_file
from herald_testing.api_client import ApiClient
from herald_testing.polling import eventually
from herald_testing.topics import records_now

from support.api import api_settings as base_api_settings
from support.helpers import deployed

pytestmark = pytest.mark.integration

ACK_TIMEOUT_S = 2.0
TOKEN = "hrld_outage-admin-token-0123456789abcdefghijklmno"


def webhook_notifier(name: str) -> dict[str, Any]:
    return {
        "notifier": {
            "name": name,
            "platform_id": "webhook",
            "selected_event_ids": ["app_deployed"],
            "type_data": {"webhook_url": "http://127.0.0.1:9/hook"},
        }
    }


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[KafkaNode]:
    port, controller = distinct_free_ports(2)
    node = KafkaNode(tmp_path, port=port, controller_port=controller, heap="512m")
    node.start()
    try:
        yield node
    finally:
        node.reset()


@pytest.fixture
async def ingest(own_broker: KafkaNode) -> AsyncIterator[IngestService]:
    await wait_until_ready(own_broker.client_settings(), timeout_s=120)
    await apply_file(own_broker.client_settings())
    settings = IngestSettings(
        kafka=KafkaSettings(bootstrap_servers=own_broker.bootstrap_servers),
        http=HttpSettings(port=0),
        log=LogSettings(json=False, level="warning"),
        consume_platform_events=False,
        ack_timeout_s=ACK_TIMEOUT_S,
        readiness_probe_s=0.3,
        auth=IngestAuthSettings(open=True),
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
    unavailable = {"reason": "broker_unavailable"}
    assert ingest.registry.get_sample_value("herald_ingest_refused_total", unavailable) == 1

    async def unready() -> bool:
        return await readiness() == 503

    await eventually(unready, timeout_s=15, what="/readyz false while the broker is down")

    own_broker.start()
    await wait_until_ready(own_broker.client_settings(), timeout_s=120)

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


def api_settings(own_broker: KafkaNode, database_url: str) -> ApiSettings:
    return base_api_settings(
        database_url,
        KafkaSettings(bootstrap_servers=own_broker.bootstrap_servers),
        token=TOKEN,
        allow_loopback_targets=True,
        relay_poll_s=0.2,
        readiness_probe_s=0.3,
        broker_ack_timeout_s=ACK_TIMEOUT_S,
    )


@pytest.fixture
async def api_on_own_broker(
    own_broker: KafkaNode, fresh_database: str
) -> AsyncIterator[ApiService]:
    await wait_until_ready(own_broker.client_settings(), timeout_s=120)
    await apply_file(own_broker.client_settings())
    async with ApiService(api_settings(own_broker, fresh_database)) as service:
        yield service


async def test_the_api_while_the_broker_is_down(
    api_on_own_broker: ApiService, own_broker: KafkaNode, http: Any, unique: str
) -> None:
    """Config writes go on (Postgres and the outbox hold them), what must reach the broker at
    once (a notifier test) answers 503 with Retry-After within the ack timeout and 2 s, readiness
    turns false; after the restart the outbox publishes what was written meanwhile."""
    api = ApiClient(http, api_on_own_broker.port, TOKEN)
    app_id = f"outage-{unique}"
    status, body = await api.call(
        "PUT", f"/v1/apps/{app_id}", {"app": {"name": app_id, "owner_id": "o-1"}}
    )
    assert status == 201, body

    own_broker.process.kill()

    status, created = await api.call(
        "POST", f"/v1/apps/{app_id}/notifiers", webhook_notifier("during the outage")
    )
    assert status == 201, created  # stored with its outbox row: published when the broker is back
    notifier_id = created["notifier"]["id"]

    started = time.monotonic()
    async with http.post(
        f"http://127.0.0.1:{api_on_own_broker.port}/v1/apps/{app_id}/notifiers/{notifier_id}/test",
        headers={"Authorization": f"Bearer {TOKEN}"},
        json={},
    ) as response:
        took_s = time.monotonic() - started
        problem = await response.json(content_type=None)
        assert response.status == 503, problem
        assert response.headers["Retry-After"] == "5"
    assert problem["type"].endswith("/unavailable")
    assert took_s < ACK_TIMEOUT_S + 2, f"the 503 took {took_s:.1f} s"

    async def unready() -> bool:
        async with http.get(f"http://127.0.0.1:{api_on_own_broker.port}/readyz") as response:
            return response.status == 503

    await eventually(unready, timeout_s=15, what="the API's /readyz false while the broker is down")

    own_broker.start()
    await wait_until_ready(own_broker.client_settings(), timeout_s=120)

    async def published() -> bool:
        records = await records_now(
            own_broker.bootstrap_servers, CONFIG_NOTIFIERS, lambda r: r.key == notifier_id.encode()
        )
        return bool(records)

    await eventually(published, timeout_s=60, what="the outbox publishing the notifier")


async def test_the_api_stops_within_the_grace_when_the_broker_dies_as_it_starts(
    own_broker: KafkaNode, fresh_database: str, http: Any, unique: str
) -> None:
    """The broker killed just after the API started and wrote a config record: a consumer
    waiting for its assignment (aiokafka's `getmany` waits without a timeout) and the outbox
    send waiting for its ack are cancelled after the stop grace instead of holding the
    shutdown until the orchestrator kills the process."""
    await wait_until_ready(own_broker.client_settings(), timeout_s=120)
    await apply_file(own_broker.client_settings())
    service = ApiService(api_settings(own_broker, fresh_database))
    await service.__aenter__()
    api = ApiClient(http, service.port, TOKEN)
    app_id = f"dies-{unique}"  # its record in the outbox: the relay's send waits for an ack
    status, body = await api.call(
        "PUT", f"/v1/apps/{app_id}", {"app": {"name": app_id, "owner_id": "o-1"}}
    )
    assert status == 201, body
    own_broker.process.kill()
    started = time.monotonic()
    await asyncio.wait_for(service.__aexit__(None, None, None), 60)
    took_s = time.monotonic() - started
    assert took_s < 30, f"the stop took {took_s:.1f} s"  # a hang detector, not a speed target
    await asyncio.sleep(0.5)  # what the stop cancelled has run its last step
    left = [t for t in asyncio.all_tasks() if "aiokafka" in repr(t.get_coro())]
    assert not left, f"Kafka clients still running after the stop: {left}"
