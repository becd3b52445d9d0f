"""Mattermost incoming webhooks: Slack-compatible message attachments.

One attachment: `fallback` (notifications), `color` (the tone), `title` (the subject) linked
to the dashboard, `text` (the summary), short `fields` (the facts and the other links) and a
`footer` (event type, category, rack, time). Mattermost renders attachment text as Markdown
after turning Slack's `<url|label>` syntax into links, hence `escape.mattermost`; the
fallback (push notifications) and footer are shown as they are, hence `escape.plain`.
"""

from __future__ import annotations

from typing import Any

from herald_core.deliveries import Delivery

from herald_sender.chat import escape
from herald_sender.chat.limits import FACT_LABEL, FACT_VALUE, SUMMARY, TITLE, fit, one_line
from herald_sender.chat.options import ChatOptions
from herald_sender.summary import Summary, summarize


def render_mattermost(delivery: Delivery, options: ChatOptions) -> dict[str, Any]:
    """The incoming-webhook JSON body for `delivery`. Pure; within MATTERMOST_TEXT."""
    return mattermost_payload(summarize(delivery, options))


def mattermost_payload(message: Summary) -> dict[str, Any]:
    """The Mattermost body of an already summarised message."""
    attachment: dict[str, Any] = {
        "fallback": fit(f"{message.subject} — {message.summary}", SUMMARY, escape.plain),
        "color": message.colour,
        "title": fit(message.subject, TITLE, escape.mattermost),
    }
    if message.links:
        attachment["title_link"] = message.links[0].url
    attachment["text"] = fit(message.summary, SUMMARY, escape.mattermost)
    fields = [
        {
            "short": True,
            "title": fit(f.label, FACT_LABEL, escape.mattermost),
            "value": fit(f.value, FACT_VALUE, escape.mattermost),
        }
        for f in message.facts
    ]
    if message.links[1:]:
        links = " · ".join(f"[{escape.mattermost(k.label)}]({k.url})" for k in message.links[1:])
        fields.append({"short": False, "title": "Links", "value": links})
    attachment["fields"] = fields
    attachment["footer"] = one_line(fit(f"{message.footer} · {message.when}", 300, escape.plain))
    return {"attachments": [attachment]}
