"""Per-service escaping of user-controlled text (app names, actors, git messages, …).

The aim is that such text can neither mention people nor hide a link behind other words. Each
service parses its own syntax, so each gets its own function; all of them also break the
`@word` mentions (`@everyone`, `@here`, `@channel`, `@all`, `@someone`) with a zero-width space
after the `@`, which looks the same to a reader but no longer pings (Mattermost and Rocket.Chat
notify on plain `@name`; the others are covered twice, which costs nothing).

    slack_mrkdwn      `&`, `<`, `>` as entities (Slack's own rule): `<!channel>`, `<@U123>`,
                      `<http://evil|click>` become text (mrkdwn has no escape for `*_~`, so
                      user text may still be bold; it can no longer link or mention)
    plain             fields no service parses (fallbacks, footers, card headers): mentions
                      neutralised, a zero-width space after each `<` and inside each `](`, as
                      a second line of defence
    slack_plain       `plain_text` objects are never parsed for links or mentions: `plain`
    markdown          CommonMark backslash escapes for `\\ ` * _ ~ | > < [ ] #`: Discord,
                      Gitter, Teams Adaptive Card TextBlocks
    mattermost        Mattermost turns Slack's `<url|label>` and `<!channel>` into Markdown
                      before rendering, so `&`, `<`, `>` become entities first (Markdown shows
                      them as the characters), then the Markdown escapes
    rocketchat        Markdown escapes, and a zero-width space after each `<` so that its
                      Slack-style `<url|label>` links cannot start
    html              `html.escape` (quotes too): Hipchat `message_format=html`, Google Chat card
                      widgets (a small HTML subset), Flowdock thread bodies
    googlechat_text   Google Chat's `text` (`<url|label>` links, `<users/all>` mentions): a
                      zero-width space after each `<`, since the format has no escape

Bare URLs stay visible as themselves (services may still make them clickable); what is
prevented is a link whose label hides where it goes.
"""

from __future__ import annotations

import html as _html
import re

ZWSP = "\u200b"

_MENTION = re.compile(r"(?<![\w.+-])@(?=\w)")
# Brackets suffice to stop `[label](url)`; parentheses stay as they are (readable "(limit 80)").
_MARKDOWN = re.compile(r"([\\`*_~|><\[\]#])")
_MARKDOWN_NO_ANGLES = re.compile(r"([\\`*_~|\[\]#])")


def neutralise_mentions(text: str) -> str:
    """`text` with a zero-width space after each `@` that starts a mention. Pure.

    An `@` inside an e-mail address (`ann@example.com`) is left alone: no service reads it as a
    mention.
    """
    return _MENTION.sub("@" + ZWSP, text)


def slack_mrkdwn(text: str) -> str:
    """Text for a Slack `mrkdwn` object or a top-level `text`. Pure."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return neutralise_mentions(escaped)


def plain(text: str) -> str:
    """Text for fields no service parses (fallbacks, footers, card headers). Pure.

    Mentions are neutralised and a zero-width space follows each `<` and separates `](`, so
    that the text stays inert even if a client parses `<!channel>`, `<url|label>` or
    `[label](url)` there.
    """
    return neutralise_mentions(text.replace("<", "<" + ZWSP).replace("](", "]" + ZWSP + "("))


def slack_plain(text: str) -> str:
    """Text for a Slack `plain_text` object (headers, button labels). Pure."""
    return plain(text)


def markdown(text: str) -> str:
    """Text for CommonMark-like services (Discord, Gitter, Teams TextBlocks). Pure."""
    return neutralise_mentions(_MARKDOWN.sub(r"\\\1", text))


def mattermost(text: str) -> str:
    """Text for Mattermost message and attachment fields. Pure."""
    entities = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return neutralise_mentions(_MARKDOWN_NO_ANGLES.sub(r"\\\1", entities))


def rocketchat(text: str) -> str:
    """Text for Rocket.Chat message and attachment fields. Pure."""
    return markdown(text).replace("<", "<" + ZWSP)


def html(text: str) -> str:
    """Text for an HTML context (Hipchat html messages, Google Chat widgets, Flowdock). Pure."""
    return neutralise_mentions(_html.escape(text, quote=True))


def googlechat_text(text: str) -> str:
    """Text for Google Chat's `text` field (its `<url|label>` and `<users/all>` syntax). Pure."""
    return plain(text)
