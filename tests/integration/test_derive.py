"""Crash counting end to end: `python -m herald_derive` as a real process on the session broker.

The processor runs with its production faust app id, `herald-derive`, so its changelog is the
`herald-derive-crash_counts-changelog` that deploy/topics.yaml declares (the session broker has
auto-creation off and faust is told to declare nothing): the tests prove the topic file holds
everything faust needs. Both tests share that consumer group and changelog, one process at a
time, and keep apart by unique app ids, as every other test on the shared topics does.

Events are written as ingest writes them: validated by `parse_event`, keyed by app id.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from herald_core.envelope import Event
from herald_core.intake import parse_event
from herald_core.topics import EVENTS
from herald_derive.crashes import crashed_event_id
from herald_derive.settings import DeriveSettings
from herald_kafka.producer import OutgoingRecord, send_all
from herald_testing.service_process import ServiceProcess, started
from herald_testing.topics import records_for_key

from support.helpers import app_events

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
CHANGELOG = DeriveSettings().changelog_topic


@pytest.fixture
def derive(kafka_settings: Any, tmp_path: Path) -> Iterator[ServiceProcess]:
    process = ServiceProcess("derive", kafka_settings.bootstrap_servers, tmp_path / "derive.log")
    try:
        yield process
    finally:
        process.stop()


def event(app_id: str, event_type: str, n: int, **type_data: Any) -> Event:
    """An event as ingest writes it (validated, canonical), `n` minutes after T0."""
    return parse_event(
        {
            "id": f"{app_id}-{event_type}-{n}",
            "type": event_type,
            "created_at": (T0 + timedelta(minutes=n)).isoformat(),
            "source": "platform",
            "app_id": app_id,
            "app_name": "crashy",
            "owner_id": "owner-crashy",
            "type_data": type_data,
        }
    )


def crash(app_id: str, n: int) -> Event:
    return event(app_id, "app_crashed_repeated", n, container_type="web", exit_code=137)


async def produce(producer: Any, *events: Event) -> None:
    await send_all(
        producer, [OutgoingRecord(EVENTS, e.to_json(), (e.app_id or "").encode()) for e in events]
    )


def crashed(events: list[Event]) -> list[Event]:
    return [e for e in events if e.type == "app_crashed"]


def emitted_after(app_id: str, crash_numbers: list[int]) -> Callable[[list[Event]], bool]:
    wanted = {crashed_event_id(app_id, f"{app_id}-app_crashed_repeated-{n}") for n in crash_numbers}
    return lambda events: wanted <= {e.id for e in crashed(events)}


def assert_crashed_on(events: list[Event], app_id: str, expected: list[tuple[int, int]]) -> None:
    """`expected`: (crash count, minute of the crash that triggered it), in order."""
    got = [
        (e.type_data["crash_count"], e.type_data["crash_event_id"], e.id, e.created_at)
        for e in crashed(events)
    ]
    want = [
        (
            count,
            f"{app_id}-app_crashed_repeated-{n}",
            crashed_event_id(app_id, f"{app_id}-app_crashed_repeated-{n}"),
            T0 + timedelta(minutes=n),
        )
        for count, n in expected
    ]
    assert got == want


async def test_app_crashed_on_the_2nd_5th_and_12th_crash_only(
    derive: ServiceProcess, kafka_settings: Any, producer: Any, unique: str
) -> None:
    app_id = f"crashy-{unique}"
    await started(derive)

    await produce(producer, *(crash(app_id, n) for n in range(1, 14)))
    # A restart, then two crashes: the 2nd of the new streak (minute 16) emits once more. Its
    # app_crashed comes after everything derive did for crashes 1 to 13 (one key, one partition,
    # handled in order), so once it is there nothing else can still be on its way.
    await produce(producer, event(app_id, "app_restarted", 14), crash(app_id, 15))
    await produce(producer, crash(app_id, 16))
    events = await app_events(kafka_settings.bootstrap_servers, app_id, emitted_after(app_id, [16]))

    assert_crashed_on(events, app_id, [(2, 2), (5, 5), (12, 12), (2, 16)])
    first = crashed(events)[0]
    assert parse_event(first.to_json()) == first
    assert (first.source, first.app_name, first.owner_id) == ("derive", "crashy", "owner-crashy")
    assert first.type_data["container_type"] == "web"
    assert derive.terminate() == 0


async def test_crash_counts_survive_a_restart_of_the_processor(
    derive: ServiceProcess, kafka_settings: Any, producer: Any, unique: str
) -> None:
    app_id = f"crashy-{unique}"
    bootstrap = kafka_settings.bootstrap_servers
    await started(derive)
    await produce(producer, *(crash(app_id, n) for n in range(1, 4)))
    # The table's changelog shows the third crash counted before the processor stops.
    states = await records_for_key(bootstrap, CHANGELOG, app_id.encode(), 3, timeout_s=30)
    assert [json.loads(s.value)["count"] for s in states] == [1, 2, 3]
    before = await app_events(bootstrap, app_id, emitted_after(app_id, [2]))
    assert_crashed_on(before, app_id, [(2, 2)])

    assert derive.terminate() == 0
    await started(derive)
    await produce(producer, *(crash(app_id, n) for n in range(4, 13)))
    events = await app_events(bootstrap, app_id, emitted_after(app_id, [12]))

    assert_crashed_on(events, app_id, [(2, 2), (5, 5), (12, 12)])
    assert derive.terminate() == 0
