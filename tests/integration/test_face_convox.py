"""The Convox face through the real path (seed 003).

OAuth: API authorize → the OAuth stand-in (plays Slack and Discord) → API callback → code
       exchange → an owner-scoped notifier through the store and outbox
events: ingest → router (never audit-only types) → notify.deliveries.discord → the Discord
        sender, in-process → a local receiver playing Discord's webhook
audit: notify.events → the recorder's audit consumer, in-process → audit_log → the API
webhooks: format convox, signed with Convox-Signature, checked by an independent verifier
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from herald_api.app import ApiService
from herald_core.catalog import CATALOG, Family
from herald_core.notifiers import Notifier, Scope, Selection
from herald_core.settings import KafkaSettings
from herald_core.topics import Channel
from herald_recorder.audit import AuditRecorder
from herald_recorder.settings import RecorderSettings
from herald_sender.app import SenderService
from herald_testing.api_client import ApiClient
from herald_testing.oauth_standin import DISCORD_HOOK, OAuthStandIn, connect_integration
from herald_testing.polling import eventually
from herald_testing.receivers import HttpReceiver
from pydantic import SecretStr

from support.api import ADMIN_TOKEN
from support.helpers import post_event, router_forgets, router_sees, sentinel, stand_in
from support.pipeline import Herald

pytestmark = pytest.mark.integration

AUDIT_ONLY = sorted(
    t.id for t in CATALOG.types() if t.family is Family.CONVOX and t.id in CATALOG.audit_only_ids()
)


@pytest.fixture
async def audit_recorder(
    kafka_settings: KafkaSettings, postgres_url: str, api: Any
) -> AsyncIterator[AuditRecorder]:
    import asyncpg

    pool = await asyncpg.create_pool(postgres_url, min_size=0, max_size=2)
    stop = asyncio.Event()
    recorder = AuditRecorder(
        RecorderSettings(kafka=kafka_settings, database_url=SecretStr(postgres_url)),
        pool,
        stop,
        group_id=f"test-convox-audit-{uuid.uuid4().hex[:8]}",
    )
    task = asyncio.create_task(recorder.run())
    await eventually(lambda: recorder.subscribed, timeout_s=30, what="audit consumer subscribed")
    yield recorder
    stop.set()
    await task
    await pool.close()


async def get(http: aiohttp.ClientSession, url: str) -> tuple[int, Any, Any]:
    async with http.get(url, allow_redirects=False) as response:
        text = await response.text()
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = text
        return response.status, parsed, response.headers


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


async def connect(
    client: ApiClient, http: aiohttp.ClientSession, owner: str, provider: str
) -> tuple[str, Any]:
    """authorize → the stand-in consents → the callback URL it redirects to."""
    status, _, headers = await client.call_with_headers(
        "GET", f"/v1/owners/{owner}/integrations/{provider}/authorize"
    )
    assert status == 302
    status, _, headers = await get(http, headers["Location"])
    assert status == 302, "the stand-in consents and redirects back"
    return headers["Location"], None


def convox_event(
    event_type: str, owner: str, app_id: str, *, at: datetime | None = None, **data: Any
) -> dict[str, Any]:
    return {
        "id": f"ev-{uuid.uuid4().hex}",
        "type": event_type,
        "created_at": (at or datetime.now(UTC)).isoformat(),
        "source": "convox-rack",
        "app_id": app_id,
        "app_name": f"{app_id}-name",
        "owner_id": owner,
        "rack": "production-rack",
        "type_data": {"actor": "alice@example.com", **data},
    }


async def assert_audit_log(
    client: ApiClient, owner: str, app_id: str, audit_ids: list[str], base: datetime
) -> None:
    """The audit log lists every audit-only event, with filters and keyset pages."""
    # The audit log has them all, with filters and pagination.
    audit_path = f"/v1/owners/{owner}/audit-log"

    async def all_recorded() -> bool:
        _, body = await client.call("GET", audit_path + "?limit=200")
        return len(body["entries"]) >= len(AUDIT_ONLY)

    await eventually(all_recorded, timeout_s=30, interval_s=0.3, what="audit entries recorded")
    _, body = await client.call("GET", audit_path)
    assert [e["id"] for e in body["entries"]] == list(reversed(audit_ids)), "newest first"
    assert {e["actor"] for e in body["entries"]} == {"alice@example.com"}
    assert all(e["rack"] == "production-rack" for e in body["entries"])

    seen, cursor, pages = [], None, 0
    while True:
        query = "?limit=3" + (f"&cursor={cursor}" if cursor else "")
        status, page = await client.call("GET", audit_path + query)
        assert status == 200
        pages += 1
        seen += [e["id"] for e in page["entries"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(audit_ids))
    assert pages == -(-len(AUDIT_ONLY) // 3)

    _, page = await client.call("GET", audit_path + "?type=app:budget:set")
    assert [e["type"] for e in page["entries"]] == ["app:budget:set"]
    _, page = await client.call("GET", audit_path + f"?app={app_id}-name&limit=200")
    assert len(page["entries"]) == len(AUDIT_ONLY)
    _, page = await client.call("GET", audit_path + "?app=another-app")
    assert page["entries"] == []
    since = (base + timedelta(minutes=2)).isoformat().replace("+00:00", "Z")
    until = (base + timedelta(minutes=4)).isoformat().replace("+00:00", "Z")
    _, page = await client.call("GET", audit_path + f"?since={since}&until={until}")
    assert [e["id"] for e in page["entries"]] == [audit_ids[3], audit_ids[2]]
    status, _ = await client.call("GET", audit_path + "?since=yesterday")
    assert status == 422


async def assert_an_expired_state_is_refused(
    client: ApiClient, http: aiohttp.ClientSession, owner: str, postgres_url: str
) -> None:
    """A state past its expiry is a 400, like an unknown one, and nothing is exchanged."""
    import asyncpg

    callback, _ = await connect(client, http, owner, "slack")
    connection = await asyncpg.connect(postgres_url)
    try:
        expired = await connection.execute(
            "UPDATE oauth_states SET expires_at = now() - interval '1 second'"
            " WHERE owner_id = $1 AND provider = 'slack' AND used_at IS NULL",
            owner,
        )
    finally:
        await connection.close()
    assert expired == "UPDATE 1"
    status, body, _ = await get(http, callback)
    assert status == 400, body
    assert "expired" in body["detail"]


async def test_oauth_flow_discord_delivery_audit_only_never_forwarded_and_removal(
    convox_api: ApiService,
    standin: OAuthStandIn,
    receiver: HttpReceiver,
    herald: Herald,
    discord_sender: SenderService,
    audit_recorder: AuditRecorder,
    http: aiohttp.ClientSession,
    unique: str,
    postgres_url: str,
) -> None:
    client = ApiClient(http, convox_api.port, ADMIN_TOKEN)
    owner = f"org-{unique}"
    status, _ = await client.call("PUT", f"/v1/owners/{owner}", {"owner": {"name": "Acme"}})
    assert status == 201

    # The authorize redirect names the client, the callback, the scope and a state.
    status, _, headers = await client.call_with_headers(
        "GET", f"/v1/owners/{owner}/integrations/discord/authorize"
    )
    assert status == 302
    consent = query_of(headers["Location"])
    assert headers["Location"].startswith(standin.url("/discord/authorize"))
    redirect_uri = f"http://127.0.0.1:{convox_api.port}/v1/integrations/discord/callback"
    assert consent["client_id"] == standin.client_id
    assert consent["scope"] == "webhook.incoming"
    assert consent["redirect_uri"] == redirect_uri
    assert consent["response_type"] == "code"
    assert len(consent["state"]) >= 32

    # A wrong state is refused before any exchange; so is a missing one.
    for bad in (f"{redirect_uri}?code=x&state=forged", f"{redirect_uri}?code=x"):
        status, body, _ = await get(http, bad)
        assert status == 400, body
        assert "state" in body["detail"]
    await assert_an_expired_state_is_refused(client, http, owner, postgres_url)
    assert standin.exchanges == []

    # The user consents: the stand-in sends the browser back with a code and the state.
    status, _, headers = await get(http, headers["Location"])
    assert status == 302
    callback = headers["Location"]
    status, body, _ = await get(http, callback)
    assert status == 201, body
    integration = body["integration"]
    assert (integration["provider"], integration["owner_id"]) == ("discord", owner)
    exchange = standin.exchanges[-1]
    assert exchange["client_secret"] == standin.client_secret
    assert exchange["redirect_uri"] == redirect_uri
    assert exchange["grant_type"] == "authorization_code"

    # The same callback again: the state is used. A fresh state with the used code: the
    # provider refuses the code, and so does the API.
    status, _, _ = await get(http, callback)
    assert status == 400
    used_code = query_of(callback)["code"]
    next_callback, _ = await connect(client, http, owner, "discord")
    replay = f"{redirect_uri}?code={used_code}&state={query_of(next_callback)['state']}"
    status, body, _ = await get(http, replay)
    assert status == 400, body
    assert standin.refusals == ["invalid_grant"]
    # The stand-in also refuses a redirect_uri other than the authorize request's.
    fresh = query_of(next_callback)["code"]
    async with http.post(
        standin.url("/discord/token"),
        data={
            "grant_type": "authorization_code",
            "code": fresh,
            "redirect_uri": redirect_uri + "/elsewhere",
            "client_id": standin.client_id,
            "client_secret": standin.client_secret,
        },
    ) as response:
        assert response.status == 400
    assert standin.refusals[-1] == "invalid_grant"

    # A Slack integration too: the list shows both, never their webhook URLs.
    slack_callback, _ = await connect(client, http, owner, "slack")
    assert query_of(slack_callback)["state"]
    status, body, _ = await get(http, slack_callback)
    assert status == 201, body
    slack_id = body["integration"]["id"]
    assert body["integration"]["channel"] == "#deploys"
    status, listed = await client.call("GET", f"/v1/owners/{owner}/integrations")
    assert status == 200
    assert {i["provider"] for i in listed["integrations"]} == {"discord", "slack"}
    assert "standin" not in json.dumps(listed)

    discord_id = integration["id"]
    await router_sees(herald, [discord_id], timeout_s=30)

    # Every audit-only Convox type, then one forwarded event, all for one app (one partition).
    app_id = f"app-{unique}"
    base = datetime.now(UTC) - timedelta(hours=1)
    audit_ids = []
    for i, event_type in enumerate(AUDIT_ONLY):
        event = convox_event(event_type, owner, app_id, at=base + timedelta(minutes=i))
        audit_ids.append(event["id"])
        await post_event(http, herald, event)
    promote = convox_event(
        "release:promote", owner, app_id, status="success", release_id="RPROMOTE123"
    )
    await post_event(http, herald, promote)

    def at_discord() -> list[str]:
        return [json.dumps(r.json()) for r in receiver.requests if r.path == DISCORD_HOOK]

    await eventually(
        lambda: any("RPROMOTE123" in m for m in at_discord()),
        timeout_s=45,
        what="the forwarded event at Discord",
    )
    # A sentinel: the same app, so routed after every event above, and the same integration, so
    # its delivery follows theirs in its partition (Kafka keeps a partition in order).
    later = convox_event("release:promote", owner, app_id, status="success", release_id="RLATER")
    await sentinel(
        http,
        herald,
        later,
        lambda: any("RLATER" in m for m in at_discord()),
        what="the sentinel at Discord",
    )
    rack_messages = [m for m in at_discord() if "production-rack" in m and "RLATER" not in m]
    assert len(rack_messages) == 1, rack_messages
    embed = json.loads(rack_messages[0])["embeds"][0]
    text = json.dumps(embed)
    for expected in (
        "production-rack",
        "release:promote",
        "success",
        f"{app_id}-name",
        "RPROMOTE123",
        "alice@example.com",
    ):
        assert expected in text, expected
    for event_type in AUDIT_ONLY:
        assert all(event_type not in m for m in at_discord()), event_type

    await assert_audit_log(client, owner, app_id, audit_ids, base)

    # Removing the integration stops notifications; an owner webhook shows events still flow.
    control = Notifier(
        id=f"n-{uuid.uuid4().hex[:12]}",
        scope=Scope.OWNER,
        owner_id=owner,
        platform=Channel.WEBHOOK,
        selection=Selection(send_all_events=True),
        type_data={"webhook_url": receiver.url(f"/control-{unique}")},
    )
    await herald.add_notifier(control)
    at_discord_before = at_discord()
    for gone in (discord_id, slack_id):
        status, _ = await client.call("DELETE", f"/v1/owners/{owner}/integrations/{gone}")
        assert status == 204
    status, _ = await client.call("DELETE", f"/v1/owners/{owner}/integrations/{discord_id}")
    assert status == 404
    await router_forgets(herald, [discord_id], timeout_s=30)
    status, listed = await client.call("GET", f"/v1/owners/{owner}/integrations")
    assert listed["integrations"] == []
    after = convox_event("release:promote", owner, app_id, status="success", release_id="R2")
    await post_event(http, herald, after)
    await eventually(
        lambda: any(r.path == f"/control-{unique}" and b"R2" in r.body for r in receiver.requests),
        timeout_s=45,
        what="the control webhook gets the next event",
    )
    # A stand-in under the integration's id, routed after `after` (the same app): its delivery
    # shares the partition of any Discord delivery of `after`, and comes after it.
    stand_in_hook = receiver.url(f"/stand-in-{unique}")
    async with stand_in(herald, discord_id, Channel.DISCORD, owner, {"webhook_url": stand_in_hook}):
        await sentinel(
            http,
            herald,
            convox_event("release:promote", owner, app_id, status="success", release_id="R3"),
            lambda: receiver.on(f"/stand-in-{unique}"),
            what="the sentinel at the stand-in",
        )
    assert at_discord() == at_discord_before
    await herald.remove_notifier(control.id)


async def test_an_integration_stays_on_topic(
    convox_api: ApiService,
    standin: OAuthStandIn,
    receiver: HttpReceiver,
    herald: Herald,
    discord_sender: SenderService,
    http: aiohttp.ClientSession,
    unique: str,
) -> None:
    """Convox's events and alerts reach an integration; Herald's own configuration events and
    other platforms' events do not (its `families: ["convox"]`)."""
    client = ApiClient(http, convox_api.port, ADMIN_TOKEN)
    owner, app_id = f"org-{unique}", f"app-{unique}"
    assert (await client.call("PUT", f"/v1/owners/{owner}", {"owner": {"name": "Acme"}}))[0] == 201
    status, _ = await client.call(
        "PUT", f"/v1/apps/{app_id}", {"app": {"name": f"{app_id}-name", "owner_id": owner}}
    )
    assert status == 201
    integration = await connect_integration(http, client.base, ADMIN_TOKEN, owner, "discord")
    assert integration["families"] == ["convox"]
    await router_sees(herald, [integration["id"]], timeout_s=30)
    # A control notifier of the owner that hears everything, so we know when all was routed.
    control = f"/control-{unique}"
    status, hook = await client.call(
        "POST",
        f"/v2/notifications/webhooks/{owner}",
        {"name": "control", "urls": [{"format": "raw", "url": receiver.url(control)}]},
    )
    assert status == 200, hook
    await router_sees(herald, [f"{hook['id']}.0"], timeout_s=30)
    # Herald's own configuration event for the owner: a notifier added.
    status, other = await client.call(
        "POST",
        f"/v2/notifications/webhooks/{owner}",
        {"name": "another", "urls": [{"format": "raw", "url": receiver.url("/another")}]},
    )
    assert status == 200, other

    def owner_event(event_type: str, **fields: Any) -> dict[str, Any]:
        return {**convox_event(event_type, owner, app_id), **fields}

    sent = [
        owner_event("release:promote", type_data={"status": "success", "release_id": "RTOPIC"}),
        owner_event(
            "app_alert_triggered",
            source="alerter",
            rack=None,
            type_data={"alert_id": "al-1", "metric": "cpu", "limit": 0.8, "value": 0.97},
        ),
        owner_event("server.stopped", rack=None, type_data={"server_name": "web-1"}),
    ]
    for event in sent:
        await post_event(http, herald, event)
    # The control hook hears all three, and the notifier_added of its own creation.
    await eventually(
        lambda: {r.json()["id"] for r in receiver.on(control)} >= {e["id"] for e in sent},
        timeout_s=45,
        what="the control webhook hears every event",
    )
    heard = [r.json()["type"] for r in receiver.on(control)]
    assert "notifier_added" in heard, heard
    # A sentinel for the integration, routed after all of those (the same app): its delivery
    # follows theirs in the integration's partition, so once it arrived nothing else is in flight.
    await sentinel(
        http,
        herald,
        owner_event("release:promote", type_data={"release_id": "RSENTINEL"}),
        lambda: any(b"RSENTINEL" in r.body for r in receiver.on(DISCORD_HOOK)),
        what="the sentinel at Discord",
    )
    texts = [json.dumps(r.json()) for r in receiver.on(DISCORD_HOOK)][:-1]
    assert len(texts) == 2, texts
    assert any("RTOPIC" in t for t in texts)
    assert any("Alert" in t and "cpu" in t for t in texts)
    assert not any("web-1" in t or "notifier" in t.lower() for t in texts)


