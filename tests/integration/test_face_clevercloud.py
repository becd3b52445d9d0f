"""Clever Cloud's organisation notifications through the real path (seed 001):

Clever Cloud's API shapes (`/v2/notifications/...`, the session's in-process API) → notifiers in
Postgres → outbox → `notify.config.*` → the router → the webhook sender (the session's `herald`)
and the e-mail sender with its SMTP sink (`herald_mail`) → a local receiver or mailbox; events
go in through ingest. Failures come back from the recorder's delivery history.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import aiohttp
import pytest
from herald_core.deliveries import delivery_id
from herald_core.notifiers import Notifier, Scope, Selection
from herald_core.settings import KafkaSettings
from herald_core.topics import Channel
from herald_recorder.app import RecorderService
from herald_testing.api_client import ApiClient
from herald_testing.polling import eventually
from herald_testing.receivers import HttpReceiver

from support.api import ADMIN_TOKEN
from support.helpers import deployed as shared_deployed
from support.helpers import (
    post_event,
    received_before,
    router_forgets,
    router_sees,
    running_recorder,
    sentinel,
    stand_in,
)
from support.pipeline import Herald, MailSink

pytestmark = pytest.mark.integration

HOOKS = "/v2/notifications"


async def organisation(
    admin: ApiClient, herald: Herald, unique: str, apps: int = 1, members: int = 1
) -> tuple[str, list[str], list[str]]:
    """An organisation with members (users with e-mails) and apps, known to the router.

    Returns (owner id, app ids, member e-mails).
    """
    owner_id, emails = f"orga_{unique}", []
    for n in range(members):
        email = f"member{n}-{unique}@example.com"
        status, body = await admin.call(
            "PUT", f"/v1/users/user_{unique}_{n}", {"user": {"email": email}}
        )
        assert status == 201, body
        emails.append(email)
    status, body = await admin.call(
        "PUT",
        f"/v1/owners/{owner_id}",
        {
            "owner": {
                "name": "Acme",
                "members": [{"user_id": f"user_{unique}_{n}"} for n in range(members)],
            }
        },
    )
    assert status == 201, body
    app_ids = [f"app_{unique}_{n}" for n in range(apps)]
    for app_id in app_ids:
        status, body = await admin.call(
            "PUT", f"/v1/apps/{app_id}", {"app": {"name": f"shop-{app_id}", "owner_id": owner_id}}
        )
        assert status == 201, body
    directory = herald.router.memory.directory
    await eventually(
        lambda: (
            all(directory.app(a) is not None for a in app_ids)
            and directory.owner(owner_id) is not None
            and len(directory.owner(owner_id).members) == members
        ),  # type: ignore[union-attr]
        what="the router knows the organisation and its apps",
    )
    return owner_id, app_ids, emails


def hook_notifier_ids(hook: dict[str, Any], count: int) -> list[str]:
    return [f"{hook['id']}.{n}" for n in range(count)]


def deployed(app_id: str, owner_id: str, status: str = "success") -> dict[str, Any]:
    """A deployment of one of the organisation's apps (named as `organisation` names them)."""
    return shared_deployed(app_id, owner_id, status, app_name=f"shop-{app_id}")


async def delivered(receiver: HttpReceiver, path: str, test: Any) -> Any:
    """The first request on `path` that passes `test`."""

    def found() -> Any:
        return next((r for r in receiver.on(path) if test(r)), None)

    return await eventually(found, timeout_s=30, what=f"the request on {path}")


async def create_webhook(admin: ApiClient, owner_id: str, body: dict[str, Any]) -> dict[str, Any]:
    status, hook = await admin.call("POST", f"{HOOKS}/webhooks/{owner_id}", body)
    assert status == 200, hook
    return dict(hook)


def mails_of(sink: MailSink, event: dict[str, Any], notifier_id: str) -> list[Any]:
    """The messages of one delivery: the event to one notifier (another face's notifiers may
    mail the same people about the same event)."""
    wanted = delivery_id(event["id"], notifier_id)
    return [m for m in sink.messages() if m["X-Herald-Delivery-Id"] == wanted]


