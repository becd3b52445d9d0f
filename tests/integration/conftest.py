"""Integration tests: one real Kafka 4.x broker (and Postgres on demand) per test session.

The fixtures `infra`, `kafka_settings`, `postgres_url`, `producer`, `http`, `receiver` and `unique`
come from `herald_testing.fixtures`; `herald`, `herald_mail`, `api` and `admin` from
`support.pipeline` and `support.api`; all are registered in tests/conftest.py. Here: the Convox
integration set-up (an OAuth stand-in playing Slack and Discord, an API that uses it, a Discord
sender) and the alerter as a real process, shared by the tests that need them.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from herald_api.app import ApiService
from herald_api.settings import ApiSettings, OAuthProviderSettings
from herald_core.settings import HttpSettings, KafkaSettings, LogSettings
from herald_core.topics import Channel
from herald_devstack.free_stack import stack_on_free_ports
from herald_devstack.processes import free_port
from herald_devstack.stack import KafkaSecurity, Stack
from herald_sender.app import SenderService
from herald_testing.oauth_standin import DISCORD_HOOK, SLACK_HOOK, OAuthStandIn
from herald_testing.receivers import HttpReceiver
from herald_testing.service_process import ServiceProcess
from pydantic import SecretStr

from support.helpers import running_sender, sender_settings


@pytest.fixture
async def standin(receiver: HttpReceiver) -> AsyncIterator[OAuthStandIn]:
    s = OAuthStandIn(
        webhook_urls={"discord": receiver.url(DISCORD_HOOK), "slack": receiver.url(SLACK_HOOK)}
    )
    await s.start()
    yield s
    await s.stop()


@pytest.fixture
async def convox_api(
    kafka_settings: KafkaSettings, postgres_url: str, standin: OAuthStandIn, api: Any
) -> AsyncIterator[ApiService]:
    """An API whose Slack and Discord are the stand-in (the session `api` migrated first)."""
    port = free_port()

    def oauth(provider: str, scope: str) -> OAuthProviderSettings:
        return OAuthProviderSettings(
            authorize_url=standin.url(f"/{provider}/authorize"),
            token_url=standin.url(f"/{provider}/token"),
            scope=scope,
            client_id=standin.client_id,
            client_secret=SecretStr(standin.client_secret),
        )

    settings = ApiSettings(
        database_url=SecretStr(postgres_url),
        kafka=kafka_settings,
        http=HttpSettings(host="127.0.0.1", port=port),
        public_url=f"http://127.0.0.1:{port}",
        log=LogSettings(json=False, level="warning"),
        allow_loopback_targets=True,
        relay_poll_s=0.2,
        directory_consumer_enabled=False,
        slack_oauth=oauth("slack", "incoming-webhook"),
        discord_oauth=oauth("discord", "webhook.incoming"),
    )
    async with ApiService(settings) as service:
        yield service


@pytest.fixture
async def discord_sender(kafka_settings: KafkaSettings) -> AsyncIterator[SenderService]:
    settings = sender_settings(
        kafka_settings,
        Channel.DISCORD,
        request_timeout_s=3,
        retry_delays_s=(0.3, 0.6, 1.0, 2.0, 3.0),
        group_id=f"test-convox-discord-{uuid.uuid4().hex[:8]}",
    )
    async with running_sender(settings) as service:
        yield service


@pytest.fixture
def alerter(kafka_settings: Any, tmp_path: Path) -> Iterator[ServiceProcess]:
    """`python -m herald_alerter` on the session broker (not started: `started(alerter)`)."""
    process = ServiceProcess("alerter", kafka_settings.bootstrap_servers, tmp_path / "alerter.log")
    try:
        yield process
    finally:
        process.stop()


SECURED_STACK_SERVICES = (
    "api",
    "ingest",
    "router",
    "recorder",
    "sender-webhook",
    "sender-email",
    "sender-chat",
)


@pytest.fixture(scope="session")
def secured_stack() -> Iterator[Stack]:
    """The local stack as processes, on free ports in a temporary home: its own Kafka over
    SASL_SSL (SCRAM-SHA-512, a local CA), Postgres, sinks, the services of the webhook,
    e-mail and chat paths (one sender process for every chat channel), and Prometheus scraping
    them every second. Started once for the tests that use it (test_stack_sasl_ssl,
    test_stack_prometheus, test_stack_chat_sender)."""
    with stack_on_free_ports(
        SECURED_STACK_SERVICES,
        prefix="herald-secstack-",
        kafka_security=KafkaSecurity.SASL_SSL,
        prometheus=True,
        prometheus_scrape_interval_s=1.0,
    ) as stack:
        yield stack
