"""The e-mail channel: SMTP. One message per recipient (`herald_sender.mail`), one session.

Rendering is pure and lives in `herald_sender.mail` (from the summary every human channel
shares, `herald_sender.summary`); this module connects, sends and classifies SMTP replies.

Sending reuses one SMTP connection across deliveries, reopened when it is gone: a connection
idle for more than `NOOP_AFTER_IDLE_S` is checked with NOOP first (servers drop idle
connections after minutes; RFC 5321 suggests 5), one used just before is not (a round trip per
message saved). Messages are rendered before the connection is taken, so one delivery renders
while another talks to the server. Outcomes (docs/architecture.md, Channels):

    no recipients                         → PermanentDeliveryError(INVALID_RECIPIENT)
    connection refused / dropped, timeout → RetryableDeliveryError(CONNECTION_ERROR / TIMEOUT)
    SMTP 4xx                              → RetryableDeliveryError(SERVER_ERROR)
    SMTP 5xx on a recipient               → PermanentDeliveryError(INVALID_RECIPIENT)
    SMTP 530/534/535                      → PermanentDeliveryError(AUTH_ERROR)
    other SMTP 5xx                        → PermanentDeliveryError(CLIENT_ERROR)

An SMTP reply keeps its code as the error's `status_code`, as a sent message reports 250.

Every recipient is tried; the worst outcome is raised (retryable before permanent), carrying
the recipients that were accepted (`DeliveryError.delivered`). The shell writes them into the
retry record (`x-recipients-done`), so a retry, from this process or another, mails only the
others; nothing about a delivery is kept in memory between attempts.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import parseaddr
from typing import ClassVar, Self

import aiosmtplib
from herald_core.deliveries import Delivery
from herald_core.errors import (
    DeliveryError,
    FailureReason,
    PermanentDeliveryError,
    RetryableDeliveryError,
)
from herald_core.topics import Channel

from herald_sender.channels import SendReport
from herald_sender.mail import render_email
from herald_sender.settings import SenderSettings, SmtpSettings, SmtpTls
from herald_sender.summary import SummaryOptions
from herald_sender.summary.facts import one_line

_AUTH_CODES = frozenset({530, 534, 535})
NOOP_AFTER_IDLE_S = 5.0

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def classify_smtp(code: int, message: str, *, recipient: bool = False) -> DeliveryError:
    """An SMTP reply that is not success, as a delivery error carrying the reply code as its
    `status_code` (the history shows it, as it shows 250 for a message sent). Pure."""
    error = _classify_smtp(code, one_line(f"SMTP {code} {message}")[:500], recipient)
    error.status_code = code if 100 <= code <= 999 else None
    return error


def _classify_smtp(code: int, detail: str, recipient: bool) -> DeliveryError:
    if 400 <= code <= 499:
        return RetryableDeliveryError(FailureReason.SERVER_ERROR, detail)
    if code in _AUTH_CODES:
        return PermanentDeliveryError(FailureReason.AUTH_ERROR, detail)
    if 500 <= code <= 599:
        reason = FailureReason.INVALID_RECIPIENT if recipient else FailureReason.CLIENT_ERROR
        return PermanentDeliveryError(reason, detail)
    return RetryableDeliveryError(FailureReason.SERVER_ERROR, detail)  # a confused server


def classify_smtp_error(exc: Exception) -> DeliveryError:
    """An aiosmtplib (or socket) error as a delivery error. Pure."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        first = exc.recipients[0]
        return classify_smtp(first.code, f"{first.message} ({first.recipient})", recipient=True)
    if isinstance(exc, aiosmtplib.SMTPRecipientRefused):
        return classify_smtp(exc.code, f"{exc.message} ({exc.recipient})", recipient=True)
    if isinstance(exc, aiosmtplib.SMTPResponseException) and not isinstance(
        exc, aiosmtplib.SMTPServerDisconnected
    ):
        return classify_smtp(exc.code, exc.message)
    if isinstance(exc, TimeoutError):  # aiosmtplib's timeouts are TimeoutErrors too
        return RetryableDeliveryError(FailureReason.TIMEOUT, f"SMTP timeout: {exc}"[:500])
    return RetryableDeliveryError(
        FailureReason.CONNECTION_ERROR, f"SMTP {type(exc).__name__}: {exc}"[:500]
    )


