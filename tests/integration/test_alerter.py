"""Metric alerts end to end: `python -m herald_alerter` as a real process on the session broker.

The alerter runs with its production app id, `herald-alerter`, so its consumer group and state
changelog are the ones deploy/topics.yaml declares (the broker creates no topic). The tests share
that group and that changelog, one process at a time, and keep apart by unique app ids.

Rules are written to `notify.config.alerts` as the API's outbox relay writes them (an `AppAlerts`
keyed by app id); points to `platform.metrics` as the metrics pipeline does (keyed by app id).
Metric time is a fixed T0: the alerter never reads the wall clock.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from herald_alerter.settings import AlerterSettings
from herald_alerter.tables import state_key
from herald_core.alerts import AlertRule, AppAlerts, Metric
from herald_core.envelope import Event
from herald_core.notifiers import Notifier, Scope
from herald_core.topics import CONFIG_ALERTS, PLATFORM_METRICS, Channel
from herald_kafka.producer import OutgoingRecord, send_all
from herald_testing.polling import eventually
from herald_testing.receivers import HttpReceiver
from herald_testing.service_process import ServiceProcess, started
from herald_testing.topics import records_now

from support.alerter import rules_read
from support.helpers import app_events, cpu_points
from support.pipeline import Herald, MailSink

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
SETTINGS = AlerterSettings()


def app_alerts(app_id: str, notifier_ids: tuple[str, ...], **changes: Any) -> AppAlerts:
    rule = AlertRule(
        id=f"al-{app_id}",
        app_id=app_id,
        metric=Metric.CPU,
        limit=80,
        duration_before_trigger_s=60,
        notifier_ids=notifier_ids,
        **changes,
    )
    return AppAlerts(app_id=app_id, owner_id=f"owner-{app_id}", app_name="shop", alerts=(rule,))


async def put_rules(
    producer: Any, bootstrap: str, alerts: AppAlerts, alerter: ServiceProcess
) -> None:
    """Write the app's rules and wait until the alerter has read them."""
    key = alerts.app_id.encode()
    await send_all(
        producer, [OutgoingRecord(CONFIG_ALERTS, alerts.model_dump_json().encode(), key)]
    )
    await rules_read(bootstrap, [alerter])


def has(event_type: str) -> Callable[[list[Event]], bool]:
    return lambda events: any(e.type == event_type for e in events)


def types(events: list[Event]) -> list[str]:
    return [e.type for e in events]


async def test_points_beyond_the_limit_fire_then_resolve(
    alerter: ServiceProcess, kafka_settings: Any, producer: Any, unique: str
) -> None:
    app_id = f"hot-{unique}"
    bootstrap = kafka_settings.bootstrap_servers
    await started(alerter)
    await put_rules(producer, bootstrap, app_alerts(app_id, ("n-mail", "n-hook")), alerter)
    # Bad input first: neither a malformed record nor an unknown metric stops the agent.
    key = app_id.encode()
    bad = {"app_id": app_id, "metric": "disk_io", "value": 1, "at": T0.isoformat()}
    await send_all(
        producer,
        [
            OutgoingRecord(PLATFORM_METRICS, b"{not json", key),
            OutgoingRecord(PLATFORM_METRICS, json.dumps(bad).encode(), key),
        ],
    )
    await cpu_points(producer, app_id, T0, (0, 90), (30, 95), (59, 99))  # not for 60 s yet
    await cpu_points(producer, app_id, T0, (60, 97), (90, 98))  # fires at 60
    fired = await app_events(bootstrap, app_id, has("app_alert_triggered"), timeout_s=40)
    assert types(fired) == ["app_alert_triggered"]  # one event, answering to alert:firing too
    triggered = fired[0]
    assert triggered.source == "alerter"
    assert triggered.created_at == T0 + timedelta(seconds=60)
    assert triggered.type_data["notifier_ids"] == ["n-mail", "n-hook"]
    assert triggered.type_data["status"] == "firing"
    assert (triggered.app_name, triggered.owner_id) == ("shop", f"owner-{app_id}")

    await cpu_points(producer, app_id, T0, (120, 40))
    events = await app_events(bootstrap, app_id, has("app_alert_resolved"), timeout_s=40)
    assert types(events) == ["app_alert_triggered", "app_alert_resolved"]
    resolved = events[1]
    assert resolved.type_data["status"] == "resolved"
    assert resolved.type_data["duration_s"] == 120
    assert resolved.type_data["notifier_ids"] == ["n-mail", "n-hook"]
    scraped = alerter.metrics()
    assert 'herald_alerter_points_total{outcome="unparsable"}' in scraped
    assert 'herald_alerter_points_total{outcome="unknown_metric"} 1.0' in scraped
    assert alerter.terminate() == 0


