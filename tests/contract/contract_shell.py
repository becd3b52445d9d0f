"""One delivery attempt through the real sender shell, for the sender contract suite.

`attempt` runs a channel's sender inside `SenderService`'s attempt handler, as the consumer
would, without a broker (the handler only builds the records the service would produce): the
sender's outcome, the records of the first attempt and, for a retryable failure, of the last
one (the same error replayed once the retry tiers are used up, with no second request), and
every log line emitted meanwhile.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import structlog
from herald_core import headers as h
from herald_core.deliveries import Delivery
from herald_core.errors import DeliveryError, RetryableDeliveryError
from herald_core.topics import Channel, deliveries_topic
from herald_kafka.producer import OutgoingRecord
from herald_sender.app import SenderService
from herald_sender.channels import Sender, SendReport
from herald_sender.settings import SenderSettings


@dataclass(frozen=True)
class FakeRecord:
    """A delivery record as the consumer hands it to the shell."""

    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    topic: str
    partition: int = 0
    offset: int = 7
    key: bytes | None = b"notifier"
    timestamp: int = 0


class Recording:
    """The real sender as the shell sees it; keeps what its send returned or raised."""

    channel: ClassVar[Channel]

    def __init__(self, sender: Sender) -> None:
        self.sender = sender
        self.channel = sender.channel  # type: ignore[misc]
        self.outcomes: list[SendReport | DeliveryError] = []

    async def send(self, delivery: Delivery) -> SendReport:
        try:
            report = await self.sender.send(delivery)
        except DeliveryError as error:
            self.outcomes.append(error)
            raise
        self.outcomes.append(report)
        return report

    async def __aenter__(self) -> Recording:
        await self.sender.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.sender.__aexit__(*exc)


class Replay:
    """Raises the error the real sender raised: the shell's last attempt, without a request."""

    def __init__(self, channel: Channel, error: DeliveryError) -> None:
        self.channel = channel
        self.error = error

    async def send(self, delivery: Delivery) -> SendReport:
        raise self.error

    async def __aenter__(self) -> Replay:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None


async def through_shell(
    settings: SenderSettings, sender: Any, delivery: Delivery, *, attempts_before: int = 0
) -> list[OutgoingRecord]:
    """One attempt by the real shell (`SenderService`): the records it would produce."""
    service = SenderService(settings, sender_factory=lambda _settings: sender)
    headers = ((h.ATTEMPT, str(attempts_before).encode()),) if attempts_before else ()
    record = FakeRecord(delivery.to_json(), headers, deliveries_topic(settings.channel))
    try:
        return await service._attempt(record)
    finally:
        await service.producer.stop()


@dataclass
class Attempt:
    outcome: SendReport | DeliveryError
    outputs: list[OutgoingRecord]
    last_outputs: list[OutgoingRecord]
    """A retryable failure's records when it is the last attempt (the tiers are used up)."""
    logs: list[str]


class _Records(logging.Handler):
    """Keeps every record it is given, formatted once so that `exc_text` is filled."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.format(record)
        self.records.append(record)


@contextlib.contextmanager
def captured_logs() -> Iterator[list[str]]:
    """Every log line the sender and the shell emit: structlog events and standard logging
    (the client libraries'), but not the local servers' own. (A handler on the root logger at
    DEBUG while it lasts: the suite runs without pytest's logging plugin, see pyproject.)"""
    lines: list[str] = []
    root, handler = logging.getLogger(), _Records()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        with structlog.testing.capture_logs() as events:
            yield lines
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    lines += [repr(event) for event in events]
    servers = ("mail.log", "aiohttp.access", "aiohttp.server", "aiohttp.web")
    lines += [
        f"{r.name} {r.getMessage()} {r.exc_text or ''}"
        for r in handler.records
        if not r.name.startswith(servers)
    ]


async def attempt(settings: SenderSettings, sender: Sender, delivery: Delivery) -> Attempt:
    """`sender` sends `delivery` once, inside the shell; a retryable failure is then also
    replayed as the last attempt. Everything is logged into `Attempt.logs`."""
    recording = Recording(sender)
    last_outputs: list[OutgoingRecord] = []
    with captured_logs() as logs:
        async with recording:
            outputs = await through_shell(settings, recording, delivery)
        [outcome] = recording.outcomes
        if isinstance(outcome, RetryableDeliveryError):
            last_outputs = await through_shell(
                settings,
                Replay(settings.channel, outcome),
                delivery,
                attempts_before=len(settings.retry_delays_s),
            )
    return Attempt(outcome, outputs, last_outputs, logs)