class EmailSender:
    """Sends deliveries as e-mail through one reused SMTP connection."""

    channel: ClassVar[Channel] = Channel.EMAIL

    def __init__(
        self,
        smtp: SmtpSettings,
        options: SummaryOptions | None = None,
        clock: Clock = _utc_now,
    ) -> None:
        self._settings = smtp
        self._options = options or SummaryOptions()
        self._clock = clock
        self._client: aiosmtplib.SMTP | None = None
        self._used_at = 0.0  # time.monotonic() of the connection's last reply
        self._lock = asyncio.Lock()

    @classmethod
    def from_settings(cls, settings: SenderSettings) -> EmailSender:
        """The links (dashboard, event) follow the chat settings, as in every human channel."""
        return cls(settings.smtp, settings.chat.options())

    async def __aenter__(self) -> Self:
        return self  # connect lazily: a missing SMTP server must not stop the service

    async def __aexit__(self, *exc: object) -> None:
        async with self._lock:
            await self._disconnect()

    async def _disconnect(self) -> None:
        client, self._client = self._client, None
        if client is not None and client.is_connected:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()

    async def _connected(self) -> aiosmtplib.SMTP:
        """The open connection, checked with NOOP after `NOOP_AFTER_IDLE_S` idle; a new one
        when it is gone."""
        if self._client is not None and self._client.is_connected:
            if time.monotonic() - self._used_at < NOOP_AFTER_IDLE_S:
                return self._client
            try:
                await self._client.noop()
                return self._client
            except (aiosmtplib.SMTPException, OSError):
                self._client.close()
        self._client = None
        s = self._settings
        client = aiosmtplib.SMTP(
            hostname=s.host,
            port=s.port,
            username=s.username,
            password=s.password.get_secret_value() if s.password is not None else None,
            timeout=s.timeout_s,
            use_tls=s.tls is SmtpTls.TLS,
            start_tls=s.tls is SmtpTls.STARTTLS,
        )
        await client.connect()
        self._client = client
        return client

    async def send(self, delivery: Delivery) -> SendReport:
        if not delivery.recipients:
            raise PermanentDeliveryError(
                FailureReason.INVALID_RECIPIENT, "the delivery has no recipients"
            )
        s = self._settings
        now = self._clock()
        envelope_from = parseaddr(s.from_address)[1] or s.from_address
        errors: list[tuple[int, DeliveryError]] = []  # by recipient, sorted at the end
        delivered: list[int] = []
        messages: list[tuple[int, str, EmailMessage]] = []
        for index, recipient in enumerate(delivery.recipients):
            try:
                message = render_email(
                    delivery,
                    recipient,
                    from_addr=s.from_address,
                    unsubscribe_base_url=s.unsubscribe_base_url,
                    secret=s.unsubscribe_secret.get_secret_value(),
                    now=now,
                    options=self._options,
                )
            except DeliveryError as unusable:
                errors.append((index, unusable))
                continue
            messages.append((index, recipient.address.strip(), message))
        async with self._lock:
            for index, address, message in messages:
                try:
                    await self._send_one(message, envelope_from, address)
                except (aiosmtplib.SMTPException, OSError) as exc:
                    self._used_at = 0.0  # whatever went wrong, check the connection next time
                    failure = classify_smtp_error(exc)
                    errors.append((index, failure))
                    if failure.reason in (FailureReason.CONNECTION_ERROR, FailureReason.TIMEOUT):
                        await self._drop()
                        break  # the server is gone: the rest waits for the retry
                    continue
                delivered.append(index)
        if errors:
            raise worst([error for _, error in sorted(errors, key=lambda e: e[0])], delivered)
        return SendReport(status=250)

    async def _send_one(self, message: EmailMessage, sender: str, address: str) -> None:
        """Send one message; on a connection reused without a NOOP that turns out to be gone,
        once more on a new one (the server dropped it between two messages: nothing was sent).
        """
        unchecked = self._client is not None and self._client.is_connected
        unchecked = unchecked and time.monotonic() - self._used_at < NOOP_AFTER_IDLE_S
        client = await self._connected()
        try:
            await client.send_message(message, sender=sender, recipients=[address])
        except (aiosmtplib.SMTPServerDisconnected, ConnectionError):
            if not unchecked:
                raise
            await self._drop()
            client = await self._connected()
            await client.send_message(message, sender=sender, recipients=[address])
        self._used_at = time.monotonic()

    async def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()


def worst(errors: Sequence[DeliveryError], delivered: Sequence[int]) -> DeliveryError:
    """The error an attempt raises: the first retryable one, else the first; with `delivered`.

    Pure. A retryable error wins because a retry may still reach the recipients it failed;
    the permanent ones fail again then, and dead-letter the delivery with the others done.

    Raises:
        ValueError: when `errors` is empty.
    """
    if not errors:
        raise ValueError("no error to raise")
    first = next((e for e in errors if e.retryable), errors[0])
    return type(first)(
        first.reason,
        first.detail,
        retry_after=first.retry_after,
        response_excerpt=first.response_excerpt,
        status_code=first.status_code,
        delivered=tuple(delivered),
    )
