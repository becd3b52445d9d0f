"""The alerter's state without Kafka: AlerterTables over synthetic records.

The service feeds it batches of one partition's records and writes what `checkpoint` returns
to the state changelog; here the records are built in memory, and the tests look at the events
each batch returns, the states in memory and those due for the changelog. This covers what the
integration tests do not: rules deleted or disabled mid-incident, checkpointing, partitions
taken on from a changelog with rules gone meanwhile, and bad records of both topics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from herald_alerter.evaluate import AlertState
from herald_alerter.metrics import AlerterMetrics
from herald_alerter.tables import AlerterTables, StateRecord, state_key
from herald_core.alerts import AlertRule, AppAlerts, Metric, MetricPoint
from herald_core.envelope import Event
from herald_core.topics import PLATFORM_METRICS
from herald_kafka.producer import OutgoingRecord
from prometheus_client import CollectorRegistry

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
APP = "app-1"
KEY = APP.encode()
PARTITION = 3


def rules(**changes: Any) -> AppAlerts:
    fields: dict[str, Any] = {
        "id": "al-1",
        "app_id": APP,
        "metric": Metric.CPU,
        "limit": 80,
        "duration_before_trigger_s": 0,
        "notifier_ids": ("n-1",),
        **changes,
    }
    rule = AlertRule(**fields)
    return AppAlerts(app_id=APP, owner_id="o-1", app_name="shop", alerts=(rule,))


def point(second: int, value: float) -> bytes:
    at = T0 + timedelta(seconds=second)
    return MetricPoint(app_id=APP, metric=Metric.CPU, value=value, at=at).model_dump_json().encode()


@dataclass
class Consumed:
    """A consumed record (herald_kafka.Record)."""

    key: bytes | None
    value: bytes | None
    offset: int = 0
    topic: str = PLATFORM_METRICS
    partition: int = PARTITION
    timestamp: int = 0
    headers: list[tuple[str, bytes]] = field(default_factory=list)


class Shell:
    """What the service does with the tables, minus Kafka: batches in, events and checkpoints
    out, every checkpoint taken as written."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.sent: list[OutgoingRecord] = []
        self.changelog: list[StateRecord] = []
        self.tables = AlerterTables(AlerterMetrics.create(self.registry), checkpoint_s=60)
        self.tables.hold(PARTITION, [])

    def types(self) -> list[str]:
        return [Event.model_validate_json(r.value or b"").type for r in self.sent]

    def count(self, name: str, label: str) -> float:
        value = self.registry.get_sample_value(name, {"outcome": label})
        return value or 0.0

    def config(self, value: bytes | None, key: bytes | None = KEY) -> None:
        self.tables.handle_config(key, value)
        self.checkpoint()

    def batch(self, *records: Consumed) -> None:
        self.sent.extend(self.tables.handle_points(PARTITION, records))
        self.checkpoint()

    def points(self, *series: tuple[int, float]) -> None:
        self.batch(*(Consumed(KEY, point(second, value)) for second, value in series))

    def checkpoint(self) -> None:
        written = self.tables.checkpoint()
        self.tables.written(written)
        self.changelog.extend(written)

    def stored(self, key: bytes) -> AlertState | None:
        """The state the changelog holds for `key` (its latest record)."""
        found = [r for r in self.changelog if r.key == key]
        return found[-1].state if found else None


@pytest.fixture
def shell() -> Shell:
    return Shell()


def test_fires_and_resolves_with_keyed_records(shell: Shell) -> None:
    shell.config(rules().model_dump_json().encode())
    shell.points((0, 50), (10, 90), (20, 95), (30, 40))
    assert shell.types() == ["app_alert_triggered", "app_alert_resolved"]
    assert {r.key for r in shell.sent} == {KEY}
    assert all(r.topic == "notify.events" for r in shell.sent)


def test_quiet_points_are_checkpointed_now_and_then(shell: Shell) -> None:
    shell.config(rules().model_dump_json().encode())
    for second in (0, 10, 20):  # a batch each
        shell.points((second, 50))
    skey = state_key(APP, "al-1")
    stored = shell.stored(skey)
    assert stored is not None
    assert stored.last_at == T0  # only last_at moved since: kept in memory
    assert [r.key for r in shell.changelog] == [skey]
    shell.points((25, 50))  # the latest point in memory is now 25 s, the table says 0 s
    shell.points((15, 99))  # late against memory: ignored, though newer than the table
    assert shell.sent == []
    shell.points((60, 50))
    stored = shell.stored(skey)
    assert stored is not None
    assert stored.last_at == T0 + timedelta(seconds=60)


