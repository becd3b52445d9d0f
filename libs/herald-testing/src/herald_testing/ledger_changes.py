"""A subscriber's configuration changed while its events flowed: what the ledger may expect.

A change (a new selection; an empty one when the notifier is disabled or deleted) takes effect
in the router some time after the API answered it. The scenario brackets that moment with
probes sent in the same order as the app's events (one partition per app):

    old_until   a barrier probe was posted after every event accepted (202) by then, and it had
                arrived before the change was asked for: those events were routed under the old
                selection, which they must follow
    new_from    a probe accepted by then showed the new selection applied (it was routed by it):
                events posted after it must follow the new selection

An event accepted in between may follow either: a delivery the two selections disagree on is
optional (neither lost when absent, nor a phantom when present); one both select is expected.
Pure.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

TERMINAL = frozenset({"delivered", "dead_lettered"})


@dataclass(frozen=True)
class Change:
    """The subscriber on `path` selects `selects` from `new_from` on (see the module doc)."""

    path: str
    selects: frozenset[str]
    old_until: float
    new_from: float

    def __post_init__(self) -> None:
        if self.new_from < self.old_until:
            raise ValueError("a change takes effect after the events it does not concern")


def selections_at(
    initial: frozenset[str], changes: Sequence[Change], accepted_at: float
) -> list[frozenset[str]]:
    """The selections an event accepted at `accepted_at` may be routed by: one, or two inside a
    change's window. `changes` come one after the other (each window after the previous)."""
    current = initial
    for change in sorted(changes, key=lambda c: c.old_until):
        if accepted_at <= change.old_until:
            return [current]
        if accepted_at < change.new_from:
            return [current, change.selects]
        current = change.selects
    return [current]


def must_and_may(
    initial: frozenset[str],
    changes: Sequence[Change],
    accepted_at: float,
    answers_to: frozenset[str],
) -> tuple[bool, bool]:
    """(expected, optional) for one event and one subscriber: expected when every possible
    selection selects it, optional when only some do."""
    chosen = [bool(s & answers_to) for s in selections_at(initial, changes, accepted_at)]
    return all(chosen), any(chosen) and not all(chosen)


def optional_history_problems(
    maybe: Mapping[tuple[str, str], str],
    made: Collection[tuple[str, str]],
    history: Mapping[str, Sequence[str]],
) -> list[str]:
    """An optional delivery that was made, or recorded at all, must have one terminal history
    row, as an expected one does. Pure."""
    wrong = [
        f"{ident}: {list(history.get(ident, []))}"
        for key, ident in maybe.items()
        if (key in made or ident in history)
        and (len(history.get(ident, [])) != 1 or history[ident][0] not in TERMINAL)
    ]
    if not wrong:
        return []
    return [f"{len(wrong)} optional deliveries without one terminal history row: {wrong[:3]}"]
