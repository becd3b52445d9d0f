"""One default mail per person, and defaults for every owner, through the real path.

API (directory, notifiers) → Postgres → outbox → router (rule 7 of docs/routing.md) → the
e-mail sender → a local SMTP sink; deployments come in over ingest's HTTP endpoint. The
session's API has every face's defaults on (Scalingo, Clever Cloud, Cloud 66), so an
organisation member has two default notifiers that want a deployment: the organisation's
"Default deployment result e-mails" hook and their own Cloud 66 account e-mails.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from herald_api.model.account_notifiers import notifier_id_for
from herald_api.model.defaults import DEFAULT_HOOK_NAME, default_hook_id
from herald_core.deliveries import delivery_id
from herald_testing.api_client import ApiClient
from herald_testing.polling import eventually

from support.helpers import deployed, post_event, router_sees, sentinel
from support.pipeline import Herald, MailSink

pytestmark = pytest.mark.integration

HOOKS = "/v2/notifications"


def shop_deployed(app_id: str, owner_id: str) -> dict[str, Any]:
    """A deployment of the organisation's app (named "shop", as `organisation` names it)."""
    return deployed(app_id, owner_id, app_name="shop")


def mails_about(sink: MailSink, event: dict[str, Any], candidates: list[str], to: str) -> list[Any]:
    """The messages to `to` about `event` from any of the `candidates` notifiers."""
    wanted = {delivery_id(event["id"], n) for n in candidates}
    return [m for m in sink.messages(to=to) if str(m["X-Herald-Delivery-Id"]) in wanted]


async def organisation(admin: ApiClient, herald: Herald, unique: str) -> tuple[str, str, str, str]:
    """An organisation with one member (a user with an e-mail) and one app."""
    org, user, app = f"org-{unique}", f"u-{unique}", f"app-{unique}"
    address = f"member-{unique}@example.com"
    assert (await admin.call("PUT", f"/v1/users/{user}", {"user": {"email": address}}))[0] == 201
    status, body = await admin.call(
        "PUT", f"/v1/owners/{org}", {"owner": {"name": "Acme", "members": [{"user_id": user}]}}
    )
    assert status == 201, body
    status, body = await admin.call(
        "PUT", f"/v1/apps/{app}", {"app": {"name": "shop", "owner_id": org}}
    )
    assert status == 201, body
    directory = herald.router.memory.directory
    await eventually(
        lambda: directory.app(app) is not None and directory.email_of_user(user) == address,
        what="the router knows the organisation",
    )
    return org, user, app, address


async def test_a_member_gets_one_default_mail_per_deployment_and_their_own_too(
    api: Any, admin: ApiClient, herald: Herald, herald_mail: MailSink, http: Any, unique: str
) -> None:
    org, user, app, address = await organisation(admin, herald, unique)
    hook, account = f"{default_hook_id(org)}.0", notifier_id_for(user, "email")
    await router_sees(herald, [hook, account])

    # Both defaults want a deployment; the member hears it once, from the hook (owner scope
    # comes before user scope).
    first = shop_deployed(app, org)
    await post_event(http, herald, first)
    [mail] = await eventually(
        lambda: mails_about(herald_mail, first, [hook, account], address), what="the mail"
    )
    assert mail["X-Herald-Delivery-Id"] == delivery_id(first["id"], hook)
    status, simulated = await admin.call("POST", "/v1/events/simulate", first | {"id": "sim-1"})
    assert status == 200, simulated
    excluded = {e["notifier_id"]: e["rule"] for e in simulated["excluded"]}
    assert excluded[account] == "default_duplicate"

    # The member sets up their own e-mail notifier for deployments: it mails them too.
    status, own = await admin.call(
        "POST",
        f"/v1/apps/{app}/notifiers",
        {
            "notifier": {
                "name": "my deployments",
                "platform_id": "email",
                "selected_event_ids": ["app_deployed"],
                "type_data": {"emails": [address]},
            }
        },
    )
    assert status == 201, own
    await router_sees(herald, [own["notifier"]["id"]])
    everyone = [hook, account, own["notifier"]["id"]]
    second = shop_deployed(app, org)
    await post_event(http, herald, second)
    mails = await eventually(
        lambda: len(found := mails_about(herald_mail, second, everyone, address)) >= 2 and found,
        what="two mails",
    )
    senders = sorted(str(m["X-Herald-Delivery-Id"]) for m in mails)
    assert senders == sorted(
        [delivery_id(second["id"], hook), delivery_id(second["id"], own["notifier"]["id"])]
    )
    # A third deployment as a sentinel: the router routes it after the first two (the same app),
    # and its mails follow theirs in each notifier's partition, so once its two mails arrived,
    # the counts of the first two are final.
    third = shop_deployed(app, org)
    await sentinel(
        http,
        herald,
        third,
        lambda: len(mails_about(herald_mail, third, everyone, address)) >= 2,
    )
    assert len(mails_about(herald_mail, third, everyone, address)) == 2
    assert len(mails_about(herald_mail, first, everyone, address)) == 1
    assert len(mails_about(herald_mail, second, everyone, address)) == 2


