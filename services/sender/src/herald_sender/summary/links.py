"""The links of a summary (chat and e-mail): the dashboard, `*_url` fields, the event page.

Only absolute http(s) URLs without characters that a chat link syntax treats specially
(`<`, `>`, `|`, quotes, spaces, …) are kept, so a renderer may put a URL into
`<url|label>`, `[label](url)` or `href="url"` as it is; this is the one link-safety rule of
every human channel.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from urllib.parse import quote

from herald_core.envelope import Event

from herald_sender.summary.facts import label
from herald_sender.summary.options import SummaryOptions

MAX_LINKS = 5
MAX_URL = 1000
_URL_FORBIDDEN = re.compile(r"[\s<>\"'`|\\{}^\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Link:
    label: str
    url: str


def links_of(event: Event, options: SummaryOptions) -> tuple[Link, ...]:
    """The dashboard, the safe `*_url` fields and the event page, at most MAX_LINKS. Pure."""
    found: list[Link] = []
    dashboard = _fill_url(options.dashboard_url_template, event)
    if dashboard:
        found.append(Link("Open dashboard", dashboard))
    for key, value in event.type_data.items():
        if key.endswith("_url") and isinstance(value, str) and _safe_url(value):
            found.append(Link(label(key.removesuffix("_url")) or "Link", value))
    event_link = _fill_url(options.event_url_template or "", event)
    if event_link:
        found.append(Link("View event", event_link))
    return tuple(found[:MAX_LINKS])


def _fill_url(template: str, event: Event) -> str | None:
    """The template with the event's values URL-quoted; None if one is unknown or unsafe."""
    values = {
        "app_name": event.app_name,
        "app_id": event.app_id,
        "owner_id": event.owner_id,
        "rack": event.rack,
        "event_id": event.id,
        "event_type": event.type,
    }
    parts: list[str] = []
    try:
        for literal, field, _spec, _conversion in string.Formatter().parse(template):
            parts.append(literal)
            if field is not None:
                value = values.get(field)
                if not value:
                    return None
                parts.append(quote(value, safe=""))
    except ValueError:
        return None
    url = "".join(parts)
    return url if _safe_url(url) else None


def _safe_url(url: str) -> bool:
    """An absolute http(s) URL without characters that chat link syntaxes treat specially."""
    return (
        url.lower().startswith(("https://", "http://"))
        and len(url) <= MAX_URL
        and len(url) > len("https://")
        and not _URL_FORBIDDEN.search(url)
    )
