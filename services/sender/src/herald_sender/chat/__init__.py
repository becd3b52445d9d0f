"""Chat payloads: one pure renderer per chat service, `render_<service>(delivery, options)`.

    from herald_sender.chat import ChatOptions, render_chat
    body = render_chat(Channel.SLACK, delivery, ChatOptions(dashboard_url_template=...))

Each renderer turns a `Delivery` into the JSON body (a dict) the service's incoming webhook
takes; it does no I/O, reads no clock and raises only `PermanentDeliveryError` (Hipchat without
a room). Sending, rate limits and auth (Hipchat's token, Flowdock's flow token: `hipchat_url`,
`with_flow_token`) are the senders' business.

    (summary)   `herald_sender.summary.summarize`: the delivery as a service-neutral
                `Summary` (title, sentence, severity and tone, facts, links), shared with
                the e-mail channel; facts, value display and link safety live there
    options     `ChatOptions`: the summary's options, and the product name
    escape      per-service escaping of user-controlled text (mentions, disguised links)
    limits      the services' limits as named constants, and `fit` (escape, then cut with "…")
    slack, mattermost, rocketchat, discord, msteams, googlechat, hipchat, flowdock, gitter
    samples     fixed sample deliveries (golden tests, the gallery)
    gallery     `python -m herald_sender.chat.gallery` regenerates the golden files and
                docs/gallery.md (`--check` reports staleness instead)

Why plain functions and not (sandboxed) Jinja2 templates, as the e-mail channel uses: the
output is JSON, not text. Building dicts in Python makes a malformed payload impossible (no
quoting or comma mistakes in a template), lets every string go through its service's escaping
and length cap at the one place it is placed, and lets mypy check the shape. Templates would
have to produce JSON text and be re-parsed, and escaping would depend on every template author
remembering the right filter.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from herald_core.deliveries import Delivery
from herald_core.errors import FailureReason, PermanentDeliveryError
from herald_core.notifiers import WebhookFormat
from herald_core.topics import Channel

from herald_sender.chat.discord import render_discord
from herald_sender.chat.flowdock import render_flowdock, with_flow_token
from herald_sender.chat.gitter import render_gitter
from herald_sender.chat.googlechat import render_googlechat
from herald_sender.chat.hipchat import hipchat_form, hipchat_room, hipchat_url, render_hipchat
from herald_sender.chat.mattermost import render_mattermost
from herald_sender.chat.msteams import render_msteams
from herald_sender.chat.options import ChatOptions
from herald_sender.chat.rocketchat import render_rocketchat
from herald_sender.chat.slack import render_slack
from herald_sender.summary import Fact, Kind, Link, Summary, Tone, summarize

Renderer = Callable[[Delivery, ChatOptions], dict[str, Any]]

RENDERERS: Mapping[Channel, Renderer] = {
    Channel.SLACK: render_slack,
    Channel.MATTERMOST: render_mattermost,
    Channel.ROCKETCHAT: render_rocketchat,
    Channel.DISCORD: render_discord,
    Channel.MSTEAMS: render_msteams,
    Channel.GOOGLECHAT: render_googlechat,
    Channel.HIPCHAT: render_hipchat,
    Channel.FLOWDOCK: render_flowdock,
    Channel.GITTER: render_gitter,
}
"""Chat channel → its renderer; explicit, no discovery (docs/contributing.md)."""

WEBHOOK_FORMAT_RENDERERS: Mapping[WebhookFormat, Renderer] = {
    WebhookFormat.SLACK: render_slack,
    WebhookFormat.FLOWDOCK: render_flowdock,
    WebhookFormat.GITTER: render_gitter,
}
"""The webhook formats (a notifier's `format`) that are chat payloads, for the webhook channel."""


def render_chat(channel: Channel, delivery: Delivery, options: ChatOptions) -> dict[str, Any]:
    """The JSON body of `delivery` for a chat `channel`. Pure.

    Raises:
        PermanentDeliveryError: INVALID_PAYLOAD for a channel that is not a chat service, or
            what the service's renderer raises (Hipchat without a room).
    """
    renderer = RENDERERS.get(channel)
    if renderer is None:
        raise PermanentDeliveryError(
            FailureReason.INVALID_PAYLOAD, f"{channel.value!r} is not a chat channel"
        )
    return renderer(delivery, options)


__all__ = [
    "RENDERERS",
    "WEBHOOK_FORMAT_RENDERERS",
    "ChatOptions",
    "Fact",
    "Kind",
    "Link",
    "Renderer",
    "Summary",
    "Tone",
    "hipchat_form",
    "hipchat_room",
    "hipchat_url",
    "render_chat",
    "render_discord",
    "render_flowdock",
    "render_gitter",
    "render_googlechat",
    "render_hipchat",
    "render_mattermost",
    "render_msteams",
    "render_rocketchat",
    "render_slack",
    "summarize",
    "with_flow_token",
]
