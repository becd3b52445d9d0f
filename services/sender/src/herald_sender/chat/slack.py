"""Slack incoming webhooks: Block Kit, coloured by severity.

    text          the fallback (notifications, screen readers): subject — summary, mrkdwn
    blocks        header (the subject, plain_text) and a section with the summary
    attachments   one attachment whose `color` is the tone and whose `blocks` are the facts
                  (a section of fields), the links (an actions block of URL buttons) and a
                  context line (event type, category, rack, time)

Block Kit has no colour of its own; a secondary attachment holding blocks is the only way to
keep the coloured bar Slack users read severity from, and Slack renders attachment blocks like
top-level ones. Mattermost, which speaks the older attachment format only, has its own module.
"""

from __future__ import annotations

from typing import Any

from herald_core.deliveries import Delivery

from herald_sender.chat import escape
from herald_sender.chat.limits import (
    FACT_LABEL,
    FACT_VALUE,
    SLACK_BUTTON_TEXT,
    SLACK_CONTEXT_ELEMENTS,
    SLACK_FIELD_TEXT,
    SLACK_HEADER_TEXT,
    SLACK_SECTION_FIELDS,
    SLACK_SECTION_TEXT,
    SLACK_TEXT,
    SUMMARY,
    fit,
)
from herald_sender.chat.options import ChatOptions
from herald_sender.summary import Summary, summarize


def render_slack(delivery: Delivery, options: ChatOptions) -> dict[str, Any]:
    """The incoming-webhook JSON body for `delivery`. Pure; every Block Kit limit holds."""
    return slack_payload(summarize(delivery, options))


def slack_payload(message: Summary) -> dict[str, Any]:
    """The Slack body of an already summarised message (Clever Cloud's `slack` format too)."""
    header = fit(message.subject, SLACK_HEADER_TEXT, escape.slack_plain)
    summary = fit(message.summary, min(SUMMARY, SLACK_SECTION_TEXT), escape.slack_mrkdwn)
    details: list[dict[str, Any]] = []
    fields = [_field(f.label, f.value) for f in message.facts[:SLACK_SECTION_FIELDS]]
    if fields:
        details.append({"type": "section", "fields": fields})
    if message.links:
        details.append(
            {"type": "actions", "elements": [_button(k.label, k.url) for k in message.links]}
        )
    details.append({"type": "context", "elements": _context(message)})
    return {
        "text": fit(f"{message.subject} — {message.summary}", SLACK_TEXT, escape.slack_mrkdwn),
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": header, "emoji": False}},
            {"type": "section", "text": {"type": "mrkdwn", "text": summary}},
        ],
        "attachments": [{"color": message.colour, "blocks": details}],
    }


def _field(label: str, value: str) -> dict[str, str]:
    name = fit(label, FACT_LABEL, escape.slack_mrkdwn)
    shown = fit(value, min(FACT_VALUE, SLACK_FIELD_TEXT - FACT_LABEL - 4), escape.slack_mrkdwn)
    return {"type": "mrkdwn", "text": f"*{name}*\n{shown}"}


def _button(label: str, url: str) -> dict[str, Any]:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": fit(label, SLACK_BUTTON_TEXT, escape.slack_plain)},
        "url": url,
    }


def _context(message: Summary) -> list[dict[str, str]]:
    epoch = int(message.occurred_at.timestamp())
    when = f"<!date^{epoch}^{{date_short_pretty}} {{time}}|{message.when}>"
    footer = fit(message.footer, 300, escape.slack_mrkdwn)
    return [{"type": "mrkdwn", "text": f"{footer} · {when}"}][:SLACK_CONTEXT_ELEMENTS]
