"""The e-mail channel's pure parts: rendering (`herald_sender.mail`, from the shared summary),
SMTP classification and the error an attempt raises, unsubscribe tokens, and the
`unsubscribed` addresses the recipient resolution drops."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import pytest
from herald_core.deliveries import Delivery, Recipient
from herald_core.directory import Directory
from herald_core.errors import FailureReason, PermanentDeliveryError, RetryableDeliveryError
from herald_core.intake import parse_event
from herald_core.notifiers import Notifier, Selection
from herald_core.recipients import resolve_recipients
from herald_core.topics import Channel
from herald_core.unsubscribe import UnsubscribeClaim, unsubscribe_claim, unsubscribe_token
from herald_sender.channels.email import classify_smtp, classify_smtp_error, worst
from herald_sender.mail import email_subject, render_email, template_name
from herald_sender.summary import Kind, SummaryOptions, summarize

SECRET = "test-secret"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FROM = "Herald <notifications@herald.local>"
BASE = "https://api.herald.example"


def delivery(
    event_type: str = "app_deployed",
    type_data: dict[str, Any] | None = None,
    recipients: tuple[Recipient, ...] = (Recipient(address="Ann@Example.com", name="Ann"),),
) -> Delivery:
    event = parse_event(
        {
            "id": "ev-1",
            "type": event_type,
            "created_at": "2026-03-01T11:59:00Z",
            "app_id": "app-1",
            "app_name": "shop",
            "owner_id": "owner-1",
            "user": {"id": "u1", "username": "johndoe"},
            "type_data": {"status": "success", "git_ref": "0a1b2c"}
            if type_data is None
            else type_data,
        }
    )
    notifier = Notifier(
        id="no-1",
        name="team mail",
        app_id="app-1",
        platform=Channel.EMAIL,
        selection=Selection(send_all_events=True),
        type_data={"emails": ["ann@example.com"]},
    )
    return Delivery.for_(event, notifier, NOW, recipients=recipients)


def render(d: Delivery, recipient: Recipient | None = None) -> EmailMessage:
    message = render_email(
        d,
        recipient or d.recipients[0],
        from_addr=FROM,
        unsubscribe_base_url=BASE,
        secret=SECRET,
        now=NOW,
        options=SummaryOptions(
            dashboard_url_template="https://dashboard.example.com/apps/{app_name}"
        ),
    )
    # What a receiver parses: the bytes as they go on the wire.
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def parts(message: EmailMessage) -> dict[str, str]:
    return {
        part.get_content_type(): part.get_content().replace("\r\n", "\n")
        for part in message.iter_parts()
        if isinstance(part, EmailMessage)
    }


def token_of(message: EmailMessage) -> str:
    link = str(message["List-Unsubscribe"])
    assert link.startswith(f"<{BASE}/v1/unsubscribe/")
    assert link.endswith(">")
    return link[len(f"<{BASE}/v1/unsubscribe/") : -1]


def test_a_message_is_multipart_alternative_text_then_html():
    message = render(delivery())
    assert message.get_content_type() == "multipart/alternative"
    assert list(parts(message)) == ["text/plain", "text/html"]
    text, page = parts(message).values()
    assert "johndoe deployed shop: success" in text
    assert "0a1b2c" in text
    assert "0a1b2c" in page
    assert "<table" in page


def test_headers_identify_the_delivery_and_the_recipient():
    d = delivery()
    message = render(d)
    assert message["Message-ID"] == f"<{d.id}@herald>"
    assert message["From"] == FROM
    assert message["To"] == "Ann <Ann@Example.com>"
    assert message["Date"] == "Sun, 01 Mar 2026 12:00:00 +0000"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["X-Herald-Event-Type"] == "app_deployed"


def test_the_message_id_is_stable_across_attempts():
    d = delivery()
    first = render_email(
        d, d.recipients[0], from_addr=FROM, unsubscribe_base_url=BASE, secret=SECRET, now=NOW
    )
    later = render_email(
        d,
        d.recipients[0],
        from_addr=FROM,
        unsubscribe_base_url=BASE,
        secret=SECRET,
        now=datetime(2026, 3, 2, tzinfo=UTC),
    )
    assert first["Message-ID"] == later["Message-ID"]


def subject_of(d: Delivery) -> str:
    return email_subject(summarize(d, SummaryOptions()))


def test_subjects_name_the_app_and_the_event_and_its_status():
    assert subject_of(delivery()) == "[shop] App deployed: success"
    assert subject_of(delivery(type_data={"status": "build-error"})) == (
        "[shop] App deployed: build-error"
    )
    assert subject_of(delivery("app_restarted", {})) == "[shop] App restarted"
    # As in chat: any status, unless the display name says it already.
    assert subject_of(delivery("app_alert_resolved", {"metric": "cpu"})) == "[shop] Alert resolved"
    hostile = delivery("app_deployed", {"status": "x\r\nBcc: victim@example.com"})
    assert "\n" not in subject_of(hostile)
    assert "\r" not in subject_of(hostile)
    assert render(hostile)["Bcc"] is None


def test_templates_per_summary_kind_and_a_generic_one():
    assert template_name(Kind.DEPLOYMENT) == "deployment"
    assert template_name(Kind.CRASH) == "crash"
    assert template_name(Kind.ALERT) == "alert"
    assert template_name(Kind.BUDGET) == "generic"
    assert template_name(Kind.GENERIC) == "generic"
    crash = parts(render(delivery("app_crashed", {"crash_count": 5})))["text/plain"]
    assert "5 crashes so far" in crash
    alert = parts(
        render(delivery("app_alert_triggered", {"metric": "cpu", "limit": 0.8, "value": 0.93}))
    )["text/html"]
    assert "<strong>cpu</strong> is at 0.93, against a limit of 0.8 (alerts above)" in alert
    failed = parts(render(delivery(type_data={"status": "build-error"})))["text/plain"]
    assert "ended with status build-error" in failed


def test_the_generic_template_shows_the_summary_facts():
    text = parts(render(delivery("app_scaled", {"containers": [{"name": "web", "amount": 2}]})))[
        "text/plain"
    ]
    assert text.startswith("[shop] App scaled\n")
    assert "An app was scaled. 2026-03-01 11:59 UTC · app_scaled ·" in text
    assert "  Actor: johndoe\n" in text
    assert "  App: shop\n" in text
    assert '  Containers: [{"amount": 2, "name": "web"}]\n' in text


def test_values_follow_the_summary_rules():
    """Booleans, numbers, lists, a missing template field: as chat shows them."""
    d = delivery(
        "addon_provisioned", {"addon_name": "pg", "beta": True, "ratio": 0.50, "tags": ["a", 2]}
    )
    text = parts(render(d))["text/plain"]
    for line in ("  Beta: yes\n", "  Ratio: 0.5\n", "  Tags: a, 2\n", "  Addon name: pg\n"):
        assert line in text
    missing = parts(render(delivery("addon_provisioned", {})))["text/plain"]
    assert "?" not in missing.split("--")[0]
    assert "\nAn addon was provisioned\n" in missing  # the catalog's description instead


def test_html_hostile_type_data_is_escaped():
    hostile = '<script>alert(1)</script><img src=x onerror="y">'
    d = delivery(
        "app_scaled",
        {"<b>key</b>": hostile, "evil_url": "javascript:alert(1)", "docs_url": "https://x.io/a"},
    )
    page = parts(render(d))["text/html"]
    assert "<script>" not in page
    assert "<img" not in page
    assert "<b>key" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "javascript:" not in page.split("<table")[0] + page.split("</table>")[-1]
    assert 'href="https://x.io/a"' in page
    assert 'href="https://dashboard.example.com/apps/shop"' in page


def test_links_follow_the_options():
    d = delivery("app_scaled", {"docs_url": "https://x.io/a b"})
    message = render_email(
        d,
        d.recipients[0],
        from_addr=FROM,
        unsubscribe_base_url=BASE,
        secret=SECRET,
        now=NOW,
        options=SummaryOptions(dashboard_url_template="https://dash.example/{app_id}"),
    )
    text = parts(message)["text/plain"]
    assert "Open dashboard: https://dash.example/app-1\n" in text
    assert "x.io" not in text  # a URL with a space is not a link anywhere


def test_each_recipient_gets_their_own_unsubscribe_link_that_verifies():
    ann, bob = Recipient(address="Ann@Example.com"), Recipient(address="bob@example.com")
    d = delivery(recipients=(ann, bob))
    tokens = [token_of(render(d, r)) for r in (ann, bob)]
    assert unsubscribe_claim(SECRET, tokens[0]) == UnsubscribeClaim("no-1", "ann@example.com")
    assert unsubscribe_claim(SECRET, tokens[1]) == UnsubscribeClaim("no-1", "bob@example.com")
    page = parts(render(d, bob))["text/html"]
    assert f'href="{BASE}/v1/unsubscribe/{tokens[1]}"' in page
    assert render(d, bob)["To"] == "bob@example.com"


def test_an_address_that_cannot_be_a_header_is_permanent():
    d = delivery()
    with pytest.raises(PermanentDeliveryError) as caught:
        render(d, Recipient(address="a@x.com, b@y.com"))
    assert caught.value.reason is FailureReason.INVALID_RECIPIENT
    with pytest.raises(PermanentDeliveryError):
        render(d, Recipient(address="a" * 900 + "@x.com"))


def test_a_tampered_or_foreign_token_is_refused():
    token = unsubscribe_token(SECRET, notifier_id="no-1", address="ann@example.com")
    version, payload, signature = token.split(".")
    other = unsubscribe_token(SECRET, notifier_id="no-2", address="ann@example.com")
    assert unsubscribe_claim(SECRET, token) is not None
    assert unsubscribe_claim("another secret", token) is None
    assert unsubscribe_claim(SECRET, f"{version}.{other.split('.')[1]}.{signature}") is None
    assert unsubscribe_claim(SECRET, f"{version}.{payload}.{signature[:-2]}AA") is None
    assert unsubscribe_claim(SECRET, f"v2.{payload}.{signature}") is None
    for garbage in ("", "a.b", "a.b.c.d", "v1.!!!.x", "x" * 5000, "v1.é.é"):
        assert unsubscribe_claim(SECRET, garbage) is None


def test_smtp_replies_are_classified():
    assert isinstance(classify_smtp(451, "try later"), RetryableDeliveryError)
    refused = classify_smtp(550, "no such user", recipient=True)
    assert isinstance(refused, PermanentDeliveryError)
    assert refused.reason is FailureReason.INVALID_RECIPIENT
    assert classify_smtp(554, "rejected").reason is FailureReason.CLIENT_ERROR
    assert classify_smtp(535, "bad credentials").reason is FailureReason.AUTH_ERROR
    assert [classify_smtp(code, "x").status_code for code in (451, 550, 535, 250)] == [
        451,
        550,
        535,
        250,
    ]
    assert classify_smtp(-1, "no reply").status_code is None
    many = aiosmtplib.SMTPRecipientsRefused(
        [aiosmtplib.SMTPRecipientRefused(550, "unknown", "x@y.z")]
    )
    assert classify_smtp_error(many).reason is FailureReason.INVALID_RECIPIENT
    assert classify_smtp_error(many).status_code == 550
    assert classify_smtp_error(
        aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(452, "full", "x@y.z")])
    ).retryable
    gone = classify_smtp_error(aiosmtplib.SMTPServerDisconnected("gone"))
    assert gone.retryable
    assert gone.reason is FailureReason.CONNECTION_ERROR
    assert classify_smtp_error(aiosmtplib.SMTPConnectError("refused")).retryable
    slow = classify_smtp_error(aiosmtplib.SMTPReadTimeoutError("slow"))
    assert slow.retryable
    assert slow.reason is FailureReason.TIMEOUT


def test_the_raised_error_is_the_first_retryable_and_says_who_was_reached():
    gone = RetryableDeliveryError(FailureReason.SERVER_ERROR, "SMTP 451 later")
    refused = PermanentDeliveryError(FailureReason.INVALID_RECIPIENT, "SMTP 550 nobody")
    raised = worst([refused, gone], [0, 2])
    assert isinstance(raised, RetryableDeliveryError)
    assert (raised.reason, raised.detail, raised.delivered) == (gone.reason, gone.detail, (0, 2))
    only = worst([refused], [1])
    assert isinstance(only, PermanentDeliveryError)
    assert only.delivered == (1,)
    with pytest.raises(ValueError, match="no error"):
        worst([], [])


def test_unsubscribed_addresses_are_not_resolved():
    d = delivery()
    notifier = Notifier(
        id="no-1",
        name="team mail",
        app_id="app-1",
        platform=Channel.EMAIL,
        selection=Selection(send_all_events=True),
        type_data={
            "emails": ["ann@example.com", "Bob@Example.com", "carol@example.com"],
            "unsubscribed": ["BOB@example.com ", 42],
        },
    )
    found = resolve_recipients(notifier, d.event, Directory())
    assert [r.address for r in found] == ["ann@example.com", "carol@example.com"]
