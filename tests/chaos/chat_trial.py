"""A trial whose notifiers are chat notifiers, one platform per app, posting to the ledger's
receiver.

Each app's notifiers (every deployment, the failed ones only) are of one platform, taken in
turn from `CHAT_PLATFORMS`, so a trial of at least six apps has notifiers of all six. Their
`webhook_url` is a path of the ledger's receiver on loopback: the stack allows loopback
targets (`HERALD_API_ALLOW_LOOPBACK_TARGETS`, which also lets a loopback host pass the hosted
platforms' host rule, and `HERALD_SENDER_ALLOW_LOOPBACK_TARGETS`). The receiver takes the paths
as chat paths (`LedgerReceiver.expect_chat`): a chat post is not signed, and is named by its
`X-Herald-Delivery-Id` and `X-Herald-Event-Id` headers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from herald_core.topics import Channel
from herald_devstack.stack import CHAT_SENDER
from herald_testing.ledger import Subscriber

from chaos.harness import Trial

CHAT_PLATFORMS: tuple[tuple[str, Channel], ...] = (
    ("slack", Channel.SLACK),
    ("mattermost", Channel.MATTERMOST),
    ("rocket_chat", Channel.ROCKETCHAT),
    ("discord", Channel.DISCORD),
    ("microsoft_teams", Channel.MSTEAMS),
    ("google_chat", Channel.GOOGLECHAT),
)
"""(platform id in the API, the channel its sender serves): the chat services under test
(Slack by incoming webhook)."""

CHAT_SERVICES = (CHAT_SENDER,)
"""The stack's sender processes of those channels (`herald_devstack.stack`): one, which sends
every chat channel."""


def platform_of(apps: Sequence[str], app_id: str) -> str:
    """The platform of `app_id`'s notifiers: the platforms in turn, in the order of `apps`."""
    return CHAT_PLATFORMS[apps.index(app_id) % len(CHAT_PLATFORMS)][0]


@dataclass
class ChatTrial(Trial):
    """A trial with chat notifiers (see the module docstring)."""

    channels: tuple[Channel, ...] = tuple(channel for _, channel in CHAT_PLATFORMS)

    async def add_notifier(
        self, app_id: str, kind: str, selects: Sequence[str], *, judged: bool = True
    ) -> Subscriber:
        """A chat notifier of `app_id` on its own path, made through the API."""
        path = f"{self.prefix}/{app_id}/{kind}"
        platform = platform_of(self.apps, app_id)
        status, created = await self.chaos.admin.call(
            "POST",
            f"/v1/apps/{app_id}/notifiers",
            {
                "notifier": {
                    "name": f"chaos {platform} {kind}",
                    "platform_id": platform,
                    "selected_event_ids": list(selects),
                    "type_data": {"webhook_url": self.notifier_url(path)},
                }
            },
        )
        assert status == 201, created
        subscriber = Subscriber(created["notifier"]["id"], app_id, path, frozenset(selects))
        self.chaos.receiver.expect_chat(path)
        if judged:
            self.ledger.subscribe(subscriber)
        return subscriber
