"""Scalingo's alerts API against the real Postgres and Kafka (issue 9, docs/alerts.md): the wire
shapes (nanoseconds and Go duration strings), validation, the `AppAlerts` record on
`notify.config.alerts` after each change, `alert_added` / `alert_deleted` on `notify.events`,
and tenancy."""

from __future__ import annotations

import json
from typing import Any

import pytest
from herald_api.http.auth import TokenScope, create_token
from herald_core.alerts import AppAlerts, Metric
from herald_core.topics import CONFIG_ALERTS, EVENTS
from herald_testing.api_client import ApiClient
from herald_testing.topics import find_record, headers_of, records_for_key

from support.helpers import register_app

pytestmark = pytest.mark.integration

S = 1_000_000_000


async def register(admin: ApiClient, unique: str, suffix: str = "") -> str:
    app_id = f"app-al-{unique}{suffix}"
    await register_app(admin, app_id, f"owner-al-{unique}", name=f"alerted{suffix}")
    return app_id


async def webhook(admin: ApiClient, app_id: str, name: str = "alerts") -> str:
    status, body = await admin.call(
        "POST",
        f"/v1/apps/{app_id}/notifiers",
        {
            "notifier": {
                "name": name,
                "platform_id": "webhook",
                "type_data": {"webhook_url": "https://hooks.example.com/alerts"},
            }
        },
    )
    assert status == 201, body
    notifier_id: str = body["notifier"]["id"]
    return notifier_id


async def alert_records(api: Any, app_id: str, count: int) -> list[AppAlerts | None]:
    records = await records_for_key(
        api.settings.kafka.bootstrap_servers, CONFIG_ALERTS, app_id.encode(), count
    )
    return [AppAlerts.model_validate_json(r.value) if r.value else None for r in records]


async def event_of(api: Any, event_type: str, alert_id: str) -> dict[str, Any]:
    record = await find_record(
        api.settings.kafka.bootstrap_servers,
        EVENTS,
        lambda r: (
            json.loads(r.value)["type"] == event_type
            and json.loads(r.value)["type_data"].get("alert_id") == alert_id
        ),
    )
    assert headers_of(record)["ce_type"] == event_type
    event: dict[str, Any] = json.loads(record.value)
    return event


