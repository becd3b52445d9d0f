"""Flowdock (Clever Cloud's `flowdock` webhook format): a thread activity.

The Messages API body: `event` "activity", `author` (the actor, else the product), `title`
(the summary), `external_thread_id` (one thread per app or owner and category, so a day of
deployments reads as one conversation) and `thread` with `title` (the subject), `body`
(HTML: the summary and the links), `fields` (the facts), `status` (the status or display name,
coloured by tone) and `external_url` (the dashboard). The flow token is the sender's business:
`with_flow_token` adds it at send time so that rendered payloads never hold it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from herald_core.deliveries import Delivery

from herald_sender.chat import escape
from herald_sender.chat.limits import (
    FACT_LABEL,
    FACT_VALUE,
    FLOWDOCK_BODY,
    FLOWDOCK_TITLE,
    SUMMARY,
    fit,
    join_within,
)
from herald_sender.chat.options import ChatOptions
from herald_sender.summary import Summary, Tone, summarize

_COLOUR = {Tone.GOOD: "green", Tone.INFO: "blue", Tone.WARNING: "yellow", Tone.DANGER: "red"}


def render_flowdock(delivery: Delivery, options: ChatOptions) -> dict[str, Any]:
    """The Messages API body for `delivery`, without the flow token. Pure."""
    event = delivery.event
    message = summarize(delivery, options)
    thread = f"herald:{event.app_id or event.owner_id}:{message.category}"
    return flowdock_payload(message, thread_id=thread, product=options.product_name)


def flowdock_payload(message: Summary, *, thread_id: str, product: str) -> dict[str, Any]:
    """The Flowdock body of an already summarised message."""
    summary = fit(message.summary, SUMMARY, escape.html)
    links = " · ".join(
        f'<a href="{escape.html(k.url)}">{escape.html(k.label)}</a>' for k in message.links
    )
    body = join_within([f"<p>{summary}</p>", f"<p>{links}</p>" if links else ""], "", FLOWDOCK_BODY)
    thread: dict[str, Any] = {
        "title": fit(message.subject, FLOWDOCK_TITLE, escape.html),
        "body": body,
        "fields": [
            {
                "label": fit(f.label, FACT_LABEL, escape.html),
                "value": fit(f.value, FACT_VALUE, escape.html),
            }
            for f in message.facts
        ],
        "status": {
            "color": _COLOUR[message.tone],
            "value": fit(message.status or message.display_name, 40, escape.html),
        },
    }
    if message.links:
        thread["external_url"] = message.links[0].url
    return {
        "event": "activity",
        "author": {"name": fit(message.actor or product, 100, escape.html)},
        "title": fit(message.summary, FLOWDOCK_TITLE, escape.html),
        "external_thread_id": fit(thread_id, 200),
        "thread": thread,
    }


def with_flow_token(payload: Mapping[str, Any], token: str) -> dict[str, Any]:
    """The payload with `flow_token` added, for the request only. Pure."""
    return {"flow_token": token, **payload}
