"""The delivery ledger: what was sent, what arrived, what was dead-lettered, and the verdict.

Pure bookkeeping: the load generator, the receiver, the DLQ reader and the history query feed
it plain values (`Sent`, `Arrival`, `DeadLetter`, history statuses); `verdict()` checks them
against Herald's promises and returns one table `Row`. No I/O, no clock: times are given.

    expected   each accepted event x each subscriber of its app that selects one of the ids
               the event answers to; the delivery id is `uuid5(event id, notifier id)`
    delivered  an expected delivery the receiver answered 2xx at least once
    dead-lettered  an expected delivery never answered 2xx, on the channel's DLQ with a reason
    lost       an expected delivery neither delivered nor dead-lettered with a reason
    phantom    an arrival or a dead letter for a subscriber that matches no expected delivery
               (probes excepted), or a history row of a subscriber that no expected delivery
               nor probe explains
    duplicates 2xx arrivals beyond the first of each delivery (0 required when not allowed)

Also checked: every signed arrival's signature is valid (`Arrival.signature_valid`; a chat post
is not signed, its `None` is not held against it), the delivery id it carried (`webhook-id`, a
mail's or a chat post's `X-Herald-Delivery-Id`) is the delivery's id (one stable id per
delivery, on every attempt), and, when history was
given, each expected delivery has exactly one history row, terminal, agreeing with the
ledger (`delivered` for a delivery never dead-lettered, `dead_lettered` for one never
delivered). `ordered=True` also checks that each subscriber's first arrivals came in the order
ingest accepted their events (meaningful when nothing was retried).

Probes are events sent to learn that a subscriber is routed to (before the load, after a
fault): whether they arrive is not judged, only their signatures.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from herald_core.deliveries import delivery_id as herald_delivery_id

from herald_testing.ledger_changes import Change, must_and_may, optional_history_problems
from herald_testing.ledger_table import FAIL, PASS, Row

TERMINAL = frozenset({"delivered", "dead_lettered"})

Key = tuple[str, str]
"""(event id, notifier id): one expected delivery."""


@dataclass(frozen=True)
class Subscriber:
    """A notifier under test: its app, the URL path it posts to, the ids it selects."""

    notifier_id: str
    app_id: str
    path: str
    selects: frozenset[str]


@dataclass(frozen=True)
class Sent:
    """An event ingest accepted (202), with every id it answers to (type and aliases)."""

    event_id: str
    app_id: str
    answers_to: frozenset[str]
    at: float
    tries: int = 1
    """POSTs it took: more than one when a 503 or a lost connection was retried (same id)."""


@dataclass(frozen=True)
class Arrival:
    """One request at the receiver and what it answered."""

    path: str
    webhook_id: str | None
    """The delivery id the request carried: `webhook-id`, or a mail's or chat post's
    `X-Herald-Delivery-Id`; None when it carried none."""
    event_id: str | None
    status: int
    signature_valid: bool | None
    """Whether its identity held: a webhook's signature (a mail's `Message-ID`). None for a
    request that is not signed by design (a chat post): nothing to check, nothing failed."""
    at: float

    @property
    def ok(self) -> bool:
        return 200 <= self.status <= 299


@dataclass(frozen=True)
class DeadLetter:
    """A record of the channel's DLQ: its delivery, and the reason header."""

    delivery_id: str
    event_id: str | None
    notifier_id: str | None
    reason: str | None
    at: float