async def test_create_list_get_patch_delete_with_scalingos_wire_shapes(
    api: Any, admin: ApiClient, unique: str
) -> None:
    app_id = await register(admin, unique)
    notifier_id = await webhook(admin, app_id)
    # What go-scalingo's AlertAdd sends: the whole Alert struct, zero values included.
    status, created, headers = await admin.call_with_headers(
        "POST",
        f"/v1/apps/{app_id}/alerts",
        {
            "alert": {
                "id": "",
                "app_id": "",
                "container_type": "web",
                "metric": "p95_response_time",
                "limit": 800,
                "disabled": False,
                "send_when_below": False,
                "duration_before_trigger": 300 * S,
                "remind_every": "30m0s",
                "created_at": "0001-01-01T00:00:00Z",
                "updated_at": "0001-01-01T00:00:00Z",
                "metadata": None,
                "notifiers": [notifier_id],
            }
        },
    )
    assert status == 201, created
    alert = created["alert"]
    alert_id = alert["id"]
    assert alert_id.startswith("al-")
    assert headers["Location"] == f"/v1/apps/{app_id}/alerts/{alert_id}"
    assert {k: v for k, v in alert.items() if k not in ("id", "created_at", "updated_at")} == {
        "app_id": app_id,
        "container_type": "web",
        "metric": "p95_response_time",
        "limit": 800.0,
        "send_when_below": False,
        "duration_before_trigger": 300 * S,
        "remind_every": "30m0s",
        "disabled": False,
        "notifiers": [notifier_id],
        "metadata": {},
    }
    assert alert["created_at"].endswith("Z")

    status, listed = await admin.call("GET", f"/v1/apps/{app_id}/alerts")
    assert status == 200
    assert listed["alerts"] == [alert]
    assert listed["meta"]["pagination"]["total_count"] == 1
    status, shown, shown_headers = await admin.call_with_headers(
        "GET", f"/v1/apps/{app_id}/alerts/{alert_id}"
    )
    assert (status, shown) == (200, created)

    # What go-scalingo's AlertUpdate sends: remind_every as a time.Duration (nanoseconds).
    status, patched = await admin.call(
        "PATCH",
        f"/v1/apps/{app_id}/alerts/{alert_id}",
        {"alert": {"limit": 1200, "remind_every": 5400 * S, "duration_before_trigger": "1m30s"}},
        headers={"If-Match": shown_headers["ETag"]},
    )
    assert status == 200, patched
    assert (
        patched["alert"]["limit"],
        patched["alert"]["remind_every"],
        patched["alert"]["duration_before_trigger"],
        patched["alert"]["notifiers"],
    ) == (1200.0, "1h30m0s", 90 * S, [notifier_id])
    status, _ = await admin.call(
        "PATCH",
        f"/v1/apps/{app_id}/alerts/{alert_id}",
        {"alert": {"disabled": True}},
        headers={"If-Match": shown_headers["ETag"]},
    )
    assert status == 412, "the ETag of version 1 is stale"

    status, _ = await admin.call("DELETE", f"/v1/apps/{app_id}/alerts/{alert_id}")
    assert status == 204
    assert (await admin.call("GET", f"/v1/apps/{app_id}/alerts/{alert_id}"))[0] == 404
    assert (await admin.call("GET", f"/v1/apps/{app_id}/alerts"))[1]["alerts"] == []

    first, second, third = await alert_records(api, app_id, 3)
    assert first is not None
    assert second is not None
    assert (first.app_id, first.owner_id, first.app_name) == (
        app_id,
        f"owner-al-{unique}",
        "alerted",
    )
    [rule] = first.alerts
    assert (rule.id, rule.metric, rule.limit, rule.notifier_ids) == (
        alert_id,
        Metric.P95_RESPONSE_TIME,
        800.0,
        (notifier_id,),
    )
    assert (rule.duration_before_trigger_s, rule.remind_every_s, rule.version) == (300, 1800, 1)
    [rule] = second.alerts
    assert (rule.limit, rule.duration_before_trigger_s, rule.remind_every_s, rule.version) == (
        1200.0,
        90,
        5400,
        2,
    )
    assert third is None, "the app's last alert gone: a tombstone"

    added = await event_of(api, "alert_added", alert_id)
    deleted = await event_of(api, "alert_deleted", alert_id)
    for event in (added, deleted):
        assert (event["app_id"], event["owner_id"], event["app_name"]) == (
            app_id,
            f"owner-al-{unique}",
            "alerted",
        )
    assert added["type_data"] == {
        "alert_id": alert_id,
        "metric": "p95_response_time",
        "limit": 800.0,
        "container_type": "web",
        "send_when_below": False,
        "notifier_ids": [notifier_id],
    }
    assert deleted["type_data"]["limit"] == 1200.0


async def test_the_record_holds_every_alert_of_the_app(
    api: Any, admin: ApiClient, unique: str
) -> None:
    app_id = await register(admin, unique)
    ids = []
    for metric, limit in (("cpu", 0.9), ("5XX", 1), ("memory", 0.8)):
        status, body = await admin.call(
            "POST", f"/v1/apps/{app_id}/alerts", {"alert": {"metric": metric, "limit": limit}}
        )
        assert status == 201, body
        ids.append(body["alert"]["id"])
    assert (await admin.call("DELETE", f"/v1/apps/{app_id}/alerts/{ids[1]}"))[0] == 204
    records = await alert_records(api, app_id, 4)
    assert [[r.id for r in rec.alerts] for rec in records if rec] == [
        ids[:1],
        ids[:2],
        ids,
        [ids[0], ids[2]],
    ]
    assert records[2] is not None
    assert [r.metric for r in records[2].alerts] == [Metric.CPU, Metric.HTTP_5XX, Metric.MEMORY]


