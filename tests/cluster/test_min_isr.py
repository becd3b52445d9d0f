"""A three-broker KRaft cluster (`herald_devstack.cluster`) with the topics' prod profile:
replication factor 3, `min.insync.replicas=2`, unclean leader election off; an acks=all write
survives one broker lost, is refused with NotEnoughReplicas when only one in-sync replica is
left, and the cluster is whole again once the brokers are back.

The cluster is the package's stack's (`cluster_stack`, the topics applied with the prod profile
by `up`), after the ledger runs: the services ride out the two brokers' loss like any client.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError, NotEnoughReplicasAfterAppendError, NotEnoughReplicasError
from herald_core.settings import KafkaSettings
from herald_core.topics import EVENTS
from herald_devstack.cluster import (
    KafkaCluster,
    busiest_leader,
    partition_leaders,
    wait_for_brokers,
)
from herald_devstack.stack import Stack
from herald_kafka.admin import PartitionState, admin_client, describe_partitions
from herald_kafka.connection import client_options
from herald_kafka.producer import OutgoingRecord, idempotent_producer, send_all
from herald_testing.polling import eventually

pytestmark = [pytest.mark.integration, pytest.mark.cluster_short, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def cluster(cluster_stack: Stack) -> KafkaCluster:
    return cluster_stack.cluster


@pytest.fixture(scope="module")
async def kafka(cluster_stack: Stack) -> KafkaSettings:
    settings = cluster_stack.kafka_settings("herald-cluster-test")
    await wait_for_brokers(settings, 3, timeout_s=180)
    return settings


async def topic_config(kafka: KafkaSettings, topic: str) -> dict[str, str]:
    async with admin_client(kafka) as admin:
        (response,) = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic)]
        )
    ((_code, _message, _type, _name, entries),) = response.resources
    return {entry[0]: entry[1] for entry in entries}


def records(count: int, tag: str) -> list[OutgoingRecord]:
    """`count` records for notify.events with keys spread over its partitions."""
    return [
        OutgoingRecord(EVENTS, f"{tag}-{n}".encode(), f"app-{n}".encode()) for n in range(count)
    ]


async def produce(kafka: KafkaSettings, batch: list[OutgoingRecord], timeout_s: float) -> None:
    """Write `batch` with Herald's producer (idempotent, acks=all) within `timeout_s`."""
    producer = idempotent_producer(kafka, linger_ms=0)
    await producer.start()
    try:
        await asyncio.wait_for(send_all(producer, batch), timeout_s)
    finally:
        await producer.stop()


async def partitions_when(kafka: KafkaSettings) -> list[PartitionState]:
    """notify.events' partitions, or none while the cluster does not answer."""
    try:
        return await describe_partitions(kafka, EVENTS)
    except (KafkaError, OSError):
        return []


async def isr_without(kafka: KafkaSettings, *gone: int) -> list[PartitionState] | None:
    """notify.events' partitions once none of `gone` is in any ISR and each has a leader."""
    states = await partitions_when(kafka)
    if states and all(s.leader > 0 and not set(gone) & set(s.isr) for s in states):
        return states
    return None


async def whole(kafka: KafkaSettings) -> list[PartitionState] | None:
    """notify.events' partitions once each has all three replicas in sync."""
    states = await partitions_when(kafka)
    if states and all(len(s.isr) == 3 and s.leader > 0 for s in states):
        return states
    return None


async def test_prod_profile_replicates_three_times_with_min_isr_2(kafka: KafkaSettings) -> None:
    states = await eventually(lambda: whole(kafka), timeout_s=120, what="every replica in sync")
    assert len(states) == 6
    assert {len(s.replicas) for s in states} == {3}
    config = await topic_config(kafka, EVENTS)
    assert config["min.insync.replicas"] == "2"
    assert config["unclean.leader.election.enable"] == "false"


async def test_acks_all_survives_one_broker_and_is_refused_below_min_isr(
    cluster: KafkaCluster, kafka: KafkaSettings
) -> None:
    await eventually(lambda: whole(kafka), timeout_s=120, what="every replica in sync")
    first = busiest_leader(await partition_leaders(kafka, EVENTS))
    second, last = [n for n in (1, 2, 3) if n != first]
    try:
        # One broker crashes: its partitions get new leaders, every acks=all write succeeds.
        assert cluster.kill(first)
        await produce(kafka, records(300, "one-down"), timeout_s=120)
        await eventually(
            lambda: isr_without(kafka, first), timeout_s=120, what=f"node {first} out of every ISR"
        )

        # A second stops (a controlled shutdown, while the quorum still stands): one replica
        # in sync, fewer than min.insync.replicas, so an acks=all write is refused.
        assert cluster.terminate(second)
        await eventually(
            lambda: isr_without(kafka, first, second),
            timeout_s=120,
            what=f"only node {last} in sync",
        )
        producer = AIOKafkaProducer(
            **client_options(kafka, acks="all", request_timeout_ms=5000, retry_backoff_ms=200)
        )
        await producer.start()
        started = time.monotonic()
        try:
            sent = await producer.send(EVENTS, b"refused", key=b"app-0")
            with pytest.raises((NotEnoughReplicasError, NotEnoughReplicasAfterAppendError)):
                await asyncio.wait_for(sent, 60)
        finally:
            await producer.stop()
        refused_after = time.monotonic() - started
        assert refused_after < 60, f"the refusal took {refused_after:.1f}s"
    finally:
        # Both back: the cluster is whole again and takes writes.
        await asyncio.to_thread(cluster.start_node, first)
        await asyncio.to_thread(cluster.start_node, second)
    await wait_for_brokers(kafka, 3, timeout_s=180)
    await eventually(lambda: whole(kafka), timeout_s=180, what="every replica in sync again")
    await produce(kafka, records(100, "healed"), timeout_s=120)
    assert sorted(cluster.running()) == [1, 2, 3]
