"""Notifiers indexed by what they watch, kept current from the config view's changes."""

from __future__ import annotations

from collections import defaultdict

from herald_core.envelope import Event
from herald_core.notifiers import Notifier, Scope


class NotifierIndex:
    """Notifier id → notifier, plus the ids of the notifiers of each app, owner and user."""

    def __init__(self) -> None:
        self._by_id: dict[str, Notifier] = {}
        self._by_scope: dict[tuple[Scope, str], set[str]] = defaultdict(set)

    @staticmethod
    def _scope_key(notifier: Notifier) -> tuple[Scope, str]:
        subject = {
            Scope.APP: notifier.app_id,
            Scope.OWNER: notifier.owner_id,
            Scope.USER: notifier.user_id,
        }
        return notifier.scope, subject[notifier.scope] or ""

    def on_change(self, topic: str, key: str, old: Notifier | None, new: Notifier | None) -> None:
        """The config view's listener: apply one update or tombstone."""
        previous = self._by_id.pop(key, None)
        if previous is not None:
            self._by_scope[self._scope_key(previous)].discard(key)
        if new is not None:
            self._by_id[key] = new
            self._by_scope[self._scope_key(new)].add(key)

    def candidates(self, event: Event) -> list[Notifier]:
        """Notifiers that may care about `event` (routing still checks scope and selection)."""
        keys = [
            (Scope.APP, event.app_id),
            (Scope.OWNER, event.owner_id),
            (Scope.USER, event.user.id if event.user else None),
        ]
        ids: set[str] = set()
        for scope, subject in keys:
            if subject:
                ids |= self._by_scope.get((scope, subject), set())
        return [self._by_id[i] for i in sorted(ids)]

    def __len__(self) -> int:
        return len(self._by_id)
