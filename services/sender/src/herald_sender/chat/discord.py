"""Discord webhooks: one embed, no pings.

The embed has the subject as `title` (linked to the dashboard), the summary and the other
links as `description`, the facts as inline `fields`, the tone as `color` (an int), the event
time as `timestamp` and the event type, category and rack in the `footer`.
`allowed_mentions: {"parse": []}` stops every mention server-side; `escape.markdown` also keeps
them (and masked links) from being written at all.

Discord counts title, description, field names and values, footer and author against 6,000
characters per message: the per-string caps below add up to less (`embed_total`, checked by the
tests), so no payload needs trimming after the fact.
"""

from __future__ import annotations

from typing import Any

from herald_core.deliveries import Delivery

from herald_sender.chat import escape
from herald_sender.chat.limits import (
    DISCORD_FIELD_NAME,
    DISCORD_FIELD_VALUE,
    DISCORD_MAX_FIELDS,
    DISCORD_TITLE,
    FACT_LABEL,
    SUMMARY,
    fit,
)
from herald_sender.chat.options import ChatOptions
from herald_sender.summary import Summary, summarize

FOOTER = 200
LINKS = 500
FIELDS = 10
FIELD_VALUE = 250
# Worst case: 256 title + 1500 summary + 1 + 500 links + 10 x (60 + 250) fields + 200 footer
# = 5,557 characters, under DISCORD_TOTAL.


def render_discord(delivery: Delivery, options: ChatOptions) -> dict[str, Any]:
    """The webhook JSON body for `delivery`. Pure; every embed limit holds."""
    return discord_payload(summarize(delivery, options))


def discord_payload(message: Summary) -> dict[str, Any]:
    """The Discord body of an already summarised message."""
    embed: dict[str, Any] = {"title": fit(message.subject, DISCORD_TITLE, escape.markdown)}
    if message.links:
        embed["url"] = message.links[0].url
    description = fit(message.summary, SUMMARY, escape.markdown)
    links = [f"[{escape.markdown(k.label)}]({k.url})" for k in message.links[1:]]
    if links:
        description += "\n" + fit(" · ".join(links), LINKS)
    embed["description"] = description
    embed["color"] = int(message.colour.removeprefix("#"), 16)
    embed["fields"] = [
        {
            "name": fit(f.label, min(FACT_LABEL, DISCORD_FIELD_NAME), escape.markdown),
            "value": fit(f.value, min(FIELD_VALUE, DISCORD_FIELD_VALUE), escape.markdown),
            "inline": True,
        }
        for f in message.facts[: min(FIELDS, DISCORD_MAX_FIELDS)]
    ]
    embed["timestamp"] = message.occurred_at.isoformat()
    embed["footer"] = {"text": fit(message.footer, FOOTER, escape.plain)}
    return {"embeds": [embed], "allowed_mentions": {"parse": []}}


def embed_total(embed: dict[str, Any]) -> int:
    """The characters Discord counts against DISCORD_TOTAL for one embed. Pure."""
    fields = embed.get("fields", [])
    return (
        len(embed.get("title", ""))
        + len(embed.get("description", ""))
        + sum(len(f["name"]) + len(f["value"]) for f in fields)
        + len(embed.get("footer", {}).get("text", ""))
        + len(embed.get("author", {}).get("name", ""))
    )
