"""The pytest fixtures of the integration suites that know no Herald service: one real Kafka 4.x
broker (and Postgres on demand) per test session, on free loopback ports, an HTTP receiver, an
aiohttp session and unique ids.

Register the module once, as a plugin, from the root conftest, so that every test directory shares
one broker and one database per session:

    pytest_plugins = ["herald_testing.fixtures"]

(Importing the fixtures into several conftests instead gives each conftest its own instance of a
session fixture, and so its own broker.) Fixtures that start Herald's services (the pipeline,
the config API) are not here: a library never imports a service.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from herald_core.settings import KafkaSettings
from herald_kafka.producer import idempotent_producer

from herald_testing.infra import LocalInfra
from herald_testing.receivers import HttpReceiver

__all__ = [
    "fresh_database",
    "http",
    "infra",
    "kafka_settings",
    "postgres_url",
    "producer",
    "receiver",
    "unique",
]


@pytest.fixture(scope="session")
def infra() -> Iterator[LocalInfra]:
    local = LocalInfra.create()
    try:
        local.start_kafka()
        print(  # noqa: T201 - shown with -s: how long the broker took
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


@pytest.fixture
async def http() -> AsyncIterator[Any]:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def fresh_database(postgres_url: str, unique: str) -> str:
    """The URL of a new, empty database on the session's Postgres server (for process tests)."""
    import asyncpg

    name = f"herald_{unique}"
    server = postgres_url.rsplit("/", 1)[0]
    connection = await asyncpg.connect(f"{server}/postgres")
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return f"{server}/{name}"
