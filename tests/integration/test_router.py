"""The router on the real broker: exact fan-out of a burst, no loss under SIGKILL, config in order.

Deliveries are read back from the channel topics. The notifiers here use chat platforms for which
no sender runs in the tests, so nothing leaves the machine and the topics hold exactly what the
router wrote. Every test router joins the one `herald-router` group, so two routers never route
the same partition twice; a crash may repeat a delivery, but only with the same delivery id.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment
from aiokafka.structs import RecordMetadata
from herald_core.deliveries import delivery_id
from herald_core.intake import parse_event
from herald_core.notifiers import Notifier, Scope, Selection
from herald_core.topics import CONFIG_NOTIFIERS, EVENTS, Channel, deliveries_topic
from herald_devstack.processes import free_port
from herald_kafka.admin import admin_client
from herald_kafka.producer import OutgoingRecord, send_all
from herald_kafka.reader import topic_partitions
from herald_testing.polling import eventually

from support.pipeline import Herald

pytestmark = pytest.mark.integration

CHANNELS = (Channel.SLACK, Channel.DISCORD, Channel.MSTEAMS)
TYPES = ("app_deployed", "app_restarted", "app_scaled", "app_stopped")
START = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def make_world(
    unique: str, apps: int = 200, owners: int = 20, notifiers: int = 1000, seed: int = 7
) -> tuple[list[str], dict[str, str], list[Notifier]]:
    """Apps, their owners, and a mix of app and owner notifiers (a fixed seed: reproducible)."""
    rng = random.Random(seed)
    app_ids = [f"b{unique}-app-{i}" for i in range(apps)]
    owner_of = {app: f"b{unique}-owner-{i % owners}" for i, app in enumerate(app_ids)}
    made: list[Notifier] = []
    for i in range(notifiers):
        channel = CHANNELS[i % len(CHANNELS)]
        common: dict[str, Any] = {
            "id": f"b{unique}-n-{i}",
            "platform": channel,
            "type_data": {"webhook_url": "https://chat.example.com/hook"},
            "active": rng.random() > 0.1,
        }
        if i % 5 == 4:  # owner-scoped: all events, or a selection, maybe narrowed to two apps
            owner = f"b{unique}-owner-{rng.randrange(owners)}"
            owned = [a for a in app_ids if owner_of[a] == owner]
            narrowed = tuple(rng.sample(owned, 2)) if rng.random() < 0.5 else ()
            selection = (
                Selection(send_all_events=True)
                if rng.random() < 0.3
                else Selection(selected_event_ids=tuple(rng.sample(TYPES, 1)))
            )
            made.append(
                Notifier(
                    scope=Scope.OWNER,
                    owner_id=owner,
                    app_ids=narrowed,
                    selection=selection,
                    **common,
                )
            )
        else:
            app = rng.choice(app_ids)
            made.append(
                Notifier(
                    scope=Scope.APP,
                    app_id=app,
                    owner_id=owner_of[app],
                    selection=Selection(selected_event_ids=tuple(rng.sample(TYPES, 2))),
                    **common,
                )
            )
    return app_ids, owner_of, made


def make_events(
    unique: str, app_ids: list[str], owner_of: dict[str, str], count: int, seed: int = 11
) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    events = []
    for i in range(count):
        app = rng.choice(app_ids)
        events.append(
            {
                "id": f"b{unique}-ev-{i}",
                "type": rng.choice(TYPES),
                "source": "bench",
                "created_at": (START + timedelta(milliseconds=i)).isoformat(),
                "app_id": app,
                "owner_id": owner_of[app],
                "type_data": {"status": "success"},
            }
        )
    return events


def expected_pairs(
    events: Iterable[dict[str, Any]], notifiers: list[Notifier]
) -> set[tuple[str, str]]:
    """Who should get what, computed here without Herald's routing code."""
    pairs = set()
    for event in events:
        for n in notifiers:
            if not n.active:
                continue
            if n.scope is Scope.APP:
                in_scope = n.app_id == event["app_id"]
            else:
                in_scope = n.owner_id == event["owner_id"] and (
                    not n.app_ids or event["app_id"] in n.app_ids
                )
            wanted = n.selection.send_all_events or event["type"] in n.selection.selected_event_ids
            if in_scope and wanted:
                pairs.add((event["id"], n.id))
    return pairs


async def publish_notifiers(producer: Any, notifiers: list[Notifier]) -> None:
    await send_all(
        producer,
        [
            OutgoingRecord(CONFIG_NOTIFIERS, n.model_dump_json().encode(), n.id.encode())
            for n in notifiers
        ],
    )


async def publish_events(producer: Any, events: list[dict[str, Any]]) -> None:
    for start in range(0, len(events), 1000):
        batch = [parse_event(e) for e in events[start : start + 1000]]
        await send_all(
            producer, [OutgoingRecord(EVENTS, e.to_json(), e.key.encode()) for e in batch]
        )


