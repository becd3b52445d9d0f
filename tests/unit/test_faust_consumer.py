"""herald_runtime.faust_consumer: faust's consumer with Herald's fixes, on an unstarted app."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import faust
import pytest
from faust.types import TP
from herald_derive.app import faust_app
from herald_derive.settings import DeriveSettings
from herald_runtime.faust_consumer import (
    OrderedConsumer,
    OrderedConsumerThread,
    start_offsets,
)

SOURCE = TP("notify.events", 2)


@pytest.fixture
def app() -> Iterator[faust.App]:
    """An unstarted derive app; its consumer is built (with the loop of its thread) when used."""
    made = faust_app(DeriveSettings())
    yield made
    if made._consumer is not None:
        made.consumer._thread.thread_loop.close()  # type: ignore[attr-defined]


class _Record:
    def __init__(self, topic: str, partition: int, offset: int) -> None:
        self.topic, self.partition, self.offset = topic, partition, offset
        self.timestamp = None
        self.timestamp_type = 0
        self.headers: list[Any] = []
        self.key, self.value = b"app", b"{}"
        self.checksum = None
        self.serialized_key_size = self.serialized_value_size = 2


def test_the_service_apps_build_the_ordered_consumer(app: faust.App) -> None:
    assert isinstance(app.consumer, OrderedConsumer)
    assert isinstance(app.consumer._thread, OrderedConsumerThread)


def test_an_ack_from_an_older_generation_is_not_counted_as_handled(app: faust.App) -> None:
    consumer = app.consumer
    app.topics.acks_enabled_for = lambda topic: True  # type: ignore[method-assign]
    app.consumer_generation_id = 4
    stale = consumer._to_message(SOURCE, _Record(SOURCE.topic, 2, 50))  # type: ignore[attr-defined]
    app.consumer_generation_id = 5
    assert consumer.ack(stale) is False
    assert stale.acked
    assert not consumer._acked.get(SOURCE)  # type: ignore[attr-defined]
    current = consumer._to_message(SOURCE, _Record(SOURCE.topic, 2, 10))  # type: ignore[attr-defined]
    assert consumer.ack(current) is True
    assert consumer._acked[SOURCE] == [10]  # type: ignore[attr-defined]


async def test_the_fetch_gets_a_copy_of_the_wanted_partitions(app: faust.App) -> None:
    consumer = app.consumer
    asked: list[Any] = []

    async def getmany(active: Any, timeout: float) -> dict[Any, Any]:  # noqa: ASYNC109
        asked.append(active)
        live.clear()  # faust pauses partitions while the thread fetches
        return {}

    consumer._thread.getmany = getmany  # type: ignore[attr-defined]
    live = {SOURCE}
    await consumer._getmany(live, 1.0)  # type: ignore[attr-defined]
    assert asked == [{SOURCE}]  # not the (now empty) live set: aiokafka reads empty as "all"
    await consumer._getmany(set(), 1.0)  # type: ignore[attr-defined]
    assert len(asked) == 1  # nothing wanted: nothing fetched


def test_start_offsets_are_those_of_the_current_generation(app: faust.App) -> None:
    starts = start_offsets(app)
    app.consumer_generation_id = 7
    app.consumer.note_starts({SOURCE: 120})  # type: ignore[attr-defined]
    assert starts(SOURCE.topic, SOURCE.partition, 7) == 120
    assert starts(SOURCE.topic, SOURCE.partition, 8) is None
    assert starts(SOURCE.topic, 3, 7) is None


async def test_source_partitions_resume_only_after_the_seek_and_the_flow(app: faust.App) -> None:
    consumer = app.consumer
    changelog = TP(DeriveSettings().changelog_topic, 2)
    consumer._is_changelog_tp = lambda tp: tp.topic == changelog.topic  # type: ignore[attr-defined]
    consumer.pause_partitions({SOURCE, changelog})
    seeks: list[str] = []

    async def seek_to_committed() -> dict[TP, int]:
        seeks.append("seek")
        return {SOURCE: 40}

    consumer.seek_to_committed = seek_to_committed  # type: ignore[attr-defined]
    consumer.resume_partitions({SOURCE, changelog})  # faust, at the end of a recovery
    assert consumer._active_partitions == {changelog}  # type: ignore[attr-defined]
    consumer.resume_flow()  # not yet sought: still held
    assert SOURCE not in consumer._active_partitions  # type: ignore[attr-defined]
    await consumer.perform_seek()
    assert SOURCE not in consumer._active_partitions  # type: ignore[attr-defined]
    consumer.resume_flow()  # after faust's flow control has emptied the queues
    assert consumer._active_partitions == {changelog, SOURCE}  # type: ignore[attr-defined]
    assert seeks == ["seek"]
