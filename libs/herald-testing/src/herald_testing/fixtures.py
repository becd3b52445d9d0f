"""The pytest fixtures of the integration suites: one real Kafka 4.x broker (and Postgres on
demand) per test session, on free loopback ports, and the config API in-process on top of them.

A conftest makes them available by importing them (pytest collects fixtures from a conftest's
module namespace):

    from herald_testing.fixtures import api, infra, kafka_settings, postgres_url  # noqa: F401

Each conftest that imports a session fixture gets its own instance of it (pytest keys fixtures by
the conftest that defines them), so two suites run in one session each start their own broker.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from herald_core.settings import KafkaSettings
from herald_kafka.producer import idempotent_producer

from herald_testing.api_client import ApiClient
from herald_testing.herald import herald, herald_mail, mail_sink
from herald_testing.infra import LocalInfra
from herald_testing.receivers import HttpReceiver

__all__ = [
    "ADMIN_TOKEN",
    "admin",
    "api",
    "fresh_database",
    "herald",
    "herald_mail",
    "http",
    "infra",
    "kafka_settings",
    "mail_sink",
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


ADMIN_TOKEN = "hrld_test-admin-token-0123456789abcdefghijklmnop"  # noqa: S105 - a test token


@pytest.fixture(scope="session")
async def api(kafka_settings: KafkaSettings, postgres_url: str) -> AsyncIterator[Any]:
    """The config API on a free port, against the session's real Postgres and Kafka."""
    from herald_api.app import ApiService
    from herald_api.settings import ApiSettings
    from herald_core.settings import HttpSettings, LogSettings
    from pydantic import SecretStr

    settings = ApiSettings(
        database_url=SecretStr(postgres_url),
        kafka=kafka_settings,
        http=HttpSettings(port=0),
        log=LogSettings(json=False, level="warning"),
        admin_token=SecretStr(ADMIN_TOKEN),
        allow_loopback_targets=True,
        relay_poll_s=0.2,
    )
    async with ApiService(settings) as service:
        yield service


@pytest.fixture
def admin(api: Any, http: Any) -> ApiClient:
    """An `ApiClient` of the session's API with its admin token."""
    return ApiClient(http, api.port, ADMIN_TOKEN)


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
