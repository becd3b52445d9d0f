"""The alerter's tables without Kafka: AlerterTables.handle_config / handle_point over dicts.

The service gives faust's changelog-backed tables; here they are plain dicts (the tables use
only get, setitem, `in` and del), and the emit step records what it would send. This covers
what the integration tests do not: rules deleted or disabled mid-incident, checkpointing, and
bad records of both topics.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from herald_alerter.evaluate import AlertState
from herald_alerter.metrics import AlerterMetrics
from herald_alerter.tables import AlerterTables, state_key
from herald_core.alerts import AlertRule, AppAlerts, Metric, MetricPoint
from herald_core.envelope import Event
from herald_kafka.producer import OutgoingRecord
from prometheus_client import CollectorRegistry

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
APP = "app-1"
KEY = APP.encode()


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


class Shell:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.sent: list[OutgoingRecord] = []
        self.tables = AlerterTables(
            {}, {}, AlerterMetrics.create(self.registry), self.emit, checkpoint_s=60
        )

    async def emit(self, records: list[OutgoingRecord]) -> None:
        self.sent.extend(records)

    def types(self) -> list[str]:
        return [Event.model_validate_json(r.value or b"").type for r in self.sent]

    def count(self, name: str, label: str) -> float:
        value = self.registry.get_sample_value(name, {"outcome": label})
        return value or 0.0

    async def points(self, *series: tuple[int, float]) -> None:
        for second, value in series:
            await self.tables.handle_point(KEY, point(second, value), [])


@pytest.fixture
def shell() -> Shell:
    return Shell()


async def test_fires_and_resolves_with_keyed_records(shell: Shell) -> None:
    shell.tables.handle_config(KEY, rules().model_dump_json().encode())
    await shell.points((0, 50), (10, 90), (20, 95), (30, 40))
    assert shell.types() == ["app_alert_triggered", "app_alert_resolved"]
    assert {r.key for r in shell.sent} == {KEY}
    assert all(r.topic == "notify.events" for r in shell.sent)


async def test_quiet_points_are_checkpointed_now_and_then(shell: Shell) -> None:
    shell.tables.handle_config(KEY, rules().model_dump_json().encode())
    await shell.points((0, 50), (10, 50), (20, 50))
    skey = state_key(APP, "al-1")
    stored = AlertState.model_validate_json(shell.tables.states[skey])
    assert stored.last_at == T0  # only last_at moved since: kept in memory
    await shell.points((25, 50))  # the latest point in memory is now 25 s, the table says 0 s
    await shell.points((15, 99))  # late against memory: ignored, though newer than the table
    assert shell.sent == []
    await shell.points((60, 50))
    stored = AlertState.model_validate_json(shell.tables.states[skey])
    assert stored.last_at == T0 + timedelta(seconds=60)


@pytest.mark.parametrize(
    "change",
    [
        {"value": None},  # tombstone: the app has no rules left
        {"value": AppAlerts(app_id=APP).model_dump_json().encode()},  # the rule deleted
        {"value": rules(disabled=True).model_dump_json().encode()},
    ],
    ids=["tombstone", "deleted", "disabled"],
)
async def test_a_rule_gone_mid_incident_forgets_it_silently(
    shell: Shell, change: dict[str, Any]
) -> None:
    shell.tables.handle_config(KEY, rules().model_dump_json().encode())
    await shell.points((0, 90))
    assert shell.types() == ["app_alert_triggered"]
    shell.tables.handle_config(KEY, change["value"])
    assert state_key(APP, "al-1") not in shell.tables.states
    await shell.points((10, 40), (20, 95))
    assert shell.types() == ["app_alert_triggered"]  # no resolution, no re-fire
    # Back again: a fresh incident.
    shell.tables.handle_config(KEY, rules().model_dump_json().encode())
    await shell.points((30, 95))
    assert shell.types()[1:] == ["app_alert_triggered"]


async def test_a_new_limit_keeps_the_incident(shell: Shell) -> None:
    shell.tables.handle_config(KEY, rules().model_dump_json().encode())
    await shell.points((0, 90))
    shell.tables.handle_config(KEY, rules(limit=95).model_dump_json().encode())
    await shell.points((10, 92))
    assert shell.types()[1:] == ["app_alert_resolved"]


async def test_bad_records_are_counted_and_skipped(shell: Shell) -> None:
    shell.tables.handle_config(KEY, rules().model_dump_json().encode())
    unknown = b'{"app_id": "app-1", "metric": "disk", "value": 1, "at": "2026-03-01T08:00:00Z"}'
    await shell.tables.handle_point(KEY, b"{not json", [])
    await shell.tables.handle_point(KEY, unknown, [])
    await shell.tables.handle_point(b"other-app", point(0, 99), [])
    await shell.tables.handle_point(b"app-2", point(0, 99).replace(b"app-1", b"app-2"), [])
    shell.tables.handle_config(KEY, b"[]")
    shell.tables.handle_config(b"app-9", rules().model_dump_json().encode())
    assert shell.count("herald_alerter_points_total", "unparsable") == 1
    assert shell.count("herald_alerter_points_total", "unknown_metric") == 1
    assert shell.count("herald_alerter_points_total", "miskeyed") == 1
    assert shell.count("herald_alerter_points_total", "no_rule") == 1
    assert shell.count("herald_alerter_config_records_total", "unparsable") == 1
    assert shell.count("herald_alerter_config_records_total", "miskeyed") == 1
    assert shell.sent == []
