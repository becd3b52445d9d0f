"""Vendor limits of the chat services, as named constants with their sources, and `fit`.

Renderers keep every string within these limits *by construction*: each user-controlled value
goes through `fit(text, limit, escape)`, which escapes first and cuts with an ellipsis so that
the escaped result, ellipsis included, is at most `limit` characters (an escape sequence is
never cut in half). The unit tests check every golden payload against the same constants.
"""

from __future__ import annotations

from collections.abc import Callable

from herald_sender.summary.facts import FACT_LABEL, FACT_VALUE, SUMMARY, TITLE, one_line

__all__ = ["FACT_LABEL", "FACT_VALUE", "SUMMARY", "TITLE", "fit", "join_within", "one_line"]

ELLIPSIS = "…"

# Slack Block Kit, https://api.slack.com/reference/block-kit/blocks and
# https://api.slack.com/methods/chat.postMessage#truncating
SLACK_MAX_BLOCKS = 50
SLACK_SECTION_TEXT = 3000
SLACK_SECTION_FIELDS = 10
SLACK_FIELD_TEXT = 2000
SLACK_HEADER_TEXT = 150
SLACK_CONTEXT_ELEMENTS = 10
SLACK_BUTTON_TEXT = 75
SLACK_BUTTON_URL = 3000
SLACK_ACTIONS_ELEMENTS = 25
SLACK_TEXT = 40000  # the top-level `text`; Slack truncates longer messages

# Discord, https://discord.com/developers/docs/resources/message#embed-object-embed-limits
DISCORD_MAX_EMBEDS = 10
DISCORD_TITLE = 256
DISCORD_DESCRIPTION = 4096
DISCORD_MAX_FIELDS = 25
DISCORD_FIELD_NAME = 256
DISCORD_FIELD_VALUE = 1024
DISCORD_FOOTER = 2048
DISCORD_AUTHOR = 256
DISCORD_TOTAL = 6000  # title + description + field names and values + footer + author
DISCORD_CONTENT = 2000

# Microsoft Teams (Workflows webhooks): a message, card included, is at most 28 KB,
# https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/connectors-using
TEAMS_MAX_BYTES = 28 * 1024

# Google Chat, https://developers.google.com/workspace/chat/api/reference/rest/v1/spaces.messages
# (`text`: 4,096 characters; a whole message: 32,000 bytes)
GOOGLECHAT_TEXT = 4096
GOOGLECHAT_MAX_BYTES = 32000

# Mattermost: a post holds 16,383 characters by default (MaxPostSize),
# https://developers.mattermost.com/integrate/reference/message-attachments/
MATTERMOST_TEXT = 16383

# Rocket.Chat: Message_MaxAllowedSize defaults to 5,000 characters,
# https://docs.rocket.chat/docs/message
ROCKETCHAT_TEXT = 5000

# Hipchat API v1 rooms/message, https://www.hipchat.com/docs/api/method/rooms/message
# (`from`: under 15 characters; `message`: 10,000 characters)
HIPCHAT_FROM = 14
HIPCHAT_MESSAGE = 10000

# Flowdock Messages API (threads), https://www.flowdock.com/api/integration-getting-started
FLOWDOCK_TITLE = 300  # not documented; kept short as Flowdock's own integrations do
FLOWDOCK_BODY = 8096

# Gitter custom webhooks (`message`, `level`); the message is capped like a chat message,
# https://developer.gitter.im/docs/messages-resource
GITTER_MESSAGE = 4096

# Herald's own caps (one fact's label and value, a summary, a title) belong to the summary
# every human channel shares; they are well inside every service's.


def _identity(text: str) -> str:
    return text


def fit(text: str, limit: int, escape: Callable[[str], str] = _identity) -> str:
    """`escape(text)` cut to at most `limit` characters, ending in "…" when cut. Pure.

    The cut is made on the raw text (the longest prefix whose escaped form plus the ellipsis
    fits), so an escape sequence or a neutralised mention is never split.

    Raises:
        ValueError: when `limit` is smaller than 1.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    low, high = 0, min(len(text), limit)
    while low < high:  # the longest prefix length whose escaped form fits with the ellipsis
        middle = (low + high + 1) // 2
        if len(escape(text[:middle])) + len(ELLIPSIS) <= limit:
            low = middle
        else:
            high = middle - 1
    return escape(text[:low]) + ELLIPSIS


def join_within(parts: list[str], separator: str, limit: int) -> str:
    """`parts` joined by `separator` within `limit`, leaving out whole parts from the end.

    Pure. Cutting markup (HTML, Markdown) in the middle could leave a tag or a link open; whole
    lines are dropped instead. The first part is always kept, cut to `limit` if need be.
    """
    kept = [parts[0][:limit]] if parts else []
    size = len(kept[0]) if kept else 0
    for part in parts[1:]:
        if size + len(separator) + len(part) > limit:
            break
        kept.append(part)
        size += len(separator) + len(part)
    return separator.join(kept)