async def wait_mail(sink: MailSink, event: dict[str, Any], notifier_id: str) -> Any:
    [message] = await eventually(
        lambda: mails_of(sink, event, notifier_id),
        timeout_s=30,
        what=f"the mail of {event['id']} by {notifier_id}",
    )
    return message


async def test_the_default_hook_mails_deployment_results_until_deleted_then_a_custom_one_rules(
    api: Any,
    admin: ApiClient,
    herald: Herald,
    herald_mail: MailSink,
    http: aiohttp.ClientSession,
    unique: str,
) -> None:
    owner_id, [app_id], [member] = await organisation(admin, herald, unique)

    # Every owner starts with Clever Cloud's default hook: deployment results to its members.
    status, hooks = await admin.call("GET", f"{HOOKS}/emailhooks/{owner_id}")
    assert status == 200, hooks
    [default] = hooks
    assert default["name"] == "Default deployment result e-mails"
    assert default["notified"] == [{"type": "organisation"}]
    assert default["events"] == ["META_DEPLOYMENT_RESULT"]
    assert default["ownerId"] == owner_id
    assert "scope" not in default
    [default_notifier] = hook_notifier_ids(default, 1)
    await router_sees(herald, [default_notifier])

    success, failure = deployed(app_id, owner_id), deployed(app_id, owner_id, "build-error")
    for event in (success, failure):
        await post_event(http, herald, event)
    for event, status_text in ((success, "success"), (failure, "build-error")):
        message = await wait_mail(herald_mail, event, default_notifier)
        assert message["To"] == member
        assert status_text in str(message["Subject"])

    # Deleted: those mails stop.
    status, _ = await admin.call("DELETE", f"{HOOKS}/emailhooks/{owner_id}/{default['id']}")
    assert status == 204
    assert await admin.call("GET", f"{HOOKS}/emailhooks/{owner_id}") == (200, [])
    await router_forgets(herald, [default_notifier])

    # Replaced by a custom one: failures only, of this app, to another address.
    ops = f"ops-{unique}@example.com"
    status, custom = await admin.call(
        "POST",
        f"{HOOKS}/emailhooks/{owner_id}",
        {
            "name": "failures to ops",
            "notified": [{"type": "email", "target": ops}],
            "events": ["DEPLOYMENT_FAIL"],
            "scope": [app_id],
        },
    )
    assert status == 200, custom
    assert custom["notified"] == [{"type": "email", "target": ops}]
    assert custom["scope"] == [app_id]
    [custom_notifier] = hook_notifier_ids(custom, 1)
    await router_sees(herald, [custom_notifier])

    success, failure = deployed(app_id, owner_id), deployed(app_id, owner_id, "crashed")
    for event in (success, failure):
        await post_event(http, herald, event)
    # The failure's mail is the custom hook's sentinel: the success came before it in the app's
    # partition, so the router routed it first, and to the custom hook it would have been
    # delivered first too (its deliveries share one partition, kept in order).
    message = await wait_mail(herald_mail, failure, custom_notifier)
    assert message["To"] == ops
    # The deleted hook's: a stand-in under its id, after both events (the same app); once the
    # stand-in's mail arrived, a mail of the deleted hook about either would have come before.
    sentinel_to = f"sentinel-{unique}@example.com"
    async with stand_in(
        herald, default_notifier, Channel.EMAIL, owner_id, {"emails": [sentinel_to]}
    ):
        await sentinel(
            http,
            herald,
            deployed(app_id, owner_id),
            lambda: herald_mail.messages(to=sentinel_to),
            what="the stand-in's mail",
        )
    for event in (success, failure):
        assert mails_of(herald_mail, event, default_notifier) == [], "the deleted hook mailed"
    assert mails_of(herald_mail, success, custom_notifier) == [], "a success reached a fail hook"


