"""E-mail and chat say the same thing: for each event, the facts (labels and values), the
sentence and the links read out of the e-mail's text part are those read out of the Slack
and Discord payloads, each parsed back from what the channel produced (escaping undone).

A chat service may cut a long value shorter than the summary's cap (Discord: 250 characters),
always ending it with "…"; such a value must be a prefix of the e-mail's.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from herald_core.deliveries import Delivery, Recipient
from herald_core.intake import parse_event
from herald_core.notifiers import Notifier, Scope, Selection
from herald_core.topics import Channel
from herald_sender.chat import ChatOptions, render_discord, render_slack
from herald_sender.chat.escape import ZWSP
from herald_sender.chat.samples import SAMPLES, sample_delivery
from herald_sender.mail import render_email

OPTIONS = ChatOptions(event_url_template="https://herald.example.com/events/{event_id}")
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LONG_TEXT = "A release note that goes on. " * 40


def event(event_type: str, type_data: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {
        "id": f"ev-{event_type}",
        "type": event_type,
        "created_at": "2026-03-01T11:59:30Z",
        "app_id": "app-6f1c",
        "app_name": "shop",
        "owner_id": "owner-42",
        "user": {"id": "us-1", "username": "johndoe"},
        "type_data": type_data,
        **top,
    }


EXTRA: dict[str, dict[str, Any]] = {
    "clever_credits_added": event(
        "CREDITS_ADDED",
        {"amount": 50, "currency": "EUR"},
        app_id=None,
        app_name=None,
        source="clevercloud",
    ),
    "notifier_disabled": event(
        "notifier_disabled",
        {"notifier_name": "team hook", "reason": "410 Gone", "failures": 12},
    ),
    "payment_failed": event(
        "payment_failed",
        {"amount": 19.9, "currency": "USD", "reason": "card declined"},
        app_id=None,
        app_name=None,
    ),
    "missing_fields": event("addon_provisioned", {}),
    "booleans_and_numbers": event(
        "app_scaled",
        {"autoscale": True, "sticky": False, "ratio": 0.50, "big": 12345678901, "tags": ["a", 2]},
    ),
    "long_text": event("app_restarted", {"note": LONG_TEXT, "docs_url": "https://x.io/a b"}),
    "nulls_and_empties": event("app_restarted", {"answer": 42, "nothing": None, "empty": ""}),
    "deploy_pending": event(
        "app_deployed", {"status": "queued", "git_ref": "main", "duration": 3725}, user=None
    ),
    "hostile_links": event(
        "app_restarted",
        {
            "message": "@here see <https://evil|docs> and [click](https://evil) & more",
            "evil_url": "javascript:alert(1)",
            "runbook_url": "https://runbooks.example.com/shop?a=1&b=2",
        },
    ),
}
CASES = [*SAMPLES, *EXTRA]


def delivery_of(case: str, channel: Channel) -> Delivery:
    if case in SAMPLES:
        return sample_delivery(case, channel)
    parsed = parse_event(EXTRA[case])
    notifier = Notifier(
        id=f"notifier-{channel.value}",
        name="team",
        scope=Scope.OWNER,
        owner_id="owner-42",
        platform=channel,
        selection=Selection(send_all_events=True),
        type_data={},
    )
    recipients = (Recipient(address="ann@example.com"),) if channel is Channel.EMAIL else ()
    return Delivery.for_(parsed, notifier, NOW, recipients=recipients)


def mail_text(case: str) -> str:
    delivery = delivery_of(case, Channel.EMAIL)
    recipient = delivery.recipients[0] if delivery.recipients else Recipient(address="a@x.io")
    message = render_email(
        delivery,
        recipient,
        from_addr="Herald <h@herald.local>",
        unsubscribe_base_url="https://api.herald.example",
        secret="s",
        now=NOW,
        options=OPTIONS,
    )
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    body = parsed.get_body(("plain",))
    assert body is not None
    return str(body.get_content()).replace("\r\n", "\n")


_FACT_LINE = re.compile(r"^  (?P<label>[^:]+): (?P<value>.*)$")
_LINK_LINE = re.compile(r"^(?P<label>[^ ][^:]*): (?P<url>https?://\S+)$")


def mail_parts(text: str) -> tuple[str, list[tuple[str, str]], list[str]]:
    """The sentence, the facts and the link URLs of an e-mail's text part."""
    body = text.split("\n--\n")[0]
    lines = body.split("\n")
    sentence = lines[2]
    facts = [(m["label"], m["value"]) for m in map(_FACT_LINE.match, lines) if m]
    links = [m["url"] for m in map(_LINK_LINE.match, lines) if m]
    return sentence, facts, links


