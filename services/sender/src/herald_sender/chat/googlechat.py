"""Google Chat incoming webhooks: a `cardsV2` card with a `text` fallback.

    text        the subject (`escape.googlechat_text`): notifications and old clients
    cardsV2     one card, `cardId` herald-<delivery id>:
                header    the subject as title, event type, category, rack and time as subtitle
                section   the status coloured by tone, then the summary (textParagraph)
                section   "Details": the facts as decoratedText (topLabel / text)
                section   the links as a buttonList

Card widget text is a small HTML subset, so user text goes through `escape.html`; header text
is plain and only has mentions neutralised.
"""

from __future__ import annotations

from typing import Any

from herald_core.deliveries import Delivery

from herald_sender.chat import escape
from herald_sender.chat.limits import (
    FACT_LABEL,
    FACT_VALUE,
    GOOGLECHAT_TEXT,
    SUMMARY,
    TITLE,
    fit,
)
from herald_sender.chat.options import ChatOptions
from herald_sender.summary import Summary, summarize


def render_googlechat(delivery: Delivery, options: ChatOptions) -> dict[str, Any]:
    """The incoming-webhook JSON body for `delivery`. Pure; `text` within GOOGLECHAT_TEXT."""
    return googlechat_payload(summarize(delivery, options), card_id=f"herald-{delivery.id}")


def googlechat_payload(message: Summary, *, card_id: str) -> dict[str, Any]:
    """The Google Chat body of an already summarised message."""
    status = fit(message.status or message.display_name, 200, escape.html)
    lead = f'<font color="{message.colour}"><b>{status}</b></font>'
    sections: list[dict[str, Any]] = [
        {
            "widgets": [
                {
                    "textParagraph": {
                        "text": f"{lead}<br>{fit(message.summary, SUMMARY, escape.html)}"
                    }
                }
            ]
        }
    ]
    if message.facts:
        widgets = [
            {
                "decoratedText": {
                    "topLabel": fit(f.label, FACT_LABEL, escape.html),
                    "text": fit(f.value, FACT_VALUE, escape.html),
                    "wrapText": True,
                }
            }
            for f in message.facts
        ]
        sections.append({"header": "Details", "widgets": widgets})
    if message.links:
        buttons = [
            {"text": fit(k.label, 60, escape.html), "onClick": {"openLink": {"url": k.url}}}
            for k in message.links
        ]
        sections.append({"widgets": [{"buttonList": {"buttons": buttons}}]})
    header = {
        "title": fit(message.subject, TITLE, escape.plain),
        "subtitle": fit(f"{message.footer} · {message.when}", 300, escape.plain),
    }
    return {
        "text": fit(message.subject, min(TITLE, GOOGLECHAT_TEXT), escape.googlechat_text),
        "cardsV2": [{"cardId": card_id, "card": {"header": header, "sections": sections}}],
    }