async def test_a_hook_scoped_to_one_app_ignores_another_apps_deployment(
    api: Any,
    admin: ApiClient,
    herald: Herald,
    receiver: HttpReceiver,
    http: aiohttp.ClientSession,
    unique: str,
) -> None:
    owner_id, [watched, other], _ = await organisation(admin, herald, unique, apps=2)
    path = f"/{unique}/scoped"
    hook = await create_webhook(
        admin,
        owner_id,
        {
            "name": "one app",
            "urls": [{"format": "raw", "url": receiver.url(path)}],
            "events": ["META_DEPLOYMENT_RESULT"],
            "scope": [watched],
        },
    )
    assert hook["scope"] == [watched]
    await router_sees(herald, hook_notifier_ids(hook, 1))

    # A control notifier of the owner hears every event, so shows when the router routed one.
    control, control_id = f"/{unique}/control", f"n-{uuid.uuid4().hex[:12]}"
    await herald.add_notifier(
        Notifier(
            id=control_id,
            scope=Scope.OWNER,
            owner_id=owner_id,
            platform=Channel.WEBHOOK,
            selection=Selection(send_all_events=True),
            type_data={"webhook_url": receiver.url(control)},
        )
    )

    ignored = deployed(other, owner_id)
    await post_event(http, herald, ignored)
    await post_event(http, herald, deployed(watched, owner_id))

    [received] = await receiver.wait_for(path, 1)
    assert received.json()["app_id"] == watched
    # The other app's event is on another partition of notify.events: once the control heard
    # it, it was routed. A sentinel of the watched app, posted after that, goes to the hook's
    # partition of the deliveries after any delivery of the other app's event to the hook.
    await delivered(receiver, control, lambda r: r.json()["id"] == ignored["id"])
    before = await received_before(http, herald, receiver, path, deployed(watched, owner_id))
    assert [r.json()["app_id"] for r in before] == [watched]
    await herald.remove_notifier(control_id)


async def test_a_hook_with_two_urls_in_two_formats_reaches_both(
    api: Any,
    admin: ApiClient,
    herald: Herald,
    receiver: HttpReceiver,
    http: aiohttp.ClientSession,
    unique: str,
) -> None:
    owner_id, [app_id], _ = await organisation(admin, herald, unique)
    raw, slack = f"/{unique}/raw", f"/{unique}/slack"
    hook = await create_webhook(
        admin,
        owner_id,
        {
            "name": "two urls",
            "urls": [
                {"format": "raw", "url": receiver.url(raw)},
                {"format": "slack", "url": receiver.url(slack)},
            ],
        },
    )
    assert hook["urls"] == [
        {"format": "raw", "url": receiver.url(raw)},
        {"format": "slack", "url": receiver.url(slack)},
    ]
    assert "events" not in hook, "no events: every event"
    assert (hook["state"], hook["failures"]) == ("ENABLED", [])
    await router_sees(herald, hook_notifier_ids(hook, 2))

    event = deployed(app_id, owner_id)
    await post_event(http, herald, event)

    # No `events`: every event, the API's own `notifier_added` about this hook included.
    raw_id, slack_id = (delivery_id(event["id"], n) for n in hook_notifier_ids(hook, 2))
    as_raw = await delivered(receiver, raw, lambda r: r.headers["webhook-id"] == raw_id)
    as_slack = await delivered(receiver, slack, lambda r: r.headers["webhook-id"] == slack_id)
    assert as_raw.json()["id"] == event["id"]
    assert as_raw.json()["type"] == "app_deployed"
    chat = as_slack.json()
    assert "id" not in chat
    assert {"text", "blocks", "attachments"} & set(chat), chat

    # Listed as one hook; deleted as one.
    status, listed = await admin.call("GET", f"{HOOKS}/webhooks/{owner_id}")
    assert status == 200
    assert [h["id"] for h in listed] == [hook["id"]]
    status, _ = await admin.call("DELETE", f"{HOOKS}/webhooks/{owner_id}/{hook['id']}")
    assert status == 204
    await router_forgets(herald, hook_notifier_ids(hook, 2))
    assert await admin.call("GET", f"{HOOKS}/webhooks/{owner_id}") == (200, [])


