"""A user's account notifiers (Cloud 66's account notifications, docs/faces.md) in the one
notifier model: one user-scoped notifier per channel, marked `type_data.face =
"cloud66_account"`, with a deterministic id (`notifier_id_for`); the account event types; and
the e-mail notifier every user gets (`default_email_notifier`, every account type but those
the catalog keeps out of e-mail). Pure. The wire translation (the per-type per-channel
matrix) is the Cloud 66 face's (`faces/cloud66/account_notifications`); `account_defaults`
stores the default.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import cache
from typing import Any

from herald_core.catalog import CATALOG, EventType, Family
from herald_core.notifiers import Notifier, Scope, Selection
from herald_core.topics import Channel

FACE = "cloud66_account"
HERALD_ACCOUNT_TYPES = ("payment_failed", "account_suspended")
"""Herald's own types that Cloud 66 notifies on the account page (failed payments, suspension)."""
EMAIL = "email"
_NAMESPACE = uuid.UUID("5b0c9a57-3c2e-4f43-9d47-66c10ad0c066")


@cache
def account_types() -> tuple[EventType, ...]:
    """The account notification types, in catalog order: Cloud 66's and Herald's two. Pure."""
    return tuple(
        t for t in CATALOG.types() if t.family is Family.CLOUD66 or t.id in HERALD_ACCOUNT_TYPES
    )


def default_email_ids() -> tuple[str, ...]:
    """The types e-mailed by default: all but those the catalog keeps out of e-mail. Pure."""
    return tuple(t.id for t in account_types() if t.default_email)


def notifier_id_for(user_id: str, channel: str) -> str:
    """The id of a user's notifier for one channel: stable, so a change never duplicates it."""
    return f"no-{uuid.uuid5(_NAMESPACE, f'{FACE}/{user_id}/{channel}')}"


def account_notifier(
    user_id: str, channel: str, platform: Channel, type_data: dict[str, Any], now: datetime
) -> Notifier:
    """A user's new notifier for one channel (by the face's channel name), selecting nothing
    yet. Pure."""
    return Notifier(
        id=notifier_id_for(user_id, channel),
        name=f"account notifications ({channel})",
        scope=Scope.USER,
        user_id=user_id,
        platform=platform,
        selection=Selection(),
        type_data={"face": FACE, **type_data},
        created_at=now,
        updated_at=now,
    )


def default_email_notifier(user_id: str, now: datetime) -> Notifier:
    """A new user's e-mail notifier: every default e-mail type, to the user. Pure."""
    notifier = account_notifier(user_id, EMAIL, Channel.EMAIL, {"user_ids": [user_id]}, now)
    # A default e-mail like the Scalingo and Clever Cloud faces' own: the router mails each
    # address once per event across them (docs/routing.md, rule 7).
    return notifier.model_copy(
        update={"selection": Selection(selected_event_ids=default_email_ids()), "is_default": True}
    )
