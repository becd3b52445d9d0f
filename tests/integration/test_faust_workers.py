"""derive and the alerter as two workers each, one SIGKILLed mid-stream, then restarted.

Each test runs two real worker processes of one service in its production consumer group (so
the changelogs are the ones deploy/topics.yaml declares), each with its own health port and data
directory, and feeds them a stream of inputs for apps on every partition:

1. both workers join and split the partitions (derive: faust's
   `herald_faust_assigned_partitions`; the alerter: `herald_alerter_assigned_partitions`);
2. half-way through, one worker is SIGKILLed: no drain, no commit. The commit interval is 60 s,
   so nothing it did since it joined is committed: the survivor, once the group has dropped the
   dead member (session timeout), recovers the dead worker's state from the changelog and
   handles again every record of those partitions since the last commit. The dead worker had
   already applied and stored most of them: every one is a replay the state must recognise;
3. more inputs go to the survivor alone, then the killed worker is started again while inputs
   keep coming: it rejoins, the survivor hands partitions back (a graceful revoke), the new
   process recovers them and both hold partitions again;
4. the rest of the stream, then the outcome is checked exactly.

Exact means: the derived events' ids are exactly the expected set (a count off by one, a second
trigger or a missed resolution would add or miss an id), each with the expected content, and the
final counts are exact. A record may be written twice with the same id and the same content
(emit, then store: a worker killed between the two emits again after recovery); Herald's
guarantee is at least once with stable ids, and the router's delivery ids follow the event's.
The tests print how many such repeats there were. The workers running at the end must also have
handled every record in offset order (`herald_faust_records_skipped_total`, derive.md *Records
in order*, and `herald_alerter_records_skipped_total` are 0).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from herald_alerter.evaluate import RESOLVED, TRIGGERED, alert_event_id
from herald_alerter.settings import AlerterSettings
from herald_alerter.tables import state_key
from herald_core.alerts import AlertRule, AppAlerts, Metric, MetricPoint
from herald_core.envelope import Event
from herald_core.intake import parse_event
from herald_core.topics import CONFIG_ALERTS, EVENTS, PLATFORM_METRICS
from herald_derive.crashes import crashed_event_id
from herald_derive.settings import DeriveSettings
from herald_kafka.producer import OutgoingRecord, send_all
from herald_testing.polling import eventually
from herald_testing.service_process import ServiceProcess
from herald_testing.topics import records_now

from support.alerter import rules_read
from support.faust_workers import keys_on_every_partition, partition_of, until_split, worker

pytestmark = [pytest.mark.integration, pytest.mark.timeout(480)]

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
PARTITIONS = 6
SLOW_COMMITS = "60"  # seconds: nothing a worker does between rebalances is committed


@pytest.fixture
def workers(request: pytest.FixtureRequest, kafka_settings: Any, tmp_path: Path) -> Iterator[Any]:
    """A factory of two workers of a service; every process it started is stopped at the end."""
    made: list[ServiceProcess] = []

    def two(name: str, **settings: str) -> list[ServiceProcess]:
        pair = [
            worker(name, kafka_settings.bootstrap_servers, tmp_path, i, **settings) for i in (0, 1)
        ]
        made.extend(pair)
        return pair

    yield two
    for process in made:
        process.stop()


def repeats(records: list[Event]) -> int:
    """How many records repeat an id already seen; asserts that each repeat is identical."""
    by_id: dict[str, Event] = {}
    count = 0
    for event in records:
        first = by_id.setdefault(event.id, event)
        if first is not event:
            assert event == first, f"{event.id} written twice with different content"
            count += 1
    return count


async def events_of(bootstrap: str, apps: set[str], event_type: str) -> list[Event]:
    """Every `event_type` event of `apps` on notify.events so far, in offset order per app."""
    keys = {a.encode() for a in apps}
    records = await records_now(bootstrap, EVENTS, lambda r: r.key in keys)
    events = [Event.model_validate_json(r.value) for r in records]
    return [e for e in events if e.type == event_type]


# derive


THRESHOLDS = (2, 5, 12, 30, 40)
ROUNDS = 40  # crashes per app: round n is every app's n-th crash


def crash(app_id: str, n: int) -> Event:
    return parse_event(
        {
            "id": f"{app_id}-crash-{n}",
            "type": "app_crashed_repeated",
            "created_at": (T0 + timedelta(minutes=n)).isoformat(),
            "source": "platform",
            "app_id": app_id,
            "app_name": "crashy",
            "owner_id": "owner-crashy",
            "type_data": {"container_type": "web", "exit_code": 137},
        }
    )


async def crash_rounds(producer: Any, apps: list[str], rounds: range) -> None:
    records = [
        OutgoingRecord(EVENTS, crash(a, n).to_json(), a.encode()) for n in rounds for a in apps
    ]
    await send_all(producer, records)


async def crash_states(bootstrap: str, apps: set[str]) -> dict[str, dict[str, Any]]:
    """The latest crash state of each app in the changelog (the table as a survivor sees it)."""
    keys = {a.encode() for a in apps}
    changelog = DeriveSettings().changelog_topic
    latest: dict[str, dict[str, Any]] = {}
    for record in await records_now(bootstrap, changelog, lambda r: r.key in keys):
        assert record.key is not None
        assert record.value is not None
        latest[record.key.decode()] = json.loads(record.value)
    return latest


async def test_derive_two_workers_one_killed_then_restarted_counts_stay_exact(
    workers: Any, kafka_settings: Any, producer: Any, unique: str
) -> None:
    bootstrap = kafka_settings.bootstrap_servers
    apps = keys_on_every_partition(f"crashy-{unique}", 4, PARTITIONS)
    pair = workers(
        "derive", commit_interval_s=SLOW_COMMITS, thresholds=json.dumps(list(THRESHOLDS))
    )
    victim, survivor = pair
    for w in pair:
        w.start()
    split = await until_split(pair, [EVENTS], PARTITIONS)
    print(f"derive partitions of {EVENTS}: {split}")

    await crash_rounds(producer, apps, range(1, 17))
    # The victim is mid-stream: it has counted some crashes of its apps, maybe not all.
    mine = {a for a in apps if partition_of(a, PARTITIONS) in split[0]}
    await eventually(
        lambda: _counted(bootstrap, mine, 5), timeout_s=60, interval_s=0.5, what="victim counts"
    )
    killed_at = time.monotonic()
    victim.kill()
    await crash_rounds(producer, apps, range(17, 27))
    # it took every partition over: the group notices the kill after the session timeout, then
    # the survivor restores the victim's tables from their changelogs (slow on a loaded machine)
    await until_split([survivor], [EVENTS], PARTITIONS, timeout_s=150)
    took_over_s = time.monotonic() - killed_at

    await crash_rounds(producer, apps, range(27, 30))
    restarted_at = time.monotonic()
    victim.start()  # the killed worker comes back while crashes keep coming
    await crash_rounds(producer, apps, range(30, 34))
    rejoined = await until_split(pair, [EVENTS], PARTITIONS)
    print(
        f"derive: survivor held all partitions {took_over_s:.1f}s after the kill; after the "
        f"restart {time.monotonic() - restarted_at:.1f}s later: {rejoined}"
    )
    await crash_rounds(producer, apps, range(34, ROUNDS + 1))

    everyone = set(apps)
    last = {a: crash(a, ROUNDS).id for a in apps}

    async def all_counted() -> dict[str, dict[str, Any]] | None:
        states = await crash_states(bootstrap, everyone)
        done = all(states.get(a, {}).get("last_event_id") == last[a] for a in apps)
        return states if done else None

    try:
        states = await eventually(all_counted, timeout_s=120, interval_s=1.0, what="all counted")
    finally:
        print(_counters(pair, "herald_faust_records_skipped_total", "herald_derive_events"))
    assert {a: s["count"] for a, s in states.items()} == {a: ROUNDS for a in apps}
    assert _skipped(pair) == 0  # faust handed every record over in offset order

    derived = await events_of(bootstrap, everyone, "app_crashed")
    expected = {crashed_event_id(a, crash(a, n).id): (a, n) for a in apps for n in THRESHOLDS}
    got = {e.id: (e.app_id, e.type_data["crash_count"]) for e in derived}
    assert set(got) == set(expected), _diff(set(got), set(expected))
    assert got == expected  # each app_crashed at its crash, with the count of that crash
    print(
        f"derive: {len(apps)} apps x {ROUNDS} crashes, {len(expected)} app_crashed expected, "
        f"{len(got)} distinct, {repeats(derived)} repeated records"
    )
    for w in pair:
        assert w.terminate() == 0


async def _counted(bootstrap: str, apps: set[str], at_least: int) -> bool:
    states = await crash_states(bootstrap, apps)
    return len(states) == len(apps) and all(s["count"] >= at_least for s in states.values())


def _diff(got: set[str], expected: set[str]) -> str:
    return f"missing {len(expected - got)}, unexpected {len(got - expected)}"


# alerter


ALERTER = AlerterSettings()
STEP_S = 30  # metric time between two points of an app
CYCLE = (90.0, 90.0, 90.0, 40.0, 40.0, 40.0)  # fires at the 3rd point (60 s), resolves at the 4th
CYCLES = 10


def rules(app_id: str) -> AppAlerts:
    rule = AlertRule(
        id=f"al-{app_id}",
        app_id=app_id,
        metric=Metric.CPU,
        limit=80,
        duration_before_trigger_s=60,
        notifier_ids=("n-1",),
    )
    return AppAlerts(app_id=app_id, owner_id=f"owner-{app_id}", app_name="shop", alerts=(rule,))


def point(app_id: str, n: int) -> OutgoingRecord:
    """The app's n-th point (from 0): CYCLE over and over, STEP_S apart."""
    value = CYCLE[n % len(CYCLE)]
    at = T0 + timedelta(seconds=n * STEP_S)
    body = MetricPoint(app_id=app_id, metric=Metric.CPU, value=value, at=at)
    return OutgoingRecord(PLATFORM_METRICS, body.model_dump_json().encode(), app_id.encode())