@dataclass
class Ledger:
    """The books of one scenario (see the module docstring)."""

    scenario: str
    duplicates_allowed: bool = False
    delivery_id: Callable[[str, str], str] = herald_delivery_id
    subscribers: dict[str, Subscriber] = field(default_factory=dict)
    sent: dict[str, Sent] = field(default_factory=dict)
    probes: set[str] = field(default_factory=set)
    arrivals: list[Arrival] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    history: dict[str, list[str]] | None = None
    fault_end: float | None = None
    max_lag: int | None = None
    notes: list[str] = field(default_factory=list)
    changes: dict[str, list[Change]] = field(default_factory=dict)
    """Selections changed under load, by path: `optional()` deliveries (ledger_changes)."""

    # --- feeding -------------------------------------------------------------------------------
    def subscribe(self, subscriber: Subscriber) -> None:
        self.subscribers[subscriber.path] = subscriber

    def accepted(self, sent: Sent) -> None:
        """Ingest answered 202 (a repeat of an accepted id keeps its first record)."""
        self.sent.setdefault(sent.event_id, sent)

    def probe(self, event_id: str) -> None:
        self.probes.add(event_id)

    def arrived(self, arrival: Arrival) -> None:
        self.arrivals.append(arrival)

    def dead_lettered(self, letters: Iterable[DeadLetter]) -> None:
        self.dead_letters.extend(letters)

    def recorded(self, history: Mapping[str, Sequence[str]]) -> None:
        """The history rows' statuses by delivery id (the recorder's `deliveries` table)."""
        self.history = {key: list(statuses) for key, statuses in history.items()}

    def changed(self, change: Change) -> None:
        self.changes.setdefault(change.path, []).append(change)

    def lag_seen(self, lag: int) -> None:
        self.max_lag = lag if self.max_lag is None else max(self.max_lag, lag)

    def fault_ended(self, at: float) -> None:
        self.fault_end = at

    def problem(self, text: str) -> None:
        """A failed check of the scenario's own, reported with the ledger's."""
        self.notes.append(text)

    # --- reading -------------------------------------------------------------------------------
    def owns(self, path: str) -> bool:
        return path in self.subscribers

    def expected(self) -> dict[Key, str]:
        """Every expected delivery and its id."""
        return self._deliveries(optional=False)

    def optional(self) -> dict[Key, str]:
        """Deliveries that may or may not be made (a change's window), and their ids."""
        return self._deliveries(optional=True)

    def _deliveries(self, *, optional: bool) -> dict[Key, str]:
        by_app: dict[str, list[Subscriber]] = defaultdict(list)
        for subscriber in self.subscribers.values():
            by_app[subscriber.app_id].append(subscriber)
        return {
            (sent.event_id, sub.notifier_id): self.delivery_id(sent.event_id, sub.notifier_id)
            for sent in self.sent.values()
            for sub in by_app.get(sent.app_id, ())
            if must_and_may(sub.selects, self.changes.get(sub.path, ()), sent.at, sent.answers_to)[
                optional
            ]
        }

    def delivered_keys(self) -> set[Key]:
        return {
            key for key, arrivals in self._arrivals_by_key().items() if any(a.ok for a in arrivals)
        }

    def outstanding(self) -> int:
        """Expected deliveries the receiver has not answered 2xx yet (dead letters not read)."""
        return len(set(self.expected()) - self.delivered_keys())

    def _key_of(self, arrival: Arrival) -> Key | None:
        subscriber = self.subscribers.get(arrival.path)
        if subscriber is None or arrival.event_id is None:
            return None
        return (arrival.event_id, subscriber.notifier_id)

    def _arrivals_by_key(self) -> dict[Key, list[Arrival]]:
        found: dict[Key, list[Arrival]] = defaultdict(list)
        for arrival in self.arrivals:
            key = self._key_of(arrival)
            if key is not None:
                found[key].append(arrival)
        return found

    # --- the verdict ---------------------------------------------------------------------------
    def verdict(self, *, ordered: bool = False) -> Row:
        """Check every promise; the row says how it went and `problems` what failed. Pure."""
        expected, maybe = self.expected(), self.optional()
        explained = {**expected, **maybe}
        by_key = self._arrivals_by_key()
        problems: list[str] = list(self.notes)
        made = {key for key, arrivals in by_key.items() if any(a.ok for a in arrivals)}
        delivered = made & set(expected)
        letters = self._letters_by_key(problems)
        dead = {
            key
            for key in set(expected) - delivered
            if any(dl.reason for dl in letters.get(key, ()))
        }
        lost = sorted(set(expected) - delivered - dead)
        if lost:
            problems.append(f"{len(lost)} lost, e.g. {_show(lost[:3])}")
        phantom = self._phantoms(explained, by_key, letters, problems)
        duplicates = sum(
            max(0, sum(a.ok for a in by_key[key]) - 1) for key in made & set(explained)
        )
        if duplicates and not self.duplicates_allowed:
            problems.append(f"{duplicates} duplicate deliveries where none are allowed")
        self._check_arrivals(explained, by_key, problems)
        self._check_history(expected, delivered, dead, problems)
        if self.history is not None:
            problems += optional_history_problems(maybe, made, self.history)
        if ordered:
            self._check_order(problems)
        return Row(
            scenario=self.scenario,
            events=len(self.sent),
            expected=len(expected),
            delivered=len(delivered),
            dead_lettered=len(dead),
            duplicates=duplicates,
            lost=len(lost),
            phantom=phantom,
            retried=sum(1 for sent in self.sent.values() if sent.tries > 1),
            max_lag=self.max_lag,
            recovery_s=self._recovery_s(expected, by_key, letters),
            verdict=FAIL if problems else PASS,
            problems=tuple(problems),
        )

    def _letters_by_key(self, problems: list[str]) -> dict[Key, list[DeadLetter]]:
        notifiers = {sub.notifier_id for sub in self.subscribers.values()}
        found: dict[Key, list[DeadLetter]] = defaultdict(list)
        for letter in self.dead_letters:
            if letter.notifier_id not in notifiers or letter.event_id is None:
                continue
            if not letter.reason:
                problems.append(f"dead letter {letter.delivery_id} has no reason")
            found[(letter.event_id, letter.notifier_id)].append(letter)
        return found

    def _phantoms(
        self,
        expected: Mapping[Key, str],
        by_key: Mapping[Key, list[Arrival]],
        letters: Mapping[Key, list[DeadLetter]],
        problems: list[str],
    ) -> int:
        unexplained = [
            arrival
            for arrival in self.arrivals
            if arrival.path in self.subscribers
            and arrival.event_id not in self.probes
            and self._key_of(arrival) not in expected
        ]
        unexplained_letters = [
            key for key in letters if key not in expected and key[0] not in self.probes
        ]
        count = len(unexplained) + len(unexplained_letters)
        if count:
            shown = [f"{a.path} event {a.event_id}" for a in unexplained[:2]]
            shown += [f"DLQ {key}" for key in unexplained_letters[:2]]
            problems.append(f"{count} phantom deliveries, e.g. {'; '.join(shown)}")
        return count

    def _check_arrivals(
        self, expected: Mapping[Key, str], by_key: Mapping[Key, list[Arrival]], problems: list[str]
    ) -> None:
        unsigned = [
            a for a in self.arrivals if a.path in self.subscribers and a.signature_valid is False
        ]
        if unsigned:
            problems.append(f"{len(unsigned)} arrivals with an invalid signature")
        unstable = [
            (key, arrival.webhook_id)
            for key, arrivals in by_key.items()
            for arrival in arrivals
            if key in expected and arrival.webhook_id != expected[key]
        ]
        if unstable:
            problems.append(
                f"{len(unstable)} arrivals whose delivery id (webhook-id, X-Herald-Delivery-Id) "
                "is not their delivery's, "
                f"e.g. {_show(unstable[:2])}"
            )

    def _check_history(
        self, expected: Mapping[Key, str], delivered: set[Key], dead: set[Key], problems: list[str]
    ) -> None:
        if self.history is None:
            return
        wrong: list[str] = []
        for key, ident in expected.items():
            statuses = self.history.get(ident, [])
            if len(statuses) != 1 or statuses[0] not in TERMINAL:
                wrong.append(f"{ident}: {statuses}")
            elif key in delivered and key not in dead and statuses[0] != "delivered":
                wrong.append(f"{ident}: delivered, history says {statuses[0]}")
            elif key in dead and statuses[0] != "dead_lettered":
                wrong.append(f"{ident}: dead-lettered, history says {statuses[0]}")
        if wrong:
            problems.append(
                f"{len(wrong)} deliveries without one terminal history row: {wrong[:3]}"
            )
        probe_ids = {
            self.delivery_id(event_id, sub.notifier_id)
            for event_id in self.probes
            for sub in self.subscribers.values()
        }
        extra = set(self.history) - set(expected.values()) - set(self.optional().values())
        extra -= probe_ids
        if extra:
            problems.append(f"{len(extra)} history rows no expected delivery explains")

    def _check_order(self, problems: list[str]) -> None:
        rank = {event_id: index for index, event_id in enumerate(self.sent)}
        firsts: dict[str, list[int]] = defaultdict(list)
        seen: set[Key] = set()
        for arrival in sorted(self.arrivals, key=lambda a: a.at):
            key = self._key_of(arrival)
            if key is None or not arrival.ok or key in seen or key[0] not in rank:
                continue
            seen.add(key)
            firsts[arrival.path].append(rank[key[0]])
        for path, order in firsts.items():
            if order != sorted(order):
                problems.append(f"{path}: deliveries out of the order ingest accepted them")

    def _recovery_s(
        self,
        expected: Mapping[Key, str],
        by_key: Mapping[Key, list[Arrival]],
        letters: Mapping[Key, list[DeadLetter]],
    ) -> float | None:
        if self.fault_end is None:
            return None
        settled: list[float] = []
        for key in expected:
            times = [a.at for a in by_key.get(key, ()) if a.ok]
            times += [dl.at for dl in letters.get(key, ()) if dl.reason]
            if times:
                settled.append(min(times))
        if not settled:
            return None
        return max(0.0, max(settled) - self.fault_end)


def _show(items: Sequence[object]) -> str:
    return ", ".join(str(item) for item in items)
