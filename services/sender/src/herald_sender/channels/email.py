"""The e-mail channel: one multipart text+HTML message per recipient, over one SMTP session.

Rendering is pure (`render_email`): jinja2 templates from `herald_sender/templates`, in a
sandboxed environment that autoescapes HTML, one pair (`<name>.txt`, `<name>.html`) for
deployments, crashes and alerts and a generic pair for every other event type. Each recipient
gets their own copy (To: that address) with their own RFC 8058 one-click unsubscribe link
(`herald_core.unsubscribe`); every copy carries `Message-ID: <delivery id@herald>`, stable
across retries, so a mail client sees a retried copy as the same message.

Sending reuses one SMTP connection across deliveries (checked with NOOP, reopened when it is
gone). Outcomes (docs/architecture.md, Channels):

    no recipients                         → PermanentDeliveryError(INVALID_RECIPIENT)
    connection refused / dropped, timeout → RetryableDeliveryError(CONNECTION_ERROR / TIMEOUT)
    SMTP 4xx                              → RetryableDeliveryError(SERVER_ERROR)
    SMTP 5xx on a recipient               → PermanentDeliveryError(INVALID_RECIPIENT)
    SMTP 530/534/535                      → PermanentDeliveryError(AUTH_ERROR)
    other SMTP 5xx                        → PermanentDeliveryError(CLIENT_ERROR)

Every recipient is tried; the worst outcome is raised (retryable before permanent). Copies
already accepted are remembered (bounded, in memory), so a retry mails only the others.
"""

from __future__ import annotations

import asyncio
import json
import re
import string
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any, ClassVar, Self

import aiosmtplib
from herald_core.catalog import CATALOG
from herald_core.deliveries import Delivery, Recipient
from herald_core.errors import (
    DeliveryError,
    FailureReason,
    PermanentDeliveryError,
    RetryableDeliveryError,
)
from herald_core.topics import Channel
from herald_core.unsubscribe import unsubscribe_token
from jinja2 import PackageLoader, select_autoescape
from jinja2.sandbox import SandboxedEnvironment

from herald_sender.channels import SendReport
from herald_sender.settings import SenderSettings, SmtpSettings, SmtpTls

MAX_ROWS = 30  # type_data fields shown in the table
MAX_VALUE = 300  # characters of one shown value
MAX_SUBJECT = 200  # characters; RFC 5322 §2.1.1 recommends short lines anyway
MAX_LINE = 998  # RFC 5322 §2.1.1: keeps the long unsubscribe URL one unencoded header line
REMEMBERED = 10_000  # (delivery, address) pairs already accepted, kept for retries

_TEMPLATE_BY_TYPE = {"app_crashed": "crash", "app_crashed_repeated": "crash"}
_TEMPLATE_BY_CATEGORY = {"deployments": "deployment", "alerts": "alert"}
_ACCENT = {"success": "#1a7f37", "critical": "#cf222e", "warning": "#9a6700"}
_AUTH_CODES = frozenset({530, 534, 535})
_SPACE = re.compile(r"\s+")

Clock = Callable[[], datetime]
_POLICY = policy.SMTP.clone(max_line_length=MAX_LINE)

_ENV = SandboxedEnvironment(
    loader=PackageLoader("herald_sender", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html",), default=False),
    trim_blocks=False,
    keep_trailing_newline=True,
)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def template_name(event_type: str) -> str:
    """The template pair an event type is rendered with. Pure."""
    if event_type in _TEMPLATE_BY_TYPE:
        return _TEMPLATE_BY_TYPE[event_type]
    known = CATALOG.get(event_type)
    category = known.category if known is not None else ""
    return _TEMPLATE_BY_CATEGORY.get(category, "generic")


def _one_line(text: str, limit: int) -> str:
    flat = _SPACE.sub(" ", text).strip()
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _shown(value: Any) -> str:
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool) or value is None:
        text = json.dumps(value)
    elif isinstance(value, int | float):
        text = str(value)
    else:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return _one_line(text, MAX_VALUE)