async def test_an_owner_first_named_by_an_app_registration_gets_the_default_hook(
    api: Any, admin: ApiClient, herald: Herald, herald_mail: MailSink, http: Any, unique: str
) -> None:
    org, user, app = f"org-new-{unique}", f"u-new-{unique}", f"app-new-{unique}"
    address = f"new-{unique}@example.com"
    status, body = await admin.call(
        "PUT", f"/v1/apps/{app}", {"app": {"name": "shop", "owner_id": org}}
    )
    assert status == 201, body
    status, hooks = await admin.call("GET", f"{HOOKS}/emailhooks/{org}")
    assert status == 200, hooks
    assert [h["name"] for h in hooks] == [DEFAULT_HOOK_NAME]
    status, owner = await admin.call("GET", f"/v1/owners/{org}")
    assert status == 200, owner

    # The platform tells more about the owner later: the same owner (200), the same hook.
    assert (await admin.call("PUT", f"/v1/users/{user}", {"user": {"email": address}}))[0] == 201
    status, body = await admin.call(
        "PUT", f"/v1/owners/{org}", {"owner": {"name": "New", "members": [{"user_id": user}]}}
    )
    assert status == 200, body
    assert (await admin.call("GET", f"{HOOKS}/emailhooks/{org}"))[1] == hooks
    hook = f"{default_hook_id(org)}.0"
    directory = herald.router.memory.directory
    await eventually(
        lambda: directory.email_of_user(user) == address and hook in herald.router.notifiers,
        what="the router knows the member and the hook",
    )
    event = shop_deployed(app, org)
    await post_event(http, herald, event)
    await eventually(
        lambda: mails_about(herald_mail, event, [hook], address), what="the hook's mail"
    )


async def test_an_owner_first_named_by_a_transfer_gets_the_default_hook(
    api: Any, admin: ApiClient, herald: Herald, http: Any, unique: str
) -> None:
    org, app = f"org-from-{unique}", f"app-moved-{unique}"
    target = f"org-to-{unique}"
    assert (await admin.call("PUT", f"/v1/owners/{org}", {"owner": {"name": "From"}}))[0] == 201
    status, body = await admin.call(
        "PUT", f"/v1/apps/{app}", {"app": {"name": "shop", "owner_id": org}}
    )
    assert status == 201, body
    transfer = {
        "id": f"ev-{uuid.uuid4().hex}",
        "type": "app_transferred",
        "created_at": datetime.now(UTC).isoformat(),
        "source": "platform",
        "app_id": app,
        "app_name": "shop",
        "owner_id": org,
        "type_data": {"old_owner": {"id": org}, "new_owner": {"id": target}},
    }
    await post_event(http, herald, transfer)

    async def hooks_of_target() -> Any:
        status, hooks = await admin.call("GET", f"{HOOKS}/emailhooks/{target}")
        return hooks if status == 200 and hooks else None

    hooks = await eventually(
        hooks_of_target, timeout_s=30, interval_s=0.2, what=f"a default hook for {target}"
    )
    assert [h["name"] for h in hooks] == [DEFAULT_HOOK_NAME]
    assert (await admin.call("GET", f"/v1/apps/{app}"))[1]["app"]["owner_id"] == target
