"""The config API in-process on the session's real Postgres and Kafka, and an admin client of it.

`api` starts once per test session (the Postgres schema is migrated on its start); `admin` is an
`ApiClient` with the admin token, `ADMIN_TOKEN`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from herald_api.app import ApiService
from herald_api.settings import ApiSettings
from herald_core.settings import HttpSettings, KafkaSettings, LogSettings
from herald_testing.api_client import ApiClient
from pydantic import SecretStr

__all__ = ["ADMIN_TOKEN", "admin", "api", "api_settings"]

ADMIN_TOKEN = "hrld_test-admin-token-0123456789abcdefghijklmnop"


def api_settings(
    database_url: str, kafka: KafkaSettings, *, token: str = ADMIN_TOKEN, **changes: Any
) -> ApiSettings:
    """The API's settings as tests run it (a free port, warning logs, `token` as its admin
    token), with `changes` on top."""
    return ApiSettings(
        database_url=SecretStr(database_url),
        kafka=kafka,
        http=HttpSettings(port=0),
        log=LogSettings(json=False, level="warning"),
        admin_token=SecretStr(token),
        **changes,
    )


@pytest.fixture(scope="session")
async def api(kafka_settings: KafkaSettings, postgres_url: str) -> AsyncIterator[ApiService]:
    """The config API on a free port, against the session's real Postgres and Kafka."""
    settings = api_settings(
        postgres_url, kafka_settings, allow_loopback_targets=True, relay_poll_s=0.2
    )
    async with ApiService(settings) as service:
        yield service


@pytest.fixture
def admin(api: ApiService, http: Any) -> ApiClient:
    """An `ApiClient` of the session's API with its admin token."""
    return ApiClient(http, api.port, ADMIN_TOKEN)
