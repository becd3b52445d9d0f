"""Cloud 66's account notifications (seed 004) through the real path: the face's own calls →
Postgres → outbox → notify.config.* → router → the e-mail sender (SMTP sink) and the webhook
sender (a local receiver); and the webhook test action through notify.delivery-results.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from herald_testing.api_client import ApiClient
from herald_testing.polling import eventually
from herald_testing.receivers import HttpReceiver

from support.helpers import post_event
from support.pipeline import Herald, MailSink

pytestmark = pytest.mark.integration


async def account_user(admin: ApiClient, herald: Herald, unique: str) -> tuple[str, str]:
    """A user with an e-mail and their own account (the owner with the user's id)."""
    user_id, address = f"us-c66-{unique}", f"ada-{unique}@example.com"
    status, body = await admin.call("PUT", f"/v1/users/{user_id}", {"user": {"email": address}})
    assert status == 201, body
    status, body = await admin.call(
        "PUT",
        f"/v1/owners/{user_id}",
        {"owner": {"kind": "account", "name": "Ada", "members": [{"user_id": user_id}]}},
    )
    assert status == 201, body
    await eventually(
        lambda: herald.router.memory.directory.email_of_user(user_id) == address,
        what="the router knows the user's address",
    )
    return user_id, address


def account_event(user_id: str, event_type: str, **type_data: Any) -> dict[str, Any]:
    return {
        "id": f"ev-{uuid.uuid4().hex}",
        "type": event_type,
        "created_at": datetime.now(UTC).isoformat(),
        "source": "cloud66",
        "owner_id": user_id,
        "user": {"id": user_id, "username": "ada", "email": "ada@example.com"},
        "type_data": {"stack_uid": "st-1", "stack_name": "shop", **type_data},
    }


async def router_selection(herald: Herald, notifier_id: str, wanted: set[str]) -> None:
    def current() -> bool:
        notifier = herald.router.notifiers.get(notifier_id)
        return notifier is not None and set(notifier.selection.selected_event_ids) == wanted

    await eventually(current, what=f"the router sees {notifier_id} select {sorted(wanted)}")


async def test_email_is_on_by_default_but_for_account_suspended_and_one_type_can_be_turned_off(
    admin: ApiClient, herald: Herald, herald_mail: MailSink, unique: str
) -> None:
    user_id, address = await account_user(admin, herald, unique)
    path = f"/v1/users/{user_id}/account_notifications"

    status, body = await admin.call("GET", path)

    assert status == 200, body
    matrix = body["account_notifications"]
    on = {row["id"] for row in matrix["event_types"] if row["channels"]["email"]}
    everything = {row["id"] for row in matrix["event_types"]}
    assert "account_suspended" in everything
    assert on == everything - {"account_suspended"}
    assert matrix["channels"]["email"]["email"] == address
    assert matrix["channels"]["email"]["configured"] is True  # created with the user

    status, body = await admin.call(
        "PATCH", path, {"account_notifications": {"event_types": {"job.fail": {"email": False}}}}
    )
    assert status == 200, body
    rows = {row["id"]: row for row in body["account_notifications"]["event_types"]}
    assert rows["job.fail"]["channels"]["email"] is False
    assert rows["server.stopped"]["channels"]["email"] is True
    email_id = body["account_notifications"]["channels"]["email"]["notifier_id"]
    await router_selection(herald, email_id, on - {"job.fail"})

    # One owner, one partition: routed in this order, so what is not mailed first never is.
    await post_event(admin.http, herald, account_event(user_id, "job.fail", job_name="backup"))
    await post_event(
        admin.http, herald, account_event(user_id, "account_suspended", reason="unpaid")
    )
    await post_event(
        admin.http, herald, account_event(user_id, "server.stopped", server_name="web-1")
    )
    await post_event(admin.http, herald, account_event(user_id, "app.auth"))

    messages = await herald_mail.wait_for(2, to=address, timeout_s=40)
    subjects = [str(m["Subject"]) for m in messages]
    assert len(messages) == 2, subjects
    assert "stopped" in subjects[0].lower(), subjects
    assert "authorized" in subjects[1].lower(), subjects


async def test_a_webhook_toggle_delivers_cloud66s_payload_and_the_test_answers_its_status(
    admin: ApiClient, herald: Herald, receiver: HttpReceiver, unique: str
) -> None:
    user_id, _ = await account_user(admin, herald, unique)
    path = f"/v1/users/{user_id}/account_notifications"
    hook = f"/{unique}/cloud66"

    status, body = await admin.call(
        "PATCH",
        path,
        {
            "account_notifications": {
                "channels": {"webhook": {"webhook_url": receiver.url(hook)}},
                "event_types": {"server.stopped": {"webhook": True}},
            }
        },
    )

    assert status == 200, body
    webhook = body["account_notifications"]["channels"]["webhook"]
    assert (webhook["configured"], webhook["webhook_url"]) == (True, receiver.url(hook))
    await router_selection(herald, webhook["notifier_id"], {"server.stopped"})
    down = account_event(user_id, "process.down", process_name="worker")
    stopped = account_event(user_id, "server.stopped", server_name="web-1")
    await post_event(admin.http, herald, down)
    await post_event(admin.http, herald, stopped)

    [request] = await receiver.wait_for(hook, timeout_s=40)
    payload = request.json()
    assert payload["id"] == stopped["id"]
    assert payload["event_type"] == "server.stopped"
    assert isinstance(payload["timestamp"], int)
    assert abs(payload["timestamp"] - datetime.now(UTC).timestamp()) < 120
    assert payload["owner_id"] == user_id
    assert payload["type_data"]["server_name"] == "web-1"

    # The test action: a sample to the webhook, answered with the receiver's status.
    status, body = await admin.call("POST", f"{path}/webhook/test")
    assert status == 200, body
    test = body["test"]
    assert (test["outcome"], test["status_code"], test["event_type"]) == (
        "delivered",
        200,
        "server.stopped",
    )
    requests = await receiver.wait_for(hook, 2)
    assert requests[1].json()["event_type"] == "server.stopped"
    assert requests[1].headers["webhook-id"] == test["delivery_id"]

    receiver.statuses[hook] = 404
    status, body = await admin.call(
        "POST", f"{path}/webhook/test", {"event_type": "account.provision.fail"}
    )
    assert status == 200, body
    assert (body["test"]["status_code"], body["test"]["event_type"]) == (
        404,
        "account.provision.fail",
    )


async def test_what_the_face_refuses(admin: ApiClient, herald: Herald, unique: str) -> None:
    user_id, _ = await account_user(admin, herald, unique)
    path = f"/v1/users/{user_id}/account_notifications"

    status, body = await admin.call("POST", f"{path}/webhook/test")
    assert status == 409, body
    status, body = await admin.call(
        "PATCH",
        path,
        {"account_notifications": {"event_types": {"server.stopped": {"slack": True}}}},
    )
    assert (status, list(body["errors"])) == (422, ["event_types.server.stopped.slack"])
    status, body = await admin.call(
        "PATCH",
        path,
        {"account_notifications": {"channels": {"slack": {"webhook_url": "https://e.com/x"}}}},
    )
    assert (status, list(body["errors"])) == (422, ["channels.slack.webhook_url"])
    status, body = await admin.call(
        "PATCH",
        path,
        {
            "account_notifications": {
                "channels": {
                    "hipchat": {"token": "s3cret", "room": "ops"},
                    "ios_push": {"device_tokens": ["ab" * 32]},
                    "browser": {"subscriptions": []},
                },
                "event_types": {"job.fail": {"hipchat": True, "ios_push": True, "browser": True}},
            }
        },
    )
    assert status == 200, body
    channels = body["account_notifications"]["channels"]
    assert channels["hipchat"]["token"] == "********"
    rows = {row["id"]: row["channels"] for row in body["account_notifications"]["event_types"]}
    assert rows["job.fail"] == {
        "email": True,
        "slack": False,
        "webhook": False,
        "hipchat": True,
        "ios_push": True,
        "browser": True,
    }
    status, body = await admin.call("GET", f"/v1/users/{user_id}-nobody/account_notifications")
    assert (status, body["resource"]) == (404, "user")