@pytest.mark.parametrize(
    ("alert", "field"),
    [
        ({"metric": "disk", "limit": 1}, "metric"),
        ({"metric": "cpu", "limit": 1, "duration_before_trigger": -S}, "duration_before_trigger"),
        ({"metric": "cpu", "limit": 1, "remind_every": "-5m"}, "remind_every"),
        ({"metric": "cpu", "limit": 1, "remind_every": "often"}, "remind_every"),
        ({"metric": "cpu"}, "limit"),
        ({"metric": "cpu", "limit": 1, "colour": "red"}, "colour"),
    ],
)
async def test_invalid_alerts_are_422_with_scalingos_errors(
    api: Any, admin: ApiClient, unique: str, alert: dict[str, Any], field: str
) -> None:
    app_id = await register(admin, unique)
    status, problem = await admin.call("POST", f"/v1/apps/{app_id}/alerts", {"alert": alert})
    assert status == 422, problem
    assert field in problem["errors"], problem
    assert (await admin.call("GET", f"/v1/apps/{app_id}/alerts"))[1]["alerts"] == []


async def test_only_the_apps_own_notifiers_may_be_listed(
    api: Any, admin: ApiClient, unique: str
) -> None:
    app_id, other_app = await register(admin, unique, "-a"), await register(admin, unique, "-b")
    own, foreign = await webhook(admin, app_id), await webhook(admin, other_app)
    body = {"alert": {"metric": "cpu", "limit": 0.9, "notifiers": [own, foreign]}}
    status, problem = await admin.call("POST", f"/v1/apps/{app_id}/alerts", body)
    assert status == 422
    assert problem["errors"] == {"notifiers": [f"no notifier '{foreign}' in this app"]}

    status, created = await admin.call(
        "POST", f"/v1/apps/{app_id}/alerts", {"alert": {"metric": "cpu", "limit": 0.9}}
    )
    alert_id = created["alert"]["id"]
    status, problem = await admin.call(
        "PATCH", f"/v1/apps/{app_id}/alerts/{alert_id}", {"alert": {"notifiers": [foreign]}}
    )
    assert (status, list(problem["errors"])) == (422, ["notifiers"])


async def test_deleting_a_notifier_takes_it_out_of_the_alerts_listing_it(
    api: Any, admin: ApiClient, unique: str
) -> None:
    app_id = await register(admin, unique)
    kept, dropped = await webhook(admin, app_id, "kept"), await webhook(admin, app_id, "dropped")
    status, created = await admin.call(
        "POST",
        f"/v1/apps/{app_id}/alerts",
        {"alert": {"metric": "rpm", "limit": 10, "notifiers": [dropped, kept]}},
    )
    assert status == 201
    alert_id = created["alert"]["id"]
    assert (await admin.call("DELETE", f"/v1/apps/{app_id}/notifiers/{dropped}"))[0] == 204
    _, shown, headers = await admin.call_with_headers("GET", f"/v1/apps/{app_id}/alerts/{alert_id}")
    assert shown["alert"]["notifiers"] == [kept]
    assert headers["ETag"] == f'"{alert_id}.2"'
    _, latest = await alert_records(api, app_id, 2)
    assert latest is not None
    assert latest.alerts[0].notifier_ids == (kept,)


async def test_deleting_the_app_tombstones_its_alerts(
    api: Any, admin: ApiClient, unique: str
) -> None:
    app_id = await register(admin, unique)
    status, _ = await admin.call(
        "POST", f"/v1/apps/{app_id}/alerts", {"alert": {"metric": "swap", "limit": 0.1}}
    )
    assert status == 201
    assert (await admin.call("DELETE", f"/v1/apps/{app_id}"))[0] == 204
    created, tombstone = await alert_records(api, app_id, 2)
    assert created is not None
    assert tombstone is None