async def test_a_meta_deployment_result_hook_receives_success_and_failure(
    api: Any,
    admin: ApiClient,
    herald: Herald,
    receiver: HttpReceiver,
    http: aiohttp.ClientSession,
    unique: str,
) -> None:
    owner_id, [app_id], _ = await organisation(admin, herald, unique)
    path = f"/{unique}/meta"
    hook = await create_webhook(
        admin,
        owner_id,
        {"urls": [{"url": receiver.url(path)}], "events": ["META_DEPLOYMENT_RESULT"]},
    )
    assert hook["events"] == ["META_DEPLOYMENT_RESULT"]
    assert hook["urls"] == [{"format": "raw", "url": receiver.url(path)}]
    await router_sees(herald, hook_notifier_ids(hook, 1))

    restarted = {**deployed(app_id, owner_id), "type": "app_restarted", "type_data": {}}
    await post_event(http, herald, restarted)  # not a deployment result
    await post_event(http, herald, deployed(app_id, owner_id, "success"))
    await post_event(http, herald, deployed(app_id, owner_id, "build-error"))

    received = await receiver.wait_for(path, 2)
    # A sentinel: the same app and hook, so it arrives after everything above.
    before = await received_before(http, herald, receiver, path, deployed(app_id, owner_id))
    statuses = sorted(r.json()["type_data"]["status"] for r in before)
    assert statuses == ["build-error", "success"]
    assert {r.json()["type"] for r in received} == {"app_deployed"}


@pytest.fixture
async def recorder(
    kafka_settings: KafkaSettings, postgres_url: str, api: Any, unique: str
) -> AsyncIterator[RecorderService]:
    async with running_recorder(kafka_settings, postgres_url, unique) as service:
        yield service


async def test_failing_urls_show_up_in_failures(
    api: Any,
    admin: ApiClient,
    herald: Herald,
    recorder: RecorderService,
    receiver: HttpReceiver,
    http: aiohttp.ClientSession,
    unique: str,
) -> None:
    owner_id, [app_id], _ = await organisation(admin, herald, unique)
    broken, fine = f"/{unique}/broken", f"/{unique}/fine"
    receiver.statuses[broken] = 404
    unreachable = f"http://127.0.0.1:1/{unique}"  # nothing listens: connection refused
    hook = await create_webhook(
        admin,
        owner_id,
        {
            "urls": [
                {"format": "raw", "url": receiver.url(broken)},
                {"format": "raw", "url": receiver.url(fine)},
                {"format": "raw", "url": unreachable},
            ],
            "events": ["DEPLOYMENT_SUCCESS"],
        },
    )
    await router_sees(herald, hook_notifier_ids(hook, 3))

    await post_event(http, herald, deployed(app_id, owner_id))
    await receiver.wait_for(broken, 1)
    await receiver.wait_for(fine, 1)

    async def failures() -> dict[str, dict[str, Any]]:
        status, listed = await admin.call("GET", f"{HOOKS}/webhooks/{owner_id}")
        assert status == 200, listed
        [shown] = listed
        found = {f["url"]: f for f in shown["failures"]}
        return found if len(found) == 2 else {}

    found = await eventually(failures, timeout_s=30, what="both failed URLs in the failures")
    refused, not_found = found[unreachable], found[receiver.url(broken)]
    assert not_found["status"] == 404
    assert not_found["partialBody"] == "ok"
    assert "networkFailure" not in not_found
    assert "status" not in refused
    assert refused["networkFailure"], refused
    for failure in (refused, not_found):
        assert datetime.fromisoformat(failure["createdAt"]).tzinfo is not None


