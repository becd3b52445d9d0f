"""Metrics the services export about themselves (docs/operations.md, *Metrics*), on the real
broker.

Each consuming service measures its own lag (`herald_kafka.lag.sample_own_lag`) and exports it
as `herald_consumer_lag_records{group,topic}`: a consumer held on its first record reports the
records behind it, then 0 once it has taken them all; the in-process pipeline's services export
the gauge on /metrics. The router's config view says how stale it is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest
from herald_core.settings import KafkaSettings
from herald_core.topics import EVENTS, deliveries_topic
from herald_kafka.consumer import Record, run_group
from herald_kafka.producer import OutgoingRecord, send_all
from herald_testing.polling import eventually
from herald_testing.scrape import sample_value

from support.helpers import create_topic, deployed
from support.pipeline import Herald

pytestmark = pytest.mark.integration

RECORDS = 10


async def test_a_held_consumer_reports_the_records_behind_it_then_zero(
    kafka_settings: KafkaSettings, producer: Any, unique: str
) -> None:
    topic = f"test.lag.{unique}"
    await create_topic(kafka_settings, topic)
    await send_all(producer, [OutgoingRecord(topic, b"x", str(i).encode()) for i in range(RECORDS)])
    gate, stop = asyncio.Event(), asyncio.Event()
    samples: list[dict[str, int]] = []

    async def held(record: Record) -> list[OutgoingRecord]:
        await gate.wait()
        return []

    def report(lags: Mapping[str, int]) -> None:
        samples.append(dict(lags))

    consuming = asyncio.create_task(
        run_group(
            kafka_settings,
            f"test-lag-{unique}",
            [topic],
            producer=producer,
            handle=held,
            on_error=lambda record, exc: [],
            stop=stop,
            on_lag=report,
            lag_every_s=0.2,
            max_records=1,
        )
    )
    try:
        # It took the first record (position 1) and holds it: the other nine are behind it.
        await eventually(
            lambda: {topic: RECORDS - 1} in samples, timeout_s=60, what="lag of 9 reported"
        )
        gate.set()
        await eventually(lambda: samples[-1] == {topic: 0}, timeout_s=60, what="lag back to 0")
    finally:
        stop.set()
        await consuming


async def test_the_pipeline_services_export_their_lag_per_group_and_topic(
    herald: Herald, http: Any, unique: str
) -> None:
    async with http.post(herald.events_url, json=deployed(f"app-{unique}")) as response:
        assert response.status == 202
    expected = {
        herald.router: (herald.router.settings.group_id, EVENTS),
        herald.sender: (
            herald.sender.settings.consumer_group,
            deliveries_topic(herald.sender.channel),
        ),
    }

    async def exported() -> bool:
        for service, (group, topic) in expected.items():
            async with http.get(f"http://127.0.0.1:{service.port}/metrics") as response:
                scraped = await response.text()
            labels = {"group": group, "topic": topic}
            if sample_value(scraped, "herald_consumer_lag_records", labels) is None:
                return False
        return True

    await eventually(exported, timeout_s=60, what="herald_consumer_lag_records on /metrics")


async def test_the_routers_config_view_reports_itself_fresh(herald: Herald, http: Any) -> None:
    async def staleness() -> float | None:
        async with http.get(f"http://127.0.0.1:{herald.router.port}/metrics") as response:
            scraped = await response.text()
        return sample_value(scraped, "herald_router_config_staleness_seconds")

    async def fresh() -> bool:
        value = await staleness()
        return value is not None and value < 5

    await eventually(fresh, timeout_s=60, what="a fresh config view")
