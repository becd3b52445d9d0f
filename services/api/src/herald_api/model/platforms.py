"""Notification platforms as the API presents them (Scalingo's `notification_platforms`).

A platform's `id` and `name` are the same stable string; Scalingo's own names are kept where
Scalingo has the platform (`rocket_chat`), Herald's channel names elsewhere. Every platform can
carry every event type that is forwarded at all: audit-only types are carried by none.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from herald_core.catalog import CATALOG
from herald_core.topics import Channel


@dataclass(frozen=True)
class Platform:
    channel: Channel
    name: str
    display_name: str
    description: str
    webhook_like: bool = True

    @property
    def id(self) -> str:
        return self.name


PLATFORMS: tuple[Platform, ...] = (
    Platform(
        Channel.EMAIL,
        "email",
        "E-mail",
        "Send e-mails to the app's owner, its collaborators or any address.",
        webhook_like=False,
    ),
    Platform(
        Channel.WEBHOOK,
        "webhook",
        "Webhook",
        "Send signed HTTP requests to any target when events happen.",
    ),
    Platform(
        Channel.SLACK, "slack", "Slack", "Post messages to a Slack channel (incoming webhook)."
    ),
    Platform(
        Channel.ROCKETCHAT,
        "rocket_chat",
        "Rocket.Chat",
        "Post messages to a Rocket.Chat channel (incoming webhook).",
    ),
    Platform(
        Channel.MATTERMOST,
        "mattermost",
        "Mattermost",
        "Post messages to a Mattermost channel (incoming webhook).",
    ),
    Platform(Channel.DISCORD, "discord", "Discord", "Post embeds to a Discord channel (webhook)."),
    Platform(
        Channel.MSTEAMS,
        "microsoft_teams",
        "Microsoft Teams",
        "Post Adaptive Cards to a Teams channel (Workflows webhook).",
    ),
    Platform(
        Channel.GOOGLECHAT,
        "google_chat",
        "Google Chat",
        "Post cards to a Google Chat space (webhook).",
    ),
    Platform(
        Channel.HIPCHAT,
        "hipchat",
        "Hipchat",
        "Send room messages through Hipchat's API v1 (or a compatible server).",
    ),
    Platform(
        Channel.FLOWDOCK,
        "flowdock",
        "Flowdock",
        "Post to a Flowdock flow (Clever Cloud's flowdock format).",
    ),
    Platform(
        Channel.GITTER, "gitter", "Gitter", "Post to a Gitter room (Clever Cloud's gitter format)."
    ),
    Platform(
        Channel.APNS,
        "ios_push",
        "iOS push",
        "Push notifications to iOS devices.",
        webhook_like=False,
    ),
    Platform(
        Channel.WEBPUSH,
        "browser_push",
        "Browser notifications",
        "HTML5 push notifications to the browsers that subscribed.",
        webhook_like=False,
    ),
)

_BY_ID = {p.id: p for p in PLATFORMS}
_BY_CHANNEL = {p.channel: p for p in PLATFORMS}


def platform_by_id(platform_id: str) -> Platform | None:
    return _BY_ID.get(platform_id)


def platform_of(channel: Channel) -> Platform:
    return _BY_CHANNEL[channel]


@cache
def available_event_ids(platform_id: str) -> tuple[str, ...]:
    """The event type ids a platform can carry, in catalog order. Pure."""
    if platform_id not in _BY_ID:
        return ()
    audit_only = CATALOG.audit_only_ids()
    return tuple(t.id for t in CATALOG.types() if t.id not in audit_only)


def logo_url(public_url: str, platform: Platform) -> str:
    return f"{public_url.rstrip('/')}/static/platforms/{platform.name}.svg"
