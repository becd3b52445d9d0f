"""The config API against the real Postgres and Kafka: what it stores is what it publishes."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from herald_api.http.auth import TokenScope, create_token, revoke_token
from herald_core.directory import AppEntry, OwnerEntry
from herald_core.intake import parse_event
from herald_core.notifiers import Notifier
from herald_core.topics import CONFIG_APPS, CONFIG_NOTIFIERS, CONFIG_OWNERS, EVENTS
from herald_kafka.config_view import MaterializedView
from herald_kafka.producer import OutgoingRecord, send_all
from herald_testing.api_client import ApiClient
from herald_testing.polling import eventually
from herald_testing.topics import find_record, headers_of, records_for_key

from support.helpers import register_app

pytestmark = pytest.mark.integration


async def register(admin: ApiClient, unique: str, suffix: str = "") -> str:
    app_id = f"app-{unique}{suffix}"
    await register_app(admin, app_id, f"owner-{unique}", name=f"my-app{suffix}")
    return app_id


def webhook_body(**changes: Any) -> dict[str, Any]:
    notifier = {
        "name": "deploys",
        "platform_id": "webhook",
        "selected_event_ids": ["app_deployed"],
        "type_data": {"webhook_url": "https://hooks.example.com/herald"},
        **changes,
    }
    return {"notifier": notifier}


async def test_notifier_create_patch_delete_is_published_in_order_with_a_tombstone(
    api: Any, admin: ApiClient, unique: str
) -> None:
    app_id = await register(admin, unique)
    status, created = await admin.call("POST", f"/v1/apps/{app_id}/notifiers", webhook_body())
    assert status == 201
    notifier_id = created["notifier"]["id"]
    status, patched = await admin.call(
        "PATCH",
        f"/v1/apps/{app_id}/notifiers/{notifier_id}",
        {"notifier": {"name": "renamed", "active": False}},
    )
    assert (status, patched["notifier"]["name"], patched["notifier"]["active"]) == (
        200,
        "renamed",
        False,
    )
    status, _ = await admin.call("DELETE", f"/v1/apps/{app_id}/notifiers/{notifier_id}")
    assert status == 204

    records = await records_for_key(
        api.settings.kafka.bootstrap_servers, CONFIG_NOTIFIERS, notifier_id.encode(), 3
    )
    first, second = (Notifier.model_validate_json(r.value) for r in records[:2])
    assert (first.name, first.active, first.version) == ("deploys", True, 1)
    assert (second.name, second.active, second.version) == ("renamed", False, 2)
    assert records[2].value is None, "deletion is a tombstone"
    status, _ = await admin.call("GET", f"/v1/apps/{app_id}/notifiers/{notifier_id}")
    assert status == 404

    events = []
    for event_type in ("notifier_added", "notifier_edited", "notifier_removed"):
        record = await find_record(
            api.settings.kafka.bootstrap_servers,
            EVENTS,
            lambda r, t=event_type: (
                json.loads(r.value)["type"] == t
                and json.loads(r.value)["type_data"].get("notifier_id") == notifier_id
            ),
        )
        events.append(json.loads(record.value))
        assert headers_of(record)["ce_type"] == event_type
    assert {e["app_id"] for e in events} == {app_id}


async def test_app_registration_creates_its_default_notifier_and_a_view_sees_it(
    api: Any, admin: ApiClient, unique: str
) -> None:
    app_id = await register(admin, unique)
    view: MaterializedView[Any] = MaterializedView(
        api.settings.kafka,
        {CONFIG_NOTIFIERS: Notifier.model_validate_json, CONFIG_APPS: AppEntry.model_validate_json},
    )
    stop = asyncio.Event()
    await view.start()
    task = asyncio.create_task(view.run(stop))
    try:
        await view.wait_ready(30)
        defaults = await eventually(
            lambda: [
                n
                for n in view.table(CONFIG_NOTIFIERS).values()
                if n.app_id == app_id and n.is_default
            ],
            what="default notifier",
        )
        assert view.table(CONFIG_APPS)[app_id].owner_id == f"owner-{unique}"
    finally:
        stop.set()
        await task
        await view.stop()
    [default] = defaults
    assert default.platform.value == "email"
    assert default.selection.preset is not None
    assert default.selection.preset.value == "critical_alerts"
    assert default.type_data["owner"] is True
    status, listed = await admin.call("GET", f"/v1/apps/{app_id}/notifiers")
    assert [n["id"] for n in listed["notifiers"]] == [default.id]
    status, _ = await admin.call(
        "PUT", f"/v1/apps/{app_id}", {"app": {"name": "renamed", "owner_id": f"owner-{unique}"}}
    )
    assert status == 200
    _, listed = await admin.call("GET", f"/v1/apps/{app_id}/notifiers")
    assert len(listed["notifiers"]) == 1, "registering again does not add a second default"


async def test_if_match_is_honoured_when_sent(admin: ApiClient, unique: str) -> None:
    app_id = await register(admin, unique)
    _, created, headers = await admin.call_with_headers(
        "POST", f"/v1/apps/{app_id}/notifiers", webhook_body()
    )
    path = f"/v1/apps/{app_id}/notifiers/{created['notifier']['id']}"
    first_tag = headers["ETag"]

    status, _, headers = await admin.call_with_headers(
        "PATCH", path, {"notifier": {"name": "a"}}, headers={"If-Match": first_tag}
    )
    assert status == 200
    second_tag = headers["ETag"]
    assert second_tag != first_tag
    status, _, headers = await admin.call_with_headers(
        "PATCH", path, {"notifier": {"name": "b"}}, headers={"If-Match": first_tag}
    )
    assert status == 412
    assert headers["Content-Type"].startswith("application/problem+json")
    status, _ = await admin.call("DELETE", path, headers={"If-Match": first_tag})
    assert status == 412
    status, _ = await admin.call("PATCH", path, {"notifier": {"name": "c"}})
    assert status == 200, "no If-Match, no precondition (Scalingo's clients send none)"
    _, current, headers = await admin.call_with_headers("GET", path)
    assert current["notifier"]["name"] == "c"
    status, _ = await admin.call("DELETE", path, headers={"If-Match": headers["ETag"]})
    assert status == 204


async def test_idempotency_key_replays_the_same_answer_and_refuses_another_body(
    admin: ApiClient, unique: str
) -> None:
    app_id = await register(admin, unique)
    key = str(uuid.uuid4())
    first = await admin.call_with_headers(
        "POST", f"/v1/apps/{app_id}/notifiers", webhook_body(), headers={"Idempotency-Key": key}
    )
    again = await admin.call_with_headers(
        "POST", f"/v1/apps/{app_id}/notifiers", webhook_body(), headers={"Idempotency-Key": key}
    )
    other = await admin.call(
        "POST",
        f"/v1/apps/{app_id}/notifiers",
        webhook_body(name="other"),
        headers={"Idempotency-Key": key},
    )

    assert (first.status, again.status) == (201, 201)
    assert first.body == again.body
    assert again.headers["Idempotent-Replayed"] == "true"
    assert other[0] == 422
    _, listed = await admin.call("GET", f"/v1/apps/{app_id}/notifiers")
    assert [n["name"] for n in listed["notifiers"] if not n["is_default"]] == ["deploys"]


async def test_concurrent_requests_with_one_idempotency_key_create_once(
    admin: ApiClient, unique: str
) -> None:
    app_id = await register(admin, unique)
    key = str(uuid.uuid4())
    answers = await asyncio.gather(
        *[
            admin.call(
                "POST",
                f"/v1/apps/{app_id}/notifiers",
                webhook_body(),
                headers={"Idempotency-Key": key},
            )
            for _ in range(5)
        ]
    )
    assert {a[0] for a in answers} <= {201, 409}
    _, listed = await admin.call("GET", f"/v1/apps/{app_id}/notifiers")
    assert len([n for n in listed["notifiers"] if not n["is_default"]]) == 1


async def test_a_token_of_app_a_gets_404_on_app_b(
    api: Any, admin: ApiClient, http: Any, unique: str
) -> None:
    app_a, app_b = await register(admin, unique, "-a"), await register(admin, unique, "-b")
    async with api.pool.acquire() as connection:
        _, token_a = await create_token(connection, "app a", TokenScope.APP, app_a)
        _, owner_token = await create_token(
            connection, "owner", TokenScope.OWNER, f"owner-{unique}"
        )
    client_a = ApiClient(http, api.port, token_a)

    assert (await client_a.call("GET", f"/v1/apps/{app_a}/notifiers"))[0] == 200
    for method, path, body in (
        ("GET", f"/v1/apps/{app_b}/notifiers", None),
        ("POST", f"/v1/apps/{app_b}/notifiers", webhook_body()),
        ("GET", f"/v1/apps/{app_b}", None),
        ("DELETE", f"/v1/apps/{app_b}", None),
    ):
        status, problem = await client_a.call(method, path, body)
        assert (status, problem["resource"]) == (404, "app"), (method, path)
    owner = ApiClient(http, api.port, owner_token)
    assert (await owner.call("GET", f"/v1/apps/{app_b}/notifiers"))[0] == 200
    status, _ = await owner.call(
        "PUT",
        f"/v1/apps/app-{unique}-elsewhere",
        {"app": {"name": "x", "owner_id": "someone-else"}},
    )
    assert status == 404
    assert (await ApiClient(http, api.port, "hrld_not-a-token").call("GET", f"/v1/apps/{app_a}"))[
        0
    ] == 401


async def test_invalid_notifiers_get_422_listing_every_problem(
    admin: ApiClient, unique: str
) -> None:
    app_id = await register(admin, unique)
    status, problem, headers = await admin.call_with_headers(
        "POST",
        f"/v1/apps/{app_id}/notifiers",
        {
            "notifier": {
                "name": "",
                "platform_id": "webhook",
                "selected_event_ids": ["app_deployd", "app:budget:set"],
                "send_all_events": "yes",
                "colour": "red",
                "type_data": {
                    "webhook_url": "ftp://user:pw@example.com/x",
                    "headers": {"Host": "evil"},
                },
            }
        },
    )

    assert status == 422
    assert headers["Content-Type"].startswith("application/problem+json")
    errors = problem["errors"]
    assert set(errors) == {
        "name",
        "selected_event_ids",
        "send_all_events",
        "colour",
        "type_data.webhook_url",
        "type_data.headers",
    }
    assert len(errors["selected_event_ids"]) == 2
    assert all(isinstance(m, str) for messages in errors.values() for m in messages)
    status, problem = await admin.call(
        "POST",
        f"/v1/apps/{app_id}/notifiers",
        {
            "notifier": {
                "name": "local",
                "platform_id": "email",
                "type_data": {"emails": ["not-an-address"]},
            }
        },
    )
    assert (status, list(problem["errors"])) == (422, ["type_data.emails"])


async def test_webhook_secret_is_write_only(api: Any, admin: ApiClient, unique: str) -> None:
    app_id = await register(admin, unique)
    secret = "whsec_" + "A" * 32
    _, created = await admin.call(
        "POST",
        f"/v1/apps/{app_id}/notifiers",
        webhook_body(
            type_data={
                "webhook_url": "https://hooks.example.com/x",
                "secret": secret,
                "headers": {"Authorization": "Bearer s3cret", "X-Team": "ops"},
            }
        ),
    )
    shown = created["notifier"]["type_data"]
    assert shown["secret"] == "********"
    assert shown["headers"] == {"Authorization": "********", "X-Team": "ops"}
    path = f"/v1/apps/{app_id}/notifiers/{created['notifier']['id']}"
    await admin.call(
        "PATCH", path, {"notifier": {"type_data": shown}}
    )  # a client echoing what it read
    records = await records_for_key(
        api.settings.kafka.bootstrap_servers,
        CONFIG_NOTIFIERS,
        created["notifier"]["id"].encode(),
        2,
    )
    published = Notifier.model_validate_json(records[1].value)
    assert published.type_data["secret"] == secret, "the sender still gets the real secret"


async def test_token_exchange_gives_a_jwt_that_dies_with_its_token(
    api: Any, admin: ApiClient, http: Any, unique: str
) -> None:
    app_id = await register(admin, unique)
    async with api.pool.acquire() as connection:
        token_id, token = await create_token(connection, "cli", TokenScope.APP, app_id)
    import base64

    basic = base64.b64encode(f":{token}".encode()).decode()
    async with http.post(
        f"{admin.base}/v1/tokens/exchange", json={}, headers={"Authorization": f"Basic {basic}"}
    ) as response:
        assert response.status == 200
        jwt = (await response.json())["token"]
    assert jwt.count(".") == 2
    with_jwt = ApiClient(http, api.port, jwt)
    assert (await with_jwt.call("GET", f"/v1/apps/{app_id}/notifiers"))[0] == 200
    async with api.pool.acquire() as connection:
        assert await revoke_token(connection, token_id)
    assert (await with_jwt.call("GET", f"/v1/apps/{app_id}/notifiers"))[0] == 401
    assert (await ApiClient(http, api.port, token).call("GET", f"/v1/apps/{app_id}/notifiers"))[
        0
    ] == 401
    async with http.post(
        f"{admin.base}/v1/tokens/exchange", headers={"Authorization": f"Basic {basic}"}
    ) as r:
        assert r.status == 401
        assert (await r.json())["error"]


async def test_catalog_endpoints_are_public_and_shaped_like_scalingo(
    admin: ApiClient, http: Any
) -> None:
    async with http.get(f"{admin.base}/v1/notification_platforms") as r:
        platforms = (await r.json())["notification_platforms"]
    names = {p["name"] for p in platforms}
    assert {"email", "webhook", "slack", "rocket_chat", "mattermost", "discord"} <= names
    webhook = next(p for p in platforms if p["name"] == "webhook")
    assert "app_deployed" in webhook["available_event_ids"]
    assert "app:budget:set" not in webhook["available_event_ids"], (
        "audit-only types are carried by none"
    )
    async with http.get(f"{admin.base}/v1/event_types") as r:
        body = await r.json()
    assert list(body) == ["event_types"], (
        "no meta: Scalingo's Go client decodes every member as a list"
    )
    deployed = next(t for t in body["event_types"] if t["id"] == "app_deployed")
    assert deployed["display_name"] == "App deployed"
    assert {"id", "category_id", "name", "display_name", "description", "template"} <= set(deployed)
    async with http.get(f"{admin.base}/v1/event_categories") as r:
        categories = await r.json()
    assert list(categories) == ["event_categories"]
    assert all(isinstance(c["position"], int) for c in categories["event_categories"])
    async with http.get(f"{admin.base}/v1/notification_platforms/search?name=slack") as r:
        assert [p["name"] for p in (await r.json())["notification_platforms"]] == ["slack"]


async def test_pagination_like_scalingo(admin: ApiClient, unique: str) -> None:
    app_id = await register(admin, unique)
    for i in range(4):
        await admin.call("POST", f"/v1/apps/{app_id}/notifiers", webhook_body(name=f"n{i}"))
    _, everything = await admin.call("GET", f"/v1/apps/{app_id}/notifiers")
    assert len(everything["notifiers"]) == 5, (
        "no page asked: everything (Scalingo's clients read one page)"
    )
    _, page2 = await admin.call("GET", f"/v1/apps/{app_id}/notifiers?page=2&per_page=2")
    assert [n["name"] for n in page2["notifiers"]] == ["n1", "n2"]
    assert page2["meta"]["pagination"] == {
        "prev_page": 1,
        "current_page": 2,
        "per_page": 2,
        "next_page": 3,
        "total_pages": 3,
        "total_count": 5,
    }
    status, problem = await admin.call("GET", f"/v1/apps/{app_id}/notifiers?page=0")
    assert (status, list(problem["errors"])) == (422, ["page"])


async def test_directory_changes_are_published_with_their_events(
    api: Any, admin: ApiClient, unique: str
) -> None:
    app_id = await register(admin, unique)
    owner_id = f"owner-{unique}"
    user_id = f"user-{unique}"
    status, _ = await admin.call(
        "PUT", f"/v1/users/{user_id}", {"user": {"email": "ann@example.com", "name": "Ann"}}
    )
    assert status == 201
    status, _ = await admin.call(
        "PUT",
        f"/v1/owners/{owner_id}",
        {
            "owner": {
                "kind": "organisation",
                "name": "Acme",
                "members": [{"user_id": user_id, "role": "owner"}],
            }
        },
    )
    assert status == 200  # the app's registration created the owner; this completes it
    status, collaborator = await admin.call(
        "PUT",
        f"/v1/apps/{app_id}/collaborators/c1",
        {"collaborator": {"email": "bob@example.com", "role": "collaborator"}},
    )
    assert (status, collaborator["collaborator"]["status"]) == (201, "invited")
    await admin.call(
        "PUT", f"/v1/users/{user_id}", {"user": {"email": "ann@acme.example.com", "name": "Ann"}}
    )

    bootstrap = api.settings.kafka.bootstrap_servers
    apps = await records_for_key(bootstrap, CONFIG_APPS, app_id.encode(), 2)
    latest_app = AppEntry.model_validate_json(apps[-1].value)
    assert [(c.id, c.email) for c in latest_app.collaborators] == [("c1", "bob@example.com")]
    # The owner: created by the app's registration, completed by PUT, then its member's e-mail.
    owners = await records_for_key(bootstrap, CONFIG_OWNERS, owner_id.encode(), 3)
    assert (
        OwnerEntry.model_validate_json(owners[-1].value).members[0].email == "ann@acme.example.com"
    )
    invited = await find_record(
        bootstrap,
        EVENTS,
        lambda r: (
            json.loads(r.value)["type"] == "collaborator_invited"
            and json.loads(r.value)["app_id"] == app_id
        ),
    )
    assert json.loads(invited.value)["type_data"]["email"] == "bob@example.com"


async def test_directory_follows_the_platforms_own_events(
    api: Any, admin: ApiClient, producer: Any, unique: str
) -> None:
    app_id = await register(admin, unique)
    await admin.call(
        "PUT", f"/v1/apps/{app_id}/collaborators/c9", {"collaborator": {"email": "eve@example.com"}}
    )

    def event(event_type: str, type_data: dict[str, Any]) -> OutgoingRecord:
        body = {
            "id": str(uuid.uuid4()),
            "type": event_type,
            "created_at": "2026-11-23T10:00:00Z",
            "source": "deployer",
            "app_id": app_id,
            "owner_id": f"owner-{unique}",
            "type_data": type_data,
        }
        # as ingest writes it to notify.events: validated and normalised by the catalog
        return OutgoingRecord(EVENTS, parse_event(body).to_json(), app_id.encode())

    await send_all(
        producer,
        [
            event("app_renamed", {"old_name": "my-app", "new_name": "shiny-app"}),
            event(
                "collaborator_accepted", {"collaborator": {"id": "c9", "email": "eve@example.com"}}
            ),
            event(
                "app_transferred",
                {"old_owner": {"id": f"owner-{unique}"}, "new_owner": {"id": "new-owner"}},
            ),
        ],
    )

    async def app_now() -> dict[str, Any]:
        return (await admin.call("GET", f"/v1/apps/{app_id}"))[1]["app"]

    app = await eventually(lambda: _settled(app_now()), what="directory updated from events")
    assert (app["name"], app["owner_id"]) == ("shiny-app", "new-owner")
    assert [(c["id"], c["status"]) for c in app["collaborators"]] == [("c9", "accepted")]
    await send_all(producer, [event("app_deleted", {})])
    await eventually(lambda: _gone(admin, app_id), what="app deleted from its event")


async def _settled(pending: Any) -> dict[str, Any] | None:
    app = await pending
    done = (
        app["name"] == "shiny-app"
        and app["owner_id"] == "new-owner"
        and app["collaborators"]
        and app["collaborators"][0]["status"] == "accepted"
    )
    return app if done else None


async def _gone(admin: ApiClient, app_id: str) -> bool:
    return (await admin.call("GET", f"/v1/apps/{app_id}"))[0] == 404
