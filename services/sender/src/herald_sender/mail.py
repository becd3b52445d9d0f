"""The e-mail message of a delivery for one recipient, rendered from its `Summary`. Pure.

The message says what the chat services say (`herald_sender.summary`): the same headline,
sentence, facts (labels and values), links and colour. Only the layout is the e-mail's own:

    Subject     `[<app>] <headline>` (`Summary.headline`: display name, and the status when
                the display name does not already say it), one line, MAX_SUBJECT characters
    text part   the subject, the summary's sentence, a kind's short explanation, the facts as
                `  Label: value` lines, the links as `Label: url` lines, then the small print
    HTML part   the same, the facts as a table; the heading in the summary's colour

Templates are jinja2 files in `herald_sender/templates`, one pair (`<name>.txt`,
`<name>.html`) per summary kind with its own explanation (deployment, crash, alert) and a
generic pair, in a sandboxed environment that autoescapes HTML. Each recipient gets their own
copy (To: that address) with their own RFC 8058 one-click unsubscribe link
(`herald_core.unsubscribe`); every copy carries `Message-ID: <delivery id@herald>`, stable
across retries, so a mail client sees a retried copy as the same message.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from herald_core import tracing
from herald_core.deliveries import Delivery, Recipient
from herald_core.errors import FailureReason, PermanentDeliveryError
from herald_core.headers import HERALD_DELIVERY_ID, HERALD_TRACEPARENT
from herald_core.unsubscribe import unsubscribe_token
from jinja2 import PackageLoader, select_autoescape
from jinja2.sandbox import SandboxedEnvironment

from herald_sender.summary import Kind, Summary, SummaryOptions, summarize
from herald_sender.summary.facts import one_line

MAX_SUBJECT = 200  # characters; RFC 5322 §2.1.1 recommends short lines anyway
MAX_LINE = 998  # RFC 5322 §2.1.1: keeps the long unsubscribe URL one unencoded header line
MAX_NAME = 100  # characters of a recipient's display name

_TEMPLATE_BY_KIND = {Kind.DEPLOYMENT: "deployment", Kind.CRASH: "crash", Kind.ALERT: "alert"}
_POLICY = policy.SMTP.clone(max_line_length=MAX_LINE)

_ENV = SandboxedEnvironment(
    loader=PackageLoader("herald_sender", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html",), default=False),
    trim_blocks=False,
    keep_trailing_newline=True,
)


def template_name(kind: Kind) -> str:
    """The template pair a summary kind is rendered with. Pure."""
    return _TEMPLATE_BY_KIND.get(kind, "generic")


def _cut(text: str, limit: int) -> str:
    flat = one_line(text)
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def email_subject(summary: Summary) -> str:
    """`[<app>] <headline>`, one line of at most MAX_SUBJECT characters. Pure."""
    return _cut(f"[{summary.app_name or 'Herald'}] {summary.headline}", MAX_SUBJECT)


def unsubscribe_url(base_url: str, secret: str, notifier_id: str, address: str) -> str:
    """The recipient's one-click unsubscribe link. Pure.

    Raises:
        ValueError: when the address cannot be signed (`herald_core.unsubscribe`).
    """
    token = unsubscribe_token(secret, notifier_id=notifier_id, address=address)
    return f"{base_url.rstrip('/')}/v1/unsubscribe/{token}"


def message_id(delivery: Delivery) -> str:
    """`<delivery id@herald>`: the same for every attempt and every recipient. Pure."""
    return f"<{delivery.id}@herald>"


def _context(
    summary: Summary, delivery: Delivery, recipient: Recipient, link: str
) -> dict[str, Any]:
    return {
        "subject": email_subject(summary),
        "s": summary,
        "fact": {f.label: f.value for f in summary.facts},
        "notifier_name": delivery.notifier.name,
        "recipient": recipient.address,
        "unsubscribe_url": link,
    }


def render_email(
    delivery: Delivery,
    recipient: Recipient,
    *,
    from_addr: str,
    unsubscribe_base_url: str,
    secret: str,
    now: datetime,
    options: SummaryOptions | None = None,
) -> EmailMessage:
    """The message of `delivery` for one recipient, dated `now`. Pure.

    Raises:
        PermanentDeliveryError: INVALID_RECIPIENT when the address cannot be put in a header.
    """
    try:
        link = unsubscribe_url(
            unsubscribe_base_url, secret, delivery.notifier.id, recipient.address
        )
        to = _to_header(recipient)
    except (ValueError, IndexError) as exc:
        raise PermanentDeliveryError(
            FailureReason.INVALID_RECIPIENT, f"unusable address {recipient.address[:100]!r}: {exc}"
        ) from None
    summary = summarize(delivery, options or SummaryOptions())
    context = _context(summary, delivery, recipient, link)
    name = template_name(summary.kind)
    message = EmailMessage(policy=_POLICY)
    message["From"] = from_addr
    message["To"] = to
    message["Subject"] = context["subject"]
    message["Date"] = format_datetime(now.astimezone(UTC))
    message["Message-ID"] = message_id(delivery)
    message["List-Unsubscribe"] = f"<{link}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
    message["X-Herald-Event-Type"] = delivery.event.type
    message[HERALD_DELIVERY_ID] = delivery.id
    traceparent = tracing.parse(delivery.traceparent)
    if traceparent is not None:
        message[HERALD_TRACEPARENT] = str(traceparent)
    message.set_content(_ENV.get_template(f"{name}.txt").render(**context))
    message.add_alternative(_ENV.get_template(f"{name}.html").render(**context), subtype="html")
    return message


def _to_header(recipient: Recipient) -> str:
    address = recipient.address.strip()
    if any(c in address for c in "\r\n<>,") or address.count("@") != 1:
        raise ValueError("not a single address")
    username, domain = address.split("@")
    if not username or not domain:
        raise ValueError("not a single address")
    return str(Address(display_name=_cut(recipient.name or "", MAX_NAME), addr_spec=address))
