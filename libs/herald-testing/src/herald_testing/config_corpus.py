"""Many notifiers, written straight onto `notify.config.notifiers`: the router's config view at
scale (the router benchmark, the chaos scenario of a router restarted on a large view).

Notifier k is a deterministic document (`notifier_record(k)`): ~430 bytes of JSON, 80% app,
15% owner, 5% user scope, ~4 per app, 20% e-mail, 20% Slack, 60% webhooks (at hosts that do
not exist), one in 17 inactive. Its id, `ntf-<k:08d>-<12 hex>`, is unlike the API's (`no-<uuid>`),
so these never collide with notifiers made through the API. `produce_notifiers` writes a range
of them in hand-built 512 KiB batches (uncompressed, as Herald's producers write), or their
tombstones.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

from herald_core.notifiers import Notifier
from herald_core.settings import KafkaSettings
from herald_core.topics import CONFIG_NOTIFIERS, load_topic_file
from herald_kafka import AIOKafkaProducer
from herald_kafka.connection import client_options

BATCH_BYTES = 512 * 1024  # below the broker's 1 MiB message.max.bytes
KEY_PREFIX = "ntf-"

SELECTIONS: tuple[dict[str, Any], ...] = (
    {"preset": "critical_alerts"},
    {"send_all_events": True},
    {"selected_event_ids": ["app_deployed"]},
    {"selected_event_ids": ["app_crashed", "app_restarted"]},
    {"selected_event_ids": ["app_deployed", "app_crashed", "addon_provisioned", "domain_added"]},
    {"selected_event_ids": ["DEPLOYMENT_FAIL", "app_stopped"]},
    {"preset": "deployments"},
)


def _destination(k: int) -> tuple[str, dict[str, Any]]:
    """Notifier k's platform and type_data: 20% e-mail, 20% Slack, 60% webhooks."""
    if k % 5 == 0:
        return "email", {"owner": True, "collaborators": k % 2 == 0, "emails": [f"ops+{k}@a.test"]}
    if k % 5 == 1:
        hook = f"https://hooks.slack.com/services/T0{k:08d}/B0{k:08d}/{k * 7919:024x}"
        return "slack", {"webhook_url": hook, "channel": "#deploys"}
    hook = f"https://hooks.example.com/herald/{k:010d}?token=t{k * 31:012x}"
    return "webhook", {"webhook_url": hook, "format": "raw"}


def notifier_key(k: int) -> str:
    """Notifier k's id, its record's key. Pure."""
    return f"{KEY_PREFIX}{k:08d}-{k * 2654435761 % 16**12:012x}"


def notifier_record(k: int) -> tuple[bytes, bytes]:
    """Notifier k as (key, JSON). Pure."""
    app = f"app-{(k // 4) * 2654435761 % 16**24:024x}"
    scope: dict[str, Any] = {"scope": "app", "app_id": app}
    if k % 20 >= 16:
        owner = f"org-{(k // 40) * 2246822519 % 16**32:032x}"
        scope = {"scope": "owner", "owner_id": owner, "app_ids": [app]}
    if k % 20 == 19:
        scope = {"scope": "user", "user_id": f"us-{k * 40503 % 16**24:024x}"}
    platform, type_data = _destination(k)
    notifier_id = notifier_key(k)
    document = {
        "id": notifier_id,
        "name": f"{platform} notifier {k}",
        "active": k % 17 != 0,
        **scope,
        "platform": platform,
        "selection": SELECTIONS[k % len(SELECTIONS)],
        "type_data": type_data,
        "version": 1 + k % 3,
        "created_at": f"2025-11-02T09:14:{k % 60:02d}+00:00",
        "updated_at": f"2026-01-20T16:41:{k % 60:02d}+00:00",
    }
    return notifier_id.encode(), json.dumps(document, separators=(",", ":")).encode()


async def produce_notifiers(
    bootstrap: str,
    first: int,
    stop: int,
    *,
    tombstones: bool = False,
    progress: Callable[[str], None] | None = None,
) -> float:
    """Write notifiers first..stop-1 (their tombstones when `tombstones`); returns the seconds.

    `progress` hears of every 100 000 records written.
    """
    for k in range(0, 1000, 37):  # fail early if the catalog drifted from these documents
        Notifier.model_validate_json(notifier_record(k)[1])
    partitions = {s.name: s.partitions for s in load_topic_file()}[CONFIG_NOTIFIERS]
    kafka = KafkaSettings(bootstrap_servers=bootstrap)
    producer = AIOKafkaProducer(**client_options(kafka, acks="all", max_batch_size=BATCH_BYTES))
    await producer.start()
    started = time.perf_counter()
    try:
        batches = [producer.create_batch() for _ in range(partitions)]
        in_flight: list[asyncio.Future[Any]] = []
        for k in range(first, stop):
            key, value = notifier_record(k)
            written = None if tombstones else value
            p = k % partitions  # keys are unique: any spread does, and round-robin is even
            if batches[p].append(key=key, value=written, timestamp=None) is None:
                in_flight.append(
                    await producer.send_batch(batches[p], CONFIG_NOTIFIERS, partition=p)
                )
                batches[p] = producer.create_batch()
                batches[p].append(key=key, value=written, timestamp=None)
            if len(in_flight) >= 16:
                await asyncio.gather(*in_flight)
                in_flight.clear()
            if progress is not None and (k + 1) % 100_000 == 0:
                rate = (k + 1 - first) / (time.perf_counter() - started)
                progress(f"config: {k + 1} notifiers written ({rate:.0f}/s)")
        for p, batch in enumerate(batches):
            if batch.record_count():
                in_flight.append(await producer.send_batch(batch, CONFIG_NOTIFIERS, partition=p))
        await asyncio.gather(*in_flight)
    finally:
        await producer.stop()
    return time.perf_counter() - started
