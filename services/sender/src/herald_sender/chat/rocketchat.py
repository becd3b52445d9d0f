"""Rocket.Chat incoming webhooks: its own `text` plus one attachment.

`text` is the subject in bold (what shows in the room list and notifications); the attachment
has the summary, the tone as `color`, the dashboard as `title_link`, short `fields` for the facts
and the event time as `ts`. Text goes through `escape.rocketchat`.
"""

from __future__ import annotations

from typing import Any

from herald_core.deliveries import Delivery

from herald_sender.chat import escape
from herald_sender.chat.limits import FACT_LABEL, FACT_VALUE, SUMMARY, TITLE, fit
from herald_sender.chat.options import ChatOptions
from herald_sender.summary import Summary, summarize


def render_rocketchat(delivery: Delivery, options: ChatOptions) -> dict[str, Any]:
    """The incoming-webhook JSON body for `delivery`. Pure; within ROCKETCHAT_TEXT."""
    return rocketchat_payload(summarize(delivery, options))


def rocketchat_payload(message: Summary) -> dict[str, Any]:
    """The Rocket.Chat body of an already summarised message."""
    attachment: dict[str, Any] = {
        "title": fit(message.subject, TITLE, escape.rocketchat),
    }
    if message.links:
        attachment["title_link"] = message.links[0].url
    text = fit(message.summary, SUMMARY, escape.rocketchat)
    more = [f"[{escape.rocketchat(k.label)}]({k.url})" for k in message.links[1:]]
    attachment["text"] = "\n".join([text, " · ".join(more)]) if more else text
    attachment["color"] = message.colour
    attachment["fields"] = [
        {
            "short": True,
            "title": fit(f.label, FACT_LABEL, escape.rocketchat),
            "value": fit(f.value, FACT_VALUE, escape.rocketchat),
        }
        for f in message.facts
    ]
    attachment["ts"] = message.occurred_at.isoformat()
    footer = fit(message.footer, 300, escape.rocketchat)
    return {
        "text": f"*{fit(message.subject, TITLE, escape.rocketchat)}*\n{footer}",
        "attachments": [attachment],
    }
