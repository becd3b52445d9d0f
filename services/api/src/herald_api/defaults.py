"""The default notifier every app gets at registration (seed 000): critical alerts by e-mail
to the owner, collaborators optional. Its preset is resolved against the catalog at routing
time, so a new critical alert reaches every default notifier without a migration."""

from __future__ import annotations

import uuid
from datetime import datetime

from herald_core.notifiers import Notifier, Preset, Scope, Selection
from herald_core.topics import Channel

DEFAULT_NAMESPACE = uuid.UUID("0b5a1c7e-2f43-5d6b-8e91-7a3c4d5e6f70")
DEFAULT_NAME = "Default notifier"


def default_notifier_id(app_id: str) -> str:
    """Deterministic, so registering an app twice never creates two defaults. Pure."""
    return str(uuid.uuid5(DEFAULT_NAMESPACE, f"default-notifier:{app_id}"))


def default_notifier(
    app_id: str, owner_id: str, now: datetime, *, collaborators: bool = False
) -> Notifier:
    """The default notifier of a new app. Pure."""
    return Notifier(
        id=default_notifier_id(app_id),
        name=DEFAULT_NAME,
        active=True,
        is_default=True,
        scope=Scope.APP,
        app_id=app_id,
        owner_id=owner_id,
        platform=Channel.EMAIL,
        selection=Selection(preset=Preset.CRITICAL_ALERTS),
        type_data={"emails": [], "user_ids": [], "owner": True, "collaborators": collaborators},
        created_at=now,
        updated_at=now,
    )
