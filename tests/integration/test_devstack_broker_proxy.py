"""A broker that advertises a fault proxy's port: every client goes through the proxy, whatever
address it bootstrapped from, so the proxy's faults reach every connection to the broker.

The proxy runs in a thread of its own (`ThreadedFaultProxy`) and the broker is one of this
module's, so the session's broker never sees a fault.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from herald_core.settings import KafkaSettings
from herald_devstack.kafka import KafkaNode, KafkaSetupError
from herald_devstack.processes import distinct_free_ports, free_port
from herald_kafka import KafkaError
from herald_kafka.admin import wait_until_ready
from herald_kafka.producer import broker_reachable, idempotent_producer
from herald_testing.fault_proxy_thread import ThreadedFaultProxy

pytestmark = pytest.mark.integration


@pytest.fixture
def proxied_broker(tmp_path: Path) -> Iterator[tuple[KafkaNode, ThreadedFaultProxy]]:
    """A broker on a free port advertising the port of a proxy in front of it."""
    with ThreadedFaultProxy("127.0.0.1", free_port()) as proxy:
        node = KafkaNode(
            tmp_path,
            port=proxy.target[1],
            controller_port=free_port(),
            heap="512m",
            advertised_port=proxy.port,
        )
        node.start()
        try:
            yield node, proxy
        finally:
            node.reset()


@contextlib.asynccontextmanager
async def producer_on(bootstrap_servers: str) -> AsyncIterator[object]:
    producer = idempotent_producer(
        KafkaSettings(bootstrap_servers=bootstrap_servers, request_timeout_ms=2_000)
    )
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()


async def reachable(producer: object, timeout_s: float = 3.0) -> bool:
    try:
        await broker_reachable(producer, timeout_s)  # type: ignore[arg-type]
    except (TimeoutError, KafkaError, OSError):
        return False
    return True


async def test_every_client_goes_through_the_advertised_proxy(
    proxied_broker: tuple[KafkaNode, ThreadedFaultProxy],
) -> None:
    """Bootstrapped from the broker's own port, a client is still sent to the proxy: a
    blackhole or a reset there cuts it off, and it recovers once healed."""
    node, proxy = proxied_broker
    assert node.bootstrap_servers == f"127.0.0.1:{proxy.port}"
    await wait_until_ready(node.client_settings(), timeout_s=120)
    async with producer_on(f"127.0.0.1:{node.port}") as producer:
        assert await reachable(producer)
        await proxy.blackhole()
        try:
            assert not await reachable(producer, timeout_s=2.0)
        finally:
            await proxy.heal()
        assert await reachable(producer, timeout_s=10.0)
        resets = proxy.stats.reset
        await proxy.reset()
        try:
            assert not await reachable(producer, timeout_s=2.0)
        finally:
            await proxy.heal()
        assert proxy.stats.reset > resets
        assert await reachable(producer, timeout_s=10.0)
    assert proxy.stats.bytes_to_target > 0
    assert proxy.stats.bytes_to_client > 0


async def test_the_link_flows_while_the_test_loop_is_blocked(
    proxied_broker: tuple[KafkaNode, ThreadedFaultProxy],
) -> None:
    """The proxy's loop is not the test's: with this test's loop blocked (a synchronous join),
    a client in another thread still reaches the broker. A proxy on this loop would forward
    nothing until the join gave up."""
    node, proxy = proxied_broker
    await wait_until_ready(node.client_settings(), timeout_s=120)
    moved = proxy.stats.bytes_to_client
    answered: list[float] = []
    thread = threading.Thread(
        target=lambda: answered.append(
            asyncio.run(wait_until_ready(node.client_settings(), timeout_s=20))
        )
    )
    thread.start()
    thread.join(30)  # blocks the test's loop on purpose
    assert answered, "no answer from the broker through the proxy"
    assert proxy.stats.bytes_to_client > moved


def test_a_broker_will_not_advertise_a_port_nobody_listens_on(tmp_path: Path) -> None:
    port, controller, advertised = distinct_free_ports(3)
    node = KafkaNode(tmp_path, port=port, controller_port=controller, advertised_port=advertised)
    with pytest.raises(KafkaSetupError, match="nothing listens"):
        node.start()
    assert node.process.pid() is None
