"""One module per channel, each implementing `Sender` (STYLE.md §2). Explicit, no discovery."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import ClassVar, Protocol

from herald_core.deliveries import Delivery
from herald_core.topics import Channel

from herald_sender.settings import SenderSettings


class Sender(Protocol):
    """Delivers one delivery once; classifies failures by raising, never retries or sleeps."""

    channel: ClassVar[Channel]

    async def send(self, delivery: Delivery) -> int | None:
        """Deliver once; return the receiver's status code if it has one.

        Raises:
            RetryableDeliveryError: worth another attempt later.
            PermanentDeliveryError: will never succeed; dead-letter it.
        """

    async def __aenter__(self) -> Sender: ...

    async def __aexit__(self, *exc: object) -> None: ...


def sender_factories() -> Mapping[Channel, Callable[[SenderSettings], Sender]]:
    """The channels this build can send on."""
    from herald_sender.channels.email import EmailSender
    from herald_sender.channels.webhook import WebhookSender

    return {Channel.WEBHOOK: WebhookSender.from_settings, Channel.EMAIL: EmailSender.from_settings}