async def test_the_api_checks_tokens_owners_and_scopes(
    api: Any, admin: ApiClient, http: aiohttp.ClientSession, unique: str
) -> None:
    from herald_api.http.auth import TokenScope, create_token

    owner_id, other_owner = f"orga_{unique}", f"orga_{unique}_other"
    for owner in (owner_id, other_owner):
        assert (await admin.call("PUT", f"/v1/owners/{owner}", {"owner": {}}))[0] == 201
    mine, theirs = f"app_{unique}_mine", f"app_{unique}_theirs"
    for app_id, owner in ((mine, owner_id), (theirs, other_owner)):
        status, _ = await admin.call(
            "PUT", f"/v1/apps/{app_id}", {"app": {"name": app_id, "owner_id": owner}}
        )
        assert status == 201
    async with api.pool.acquire() as connection:
        _, owner_token = await create_token(connection, "cc", TokenScope.OWNER, owner_id)
        _, app_token = await create_token(connection, "cc app", TokenScope.APP, mine)
    owner = ApiClient(http, api.port, owner_token)
    hook = {"urls": [{"format": "raw", "url": "https://hooks.example.com/cc"}], "scope": [mine]}

    status, created = await owner.call("POST", f"{HOOKS}/webhooks/{owner_id}", hook)
    assert status == 200, created
    assert created["scope"] == [mine]
    for token, path, expected in (
        (None, f"{HOOKS}/webhooks/{owner_id}", 401),
        ("hrld_nope", f"{HOOKS}/webhooks/{owner_id}", 401),
        (owner_token, f"{HOOKS}/webhooks/{other_owner}", 404),
        (app_token, f"{HOOKS}/webhooks/{owner_id}", 404),
        (ADMIN_TOKEN, f"{HOOKS}/webhooks/orga_{unique}_unregistered", 404),
        (owner_token, f"{HOOKS}/emailhooks/{other_owner}", 404),
    ):
        status, body = await ApiClient(http, api.port, token).call("GET", path)
        assert status == expected, (token, path, body)
    status, _ = await owner.call("DELETE", f"{HOOKS}/emailhooks/{owner_id}/{created['id']}")
    assert status == 404, "a webhook is not an e-mail hook"

    # Edited (PUT): replaced whole, same id and creation time; a URL more is a notifier more.
    edited = {
        "name": "edited",
        "urls": [
            {"format": "raw", "url": "https://hooks.example.com/cc"},
            {"format": "gitter", "url": "https://webhooks.gitter.im/e/abc"},
        ],
        "events": ["META_CREDITS"],
    }
    hook_path = f"{HOOKS}/webhooks/{owner_id}/{created['id']}"
    status, answer = await owner.call("PUT", hook_path, edited)
    assert status == 200, answer
    assert (answer["id"], answer["createdAt"]) == (created["id"], created["createdAt"])
    assert (answer["name"], answer["events"], len(answer["urls"])) == (
        "edited",
        ["META_CREDITS"],
        2,
    )
    assert "scope" not in answer
    status, listed = await owner.call("GET", f"{HOOKS}/webhooks/{owner_id}")
    assert (status, listed) == (200, [answer])
    status, answer = await owner.call("PUT", hook_path, {**edited, "urls": edited["urls"][:1]})
    assert (status, len(answer["urls"])) == (200, 1), answer
    async with api.pool.acquire() as connection:
        ids = await connection.fetch(
            "SELECT id FROM notifiers WHERE id LIKE $1 ORDER BY id", f"{created['id']}.%"
        )
    assert [r["id"] for r in ids] == [f"{created['id']}.0"]
    assert (await owner.call("PUT", hook_path, {"urls": []}))[0] == 422
    assert (await owner.call("PUT", f"{HOOKS}/webhooks/{owner_id}/nope", edited))[0] == 404

    bad = {
        "urls": [{"format": "teams", "url": "http://10.0.0.1/x"}],
        "events": ["NOT_AN_EVENT"],
        "scope": [theirs, other_owner, "app_unknown", "addon_pg"],
        "colour": "blue",
    }
    status, problem = await owner.call("POST", f"{HOOKS}/webhooks/{owner_id}", bad)
    assert status == 422, problem
    assert set(problem["errors"]) == {"urls.0.format", "urls.0.url", "events", "scope", "colour"}
    assert len(problem["errors"]["scope"]) == 3, "an add-on id is fine; the other three are not"

    status, info = await ApiClient(http, api.port, None).call("GET", f"{HOOKS}/info/events")
    assert status == 200
    assert {"DEPLOYMENT_SUCCESS", "DEPLOYMENT_FAIL", "GIT_PUSH", "CREDITS_ADDED"} <= set(
        info["events"]
    )
    meta = info["meta_events"]
    assert meta["META_DEPLOYMENT_RESULT"] == ["DEPLOYMENT_FAIL", "DEPLOYMENT_SUCCESS"]
    formats = await ApiClient(http, api.port, None).call("GET", f"{HOOKS}/info/webhookformats")
    assert formats == (200, ["raw", "slack", "flowdock", "gitter"])
