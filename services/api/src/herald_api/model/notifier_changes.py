"""Changes to an app's notifiers: built from a request, then stored and announced together.

A face's pure builder (`notifier_from_create`, `notification_patched`, …) makes the notifier
under the API's rules for targets (loopback, chat hosts); its `InvalidNotifier` is a 422. A
new webhook notifier without a secret gets a generated one (`herald_api.model.webhook_secrets`).
Adding, editing and removing a notifier writes it (`notifier_store`, which publishes its state
or tombstone) and enqueues `notifier_added`, `notifier_edited` or `notifier_removed` to the
outbox, so the change and its event commit together. The notifiers API and the legacy
notifications API change notifiers this one way.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

import asyncpg
from herald_core.directory import AppEntry
from herald_core.notifiers import Notifier

from herald_api.http.web import invalid
from herald_api.model.chat_hosts import ChatHosts
from herald_api.model.platform_events import notifier_event
from herald_api.model.type_data import InvalidNotifier, new_notifier_id
from herald_api.model.webhook_secrets import ensure_secret
from herald_api.settings import ApiSettings
from herald_api.store import notifier_store
from herald_api.store.outbox import enqueue_event


class Creator(Protocol):
    """A face's builder of a new notifier from a request body (`notifier_from_create`)."""

    def __call__(
        self,
        body: Mapping[str, Any],
        *,
        notifier_id: str,
        app_id: str,
        owner_id: str,
        now: datetime,
        allow_loopback: bool,
        chat_hosts: ChatHosts | None = None,
    ) -> Notifier: ...


class Patcher(Protocol):
    """A face's builder of a changed notifier from a request body (`notifier_patched`)."""

    def __call__(
        self,
        current: Notifier,
        body: Mapping[str, Any],
        *,
        now: datetime,
        allow_loopback: bool,
        chat_hosts: ChatHosts | None = None,
    ) -> Notifier: ...


def created(
    create: Creator,
    body: Mapping[str, Any],
    app: AppEntry,
    *,
    now: datetime,
    settings: ApiSettings,
) -> tuple[Notifier, str | None]:
    """A new notifier of `app`, with a new id, from a request body; and the signing secret
    generated for it, when it is a webhook created without one (to be shown once).

    Raises:
        ApiProblem: 422 listing every problem `create` found.
    """
    try:
        notifier = create(
            body,
            notifier_id=new_notifier_id(),
            app_id=app.id,
            owner_id=app.owner_id,
            now=now,
            allow_loopback=settings.allow_loopback_targets,
            chat_hosts=settings.chat_hosts,
        )
    except InvalidNotifier as error:
        raise invalid(error.errors) from None
    return ensure_secret(notifier)


def patched(
    patch: Patcher,
    current: Notifier,
    body: Mapping[str, Any],
    *,
    now: datetime,
    settings: ApiSettings,
) -> Notifier:
    """`current` with a request body applied.

    Raises:
        ApiProblem: 422 listing every problem `patch` found.
    """
    try:
        return patch(
            current,
            body,
            now=now,
            allow_loopback=settings.allow_loopback_targets,
            chat_hosts=settings.chat_hosts,
        )
    except InvalidNotifier as error:
        raise invalid(error.errors) from None


async def _announce(
    connection: asyncpg.Connection,
    event_type: str,
    notifier: Notifier,
    app: AppEntry,
    now: datetime,
) -> None:
    event = notifier_event(event_type, notifier, now=now, owner_id=app.owner_id, app_name=app.name)
    await enqueue_event(connection, event)


async def add(
    connection: asyncpg.Connection, app: AppEntry, notifier: Notifier, now: datetime
) -> None:
    """Store a new notifier of `app` and announce `notifier_added`. Inside a transaction."""
    await notifier_store.insert(connection, notifier)
    await _announce(connection, "notifier_added", notifier, app, now)


async def edit(
    connection: asyncpg.Connection, app: AppEntry, notifier: Notifier, now: datetime
) -> None:
    """Store a changed notifier of `app` and announce `notifier_edited`. Inside a transaction."""
    await notifier_store.update(connection, notifier)
    await _announce(connection, "notifier_edited", notifier, app, now)


async def remove(
    connection: asyncpg.Connection, app: AppEntry, notifier: Notifier, now: datetime
) -> None:
    """Delete a notifier of `app` and announce `notifier_removed`. Inside a transaction."""
    await notifier_store.delete(connection, notifier.id)
    await _announce(connection, "notifier_removed", notifier, app, now)