async def test_other_tenants_get_404(api: Any, admin: ApiClient, http: Any, unique: str) -> None:
    app_a, app_b = await register(admin, unique, "-a"), await register(admin, unique, "-b")
    status, created = await admin.call(
        "POST", f"/v1/apps/{app_b}/alerts", {"alert": {"metric": "cpu", "limit": 0.5}}
    )
    assert status == 201
    alert_b = created["alert"]["id"]
    async with api.pool.acquire() as connection:
        _, token_a = await create_token(connection, "app a", TokenScope.APP, app_a)
    client_a = ApiClient(http, api.port, token_a)
    assert (await client_a.call("GET", f"/v1/apps/{app_a}/alerts"))[0] == 200
    for method, path, body in (
        ("GET", f"/v1/apps/{app_b}/alerts", None),
        ("POST", f"/v1/apps/{app_b}/alerts", {"alert": {"metric": "cpu", "limit": 1}}),
        ("GET", f"/v1/apps/{app_b}/alerts/{alert_b}", None),
        ("PATCH", f"/v1/apps/{app_b}/alerts/{alert_b}", {"alert": {"limit": 2}}),
        ("DELETE", f"/v1/apps/{app_b}/alerts/{alert_b}", None),
    ):
        status, problem = await client_a.call(method, path, body)
        assert (status, problem["resource"]) == (404, "app"), (method, path)
    # An alert of app B asked for under app A is not found either.
    status, problem = await client_a.call("GET", f"/v1/apps/{app_a}/alerts/{alert_b}")
    assert (status, problem["resource"]) == (404, "alert")
    assert (await admin.call("GET", f"/v1/apps/{app_b}/alerts/{alert_b}"))[0] == 200


async def test_idempotency_key_replays_the_first_creation(
    api: Any, admin: ApiClient, unique: str
) -> None:
    app_id = await register(admin, unique)
    body = {"alert": {"metric": "cpu", "limit": 0.7}}
    first = await admin.call_with_headers(
        "POST", f"/v1/apps/{app_id}/alerts", body, headers={"Idempotency-Key": unique}
    )
    again = await admin.call_with_headers(
        "POST", f"/v1/apps/{app_id}/alerts", body, headers={"Idempotency-Key": unique}
    )
    assert (first.status, again.status) == (201, 201)
    assert again.body == first.body
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len((await admin.call("GET", f"/v1/apps/{app_id}/alerts"))[1]["alerts"]) == 1


async def test_rebuild_topics_republishes_the_apps_alerts(
    api: Any, admin: ApiClient, unique: str
) -> None:
    from herald_api.pipes.rebuild import republish_everything

    app_id = await register(admin, unique)
    status, created = await admin.call(
        "POST", f"/v1/apps/{app_id}/alerts", {"alert": {"metric": "rpm", "limit": 100}}
    )
    assert status == 201
    async with api.pool.acquire() as connection:
        counts = await republish_everything(connection)
    assert counts["apps with alerts"] >= 1
    original, rebuilt = await alert_records(api, app_id, 2)
    assert rebuilt == original
    assert rebuilt is not None
    assert [r.id for r in rebuilt.alerts] == [created["alert"]["id"]]


async def test_renaming_or_transferring_the_app_republishes_its_alerts(
    api: Any, admin: ApiClient, unique: str
) -> None:
    app_id = await register(admin, unique)
    status, _ = await admin.call(
        "POST", f"/v1/apps/{app_id}/alerts", {"alert": {"metric": "cpu", "limit": 0.9}}
    )
    assert status == 201
    status, _ = await admin.call(
        "PUT", f"/v1/apps/{app_id}", {"app": {"name": "renamed", "owner_id": f"new-{unique}"}}
    )
    assert status == 200
    _, moved = await alert_records(api, app_id, 2)
    assert moved is not None
    assert (moved.app_name, moved.owner_id) == ("renamed", f"new-{unique}")
