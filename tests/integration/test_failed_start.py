"""A service whose start fails half-way closes what it had opened: its health site and its
producer (`herald_runtime.lifecycle.undone_on_failure`)."""

from __future__ import annotations

import socket

import pytest
from herald_core.settings import KafkaSettings
from herald_devstack.processes import free_port
from herald_router.app import RouterService
from herald_router.settings import RouterSettings

pytestmark = pytest.mark.integration


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


async def test_a_router_that_cannot_reach_the_broker_closes_its_health_site() -> None:
    port = free_port()
    nowhere = KafkaSettings(bootstrap_servers=f"127.0.0.1:{free_port()}")
    settings = RouterSettings.model_validate(
        {"kafka": nowhere, "http": {"host": "127.0.0.1", "port": port}}
    )
    router = RouterService(settings)
    with pytest.raises(Exception, match="cannot reach"):
        async with router:
            pass
    assert not _listening(port), "the health site outlived the failed start"
    assert router.producer._closed, "the producer outlived the failed start"
