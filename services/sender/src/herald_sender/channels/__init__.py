"""One module per channel, each implementing `Sender`. Explicit, no discovery."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import ClassVar, Protocol

from herald_core.deliveries import Delivery
from herald_core.topics import Channel
from herald_kafka.producer import OutgoingRecord

from herald_sender.settings import SenderSettings


@dataclass(frozen=True, slots=True)
class SendReport:
    """What a successful attempt tells the shell: the receiver's status and answer, if any.

    `response_excerpt` is the start of the receiver's answer, for the delivery history; the
    shell caps it (`herald_sender.outcomes.RESPONSE_EXCERPT_MAX`).
    """

    status: int | None = None
    response_excerpt: str | None = None
    outputs: tuple[OutgoingRecord, ...] = ()
    """Records the shell produces with the attempt's result (a channel's own state, e.g.
    Slack's deploy threads): acknowledged before the delivery's offset is committed."""


class Sender(Protocol):
    """Delivers one delivery once; classifies failures by raising, never retries or sleeps."""

    channel: ClassVar[Channel]

    async def send(self, delivery: Delivery) -> SendReport:
        """Deliver once; report the receiver's status code and answer if it has them.

        Raises:
            RetryableDeliveryError: worth another attempt later; `response_excerpt` set when
                the receiver answered.
            PermanentDeliveryError: will never succeed; dead-letter it (same excerpt rule).
        """

    async def __aenter__(self) -> Sender: ...

    async def __aexit__(self, *exc: object) -> None: ...


def sender_factories() -> Mapping[Channel, Callable[[SenderSettings], Sender]]:
    """The channels this build can send on."""
    from herald_sender.channels.chat import CHAT_SENDERS
    from herald_sender.channels.email import EmailSender
    from herald_sender.channels.slack import SlackSender
    from herald_sender.channels.webhook import WebhookSender

    return {
        Channel.WEBHOOK: WebhookSender.from_settings,
        Channel.EMAIL: EmailSender.from_settings,
        Channel.SLACK: SlackSender.from_settings,
        **{sender.channel: sender.from_settings for sender in CHAT_SENDERS},
    }
