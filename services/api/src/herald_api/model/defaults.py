"""The default notifier every app gets at registration (Scalingo): critical alerts by e-mail
to the owner, collaborators optional. Its preset is resolved against the catalog at routing
time, so a new critical alert reaches every default notifier without a migration.

Every owner gets Clever Cloud's "Default deployment result e-mails" hook at registration
(`PUT /v1/owners/{owner}`): an owner-scoped e-mail notifier selecting
`META_DEPLOYMENT_RESULT`, shown and deleted through `/v2/notifications/emailhooks`."""

from __future__ import annotations

import uuid
from datetime import datetime

from herald_core.directory import OwnerKind
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


DEFAULT_HOOK_NAME = "Default deployment result e-mails"


def default_hook_id(owner_id: str) -> str:
    """The id of an owner's "Default deployment result e-mails" hook: deterministic. Pure."""
    return str(uuid.uuid5(DEFAULT_NAMESPACE, f"default-deployment-hook:{owner_id}"))


def default_deployment_hook(owner_id: str, kind: OwnerKind, now: datetime) -> Notifier:
    """Clever Cloud's hook every owner has from the start: deployment results by
    e-mail to the user, or to every member of an organisation. An e-mail hook like any other
    (`clevercloud_face`): deleting it stops those mails, and a custom hook can replace it. Pure.
    """
    hook_id = default_hook_id(owner_id)
    recipients = {"members": True} if kind is OwnerKind.ORGANISATION else {"owner": True}
    return Notifier(
        id=f"{hook_id}.0",
        name=DEFAULT_HOOK_NAME,
        is_default=True,
        scope=Scope.OWNER,
        owner_id=owner_id,
        platform=Channel.EMAIL,
        selection=Selection(selected_event_ids=("META_DEPLOYMENT_RESULT",)),
        type_data={
            "emails": [],
            "user_ids": [],
            "members": False,
            "owner": False,
            **recipients,
            "face": "clevercloud",
            "hook_id": hook_id,
            "hook_kind": "emailhook",
            "hook_position": 0,
        },
        created_at=now,
        updated_at=now,
    )
