"""Which events of `notify.events` a live stream sends: its owner's, narrowed by query parameters.

    GET /v1/owners/{owner}/events/stream?app_id=a&app_id=b&addon_id=x&type=deployments

- `owner`: the event's `owner_id` must be it (events without one are not streamed);
- `app_id` (repeatable): the event's app is one of them;
- `addon_id` (repeatable): the event's add-on is one of them;
- `type` (repeatable): any selection id the catalog knows, matched as the router matches a
  notifier's `selected_event_ids`: an event passes when it *answers to* one of them
  (`herald_core.catalog.answers_to`: its type, the aliases that hold on its `type_data`, the
  groups around them), so `type=DEPLOYMENT_FAIL` gets a failed `app_deployed` and
  `type=META_DEPLOYMENT_RESULT` every deployment result, whatever the family. Legacy names are
  accepted and mean their current type.

Different parameters combine with AND, repeated values of one parameter with OR. Audit-only
types are never streamed, as they are never forwarded anywhere (docs/decisions.md): the stream sends
what a `raw` webhook selecting every event would get. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from herald_core.catalog import CATALOG, answers_to
from herald_core.envelope import Event

MAX_VALUES = 100  # per parameter
MAX_VALUE_LENGTH = 200


class FilterError(ValueError):
    """Bad query parameters; `errors` maps each parameter to its messages (a 422)."""

    def __init__(self, errors: Mapping[str, Sequence[str]]) -> None:
        super().__init__("; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items()))
        self.errors = {k: list(v) for k, v in errors.items()}


@dataclass(frozen=True)
class StreamFilter:
    """An owner's events, narrowed; an empty set means "any"."""

    owner_id: str
    app_ids: frozenset[str] = frozenset()
    addon_ids: frozenset[str] = frozenset()
    types: frozenset[str] = frozenset()

    def matches(self, event: Event) -> bool:
        """Whether the stream sends `event`. Pure."""
        if event.owner_id != self.owner_id or event.type in CATALOG.audit_only_ids():
            return False
        if self.app_ids and event.app_id not in self.app_ids:
            return False
        if self.addon_ids and event.addon_id not in self.addon_ids:
            return False
        if not self.types:
            return True
        return event.type in self.types or not self.types.isdisjoint(
            answers_to(event.type, event.type_data)
        )

    def may_skip(self, value: bytes) -> bool:
        """True when a raw record surely does not match, without parsing it. Pure.

        An owner id needing no JSON escape appears verbatim in the envelope of each of its
        events, so a record that does not contain it is someone else's.
        """
        plain = self.owner_id.isascii() and self.owner_id.isprintable()
        if not plain or '"' in self.owner_id or "\\" in self.owner_id:
            return False
        return self.owner_id.encode() not in value


def parse_filter(owner_id: str, query: Mapping[str, Sequence[str]]) -> StreamFilter:
    """The filter of a stream request; `query` maps each parameter to all its values. Pure.

    Raises:
        FilterError: on an unknown event type, too many values, or an empty or long value.
    """
    errors: dict[str, list[str]] = {}
    values: dict[str, frozenset[str]] = {}
    for name in ("app_id", "addon_id", "type"):
        given = list(query.get(name, ()))
        if len(given) > MAX_VALUES:
            errors.setdefault(name, []).append(f"at most {MAX_VALUES} values")
        if any(not v or len(v) > MAX_VALUE_LENGTH for v in given):
            errors.setdefault(name, []).append(f"values have 1 to {MAX_VALUE_LENGTH} characters")
        values[name] = frozenset(given)
    types = set()
    for selection in sorted(values["type"]):
        if CATALOG.is_known(selection):
            types.add(selection)
        elif (canonical := CATALOG.canonical(selection)) is not None:
            types.add(canonical)
        elif selection and len(selection) <= MAX_VALUE_LENGTH:
            errors.setdefault("type", []).append(
                f"{selection!r} is not an event type, alias or group (GET /v1/event_types)"
            )
    if errors:
        raise FilterError(errors)
    return StreamFilter(owner_id, values["app_id"], values["addon_id"], frozenset(types))