def verify_convox(header: str, body: bytes, key: str, now: int, tolerance: int = 300) -> bool:
    """An independent Convox-Signature check, as docs.convox.com's receiver example does."""
    timestamp, signatures = None, []
    for segment in header.split(","):
        name, _, value = segment.strip().partition("=")
        if name == "t":
            timestamp = int(value)
        elif name == "v1":
            signatures.append(value)
    if timestamp is None or abs(now - timestamp) > tolerance:
        return False
    expected = hmac.new(key.encode(), b"%d." % timestamp + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, s) for s in signatures)


async def test_convox_webhook_is_signed_with_every_key_during_rotation(
    api: Any, herald: Herald, receiver: HttpReceiver, http: aiohttp.ClientSession, unique: str
) -> None:
    client = ApiClient(http, api.port, ADMIN_TOKEN)
    app_id = f"app-{unique}"
    owner = f"org-{unique}"
    status, _ = await client.call(
        "PUT", f"/v1/apps/{app_id}", {"app": {"name": "convox-app", "owner_id": owner}}
    )
    assert status == 201
    new_key, old_key = f"new-key-{unique}-0123456789", f"old-key-{unique}-0123456789"
    status, created = await client.call(
        "POST",
        f"/v1/apps/{app_id}/notifiers",
        {
            "notifier": {
                "name": "convox hook",
                "platform_id": "webhook",
                "selected_event_ids": ["app:budget:cap"],
                "type_data": {
                    "webhook_url": receiver.url("/convox"),
                    "format": "convox",
                    "convox_signing_key": new_key,
                    "convox_signing_keys": [old_key],
                },
            }
        },
    )
    assert status == 201, created
    shown = created["notifier"]["type_data"]
    assert new_key not in json.dumps(shown)
    assert old_key not in json.dumps(shown)
    notifier_id = created["notifier"]["id"]
    await router_sees(herald, [notifier_id], timeout_s=30)
    status, bad = await client.call(
        "POST",
        f"/v1/apps/{app_id}/notifiers",
        {
            "notifier": {
                "name": "bad",
                "platform_id": "webhook",
                "type_data": {"webhook_url": receiver.url("/x"), "convox_signing_key": "short"},
            }
        },
    )
    assert status == 422
    assert {"type_data.format", "type_data.convox_signing_key"} <= set(bad["errors"])

    event = convox_event("app:budget:cap", owner, app_id, status="success", cap=100)
    event["app_name"] = "convox-app"
    await post_event(http, herald, event)
    (request,) = await receiver.wait_for("/convox", 1, timeout_s=45)
    body = request.json()
    assert body["action"] == "app:budget:cap"
    assert body["status"] == "success"
    assert body["timestamp"].endswith("Z")
    assert body["data"]["app"] == "convox-app"
    assert body["data"]["rack"] == "production-rack"
    assert body["data"]["actor"] == "alice@example.com"
    assert body["data"]["cap"] == 100
    header = request.headers["Convox-Signature"]
    now = int(datetime.now(UTC).timestamp())
    assert header.count("v1=") == 2
    assert verify_convox(header, request.body, new_key, now)
    assert verify_convox(header, request.body, old_key, now)
    assert not verify_convox(header, request.body, "some-other-key-0123456789", now)
    assert not verify_convox(header, request.body + b" ", new_key, now)
    assert not verify_convox(header, request.body, new_key, now + 3600), "outside tolerance"
    assert request.headers["webhook-id"]  # Standard Webhooks' headers still come along
