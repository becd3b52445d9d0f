"""Hipchat (Cloud 66's chat): API v1 `rooms/message`.

The body holds `room_id` (the notifier's `room_id`, or `room`), `from` (the product name, under
15 characters), `message` (HTML), `message_format` "html", `color` (the tone: green, purple,
yellow, red) and `notify` (1 for danger, so that only problems ring). The API wants the fields
form-encoded (`hipchat_form`) and the auth token as a query parameter (`hipchat_url`): the
token never enters the body, so it never reaches a payload log or the recorder.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from herald_core.deliveries import Delivery
from herald_core.errors import FailureReason, PermanentDeliveryError

from herald_sender.chat import escape
from herald_sender.chat.limits import (
    FACT_LABEL,
    FACT_VALUE,
    HIPCHAT_FROM,
    HIPCHAT_MESSAGE,
    SUMMARY,
    TITLE,
    fit,
    join_within,
)
from herald_sender.chat.options import ChatOptions
from herald_sender.summary import Summary, Tone, summarize

API_BASE = "https://api.hipchat.com"
_COLOUR = {Tone.GOOD: "green", Tone.INFO: "purple", Tone.WARNING: "yellow", Tone.DANGER: "red"}


def render_hipchat(delivery: Delivery, options: ChatOptions) -> dict[str, Any]:
    """The `rooms/message` fields for `delivery`. Pure.

    Raises:
        PermanentDeliveryError: INVALID_PAYLOAD when the notifier names no room.
    """
    room = hipchat_room(delivery.notifier.type_data)
    if room is None:
        raise PermanentDeliveryError(
            FailureReason.INVALID_PAYLOAD, "the notifier has no Hipchat room_id"
        )
    return hipchat_payload(summarize(delivery, options), room=room, sender=options.product_name)


def hipchat_payload(message: Summary, *, room: str, sender: str) -> dict[str, Any]:
    """The Hipchat fields of an already summarised message."""
    lines = [
        f"<b>{fit(message.subject, TITLE, escape.html)}</b>",
        fit(message.summary, SUMMARY, escape.html),
        *(
            f"<b>{fit(f.label, FACT_LABEL, escape.html)}</b>: "
            f"{fit(f.value, FACT_VALUE, escape.html)}"
            for f in message.facts
        ),
    ]
    if message.links:
        lines.append(
            " · ".join(
                f'<a href="{escape.html(k.url)}">{escape.html(k.label)}</a>' for k in message.links
            )
        )
    lines.append(f"<i>{fit(f'{message.footer} · {message.when}', 300, escape.html)}</i>")
    return {
        "room_id": room,
        "from": fit(sender, HIPCHAT_FROM),
        "message": join_within(lines, "<br>", HIPCHAT_MESSAGE),
        "message_format": "html",
        "color": _COLOUR[message.tone],
        "notify": 1 if message.tone is Tone.DANGER else 0,
    }


def hipchat_room(type_data: Mapping[str, Any]) -> str | None:
    """The room a notifier posts to (`room_id`, else `room`), or None. Pure."""
    for key in ("room_id", "room"):
        value = type_data.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            return str(value).strip()
    return None


def hipchat_url(token: str, base: str = API_BASE) -> str:
    """The v1 `rooms/message` URL with the notifier's auth token as a query parameter. Pure.

    The result holds a secret: log it only through `redact_url`.
    """
    query = urlencode({"format": "json", "auth_token": token})
    return f"{base.rstrip('/')}/v1/rooms/message?{query}"


def hipchat_form(payload: Mapping[str, Any]) -> bytes:
    """The payload as the `application/x-www-form-urlencoded` body the v1 API reads. Pure."""
    return urlencode({k: str(v) for k, v in payload.items()}).encode()
