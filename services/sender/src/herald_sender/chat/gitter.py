"""Gitter custom webhooks: `message` (Markdown) and `level` ("error" turns the line red).

The message is the subject in bold, the summary, one `- **Label**: value` line per fact and the
links; user text goes through `escape.markdown`.
"""

from __future__ import annotations

from typing import Any

from herald_core.deliveries import Delivery

from herald_sender.chat import escape
from herald_sender.chat.limits import (
    FACT_LABEL,
    FACT_VALUE,
    GITTER_MESSAGE,
    SUMMARY,
    TITLE,
    fit,
    join_within,
)
from herald_sender.chat.options import ChatOptions
from herald_sender.summary import Summary, Tone, summarize


def render_gitter(delivery: Delivery, options: ChatOptions) -> dict[str, Any]:
    """The webhook JSON body for `delivery`. Pure; within GITTER_MESSAGE."""
    return gitter_payload(summarize(delivery, options))


def gitter_payload(message: Summary) -> dict[str, Any]:
    """The Gitter body of an already summarised message."""
    lines = [
        f"**{fit(message.subject, TITLE, escape.markdown)}**",
        fit(message.summary, SUMMARY, escape.markdown),
        *(
            f"- **{fit(f.label, FACT_LABEL, escape.markdown)}**: "
            f"{fit(f.value, FACT_VALUE, escape.markdown)}"
            for f in message.facts
        ),
    ]
    if message.links:
        lines.append(" · ".join(f"[{escape.markdown(k.label)}]({k.url})" for k in message.links))
    lines.append(f"_{fit(f'{message.footer} · {message.when}', 300, escape.markdown)}_")
    return {
        "message": join_within(lines, "\n", GITTER_MESSAGE),
        "level": "error" if message.tone is Tone.DANGER else "info",
    }