def from_slack(text: str) -> str:
    return html.unescape(text).replace(ZWSP, "")


def from_markdown(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text).replace(ZWSP, "")


def slack_parts(case: str) -> tuple[str, list[tuple[str, str]], list[str]]:
    payload = render_slack(delivery_of(case, Channel.SLACK), OPTIONS)
    sentence = from_slack(payload["blocks"][1]["text"]["text"])
    blocks = payload["attachments"][0]["blocks"]
    facts: list[tuple[str, str]] = []
    links: list[str] = []
    for block in blocks:
        for field in block.get("fields", []):
            label, value = field["text"].split("\n", 1)
            facts.append((from_slack(label.strip("*")), from_slack(value)))
        links += [element["url"] for element in block.get("elements", []) if "url" in element]
    return sentence, facts, links


def discord_parts(case: str) -> tuple[str, list[tuple[str, str]], list[str]]:
    [embed] = render_discord(delivery_of(case, Channel.DISCORD), OPTIONS)["embeds"]
    description = embed["description"].split("\n")
    facts = [(from_markdown(f["name"]), from_markdown(f["value"])) for f in embed["fields"]]
    others = re.findall(r"\]\((https?://[^)]+)\)", "\n".join(description[1:]))
    links = ([embed["url"]] if "url" in embed else []) + others
    return from_markdown(description[0]), facts, links


def same(mail: str, chat: str) -> bool:
    """Equal, or the chat service cut the same text shorter (ending it with "…")."""
    if mail == chat:
        return True
    return chat.endswith("…") and mail.startswith(chat[:-1])


def assert_agree(mail: tuple[str, list[tuple[str, str]], list[str]], chat: Any, name: str):
    sentence, facts, links = mail
    chat_sentence, chat_facts, chat_links = chat
    assert same(sentence, chat_sentence), f"{name} sentence: {sentence!r} / {chat_sentence!r}"
    assert [label for label, _ in facts] == [label for label, _ in chat_facts], name
    for (label, value), (_, chat_value) in zip(facts, chat_facts, strict=True):
        assert same(value, chat_value), f"{name} {label}: {value!r} / {chat_value!r}"
    assert links == chat_links, name


def test_there_are_twenty_cases_across_families():
    assert len(CASES) == 20


@pytest.mark.parametrize("case", CASES)
def test_mail_slack_and_discord_show_the_same_facts(case):
    mail = mail_parts(mail_text(case))
    assert mail[1], "every case shows facts"
    assert_agree(mail, slack_parts(case), "slack")
    assert_agree(mail, discord_parts(case), "discord")


def test_the_rules_that_used_to_differ():
    """A missing field, a boolean and an unsafe link, as both channels now show them."""
    missing, facts, _ = mail_parts(mail_text("missing_fields"))
    assert missing == "An addon was provisioned"  # the catalog's description, not "?"
    _, facts, _ = mail_parts(mail_text("booleans_and_numbers"))
    shown = dict(facts)
    assert (shown["Autoscale"], shown["Sticky"], shown["Ratio"]) == ("yes", "no", "0.5")
    assert shown["Tags"] == "a, 2"
    _, _, links = mail_parts(mail_text("hostile_links"))
    assert "https://runbooks.example.com/shop?a=1&b=2" in links
    assert not [u for u in links if "evil" in u or "javascript" in u]