class DeliveryReader:
    """Collects the deliveries of one test's events from the channel topics, from the start."""

    def __init__(self, herald: Herald, prefix: str) -> None:
        self.herald = herald
        self.consumer = AIOKafkaConsumer(
            *[deliveries_topic(c) for c in CHANNELS],
            bootstrap_servers=herald.settings.bootstrap_servers,
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        self.prefix = prefix
        self.records: list[tuple[str, str, str]] = []
        self.versions: list[tuple[str, int]] = []
        """(event id, notifier version) of each delivery, in the order read."""

    async def __aenter__(self) -> DeliveryReader:
        await self.consumer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.consumer.stop()

    async def read(self, seconds: float = 0.3) -> None:
        for records in (
            await self.consumer.getmany(timeout_ms=int(seconds * 1000), max_records=20000)
        ).values():
            for record in records:
                body = json.loads(record.value)
                if body["event"]["id"].startswith(self.prefix):
                    self.records.append((body["event"]["id"], body["notifier"]["id"], body["id"]))
                    self.versions.append((body["event"]["id"], body["notifier"]["version"]))

    def distinct(self) -> set[tuple[str, str]]:
        return {(e, n) for e, n, _ in self.records}

    async def until(self, count: int, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while len(self.distinct()) < count and time.monotonic() < deadline:
            await self.read()
        await self.rest(await self.events_end())

    async def events_end(self) -> dict[TopicPartition, int]:
        """Where each partition of notify.events ends now."""
        partitions = await topic_partitions(self.consumer, self.herald.settings, [EVENTS])
        return dict(await self.consumer.end_offsets(partitions))

    async def rest(self, events: dict[TopicPartition, int]) -> None:
        """Read every delivery of the events before `events` (end offsets of notify.events).

        Once the routers' group committed up to `events`, the deliveries of those events are all
        on the channel topics (a router commits an event only once they are acknowledged): what
        the topics hold up to their ends then is all the deliveries there will be.
        """
        group = self.herald.router.settings.group_id

        async def committed() -> bool:
            async with admin_client(self.herald.settings) as admin:
                offsets = await admin.list_consumer_group_offsets(group)
            return all(tp in offsets and offsets[tp].offset >= end for tp, end in events.items())

        await eventually(committed, timeout_s=120, interval_s=0.2, what="events routed")
        ends = await self.consumer.end_offsets(list(self.consumer.assignment()))
        for tp, end in ends.items():
            while await self.consumer.position(tp) < end:
                await self.read()

    def check(self, expected: set[tuple[str, str]]) -> Counter[str]:
        """Exactly the expected deliveries; a repeat is allowed only with the same delivery id."""
        missing = expected - self.distinct()
        extra = self.distinct() - expected
        assert not missing, f"{len(missing)} deliveries lost, e.g. {sorted(missing)[:3]}"
        assert not extra, f"{len(extra)} unexpected deliveries, e.g. {sorted(extra)[:3]}"
        for event_id, notifier_id, sent_id in self.records:
            assert sent_id == delivery_id(event_id, notifier_id)
        return Counter(sent_id for _, _, sent_id in self.records)


async def wait_for_config(herald: Herald, notifiers: list[Notifier]) -> None:
    table = herald.router.notifiers
    await eventually(
        lambda: all(table.get(n.id) == n for n in notifiers),
        timeout_s=60,
        what="router sees every notifier",
    )


async def test_a_burst_produces_exactly_the_expected_deliveries(
    herald: Herald, unique: str
) -> None:
    app_ids, owner_of, notifiers = make_world(unique)
    events = make_events(unique, app_ids, owner_of, 10_000)
    expected = expected_pairs(events, notifiers)
    await publish_notifiers(herald.producer, notifiers)
    await wait_for_config(herald, notifiers)

    async with DeliveryReader(herald, f"b{unique}-ev-") as reader:
        started = time.monotonic()
        await publish_events(herald.producer, events)
        await reader.until(len(expected), timeout_s=180)
        elapsed = time.monotonic() - started
        repeats = reader.check(expected)
    print(f"\n10 000 events → {len(expected)} deliveries in {elapsed:.1f}s")
    assert max(repeats.values()) == 1, "no crash here: no repeats either"
    assert len(expected) > 10_000, "the world fans out (a weak burst would prove little)"


def _router_process(bootstrap: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "HERALD_ROUTER_KAFKA__BOOTSTRAP_SERVERS": bootstrap,
        "HERALD_ROUTER_HTTP__PORT": str(free_port()),
        "HERALD_ROUTER_LOG__JSON": "false",
        "HERALD_ROUTER_LOG__LEVEL": "warning",
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "herald_router"], env=env, stdout=out, stderr=subprocess.STDOUT
        )


async def test_sigkill_mid_burst_loses_no_delivery(
    herald: Herald, unique: str, tmp_path: Path
) -> None:
    app_ids, owner_of, notifiers = make_world(unique, apps=60, owners=6, notifiers=300, seed=3)
    events = make_events(unique, app_ids, owner_of, 6000, seed=5)
    expected = expected_pairs(events, notifiers)
    await publish_notifiers(herald.producer, notifiers)
    await wait_for_config(herald, notifiers)
    bootstrap = herald.settings.bootstrap_servers
    router = _router_process(bootstrap, tmp_path / "router.log")
    try:
        # It joins the group once it caught up with the config: wait for its share of the events.
        await eventually(
            lambda: _shared(herald), timeout_s=60, interval_s=0.2, what="two routers share"
        )
        async with DeliveryReader(herald, f"b{unique}-ev-") as reader:
            publishing = asyncio.create_task(publish_events(herald.producer, events))
            await eventually(
                lambda: _progress(reader, len(expected) // 4),
                timeout_s=120,
                what="a quarter of the burst routed",
            )
            router.send_signal(signal.SIGKILL)
            router.wait(timeout=10)
            router = _router_process(bootstrap, tmp_path / "router.log")
            await publishing
            await reader.until(len(expected), timeout_s=180)
            repeats = reader.check(expected)
    finally:
        router.terminate()
        router.wait(timeout=30)
    repeated = sum(v - 1 for v in repeats.values())
    print(f"\n{len(expected)} deliveries, {repeated} repeated after the kill")


async def _progress(reader: DeliveryReader, count: int) -> bool:
    await reader.read(0.2)
    return len(reader.distinct()) >= count


async def _shared(herald: Herald) -> bool:
    """Whether the routers' group is stable with two members or more, each with partitions."""
    async with admin_client(herald.settings) as admin:
        [response] = await admin.describe_consumer_groups([herald.router.settings.group_id])
    [(_, _, state, _, _, members)] = response.groups
    if state != "Stable":
        return False  # mid-rebalance, members have no assignment yet
    assigned = [
        ConsumerProtocolMemberAssignment.decode(m[4]).partitions() if m[4] else [] for m in members
    ]
    return len(assigned) >= 2 and all(assigned)


async def test_notifier_changes_take_effect_in_order_while_events_flow(
    herald: Herald, unique: str
) -> None:
    app = f"o{unique}-app"
    base = Notifier(
        id=f"o{unique}-n",
        scope=Scope.APP,
        app_id=app,
        platform=Channel.SLACK,
        selection=Selection(selected_event_ids=("app_deployed",)),
        type_data={"webhook_url": "https://chat.example.com/v1"},
    )
    versions = [
        base,
        base.model_copy(
            update={"version": 2, "type_data": {"webhook_url": "https://chat.example.com/v2"}}
        ),
    ]
    sent: list[RecordMetadata] = []

    async def flow(stop: asyncio.Event) -> None:
        while not stop.is_set():
            event = parse_event(
                {
                    "id": f"o{unique}-ev-{len(sent):06d}",
                    "type": "app_deployed",
                    "source": "t",
                    "created_at": START.isoformat(),
                    "app_id": app,
                    "owner_id": "o",
                    "type_data": {"status": "success"},
                }
            )
            sent.append(await herald.producer.send_and_wait(EVENTS, event.to_json(), app.encode()))
            await asyncio.sleep(0.01)

    async def routed_with(version: int) -> bool:
        await reader.read(0.2)
        return any(v == version for _, v in reader.versions)

    async with DeliveryReader(herald, f"o{unique}-ev-") as reader:
        stop = asyncio.Event()
        flowing = asyncio.create_task(flow(stop))
        table = herald.router.notifiers
        for version in versions:
            await publish_notifiers(herald.producer, [version])
            await eventually(
                lambda v=version: table.get(base.id) == v, what=f"version {version.version} applied"
            )
            await eventually(
                lambda v=version.version: routed_with(v),
                what=f"an event routed to version {version.version}",
            )
        await send_all(herald.producer, [OutgoingRecord(CONFIG_NOTIFIERS, None, base.id.encode())])
        await eventually(lambda: base.id not in table, what="tombstone applied")
        after = len(sent)
        await eventually(lambda: len(sent) >= after + 3, what="events sent after the tombstone")
        stop.set()
        await flowing
        # All the app's events are on one partition: the last one's offset bounds them all.
        last = sent[-1]
        await reader.rest({TopicPartition(EVENTS, last.partition): last.offset + 1})

    # A rebalance may route an event again (at-least-once), by then with the newer version:
    # judge each event by its first delivery, in the partition's order (one notifier, one key).
    first: dict[str, int] = {}
    for event_id, version in reader.versions:
        first.setdefault(event_id, version)
    seen = sorted(first.items())
    versions_seen = [v for _, v in seen]
    assert versions_seen == sorted(versions_seen), "an older version never follows a newer one"
    assert set(versions_seen) == {1, 2}
    last_delivered = max(int(e.rsplit("-", 1)[1]) for e, _ in seen)
    assert last_delivered < len(sent) - 1, "after the tombstone, later events reach nobody"
