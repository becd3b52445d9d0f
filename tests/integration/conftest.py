"""One real Kafka 4.x broker (and Postgres on demand) per test session, on free loopback ports."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from herald_core.settings import KafkaSettings
from herald_kafka.producer import idempotent_producer
from herald_testing.infra import LocalInfra
from herald_testing.receivers import HttpReceiver

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def infra() -> Iterator[LocalInfra]:
    local = LocalInfra.create()
    try:
        local.start_kafka()
        print(
            f"\nkafka ready in {local.timings['kafka_ready_s']:.1f}s, "
            f"topics in {local.timings['topics_s']:.1f}s"
        )
        yield local
    finally:
        local.stop()


@pytest.fixture(scope="session")
def kafka_settings(infra: LocalInfra) -> KafkaSettings:
    return KafkaSettings(bootstrap_servers=infra.bootstrap_servers, client_id="herald-tests")


@pytest.fixture(scope="session")
def postgres_url(infra: LocalInfra) -> str:
    return infra.start_postgres().url


@pytest.fixture(scope="session")
async def producer(kafka_settings: KafkaSettings) -> AsyncIterator[object]:
    p = idempotent_producer(kafka_settings, linger_ms=0)
    await p.start()
    yield p
    await p.stop()


@pytest.fixture
async def receiver() -> AsyncIterator[HttpReceiver]:
    r = await HttpReceiver().start()
    yield r
    await r.stop()


@pytest.fixture
def unique() -> str:
    """A short unique suffix to keep tests apart on shared topics."""
    return uuid.uuid4().hex[:10]
