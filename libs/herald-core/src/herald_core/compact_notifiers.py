"""The router's notifiers: msgspec structs, decoded from `notify.config.notifiers` records.

A router holds every notifier of the platform. As pydantic models they cost about 2.8 KiB each
and 29 000 decodes a second (docs/performance.md): a million notifiers took 34 to 51 s and
2.8 GiB to load. `CompactNotifier` keeps the same fields under the same names (routing reads
either through `herald_core.notifiers.NotifierLike`) in a slotted struct outside the cyclic
collector, decoded by msgspec; the ids notifiers share (app, owner, user) and the selections
are interned, so a thousand notifiers of one app hold one app id and one selection.

What the router accepts does not change: msgspec checks what the model checks (lengths, enums,
unknown fields refused, aware datetimes, the scope's id), and a record it refuses goes to the
pydantic model, whose verdict stands (a lax form such as a version written `"3"` is still
accepted; a unit test compares the two on generated records). Encoded again
(`notifier_json`), a struct gives the bytes `Notifier.model_dump_json()` gives, which the
view's digest hashes.
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Annotated, Any

import msgspec

from herald_core.catalog import Family
from herald_core.notifiers import NAME_MAX_LENGTH, Notifier, Preset, Scope
from herald_core.topics import Channel

Id = Annotated[str, msgspec.Meta(min_length=1, max_length=NAME_MAX_LENGTH)]
Name = Annotated[str, msgspec.Meta(max_length=NAME_MAX_LENGTH)]
Aware = Annotated[datetime, msgspec.Meta(tz=True)]


class CompactSelection(msgspec.Struct, frozen=True, forbid_unknown_fields=True, gc=False):
    """`herald_core.notifiers.Selection`, hashable so that equal selections are shared."""

    send_all_events: bool = False
    send_all_alerts: bool = False
    selected_event_ids: tuple[str, ...] = ()
    preset: Preset | None = None


_EVERYTHING_OFF = CompactSelection()


_SELECTIONS: dict[CompactSelection, CompactSelection] = {}


class CompactNotifier(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, gc=False):
    """`herald_core.notifiers.Notifier`'s fields, in its order (the encoding depends on it).

    Not frozen only so that `__post_init__` can share what it decoded; nothing changes a
    notifier after that (an update is a new record, decoded into a new struct). Outside the
    cyclic collector (`gc=False`): it holds no container that could close a cycle."""

    id: Id
    name: Name = ""
    active: bool = True
    is_default: bool = False
    scope: Scope = Scope.APP
    app_id: str | None = None
    owner_id: str | None = None
    user_id: str | None = None
    app_ids: tuple[str, ...] = ()
    addon_ids: tuple[str, ...] = ()
    racks: tuple[str, ...] = ()
    families: tuple[Family, ...] = ()
    platform: Channel
    selection: CompactSelection = _EVERYTHING_OFF
    type_data_json: msgspec.Raw = msgspec.field(name="type_data", default=msgspec.Raw(b"{}"))
    """`type_data` as JSON: what routing reads of it (an e-mail notifier's recipients, the
    snapshot encoded once per notifier) is decoded on use, and bytes take a third of the
    memory of the dictionary."""
    version: int = 1
    created_at: Aware | None = None
    updated_at: Aware | None = None

    def __post_init__(self) -> None:
        needed = {Scope.APP: self.app_id, Scope.OWNER: self.owner_id, Scope.USER: self.user_id}
        if not needed[self.scope]:
            raise ValueError(f"a notifier of scope {self.scope} needs {self.scope}_id")
        self.app_id = _intern(self.app_id)
        self.owner_id = _intern(self.owner_id)
        self.user_id = _intern(self.user_id)
        self.selection = _SELECTIONS.setdefault(self.selection, self.selection)
        self.type_data_json = _object_json(self.type_data_json)

    @property
    def type_data(self) -> dict[str, Any]:
        """The platform's settings, decoded (a new dictionary each time)."""
        decoded: dict[str, Any] = _OBJECT.decode(self.type_data_json)
        return decoded

    @property
    def channel(self) -> Channel:
        """The delivery channel; today one per platform."""
        return self.platform


_DECODER = msgspec.json.Decoder(CompactNotifier)
_ENCODER = msgspec.json.Encoder()


def decode_notifier(raw: bytes) -> CompactNotifier:
    """Bytes → `CompactNotifier`.

    Raises:
        ValueError: pydantic's `ValidationError`, when the model refuses `raw` too.
    """
    try:
        return _DECODER.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return from_model(Notifier.model_validate_json(raw))


_OBJECT = msgspec.json.Decoder(dict[str, Any])


def _object_json(raw: msgspec.Raw) -> msgspec.Raw:
    """`raw` as the model writes a `dict[str, Any]` (no spaces, UTF-8 unescaped), copied out
    of the record's buffer; every empty one is the same object. Raises ValueError unless `raw`
    is a JSON object."""
    try:
        decoded = _OBJECT.decode(raw)
    except msgspec.ValidationError as exc:
        raise ValueError(f"type_data: {exc}") from None
    return msgspec.Raw(_ENCODER.encode(decoded)) if decoded else _EMPTY_OBJECT


_EMPTY_OBJECT = msgspec.Raw(b"{}")


def _intern(value: str | None) -> str | None:
    return None if value is None else sys.intern(value)


def from_model(notifier: Notifier) -> CompactNotifier:
    """The struct of a model (what the model accepted in a lax form, written strictly)."""
    return _DECODER.decode(notifier.model_dump_json())


def notifier_json(notifier: CompactNotifier) -> bytes:
    """The bytes `Notifier.model_dump_json()` writes for the same notifier."""
    return _ENCODER.encode(notifier)


def to_model(notifier: CompactNotifier) -> Notifier:
    """The pydantic model of a struct (tools and tests; routing reads the struct)."""
    return Notifier.model_validate_json(notifier_json(notifier))
