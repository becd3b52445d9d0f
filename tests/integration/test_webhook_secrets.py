"""Signed by default, through the real path: the API's own calls → Postgres → outbox →
`notify.config.notifiers` → router → webhook sender → a local receiver.

Every webhook notifier created without a secret gets one, shown once; its owner reads it back
and rotates it. Deliveries are checked with the `standardwebhooks` package, an implementation
independent of `herald_sender.signing`, exactly as a receiver would.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from herald_api.http.auth import TokenScope, create_token
from herald_api.store import notifier_store
from herald_core.notifiers import Notifier, Scope, Selection
from herald_core.topics import Channel
from herald_testing.api_client import ApiClient
from herald_testing.polling import eventually
from herald_testing.receivers import HttpReceiver, Received
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from support.api import ADMIN_TOKEN
from support.pipeline import Herald

pytestmark = pytest.mark.integration

MASK = "********"
DEPLOYED = {
    "deployment_id": "5343eccd646aa3012a140230",
    "pusher": "johndoe",
    "git_ref": "0123456789abcdef",
    "status": "success",
    "duration": 40,
}


def deployment(app_id: str, owner_id: str) -> dict[str, Any]:
    return {
        "id": f"ev-{uuid.uuid4().hex}",
        "type": "app_deployed",
        "created_at": datetime.now(UTC).isoformat(),
        "source": "deployer",
        "app_id": app_id,
        "app_name": "appname",
        "owner_id": owner_id,
        "user": {"id": "51e6bc626edfe40bbb000001", "username": "johndoe", "email": "j@doe.com"},
        "type_data": DEPLOYED,
    }


async def ingest(admin: ApiClient, herald: Herald, event: dict[str, Any]) -> None:
    async with admin.http.post(herald.events_url, json=event) as response:
        assert response.status == 202, await response.text()


async def routed(herald: Herald, notifier_id: str, version: int = 1) -> None:
    """Wait until the router holds this version of the notifier (or a later one)."""

    def seen() -> bool:
        found = herald.router.notifiers.get(notifier_id)
        return found is not None and found.version >= version

    await eventually(seen, what=f"the router sees {notifier_id} v{version}")


async def register_app(admin: ApiClient, app_id: str, owner_id: str) -> None:
    status, body = await admin.call(
        "PUT", f"/v1/apps/{app_id}", {"app": {"name": "appname", "owner_id": owner_id}}
    )
    assert status == 201, body


async def create_webhook(admin: ApiClient, app_id: str, url: str, **type_data: Any) -> Any:
    status, body = await admin.call(
        "POST",
        f"/v1/apps/{app_id}/notifiers",
        {
            "notifier": {
                "name": "signed by default",
                "platform_id": "webhook",
                "selected_event_ids": ["app_deployed"],
                "type_data": {"webhook_url": url, **type_data},
            }
        },
    )
    assert status == 201, body
    return body["notifier"]


def verifies(secret: str, request: Received) -> bool:
    try:
        Webhook(secret).verify(request.body, request.headers)
    except WebhookVerificationError:
        return False
    return True


async def delivery_of(receiver: HttpReceiver, path: str, event: dict[str, Any]) -> Received:
    def found() -> Received | None:
        return next((r for r in receiver.on(path) if r.json().get("id") == event["id"]), None)

    request: Received = await eventually(found, timeout_s=30, what=f"{event['id']} on {path}")
    return request


async def test_a_webhook_created_without_a_secret_is_signed_with_the_one_shown_once(
    admin: ApiClient, herald: Herald, receiver: HttpReceiver, unique: str
) -> None:
    app_id, owner_id = f"signed-{unique}", f"org-signed-{unique}"
    await register_app(admin, app_id, owner_id)
    path = f"/{unique}/signed"

    created = await create_webhook(admin, app_id, receiver.url(path))

    secret = created["type_data"]["secret"]
    assert secret.startswith("whsec_")
    assert secret != MASK
    status, read = await admin.call("GET", f"/v1/apps/{app_id}/notifiers/{created['id']}/secret")
    assert (status, read) == (200, {"secret": secret})
    status, scope_free = await admin.call("GET", f"/v1/notifiers/{created['id']}/secret")
    assert (status, scope_free) == (200, {"secret": secret})
    # Every other read masks it.
    status, shown = await admin.call("GET", f"/v1/apps/{app_id}/notifiers/{created['id']}")
    assert (status, shown["notifier"]["type_data"]["secret"]) == (200, MASK)
    status, listed = await admin.call("GET", f"/v1/apps/{app_id}/notifiers")
    [listed_one] = [n for n in listed["notifiers"] if n["id"] == created["id"]]
    assert listed_one["type_data"]["secret"] == MASK
    # An echoed PATCH (the mask sent back) keeps it; removing it is refused.
    status, patched = await admin.call(
        "PATCH",
        f"/v1/apps/{app_id}/notifiers/{created['id']}",
        {"notifier": {"name": "renamed", "type_data": shown["notifier"]["type_data"]}},
    )
    assert (status, patched["notifier"]["type_data"]["secret"]) == (200, MASK), patched
    status, refused = await admin.call(
        "PATCH",
        f"/v1/apps/{app_id}/notifiers/{created['id']}",
        {"notifier": {"type_data": {"secret": None}}},
    )
    assert (status, list(refused["errors"])) == (422, ["type_data.secret"])
    assert (await admin.call("GET", f"/v1/notifiers/{created['id']}/secret"))[1] == read

    await routed(herald, created["id"], version=2)
    event = deployment(app_id, owner_id)
    await ingest(admin, herald, event)

    request = await delivery_of(receiver, path, event)
    assert Webhook(secret).verify(request.body, request.headers) == request.json()
    assert request.json()["id"] == event["id"]
    assert not verifies("whsec_" + "QUJD" * 8, request)


async def test_rotation_signs_with_both_secrets_during_the_overlap_then_the_new_one(
    admin: ApiClient, herald: Herald, receiver: HttpReceiver, http: Any, unique: str
) -> None:
    app_id, owner_id = f"rotate-{unique}", f"org-rotate-{unique}"
    await register_app(admin, app_id, owner_id)
    path = f"/{unique}/rotate"
    created = await create_webhook(admin, app_id, receiver.url(path))
    old = created["type_data"]["secret"]
    base = f"/v1/apps/{app_id}/notifiers/{created['id']}"
    status, before = await admin.call("GET", base)
    assert status == 200

    # A bad body is a 422 naming each field; a stale If-Match is a 412.
    status, problem = await admin.call(
        "POST", f"{base}/secret/rotate", {"overlap_seconds": -5, "secret": "nope", "x": 1}
    )
    assert status == 422, problem
    assert set(problem["errors"]) == {"overlap_seconds", "secret", "x"}
    status, problem = await admin.call("POST", f"{base}/secret/rotate", raw=b"[1")
    assert status == 400, problem
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}", "If-Match": '"stale.1"'}
    async with http.post(f"{admin.base}{base}/secret/rotate", headers=headers) as response:
        assert response.status == 412, await response.text()
        assert response.content_type == "application/problem+json"

    overlap = 10
    headers["If-Match"] = f'"{created["id"]}.1"'
    async with http.post(
        f"{admin.base}{base}/secret/rotate", headers=headers, json={"overlap_seconds": overlap}
    ) as response:
        assert response.status == 200, await response.text()
        rotated = await response.json()
        new_tag = response.headers["ETag"]
    new = rotated["secret"]
    assert new.startswith("whsec_")
    assert new != old
    assert new_tag == f'"{created["id"]}.2"'
    [previous] = rotated["previous_secrets"]
    expires = datetime.fromisoformat(previous["expires_at"])
    assert (await admin.call("GET", f"{base}/secret"))[1] == {"secret": new}
    status, shown = await admin.call("GET", base)
    assert shown["notifier"]["type_data"]["secret"] == MASK
    assert shown["notifier"]["type_data"]["previous_secrets"] == MASK
    assert shown["notifier"]["updated_at"] != before["notifier"]["updated_at"]

    await routed(herald, created["id"], version=2)
    during = deployment(app_id, owner_id)
    await ingest(admin, herald, during)
    request = await delivery_of(receiver, path, during)
    assert int(request.headers["webhook-timestamp"]) < expires.timestamp(), "sent in the overlap"
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    assert Webhook(old).verify(request.body, request.headers) == request.json()
    assert Webhook(new).verify(request.body, request.headers) == request.json()

    await asyncio.sleep(max(0.0, expires.timestamp() - datetime.now(UTC).timestamp()) + 1)
    after = deployment(app_id, owner_id)
    await ingest(admin, herald, after)
    request = await delivery_of(receiver, path, after)
    assert len(request.headers["webhook-signature"].split(" ")) == 1
    assert Webhook(new).verify(request.body, request.headers) == request.json()
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(request.body, request.headers)

    # A secret the owner chooses, with no overlap: only it signs from now on.
    chosen = "whsec_" + "Y2hvc2VuLWJ5LXRoZS1vd25lci0wMTIzNDU2Nzg5YWI="
    status, answer = await admin.call(
        "POST", f"{base}/secret/rotate", {"secret": chosen, "overlap_seconds": 0}
    )
    assert (status, answer) == (200, {"secret": chosen, "previous_secrets": []})
    await routed(herald, created["id"], version=3)
    last = deployment(app_id, owner_id)
    await ingest(admin, herald, last)
    request = await delivery_of(receiver, path, last)
    assert verifies(chosen, request)
    assert not verifies(new, request)


async def test_a_clever_cloud_hook_and_a_legacy_notification_are_signed_with_readable_secrets(
    api: Any, admin: ApiClient, herald: Herald, receiver: HttpReceiver, http: Any, unique: str
) -> None:
    owner_id = f"orga_{unique}"
    app_id = f"app_{unique}"
    assert (await admin.call("PUT", f"/v1/owners/{owner_id}", {"owner": {}}))[0] == 201
    await register_app(admin, app_id, owner_id)
    async with api.pool.acquire() as connection:
        _, owner_token = await create_token(connection, "cc", TokenScope.OWNER, owner_id)
    owner = ApiClient(http, api.port, owner_token)
    directory = herald.router.memory.directory
    await eventually(
        lambda: directory.app(app_id) is not None and directory.owner(owner_id) is not None,
        what="the router knows the owner and its app",
    )

    # Clever Cloud: one secret per hook, shown in the creation answer, read through /v1.
    hook_path = f"/{unique}/cc"
    status, hook = await owner.call(
        "POST",
        f"/v2/notifications/webhooks/{owner_id}",
        {"urls": [{"format": "raw", "url": receiver.url(hook_path)}], "events": ["GIT_PUSH"]},
    )
    assert status == 200, hook
    cc_secret = hook["secret"]
    assert cc_secret.startswith("whsec_")
    cc_notifier = f"{hook['id']}.0"
    assert await owner.call("GET", f"/v1/notifiers/{cc_notifier}/secret") == (
        200,
        {"secret": cc_secret},
    )
    status, listed = await owner.call("GET", f"/v2/notifications/webhooks/{owner_id}")
    assert "secret" not in listed[0], "shown once: never listed"
    # An edit (PUT, the hook replaced whole) keeps the secret, on a new URL too.
    second_path = f"/{unique}/cc-second"
    status, edited = await owner.call(
        "PUT",
        f"/v2/notifications/webhooks/{owner_id}/{hook['id']}",
        {
            "urls": [
                {"format": "raw", "url": receiver.url(hook_path)},
                {"format": "raw", "url": receiver.url(second_path)},
            ],
            "events": ["DEPLOYMENT_SUCCESS"],
        },
    )
    assert status == 200, edited
    assert "secret" not in edited
    for notifier_id in (cc_notifier, f"{hook['id']}.1"):
        assert (await owner.call("GET", f"/v1/notifiers/{notifier_id}/secret"))[1] == {
            "secret": cc_secret
        }

    # Scalingo's legacy notification: the secret beside the notification, which is unchanged.
    legacy_path = f"/{unique}/legacy"
    status, created = await admin.call(
        "POST",
        f"/v1/apps/{app_id}/notifications",
        {"notification": {"webhook_url": receiver.url(legacy_path)}},
    )
    assert status == 201, created
    notification = created["notification"]
    assert set(created) == {"notification", "secret"}
    assert set(notification) == {"id", "app_id", "type", "webhook_url", "active"}
    legacy_secret = created["secret"]
    status, read = await admin.call(
        "GET", f"/v1/apps/{app_id}/notifiers/{notification['id']}/secret"
    )
    assert (status, read) == (200, {"secret": legacy_secret})
    status, changed = await admin.call(
        "PATCH",
        f"/v1/apps/{app_id}/notifications/{notification['id']}",
        {"notification": {"webhook_url": receiver.url(legacy_path) + "?v=2"}},
    )
    assert status == 200, changed
    assert "secret" not in changed
    assert (await admin.call("GET", f"/v1/notifiers/{notification['id']}/secret"))[1] == read

    await routed(herald, cc_notifier, version=2)
    await routed(herald, f"{hook['id']}.1")
    await routed(herald, notification["id"], version=2)
    event = deployment(app_id, owner_id)
    await ingest(admin, herald, event)

    for path in (hook_path, second_path):
        request = await delivery_of(receiver, path, event)
        assert Webhook(cc_secret).verify(request.body, request.headers) == request.json()
        assert request.json()["type"] == "app_deployed", "the raw envelope, as before"
    request = await delivery_of(receiver, legacy_path, event)
    assert Webhook(legacy_secret).verify(request.body, request.headers) == request.json()
    sent = request.json()
    assert list(sent) == ["id", "created_at", "user", "app_id", "app_name", "type", "type_data"]
    assert (sent["type"], sent["type_data"]) == ("deployment", DEPLOYED)
    assert not verifies(cc_secret, request)

    # Rotating one URL's notifier rotates the whole hook: one secret per hook.
    status, rotated = await owner.call(
        "POST", f"/v1/notifiers/{hook['id']}.1/secret/rotate", {"overlap_seconds": 60}
    )
    assert status == 200, rotated
    for notifier_id in (cc_notifier, f"{hook['id']}.1"):
        assert (await owner.call("GET", f"/v1/notifiers/{notifier_id}/secret"))[1] == {
            "secret": rotated["secret"]
        }


async def test_secrets_are_their_owners_only_and_only_webhooks_have_one(
    api: Any, admin: ApiClient, http: Any, unique: str
) -> None:
    app_a, app_b = f"tenant-a-{unique}", f"tenant-b-{unique}"
    await register_app(admin, app_a, f"org-a-{unique}")
    await register_app(admin, app_b, f"org-b-{unique}")
    mine = await create_webhook(admin, app_a, "https://hooks.example.com/a")
    async with api.pool.acquire() as connection:
        _, token_a = await create_token(connection, "a", TokenScope.APP, app_a)
        _, token_b = await create_token(connection, "b", TokenScope.APP, app_b)
        _, owner_a = await create_token(connection, "oa", TokenScope.OWNER, f"org-a-{unique}")
    a, b = ApiClient(http, api.port, token_a), ApiClient(http, api.port, token_b)

    for client in (a, ApiClient(http, api.port, owner_a)):
        status, body = await client.call("GET", f"/v1/apps/{app_a}/notifiers/{mine['id']}/secret")
        assert (status, body) == (200, {"secret": mine["type_data"]["secret"]})
        assert (await client.call("GET", f"/v1/notifiers/{mine['id']}/secret"))[0] == 200
    for method, path in (
        ("GET", f"/v1/apps/{app_a}/notifiers/{mine['id']}/secret"),
        ("GET", f"/v1/apps/{app_b}/notifiers/{mine['id']}/secret"),
        ("GET", f"/v1/notifiers/{mine['id']}/secret"),
        ("POST", f"/v1/apps/{app_a}/notifiers/{mine['id']}/secret/rotate"),
        ("POST", f"/v1/apps/{app_b}/notifiers/{mine['id']}/secret/rotate"),
        ("POST", f"/v1/notifiers/{mine['id']}/secret/rotate"),
    ):
        status, problem = await b.call(method, path)
        assert status == 404, (method, path, problem)
        assert problem["resource"] in {"app", "notifier"}, problem
    assert (await admin.call("GET", f"/v1/notifiers/{mine['id']}/secret"))[1] == {
        "secret": mine["type_data"]["secret"]
    }, "app B's calls changed nothing"

    # Not a webhook: no secret, and none to rotate.
    status, slack = await admin.call(
        "POST",
        f"/v1/apps/{app_a}/notifiers",
        {
            "notifier": {
                "name": "chat",
                "platform_id": "slack",
                "send_all_events": True,
                "type_data": {"webhook_url": "https://hooks.slack.com/services/T0/B0/XXXXXXXX"},
            }
        },
    )
    assert status == 201, slack
    assert "secret" not in slack["notifier"]["type_data"]
    for method, suffix in (("GET", "secret"), ("POST", "secret/rotate")):
        status, problem = await a.call(
            method, f"/v1/apps/{app_a}/notifiers/{slack['notifier']['id']}/{suffix}"
        )
        assert (status, problem["resource"]) == (404, "secret"), problem
        assert "only webhook notifiers" in problem["detail"]

    # A webhook stored before secrets were generated: delivered unsigned, no secret to read,
    # until a rotation gives it one.
    now = datetime.now(UTC)
    legacy = Notifier(
        id=f"no-legacy-{unique}",
        name="from before",
        scope=Scope.APP,
        app_id=app_a,
        owner_id=f"org-a-{unique}",
        platform=Channel.WEBHOOK,
        selection=Selection(selected_event_ids=("app_deployed",)),
        type_data={"webhook_url": "https://hooks.example.com/legacy"},
        created_at=now,
        updated_at=now,
    )
    async with api.pool.acquire() as connection, connection.transaction():
        await notifier_store.insert(connection, legacy)
    status, problem = await a.call("GET", f"/v1/notifiers/{legacy.id}/secret")
    assert (status, problem["resource"]) == (404, "secret"), problem
    assert "rotate" in problem["detail"]
    status, given = await a.call("POST", f"/v1/notifiers/{legacy.id}/secret/rotate")
    assert status == 200, given
    assert given["previous_secrets"] == []
    assert (await a.call("GET", f"/v1/notifiers/{legacy.id}/secret"))[1] == {
        "secret": given["secret"]
    }


async def test_a_cloud_66_webhook_channel_gets_a_secret_its_user_reads(
    api: Any, admin: ApiClient, http: Any, unique: str
) -> None:
    user_id = f"us-{unique}"
    status, _ = await admin.call("PUT", f"/v1/users/{user_id}", {"user": {"email": "u@x.io"}})
    assert status == 201
    async with api.pool.acquire() as connection:
        _, own = await create_token(connection, "self", TokenScope.OWNER, user_id)
        _, other = await create_token(connection, "other", TokenScope.OWNER, f"us-x-{unique}")
    user = ApiClient(http, api.port, own)
    change = {"account_notifications": {"channels": {"webhook": {"webhook_url": "https://c.io/h"}}}}

    status, answer = await user.call("PATCH", f"/v1/users/{user_id}/account_notifications", change)

    assert status == 200, answer
    secret = answer["secret"]
    notifier_id = answer["account_notifications"]["channels"]["webhook"]["notifier_id"]
    assert await user.call("GET", f"/v1/notifiers/{notifier_id}/secret") == (
        200,
        {"secret": secret},
    )
    status, again = await user.call("PATCH", f"/v1/users/{user_id}/account_notifications", change)
    assert (status, "secret" in again) == (200, False), "shown once"
    assert (await user.call("GET", f"/v1/notifiers/{notifier_id}/secret"))[1] == {"secret": secret}
    status, _ = await ApiClient(http, api.port, other).call(
        "GET", f"/v1/notifiers/{notifier_id}/secret"
    )
    assert status == 404
    assert json.dumps(again).count("whsec_") == 0
