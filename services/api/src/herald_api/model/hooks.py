"""Hooks in the one notifier model: Clever Cloud's webhooks and e-mail hooks are owner-scoped
notifiers that share `type_data.hook_id` (and carry `face`, `hook_kind`, `hook_position`).
What the store, Herald's own endpoints and the face agree on: the markers, how notifiers group
into hooks, what the database knows about a hook's `scope`, and a hook's failed attempts.
Pure. The wire translation is the Clever Cloud face's (`faces/clevercloud`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from herald_core.notifiers import Notifier, Scope

FACE = "clevercloud"
WEBHOOK = "webhook"
EMAILHOOK = "emailhook"
MAX_FAILURES = 10
"""The failed attempts a webhook hook shows, and the store reads, per notifier."""


@dataclass(frozen=True)
class ScopeFacts:
    """What the database knows about the ids of a `scope`: apps (→ owner) and principals."""

    app_owners: Mapping[str, str] = field(default_factory=dict)
    principals: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Failure:
    """One failed attempt of one of a hook's notifiers, from the delivery history."""

    notifier_id: str
    at: datetime
    status_code: int | None = None
    reason: str | None = None
    detail: str | None = None
    response_excerpt: str | None = None


def hook_kind(notifier: Notifier) -> str | None:
    kind = notifier.type_data.get("hook_kind")
    return kind if kind in (WEBHOOK, EMAILHOOK) and notifier.scope is Scope.OWNER else None


def group_hooks(notifiers: Iterable[Notifier], kind: str) -> dict[str, list[Notifier]]:
    """Notifiers of one kind grouped by hook id, each hook's by position. Pure."""
    hooks: dict[str, list[Notifier]] = {}
    for notifier in notifiers:
        if hook_kind(notifier) == kind:
            hooks.setdefault(str(notifier.type_data["hook_id"]), []).append(notifier)
    for members in hooks.values():
        members.sort(key=lambda n: int(n.type_data.get("hook_position", 0)))
    return hooks