def test_a_batch_writes_each_state_once_as_it_ends(shell: Shell) -> None:
    shell.config(rules().model_dump_json().encode())
    shell.points((0, 50), (10, 90), (20, 95), (30, 40), (40, 50))
    assert shell.types() == ["app_alert_triggered", "app_alert_resolved"]
    [written] = shell.changelog
    assert written.state == AlertState(Metric.CPU, "web", False, T0 + timedelta(seconds=40))


def test_a_state_not_written_is_due_again(shell: Shell) -> None:
    shell.config(rules().model_dump_json().encode())
    shell.tables.handle_points(PARTITION, [Consumed(KEY, point(0, 90))])
    due = shell.tables.checkpoint()
    assert [r.key for r in due] == [state_key(APP, "al-1")]
    shell.tables.unwritten(due)
    assert shell.tables.checkpoint() == due


def test_a_partition_taken_on_resumes_its_incidents_and_drops_orphans(shell: Shell) -> None:
    shell.config(rules().model_dump_json().encode())
    shell.points((0, 90))
    assert shell.types() == ["app_alert_triggered"]
    changelog = [(r.key, r.value) for r in shell.changelog]
    other = Shell()  # another worker takes the partition on
    other.config(rules().model_dump_json().encode())
    assert other.tables.hold(PARTITION, changelog) == 1
    other.points((0, 95), (10, 96))  # a replay, then still firing: nothing
    other.points((20, 40))
    assert other.types() == ["app_alert_resolved"]
    # a rule deleted while nobody held the partition: its state goes when taken on again
    changelog = [(r.key, r.value) for r in other.changelog]
    third = Shell()
    third.config(AppAlerts(app_id=APP).model_dump_json().encode())
    assert third.tables.hold(PARTITION, [*changelog, (b"junk", b"{}")]) == 0
    third.checkpoint()
    assert third.changelog == [StateRecord(PARTITION, state_key(APP, "al-1"), None)]
    third.tables.release([PARTITION])
    assert third.tables.shards == {}


@pytest.mark.parametrize(
    "change",
    [
        {"value": None},  # tombstone: the app has no rules left
        {"value": AppAlerts(app_id=APP).model_dump_json().encode()},  # the rule deleted
        {"value": rules(disabled=True).model_dump_json().encode()},
    ],
    ids=["tombstone", "deleted", "disabled"],
)
def test_a_rule_gone_mid_incident_forgets_it_silently(shell: Shell, change: dict[str, Any]) -> None:
    shell.config(rules().model_dump_json().encode())
    shell.points((0, 90))
    assert shell.types() == ["app_alert_triggered"]
    shell.config(change["value"])
    assert shell.tables.state(APP, "al-1") is None
    assert shell.changelog[-1] == StateRecord(PARTITION, state_key(APP, "al-1"), None)
    shell.points((10, 40), (20, 95))
    assert shell.types() == ["app_alert_triggered"]  # no resolution, no re-fire
    # Back again: a fresh incident.
    shell.config(rules().model_dump_json().encode())
    shell.points((30, 95))
    assert shell.types()[1:] == ["app_alert_triggered"]


def test_a_new_limit_keeps_the_incident(shell: Shell) -> None:
    shell.config(rules().model_dump_json().encode())
    shell.points((0, 90))
    shell.config(rules(limit=95).model_dump_json().encode())
    shell.points((10, 92))
    assert shell.types()[1:] == ["app_alert_resolved"]


def test_bad_records_are_counted_and_skipped(shell: Shell) -> None:
    shell.config(rules().model_dump_json().encode())
    unknown = b'{"app_id": "app-1", "metric": "disk", "value": 1, "at": "2026-03-01T08:00:00Z"}'
    shell.batch(
        Consumed(KEY, b"{not json"),
        Consumed(KEY, unknown),
        Consumed(b"other-app", point(0, 99)),
        Consumed(b"app-2", point(0, 99).replace(b"app-1", b"app-2")),
        Consumed(KEY, None),
    )
    shell.config(b"[]")
    shell.config(rules().model_dump_json().encode(), key=b"app-9")
    shell.config(rules().model_dump_json().encode(), key=None)
    assert shell.count("herald_alerter_points_total", "unparsable") == 2
    assert shell.count("herald_alerter_points_total", "unknown_metric") == 1
    assert shell.count("herald_alerter_points_total", "miskeyed") == 1
    assert shell.count("herald_alerter_points_total", "no_rule") == 1
    assert shell.count("herald_alerter_config_records_total", "unparsable") == 1
    assert shell.count("herald_alerter_config_records_total", "miskeyed") == 2
    assert shell.sent == []