async def test_a_restart_mid_incident_neither_refires_nor_forgets(
    alerter: ServiceProcess, kafka_settings: Any, producer: Any, unique: str
) -> None:
    app_id = f"restart-{unique}"
    bootstrap = kafka_settings.bootstrap_servers
    alerts = app_alerts(app_id, ("n-1",))
    await started(alerter)
    await put_rules(producer, bootstrap, alerts, alerter)
    await cpu_points(producer, app_id, T0, (0, 90), (60, 91))
    await app_events(bootstrap, app_id, has("app_alert_triggered"), timeout_s=40)
    # The state changelog holds the firing incident before the process stops (the points may
    # have come in one batch or two: one state record, or a pending one first).
    skey = state_key(app_id, alerts.alerts[0].id)

    async def firing_stored() -> bool:
        states = await records_now(bootstrap, SETTINGS.state_changelog, lambda r: r.key == skey)
        return bool(states) and json.loads(states[-1].value or b"{}")["fired_at"] is not None

    await eventually(firing_stored, timeout_s=30, interval_s=0.5, what="firing state stored")

    assert alerter.terminate() == 0
    await started(alerter)
    await cpu_points(producer, app_id, T0, (90, 92), (120, 93), (150, 20))
    events = await app_events(bootstrap, app_id, has("app_alert_resolved"), timeout_s=40)
    assert types(events) == ["app_alert_triggered", "app_alert_resolved"]
    assert events[1].type_data["since"] == T0.isoformat()
    assert events[1].type_data["duration_s"] == 150
    assert alerter.terminate() == 0


def notifier(
    notifier_id: str, app_id: str, platform: Channel, type_data: dict[str, Any]
) -> Notifier:
    """A notifier that selects nothing: only the alert that lists it reaches it."""
    return Notifier(
        id=notifier_id,
        name=f"alert {platform}",
        scope=Scope.APP,
        app_id=app_id,
        platform=platform,
        type_data=type_data,
    )


async def test_an_alert_reaches_its_email_and_webhook_notifiers_then_resolves(
    alerter: ServiceProcess,
    herald: Herald,
    herald_mail: MailSink,
    receiver: HttpReceiver,
    kafka_settings: Any,
    producer: Any,
    unique: str,
) -> None:
    app_id = f"e2e-{unique}"
    address = f"ops-{unique}@example.com"
    mail = notifier(f"n-mail-{unique}", app_id, Channel.EMAIL, {"emails": [address]})
    hook = notifier(
        f"n-hook-{unique}",
        app_id,
        Channel.WEBHOOK,
        {"webhook_url": receiver.url("/alerts"), "format": "raw"},
    )
    await herald.add_notifier(mail)
    await herald.add_notifier(hook)
    await started(alerter)
    await put_rules(
        producer,
        kafka_settings.bootstrap_servers,
        app_alerts(app_id, (mail.id, hook.id)),
        alerter,
    )

    await cpu_points(producer, app_id, T0, (0, 90), (30, 95), (60, 97))
    [fired] = await receiver.wait_for("/alerts", 1, timeout_s=40)
    assert fired.json()["type"] == "app_alert_triggered"
    assert fired.json()["type_data"]["alert_id"] == f"al-{app_id}"
    [message] = await herald_mail.wait_for(1, to=address, timeout_s=40)

    await cpu_points(producer, app_id, T0, (90, 30))
    hooks = await receiver.wait_for("/alerts", 2, timeout_s=40)
    assert [h.json()["type"] for h in hooks] == ["app_alert_triggered", "app_alert_resolved"]
    messages = await herald_mail.wait_for(2, to=address, timeout_s=40)
    print("subjects:", [m["Subject"] for m in messages])
    assert message["Subject"] != messages[1]["Subject"]
    assert len(receiver.on("/alerts")) == 2  # one message per transition
    assert alerter.terminate() == 0
