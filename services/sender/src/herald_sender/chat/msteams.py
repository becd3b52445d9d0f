"""Microsoft Teams through a Workflows ("When a Teams webhook request is received") webhook.

The body is a `message` activity carrying one Adaptive Card (version 1.4, which every Teams
client renders; the tests validate it against the official 1.5 JSON schema):

    Container (style: the tone)   the subject in bold, then the event type, category, rack, time
    TextBlock                     the summary
    FactSet                       the facts
    actions                       one Action.OpenUrl per link

Teams renders TextBlock and Fact text as a Markdown subset, so user text goes through
`escape.markdown`; a mention needs an `msteams.entities` entry, which Herald never writes.
The caps of `limits` keep a card far below Teams' 28 KB.
"""

from __future__ import annotations

from typing import Any

from herald_core.deliveries import Delivery

from herald_sender.chat import escape
from herald_sender.chat.limits import FACT_LABEL, FACT_VALUE, SUMMARY, TITLE, fit, one_line
from herald_sender.chat.options import ChatOptions
from herald_sender.summary import Summary, Tone, summarize

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_VERSION = "1.4"

_STYLE = {Tone.GOOD: "good", Tone.INFO: "accent", Tone.WARNING: "warning", Tone.DANGER: "attention"}


def render_msteams(delivery: Delivery, options: ChatOptions) -> dict[str, Any]:
    """The Workflows webhook JSON body for `delivery`. Pure; well under TEAMS_MAX_BYTES."""
    return msteams_payload(summarize(delivery, options))


def msteams_payload(message: Summary) -> dict[str, Any]:
    """The Teams body of an already summarised message."""
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": CARD_CONTENT_TYPE,
                "contentUrl": None,
                "content": adaptive_card(message),
            }
        ],
    }


def adaptive_card(message: Summary) -> dict[str, Any]:
    """The Adaptive Card of a message. Pure."""
    heading = {
        "type": "Container",
        "style": _STYLE[message.tone],
        "bleed": True,
        "items": [
            {
                "type": "TextBlock",
                "text": fit(message.subject, TITLE, escape.markdown),
                "weight": "Bolder",
                "size": "Medium",
                "wrap": True,
            },
            {
                "type": "TextBlock",
                "text": fit(f"{message.footer} · {message.when}", 300, escape.markdown),
                "isSubtle": True,
                "size": "Small",
                "spacing": "None",
                "wrap": True,
            },
        ],
    }
    body: list[dict[str, Any]] = [
        heading,
        {"type": "TextBlock", "text": fit(message.summary, SUMMARY, escape.markdown), "wrap": True},
    ]
    if message.facts:
        facts = [
            {
                "title": fit(f.label, FACT_LABEL, escape.markdown),
                "value": fit(f.value, FACT_VALUE, escape.markdown),
            }
            for f in message.facts
        ]
        body.append({"type": "FactSet", "facts": facts})
    card: dict[str, Any] = {
        "$schema": CARD_SCHEMA,
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "fallbackText": one_line(fit(message.subject, TITLE, escape.plain)),
        "body": body,
    }
    if message.links:
        card["actions"] = [
            {"type": "Action.OpenUrl", "title": fit(k.label, 60), "url": k.url}
            for k in message.links
        ]
    return card
