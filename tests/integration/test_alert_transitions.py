"""One message per alert transition, whatever a notifier's selection names (docs/alerts.md).

The whole path: the config API (directory, notifiers, a Convox integration through OAuth, an
alert) → Postgres → outbox → the alerter (a real process) fed by `platform.metrics` → router →
the webhook, e-mail and Discord senders → a local receiver and SMTP sink.

Five notifiers hear one incident: the app's default notifier (e-mail, critical alerts), a
webhook with `send_all_alerts`, one selecting `app_alert_triggered` (Scalingo's id), one
selecting `alert:firing` (Convox's id), and a Convox organisation integration (Discord). Each
gets exactly one firing, one reminder and one resolved message.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from herald_api.app import ApiService
from herald_core.topics import CONFIG_ALERTS
from herald_sender.app import SenderService
from herald_testing.api_client import ApiClient
from herald_testing.oauth_standin import DISCORD_HOOK, OAuthStandIn, connect_integration
from herald_testing.receivers import HttpReceiver
from herald_testing.service_process import ServiceProcess, started
from herald_testing.topics import records_for_key

from support.alerter import rules_read
from support.api import ADMIN_TOKEN
from support.helpers import cpu_points, post_event
from support.pipeline import Herald, MailSink

pytestmark = pytest.mark.integration

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
SELECTIONS = {
    "/all-alerts": {"send_all_alerts": True},
    "/scalingo-id": {"selected_event_ids": ["app_alert_triggered"]},
    "/convox-id": {"selected_event_ids": ["alert:firing"]},
}


async def test_each_notifier_gets_one_firing_one_reminder_one_resolution(
    convox_api: ApiService,
    standin: OAuthStandIn,
    herald: Herald,
    herald_mail: MailSink,
    discord_sender: SenderService,
    alerter: ServiceProcess,
    receiver: HttpReceiver,
    http: aiohttp.ClientSession,
    producer: Any,
    kafka_settings: Any,
    unique: str,
) -> None:
    api = ApiClient(http, convox_api.port, ADMIN_TOKEN)
    org, user, app = f"org-{unique}", f"u-{unique}", f"app-{unique}"
    address = f"owner-{unique}@example.com"
    assert (await api.call("PUT", f"/v1/users/{user}", {"user": {"email": address}}))[0] == 201
    status, _ = await api.call(
        "PUT", f"/v1/owners/{org}", {"owner": {"name": "Acme", "members": [{"user_id": user}]}}
    )
    assert status == 201
    status, _ = await api.call("PUT", f"/v1/apps/{app}", {"app": {"name": "shop", "owner_id": org}})
    assert status == 201  # with its default notifier: critical alerts by e-mail to the owner
    integration = await connect_integration(http, api.base, ADMIN_TOKEN, org, "discord")
    assert integration["families"] == ["convox"]
    for path, selection in SELECTIONS.items():
        status, body = await api.call(
            "POST",
            f"/v1/apps/{app}/notifiers",
            {
                "notifier": {
                    "name": path.strip("/"),
                    "platform_id": "webhook",
                    "type_data": {"webhook_url": receiver.url(path)},
                    **selection,
                }
            },
        )
        assert status == 201, body
    status, body = await api.call(
        "POST",
        f"/v1/apps/{app}/alerts",
        {
            "alert": {
                "metric": "cpu",
                "limit": 0.8,
                "duration_before_trigger": 0,
                "remind_every": "1m",
                "container_type": "web",
            }
        },
    )
    assert status == 201, body
    await started(alerter)
    # The outbox relay has written the app's rules, and the alerter has read them, before any
    # point is sent.
    await records_for_key(
        kafka_settings.bootstrap_servers, CONFIG_ALERTS, app.encode(), 1, timeout_s=30
    )
    await rules_read(kafka_settings.bootstrap_servers, [alerter])

    await cpu_points(producer, app, T0, (0, 0.91))  # fires at once
    await cpu_points(producer, app, T0, (30, 0.93), (60, 0.95))  # still firing; reminder 1 at 60 s
    await cpu_points(producer, app, T0, (90, 0.12))  # resolves

    for path in SELECTIONS:
        hooks = await receiver.wait_for(path, 3, timeout_s=60)
        bodies = [h.json() for h in hooks]
        assert [b["type"] for b in bodies] == [
            "app_alert_triggered",
            "app_alert_triggered",
            "app_alert_resolved",
        ], path
        assert [b["type_data"]["status"] for b in bodies] == ["firing", "firing", "resolved"]
        assert bodies[1]["type_data"]["reminder"] == 1
        assert len({h.headers["webhook-id"] for h in hooks}) == 3
    discord = await receiver.wait_for(DISCORD_HOOK, 3, timeout_s=60)
    titles = [d.json()["embeds"][0]["title"] for d in discord]
    print("discord titles:", titles)
    assert len(set(titles)) >= 2  # firing (twice: the reminder) then resolved
    mails = await herald_mail.wait_for(3, to=address, timeout_s=60)
    print("subjects:", [m["Subject"] for m in mails])

    # Nothing more comes: a sentinel alert for the same app, on the same partition of
    # notify.events after the resolution, reaches every notifier after anything routed before
    # it (each notifier's deliveries keep their order). Once it arrived, the counts are final.
    sentinel = {
        "id": f"sentinel-{unique}",
        "type": "app_alert_triggered",
        "created_at": (T0 + timedelta(minutes=10)).isoformat(),
        "source": "alerter",
        "app_id": app,
        "app_name": "shop",
        "owner_id": org,
        "type_data": {"alert_id": "al-sentinel", "metric": "cpu", "limit": 0.8, "value": 0.99},
    }
    await post_event(http, herald, sentinel)
    for path in SELECTIONS:
        hooks = await receiver.wait_for(path, 4, timeout_s=60)
        assert [h.json()["id"] for h in hooks][3:] == [sentinel["id"]], path
    discord = await receiver.wait_for(DISCORD_HOOK, 4, timeout_s=60)
    assert len(discord) == 4
    mails = await herald_mail.wait_for(4, to=address, timeout_s=60)
    assert len(mails) == 4
    assert alerter.terminate() == 0
