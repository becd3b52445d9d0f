"""One real Kafka 4.x broker (and Postgres on demand) per test session, on free loopback ports.

The fixtures live in `herald_testing.fixtures`, shared with tests/interop; importing them here is
what makes them fixtures of this directory.
"""

from __future__ import annotations

import pytest
from herald_testing.fixtures import (
    ADMIN_TOKEN,
    api,
    http,
    infra,
    kafka_settings,
    postgres_url,
    producer,
    receiver,
    unique,
)

__all__ = [
    "ADMIN_TOKEN",
    "api",
    "http",
    "infra",
    "kafka_settings",
    "postgres_url",
    "producer",
    "receiver",
    "unique",
]

pytestmark = pytest.mark.integration
