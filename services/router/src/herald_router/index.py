"""The router's memory: notifiers indexed by what they watch, and the directory.

Both are kept current from the config view's changes (`on_change`), in offset order per key.
`candidates` narrows 1 000 000 notifiers to the few that may care about an event with
dictionary look-ups; the pure routing rules then decide.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from typing import Any

from herald_core.compact_notifiers import CompactNotifier, decode_notifier, to_model
from herald_core.delivery_json import SnapshotCache
from herald_core.directory import AppEntry, Directory, OwnerEntry
from herald_core.envelope import EventLike
from herald_core.notifiers import Notifier, Scope
from herald_core.topics import CONFIG_APPS, CONFIG_NOTIFIERS, CONFIG_OWNERS

from herald_router.digest import ViewDigest


class NotifierIndex:
    """Notifier id → notifier, plus the ids of the notifiers of each app, owner and user, and
    the digest of every notifier held (`herald_router.digest`), kept current."""

    def __init__(self) -> None:
        self._by_id: dict[str, CompactNotifier] = {}
        self._by_scope: dict[tuple[Scope, str], set[str]] = defaultdict(set)
        self.digest = ViewDigest()

    @staticmethod
    def _scope_key(notifier: CompactNotifier) -> tuple[Scope, str]:
        subject = {
            Scope.APP: notifier.app_id,
            Scope.OWNER: notifier.owner_id,
            Scope.USER: notifier.user_id,
        }
        return notifier.scope, subject[notifier.scope] or ""

    def on_change(
        self, topic: str, key: str, old: CompactNotifier | None, new: CompactNotifier | None
    ) -> None:
        """Apply one notifier update or tombstone."""
        previous = self._by_id.pop(key, None)
        if previous is not None:
            bucket = self._by_scope[self._scope_key(previous)]
            bucket.discard(key)
            if not bucket:
                del self._by_scope[self._scope_key(previous)]
        if new is not None:
            key = new.id if new.id == key else key  # the struct's id: one string for both
            self._by_id[key] = new
            self._by_scope[self._scope_key(new)].add(key)
        self.digest.change(previous, new)

    def get(self, notifier_id: str) -> CompactNotifier | None:
        return self._by_id.get(notifier_id)

    def candidates(
        self, event: EventLike, directory: Directory | None = None
    ) -> list[CompactNotifier]:
        """Notifiers that may care about `event` (routing still checks scope and selection)."""
        directory = directory or Directory()
        owner = directory.owner_of(event.app_id, event.owner_id)
        keys: list[tuple[Scope, str | None]] = [(Scope.APP, event.app_id), (Scope.OWNER, owner)]
        if owner:
            entry = directory.owner(owner)
            users = {m.user_id for m in entry.members} if entry else set()
            keys += [(Scope.USER, u) for u in sorted(users | {owner})]
        ids: set[str] = set()
        for scope, subject in keys:
            if subject:
                ids |= self._by_scope.get((scope, subject), set())
        listed = event.type_data.get("notifier_ids")
        if isinstance(listed, list):
            ids |= {i for i in listed if isinstance(i, str) and i in self._by_id}
        return [self._by_id[i] for i in sorted(ids)]

    def ids(self) -> list[str]:
        return list(self._by_id)

    def __len__(self) -> int:
        return len(self._by_id)


class AsModels(Mapping[str, Notifier]):
    """The index read as notifier id → `Notifier` model, converted on each read: for tests and
    tools that compare what the router holds with what was published."""

    def __init__(self, index: NotifierIndex) -> None:
        self._index = index

    def __getitem__(self, notifier_id: str) -> Notifier:
        held = self._index.get(notifier_id)
        if held is None:
            raise KeyError(notifier_id)
        return to_model(held)

    def __iter__(self) -> Iterator[str]:
        return iter(self._index.ids())

    def __len__(self) -> int:
        return len(self._index)


class RouterMemory:
    """Everything the router routes against, fed by the config view."""

    def __init__(self) -> None:
        self.notifiers = NotifierIndex()
        self.directory = Directory()
        self.snapshots = SnapshotCache()

    def on_change(self, topic: str, key: str, old: Any, new: Any) -> None:
        if topic == CONFIG_NOTIFIERS:
            self.notifiers.on_change(topic, key, old, new)
            self.snapshots.forget(key)
        elif topic == CONFIG_APPS:
            if new is None:
                self.directory.remove_app(key)
            else:
                self.directory.put_app(new)
        elif topic == CONFIG_OWNERS:
            if new is None:
                self.directory.remove_owner(key)
            else:
                self.directory.put_owner(new)

    @staticmethod
    def decoders() -> dict[str, Any]:
        return {
            CONFIG_NOTIFIERS: decode_notifier,
            CONFIG_APPS: AppEntry.model_validate_json,
            CONFIG_OWNERS: OwnerEntry.model_validate_json,
        }
