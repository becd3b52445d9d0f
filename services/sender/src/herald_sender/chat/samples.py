"""Sample deliveries with a fixed clock and fixed ids: the golden cases and the gallery.

One representative event per kind of message (the catalog's families): Scalingo deployments,
crash, add-on and collaborator events, Convox release, alert and budget events, Cloud 66's
server heartbeat, and one event whose user-controlled strings are hostile. Events go through
`parse_event`, as on `notify.events`, so the samples are what a sender really receives.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from herald_core.deliveries import Delivery
from herald_core.intake import parse_event
from herald_core.notifiers import Notifier, Scope, Selection
from herald_core.topics import Channel

ROUTED_AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CREATED_AT = "2026-03-01T11:59:30Z"
LONG = "x" * 5000
HOSTILE = "@everyone <!channel> @here [x](http://evil) <http://evil|click> *bold* " + LONG


@dataclass(frozen=True)
class Sample:
    """A golden case: what it shows and the event (before `parse_event`)."""

    description: str
    event: Mapping[str, Any]


def _event(
    event_id: str, event_type: str, type_data: dict[str, Any], **envelope: Any
) -> dict[str, Any]:
    scalingo = {
        "app_id": "app-6f1c",
        "app_name": "shop",
        "owner_id": "owner-42",
        "user": {"id": "us-1", "username": "johndoe", "email": "john@example.com"},
        "source": "scalingo",
    }
    return {
        "id": event_id,
        "type": event_type,
        "created_at": CREATED_AT,
        **scalingo,
        **envelope,
        "type_data": type_data,
    }


_CONVOX = {
    "source": "convox",
    "rack": "production",
    "app_name": "api",
    "app_id": "api",
    "user": None,
}

SAMPLES: Mapping[str, Sample] = {
    "deployment_success": Sample(
        "Scalingo `app_deployed` (legacy `deployment`), status success, with git ref and duration",
        _event(
            "ev-deploy-ok",
            "deployment",
            {
                "deployment_id": "dep-51e9",
                "pusher": "johndoe",
                "git_ref": "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567",
                "git_ref_url": "https://github.com/acme/shop/commit/0a1b2c3d4e5f",
                "status": "success",
                "duration": 83,
                "stack": "scalingo-22",
            },
        ),
    ),
    "deployment_failure": Sample(
        "Scalingo `app_deployed`, status crashed-error: the new release did not start",
        _event(
            "ev-deploy-ko",
            "app_deployed",
            {
                "deployment_id": "dep-51ea",
                "pusher": "janedoe",
                "git_ref": "feature/checkout",
                "status": "crashed-error",
                "duration": 312,
            },
            user={"id": "us-2", "username": "janedoe"},
        ),
    ),
    "release_promoted": Sample(
        "Convox `app:promote:completed`: rack, app, release id and actor (as Convox lists them)",
        _event(
            "ev-promote",
            "app:promote:completed",
            {"release_id": "RABCDEFGHIJ", "actor": "ops@acme.dev", "status": "success"},
            **_CONVOX,
        ),
    ),
    "crash": Sample(
        "Scalingo `app_crashed` on the 5th crash: container, exit code, reason",
        _event(
            "ev-crash",
            "app_crashed",
            {
                "crash_count": 5,
                "container_type": "web",
                "container_index": 1,
                "exit_code": 137,
                "reason": "out of memory",
            },
            user=None,
        ),
    ),
    "alert_firing": Sample(
        "Convox `alert:firing`: metric, value and limit",
        _event(
            "ev-alert-fire",
            "alert:firing",
            {"name": "high-cpu", "metric": "cpu", "value": 93.4, "limit": 80.0},
            **_CONVOX,
        ),
    ),
    "alert_resolved": Sample(
        "Scalingo-side `app_alert_resolved`: the alert is back under its limit",
        _event(
            "ev-alert-ok",
            "app_alert_resolved",
            {
                "alert_id": "al-7",
                "metric": "memory",
                "value": 412.0,
                "limit": 512.0,
                "container_type": "web",
            },
            user=None,
        ),
    ),
    "budget": Sample(
        "Convox `app:budget:cap`: the app reached its budget cap",
        _event(
            "ev-budget",
            "app:budget:cap",
            {"spend": 250.0, "cap": 250.0, "threshold": 200.0, "currency": "USD"},
            **_CONVOX,
        ),
    ),
    "addon": Sample(
        "Scalingo `addon_provisioned`",
        _event(
            "ev-addon",
            "addon_provisioned",
            {
                "addon_name": "shop-db",
                "addon_provider_name": "PostgreSQL",
                "plan_name": "postgresql-starter-512",
                "addon_uuid": "ad-0c5d",
            },
        ),
    ),
    "collaborator": Sample(
        "Scalingo `collaborator_invited` (nested `collaborator` lifted by the catalog)",
        _event(
            "ev-collab",
            "collaborator_invited",
            {"collaborator": {"email": "ann@example.com", "username": "ann", "role": "limited"}},
        ),
    ),
    "server_stopped": Sample(
        "Cloud 66 `server.stopped`: a server's heartbeat stopped",
        _event(
            "ev-server",
            "server.stopped",
            {
                "stack_uid": "stk-9b2",
                "stack_name": "storefront",
                "environment": "production",
                "server_name": "web-ams-1",
            },
            source="cloud66",
            app_id=None,
            app_name=None,
            owner_id="acct-66",
            user=None,
        ),
    ),
    "hostile": Sample(
        "Hostile user-controlled strings (mentions, disguised links, 5,000 characters): "
        "escaped and cut",
        _event(
            "ev-hostile",
            "app_deployed",
            {"status": "build-error", "git_ref": HOSTILE, "pusher": HOSTILE},
            app_name="@here-app",
            user={"id": "us-3", "username": "@everyone <!here> [x](http://evil)"},
        ),
    ),
}


# What a notifier of each channel holds besides its URL (the URL is the sender's business).
NOTIFIER_DATA: Mapping[Channel, Mapping[str, Any]] = {
    Channel.HIPCHAT: {"room_id": "ops"},
}


def sample_delivery(case: str, channel: Channel) -> Delivery:
    """The delivery of sample `case` to a notifier of `channel`. Pure.

    Raises:
        KeyError: for an unknown case.
    """
    event = parse_event(dict(SAMPLES[case].event))
    notifier = Notifier(
        id=f"notifier-{channel.value}",
        name=f"team {channel.value}",
        scope=Scope.OWNER,
        owner_id=event.owner_id or "owner-42",
        platform=channel,
        selection=Selection(send_all_events=True),
        type_data=dict(NOTIFIER_DATA.get(channel, {})),
    )
    return Delivery.for_(event, notifier, ROUTED_AT)
