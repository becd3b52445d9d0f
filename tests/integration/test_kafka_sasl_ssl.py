"""A broker with a SASL_SSL listener (SCRAM-SHA-512, TLS from a throwaway CA): Herald's clients,
built from `KafkaSettings` alone, round-trip a record through it, and a wrong password or an
untrusted CA fails fast with a message that names it.

The broker is this module's own (`KafkaNode(secure_port=…)`), not the session's.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from herald_core.settings import KafkaSettings
from herald_core.topics import TopicSpec
from herald_devstack.kafka import KafkaNode
from herald_devstack.processes import free_port
from herald_devstack.tls import make_tls
from herald_kafka.admin import admin_client, apply_topics, wait_until_ready
from herald_kafka.connection import KafkaConnectFailed, start_client
from herald_kafka.consumer import commit_at_end
from herald_kafka.lag import consumer_lags
from herald_kafka.producer import OutgoingRecord, idempotent_producer, send_all
from herald_kafka.reader import AssignedReader

FAIL_WITHIN_S = 10.0


@pytest.fixture(scope="module")
def secured_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaNode]:
    node = KafkaNode(
        tmp_path_factory.mktemp("secured"),
        port=free_port(),
        controller_port=free_port(),
        secure_port=free_port(),
        heap="512m",
    )
    node.start()
    try:
        yield node
    finally:
        node.reset()


async def _ready(node: KafkaNode) -> KafkaSettings:
    """The node's secured settings, once it answers on its SASL_SSL listener."""
    try:
        await wait_until_ready(node.secure_settings(), timeout_s=120)
    except (TimeoutError, KafkaConnectFailed) as exc:
        raise AssertionError(f"{exc}\n--- kafka log ---\n{node.process.tail(40)}") from exc
    return node.secure_settings(client_id="herald-secure-test")


async def test_a_record_round_trips_over_sasl_ssl(secured_broker: KafkaNode) -> None:
    kafka = await _ready(secured_broker)
    topic = f"secured-{uuid.uuid4().hex[:8]}"
    async with admin_client(kafka) as admin:
        plan = await apply_topics(
            admin, [TopicSpec(name=topic, partitions=1, replication_factor=1)]
        )
    assert plan.created == [topic]
    producer = idempotent_producer(kafka)
    try:
        await start_client(producer, kafka)
        await send_all(producer, [OutgoingRecord(topic, b"over TLS", b"k", [])])
    finally:
        await producer.stop()
    async with AssignedReader(kafka, [topic], start="beginning") as reader:
        deadline = time.monotonic() + 30
        values: list[bytes | None] = []
        while not values and time.monotonic() < deadline:
            batches = await reader.getmany(timeout_ms=500)
            values = [r.value for records in batches.values() for r in records]
    assert values == [b"over TLS"]
    group = f"secured-group-{uuid.uuid4().hex[:8]}"
    # a group consumer (its coordinator found over SASL_SSL), then the admin and lag clients
    await commit_at_end(kafka, group, [topic])
    assert await consumer_lags(kafka, {group: [topic]}) == {group: 0}


async def _fails_fast(kafka: KafkaSettings) -> KafkaConnectFailed:
    started = time.monotonic()
    with pytest.raises(KafkaConnectFailed) as caught:
        await wait_until_ready(kafka, timeout_s=60)
    elapsed = time.monotonic() - started
    assert elapsed < FAIL_WITHIN_S, f"took {elapsed:.1f}s: {caught.value}"
    assert caught.value.fatal
    return caught.value


async def test_a_wrong_password_fails_fast_and_says_so(secured_broker: KafkaNode) -> None:
    await _ready(secured_broker)
    error = await _fails_fast(secured_broker.secure_settings(sasl_password="not-the-password"))
    assert "SASL authentication as 'herald' (SCRAM-SHA-512)" in str(error)
    assert "not-the-password" not in str(error)


async def test_an_untrusted_ca_fails_fast_and_says_so(
    secured_broker: KafkaNode, tmp_path: Path
) -> None:
    await _ready(secured_broker)
    other = make_tls(tmp_path / "other", ca_name="Some other CA")
    error = await _fails_fast(secured_broker.secure_settings(ssl_cafile=other.ca))
    assert "is not trusted" in str(error)
    assert "ssl_cafile" in str(error)


async def test_a_plaintext_client_of_the_secured_listener_fails_fast(
    secured_broker: KafkaNode,
) -> None:
    await _ready(secured_broker)
    kafka = KafkaSettings(bootstrap_servers=f"127.0.0.1:{secured_broker.secure_port}")
    producer = idempotent_producer(kafka)
    started = time.monotonic()
    try:
        with pytest.raises(KafkaConnectFailed):
            await start_client(producer, kafka)
    finally:
        await producer.stop()
    assert time.monotonic() - started < FAIL_WITHIN_S
