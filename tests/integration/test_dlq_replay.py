"""`herald-ops dlq` on the real broker: stats, a dry run, replays filtered by reason and notifier
that a real sender delivers again with the same `webhook-id`, and a purge (issue 6).

Isolation: no session service reads or writes the Google Chat channel's topics, so this module
writes its dead letters to `notify.deliveries.googlechat.dlq` and runs its own `SenderService`
on `notify.deliveries.googlechat` with the webhook sender injected through `sender_factory`
(as test_retries.py does) and its own consumer group.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from herald_core import headers as h
from herald_core.deliveries import AttemptOutcome, Delivery, DeliveryResult
from herald_core.settings import KafkaSettings
from herald_core.topics import (
    DELIVERY_RESULTS,
    Channel,
    deliveries_topic,
    delivery_dlq_topic,
    retry_tiers,
    retry_topic,
)
from herald_kafka.producer import send_all
from herald_ops.cli import app
from herald_ops.dlq import DlqFilter
from herald_ops.replay import DlqReader, ReplayOptions, collect_stats, replay
from herald_sender.app import SenderService
from herald_sender.channels.webhook import WebhookSender
from herald_sender.outcomes import dead_letter_record
from herald_testing.receivers import HttpReceiver
from herald_testing.topics import commit_at_end, records_for_key
from typer.testing import CliRunner

from support.helpers import running_sender, sender_settings, webhook_delivery, webhook_id

pytestmark = pytest.mark.integration

CHANNEL = Channel.GOOGLECHAT
NAME = CHANNEL.value


@pytest.fixture(scope="module")
async def googlechat_sender(kafka_settings: KafkaSettings) -> AsyncIterator[SenderService]:
    settings = sender_settings(
        kafka_settings,
        CHANNEL,
        group_id=f"herald-test-dlq-replay-{uuid.uuid4().hex[:8]}",
        connect_timeout_s=0.5,
        request_timeout_s=0.5,
        retry_delays_s=(0.2, 0.3, 0.4, 0.5, 0.6),
    )
    # Other tests' deliveries on this channel's topics are not this module's business.
    bootstrap = kafka_settings.bootstrap_servers
    await commit_at_end(bootstrap, settings.consumer_group, [deliveries_topic(CHANNEL)])
    await commit_at_end(
        bootstrap,
        settings.retry_consumer_group,
        [retry_topic(CHANNEL, tier) for tier in retry_tiers()],
    )
    async with running_sender(settings, sender_factory=WebhookSender.from_settings) as service:
        yield service


async def dead_letter(producer: Any, delivery: Delivery, reason: str) -> None:
    """Put `delivery` on the channel DLQ exactly as the sender does after its last attempt."""
    record = dead_letter_record(
        delivery.to_json(),
        delivery.notifier.id.encode(),
        [(h.DELIVERY_ID, delivery.id.encode())],
        channel=NAME,
        reason=reason,
        detail="HTTP 500 from http://127.0.0.1/…",
        attempt=6,
        source=(deliveries_topic(CHANNEL), 0, 7),
        first_failed_at=datetime.now(UTC).isoformat(),
    )
    await send_all(producer, [record])


async def ops(kafka_settings: KafkaSettings, *args: str) -> Any:
    """Run the real CLI (its own `asyncio.run`) in a thread, beside the test's event loop."""
    argv = [*args, "--bootstrap-servers", kafka_settings.bootstrap_servers]
    result = await asyncio.to_thread(CliRunner().invoke, app, argv)
    assert result.exit_code == 0, result.output
    return result


async def test_stats_dry_run_replay_by_reason_and_notifier_then_purge(
    googlechat_sender, producer, receiver: HttpReceiver, kafka_settings, unique
) -> None:
    failed = webhook_delivery(receiver.url("/failed"), channel=CHANNEL, app_id=f"app-{unique}")
    refused = webhook_delivery(receiver.url("/refused"), channel=CHANNEL, app_id=f"app-{unique}")
    await dead_letter(producer, failed, "server_error")
    await dead_letter(producer, refused, "client_error")

    rows = await collect_stats(kafka_settings, [NAME])
    assert sorted((r.dlq, r.reason, r.count) for r in rows) == [
        (NAME, "client_error", 1),
        (NAME, "server_error", 1),
    ]
    printed = json.loads((await ops(kafka_settings, "dlq", "stats", "-c", NAME, "--json")).output)
    assert sorted((r["reason"], r["count"]) for r in printed) == [
        ("client_error", 1),
        ("server_error", 1),
    ]

    shown = await ops(kafka_settings, "dlq", "show", "-c", NAME, "--reason", "server_error")
    assert failed.id in shown.output
    assert refused.id not in shown.output
    assert "/failed" not in shown.output  # the webhook URL: type_data keys only, never values
    assert "1 dead letter(s) shown" in shown.output

    dry = await replay(kafka_settings, NAME, DlqFilter(), ReplayOptions(dry_run=True))
    assert (dry.scanned, dry.matched, dry.produced) == (2, 2, 0)  # nothing to deliver

    by_reason = DlqFilter(reasons=frozenset({"server_error"}))
    done = await replay(kafka_settings, NAME, by_reason, ReplayOptions(rate=20))
    assert (done.scanned, done.matched, done.produced) == (2, 1, 1)
    [request] = await receiver.wait_for("/failed", 1, timeout_s=15)
    assert webhook_id(request) == failed.id  # the same idempotency key as the first attempts
    [result] = await records_for_key(
        kafka_settings.bootstrap_servers, DELIVERY_RESULTS, failed.id.encode(), 1
    )
    fresh = DeliveryResult.model_validate_json(result.value)
    # The attempts go on counting after the dead letter's six: the history keeps the replay.
    assert (fresh.attempt, fresh.outcome) == (7, AttemptOutcome.DELIVERED)
    assert receiver.on("/refused") == []  # not replayed: `produced` counted only the other

    await ops(
        kafka_settings, "dlq", "replay", "-c", NAME, "--notifier", refused.notifier.id, "--yes"
    )
    [request] = await receiver.wait_for("/refused", 1, timeout_s=15)
    assert webhook_id(request) == refused.id
    assert len(receiver.on("/failed")) == 1

    purged = await ops(kafka_settings, "dlq", "purge", "-c", NAME, "--yes")
    assert "deleted 2 record(s)" in purged.output
    async with DlqReader(kafka_settings, delivery_dlq_topic(CHANNEL)) as reader:
        assert reader.total == 0
        assert all(low == end > 0 for low, end in reader.bounds.values())
    assert await collect_stats(kafka_settings, [NAME]) == []