def _summary(template: str, delivery: Delivery, app_name: str, actor: str) -> str:
    """The catalog's one-line template filled from the event; unknown fields read "?"."""
    values: dict[str, str] = {"app_name": app_name, "user": actor or "someone"}
    values.update({k: _shown(v) for k, v in delivery.event.type_data.items()})
    parts: list[str] = []
    try:
        for literal, field, _spec, _conv in string.Formatter().parse(template):
            parts.append(literal)
            if field is not None:
                parts.append(values.get(field, "?"))
    except ValueError:  # an unbalanced brace: show the template as it is
        return template
    return "".join(parts)


def _links(type_data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """`*_url` fields of type_data that are http(s) URLs, as (label, url)."""
    return [
        (key.removesuffix("_url").replace("_", " ").capitalize() or key, value)
        for key, value in type_data.items()
        if key.endswith("_url")
        and isinstance(value, str)
        and value.lower().startswith(("https://", "http://"))
        and not _SPACE.search(value)
    ]


def _context(delivery: Delivery, recipient: Recipient, unsubscribe_url: str) -> dict[str, Any]:
    event = delivery.event
    known = CATALOG.get(event.type)
    display_name = known.display_name if known else event.type.replace("_", " ").capitalize()
    description = known.description if known else f"A {event.type} event"
    app_name = event.app_name or event.app_id or event.owner_id or "Herald"
    user = event.user
    actor = (user.username or user.email or user.id or "") if user is not None else ""
    status = event.type_data.get("status") if template_name(event.type) == "deployment" else None
    severity = known.severity.value if known else "info"
    return {
        "app_name": app_name,
        "display_name": display_name,
        "description": description.rstrip("."),
        "summary": _summary(known.template, delivery, app_name, actor) if known else display_name,
        "actor": actor,
        "time": event.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "status": _shown(status) if status not in (None, "") else "",
        "accent": _ACCENT.get(str(status) if status == "success" else severity, "#1f2328"),
        "data": dict(event.type_data),
        "rows": [(k, _shown(v)) for k, v in list(event.type_data.items())[:MAX_ROWS]],
        "links": _links(event.type_data),
        "notifier_name": delivery.notifier.name,
        "recipient": recipient.address,
        "unsubscribe_url": unsubscribe_url,
    }


def email_subject(delivery: Delivery) -> str:
    """`[<app name>] <display name>`, with `: <status>` for deployments. Pure, one line."""
    event = delivery.event
    known = CATALOG.get(event.type)
    display_name = known.display_name if known else event.type
    app_name = event.app_name or event.app_id or event.owner_id or "Herald"
    subject = f"[{app_name}] {display_name}"
    status = event.type_data.get("status")
    if template_name(event.type) == "deployment" and status not in (None, ""):
        subject += f": {_shown(status)}"
    return _one_line(subject, MAX_SUBJECT)


def unsubscribe_url(base_url: str, secret: str, notifier_id: str, address: str) -> str:
    token = unsubscribe_token(secret, notifier_id=notifier_id, address=address)
    return f"{base_url.rstrip('/')}/v1/unsubscribe/{token}"


def message_id(delivery: Delivery) -> str:
    return f"<{delivery.id}@herald>"


def render_email(
    delivery: Delivery,
    recipient: Recipient,
    *,
    from_addr: str,
    unsubscribe_base_url: str,
    secret: str,
    now: datetime,
) -> EmailMessage:
    """The message of `delivery` for one recipient, dated `now`. Pure.

    Raises:
        PermanentDeliveryError: INVALID_RECIPIENT when the address cannot be put in a header.
    """
    try:
        link = unsubscribe_url(
            unsubscribe_base_url, secret, delivery.notifier.id, recipient.address
        )
    except ValueError as exc:
        raise PermanentDeliveryError(
            FailureReason.INVALID_RECIPIENT, f"unusable address {recipient.address[:100]!r}: {exc}"
        ) from None
    context = _context(delivery, recipient, link)
    name = template_name(delivery.event.type)
    subject = email_subject(delivery)
    text = _ENV.get_template(f"{name}.txt").render(subject=subject, **context)
    html = _ENV.get_template(f"{name}.html").render(subject=subject, **context)
    message = EmailMessage(policy=_POLICY)
    try:
        message["From"] = from_addr
        message["To"] = _to_header(recipient)
    except (ValueError, IndexError) as exc:
        raise PermanentDeliveryError(
            FailureReason.INVALID_RECIPIENT,
            f"unusable address {recipient.address[:100]!r}: {exc}",
        ) from None
    message["Subject"] = subject
    message["Date"] = format_datetime(now.astimezone(UTC))
    message["Message-ID"] = message_id(delivery)
    message["List-Unsubscribe"] = f"<{link}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
    message["X-Herald-Event-Type"] = delivery.event.type
    message["X-Herald-Delivery-Id"] = delivery.id
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


def _to_header(recipient: Recipient) -> str:
    address = recipient.address.strip()
    if any(c in address for c in "\r\n<>,") or address.count("@") != 1:
        raise ValueError("not a single address")
    username, domain = address.split("@")
    if not username or not domain:
        raise ValueError("not a single address")
    return str(Address(display_name=_one_line(recipient.name or "", 100), addr_spec=address))


def classify_smtp(code: int, message: str, *, recipient: bool = False) -> DeliveryError:
    """An SMTP reply that is not success, as a delivery error. Pure."""
    detail = _one_line(f"SMTP {code} {message}", 500)
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

    def __init__(self, smtp: SmtpSettings, clock: Clock = _utc_now) -> None:
        self._settings = smtp
        self._clock = clock
        self._client: aiosmtplib.SMTP | None = None
        self._lock = asyncio.Lock()
        self._accepted: OrderedDict[tuple[str, str], None] = OrderedDict()

    @classmethod
    def from_settings(cls, settings: SenderSettings) -> EmailSender:
        return cls(settings.smtp)

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
        """The open connection, checked with NOOP; a new one when it is gone."""
        if self._client is not None and self._client.is_connected:
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

    def _remember(self, key: tuple[str, str]) -> None:
        self._accepted[key] = None
        while len(self._accepted) > REMEMBERED:
            self._accepted.popitem(last=False)

    async def send(self, delivery: Delivery) -> SendReport:
        if not delivery.recipients:
            raise PermanentDeliveryError(
                FailureReason.INVALID_RECIPIENT, "the delivery has no recipients"
            )
        s = self._settings
        now = self._clock()
        envelope_from = parseaddr(s.from_address)[1] or s.from_address
        pending = [
            r for r in delivery.recipients if (delivery.id, r.address.lower()) not in self._accepted
        ]
        errors: list[DeliveryError] = []
        async with self._lock:
            for recipient in pending:
                try:
                    message = render_email(
                        delivery,
                        recipient,
                        from_addr=s.from_address,
                        unsubscribe_base_url=s.unsubscribe_base_url,
                        secret=s.unsubscribe_secret.get_secret_value(),
                        now=now,
                    )
                except DeliveryError as unusable:
                    errors.append(unusable)
                    continue
                try:
                    client = await self._connected()
                    await client.send_message(
                        message, sender=envelope_from, recipients=[recipient.address.strip()]
                    )
                except (aiosmtplib.SMTPException, OSError) as exc:
                    failure = classify_smtp_error(exc)
                    errors.append(failure)
                    if failure.reason in (FailureReason.CONNECTION_ERROR, FailureReason.TIMEOUT):
                        await self._drop()
                        break  # the server is gone: the rest waits for the retry
                    continue
                self._remember((delivery.id, recipient.address.lower()))
        retryable = [e for e in errors if e.retryable]
        if retryable or errors:
            raise (retryable or errors)[0]
        return SendReport(status=250)

    async def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()
