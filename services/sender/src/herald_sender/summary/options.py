"""`SummaryOptions`: what a summary takes besides the delivery (from sender settings)."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_DASHBOARD_URL = ""
"""No dashboard link unless the operator says where the platform's dashboard is: a made-up
default would put a dead link in every message."""


@dataclass(frozen=True)
class SummaryOptions:
    """The options every human channel (chat services, e-mail) summarises with.

    Attributes:
        dashboard_url_template: the app's page on the platform's dashboard; `{app_name}`,
            `{app_id}`, `{owner_id}`, `{rack}`, `{event_id}`, `{event_type}` are filled in
            (URL-quoted). No link is shown when a placeholder the template names is unknown
            for the event, or when the template is empty.
        event_url_template: an optional second link, to the event itself (e.g. Herald's
            delivery history); same placeholders; None for none.
        max_facts: how many key/value facts a message shows at most (Slack allows 10 section
            fields; every channel, e-mail included, is cut to the same number so that each
            shows the same).
    """

    dashboard_url_template: str = DEFAULT_DASHBOARD_URL
    event_url_template: str | None = None
    max_facts: int = 10