async def point_rounds(producer: Any, apps: list[str], rounds: range) -> None:
    await send_all(producer, [point(a, n) for n in rounds for a in apps])


def incidents(app_id: str) -> dict[str, tuple[str, int]]:
    """The expected alert event ids of the app: (kind, cycle) by id."""
    expected: dict[str, tuple[str, int]] = {}
    for c in range(CYCLES):
        since = T0 + timedelta(seconds=c * len(CYCLE) * STEP_S)
        for kind in (TRIGGERED, RESOLVED):
            expected[alert_event_id(kind, app_id, f"al-{app_id}", since, 0)] = (kind, c)
    return expected


async def test_alerter_two_workers_one_killed_then_restarted_incidents_stay_exact(
    workers: Any, kafka_settings: Any, producer: Any, unique: str
) -> None:
    bootstrap = kafka_settings.bootstrap_servers
    apps = keys_on_every_partition(f"hot-{unique}", 3, PARTITIONS)
    pair = workers("alerter", commit_interval_s=SLOW_COMMITS)
    victim, survivor = pair
    topics = [PLATFORM_METRICS]  # every worker reads all of notify.config.alerts
    for w in pair:
        w.start()
    split = await until_split(pair, topics, PARTITIONS)
    print(f"alerter partitions of {PLATFORM_METRICS}: {split}")
    await send_all(
        producer,
        [
            OutgoingRecord(CONFIG_ALERTS, rules(a).model_dump_json().encode(), a.encode())
            for a in apps
        ],
    )
    await rules_read(bootstrap, pair)

    total = CYCLES * len(CYCLE)
    await point_rounds(producer, apps, range(0, 24))  # 4 incidents per app
    mine = {state_key(a, f"al-{a}") for a in apps if partition_of(a, PARTITIONS) in split[0]}
    await eventually(
        lambda: _stored(bootstrap, ALERTER.state_changelog, mine),
        timeout_s=60,
        interval_s=0.5,
        what="victim evaluating",
    )
    killed_at = time.monotonic()
    victim.kill()
    await point_rounds(producer, apps, range(24, 36))
    await until_split([survivor], topics, PARTITIONS)
    took_over_s = time.monotonic() - killed_at

    await point_rounds(producer, apps, range(36, 42))
    restarted_at = time.monotonic()
    victim.start()
    await point_rounds(producer, apps, range(42, 48))
    rejoined = await until_split(pair, topics, PARTITIONS)
    print(
        f"alerter: survivor held all partitions {took_over_s:.1f}s after the kill; after the "
        f"restart {time.monotonic() - restarted_at:.1f}s later: {rejoined}"
    )
    await point_rounds(producer, apps, range(48, total))

    expected = {i: (a, *k) for a in apps for i, k in incidents(a).items()}
    everyone = set(apps)

    async def all_resolved() -> list[Event] | None:
        found = [
            *await events_of(bootstrap, everyone, TRIGGERED),
            *await events_of(bootstrap, everyone, RESOLVED),
        ]
        return found if set(expected) <= {e.id for e in found} else None

    # The last resolution of an app comes after everything else of its partition was handled.
    try:
        found = await eventually(all_resolved, timeout_s=120, interval_s=1.0, what="all resolved")
    finally:
        print(
            _counters(
                pair,
                "herald_alerter_records_skipped_total",
                "herald_alerter_points_total",
                "herald_alerter_evaluations_total",
            )
        )
    got = {e.id: (e.app_id, e.type, _cycle(e)) for e in found}
    assert set(got) == set(expected), _diff(set(got), set(expected))
    assert _skipped(pair) == 0  # every record handled in offset order
    assert got == expected
    per_app = Counter((e.app_id, e.type) for e in {e.id: e for e in found}.values())
    assert set(per_app.values()) == {CYCLES}  # one trigger and one resolution per incident
    print(
        f"alerter: {len(apps)} apps x {CYCLES} incidents, {len(expected)} events expected, "
        f"{len(got)} distinct, {repeats(found)} repeated records"
    )
    for w in pair:
        assert w.terminate() == 0


def _counters(workers: list[ServiceProcess], *prefixes: str) -> str:
    """The workers' counters named by `prefixes`, for a failure's report."""
    lines = []
    for i, w in enumerate(workers):
        scraped = w.metrics().splitlines()
        lines += [f"worker {i}: {m}" for m in scraped if m.startswith(prefixes)]
    return "\n".join(lines)


SKIPPED = ("herald_faust_records_skipped_total{", "herald_alerter_records_skipped_total ")


def _skipped(workers: list[ServiceProcess]) -> float:
    """Offsets the running workers saw jumped over (derive: faust's; the alerter: its own)."""
    return sum(
        float(line.rsplit(" ", 1)[1])
        for w in workers
        for line in w.metrics().splitlines()
        if line.startswith(SKIPPED)
    )


def _cycle(event: Event) -> int:
    since = datetime.fromisoformat(event.type_data["since"])
    return int((since - T0).total_seconds()) // (len(CYCLE) * STEP_S)


async def _stored(bootstrap: str, changelog: str, keys: set[bytes]) -> bool:
    records = await records_now(bootstrap, changelog, lambda r: r.key in keys)
    return {r.key for r in records} == keys
