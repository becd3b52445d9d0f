"""An order-independent digest of the notifiers the router holds (its view's checksum).

Each notifier counts as the BLAKE2b-128 of its JSON as the router re-encodes it
(`Notifier.model_dump_json()`: every field, in the model's order; the router's compact structs
encode to the same bytes, `herald_core.compact_notifiers`), and
the digest is the sum of those numbers modulo 2**128, with the number of notifiers beside it.
A sum does not depend on the order notifiers were read in (partitions interleave differently
on every start), two copies of one notifier do not cancel out (as they would with XOR), and a
change is applied in O(1): the old notifier's number is taken away, the new one's added. So the
digest of a view kept current update by update equals the digest of the same notifiers read in
one go (`digest_of`), which is how a fresh rebuild is compared with a long-running view.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from herald_core.compact_notifiers import CompactNotifier, notifier_json
from herald_core.notifiers import Notifier

MODULUS = 2**128

Held = Notifier | CompactNotifier


def notifier_hash(notifier: Held) -> int:
    """The number one notifier adds to the digest: a model and its compact struct (the
    router's) give the same one, their JSON being the same bytes. Pure."""
    encoded = (
        notifier_json(notifier)
        if isinstance(notifier, CompactNotifier)
        else notifier.model_dump_json().encode()
    )
    return int.from_bytes(hashlib.blake2b(encoded, digest_size=16).digest(), "big")


@dataclass
class ViewDigest:
    """The running digest: how many notifiers, and the sum of their hashes mod 2**128."""

    count: int = 0
    total: int = 0

    def add(self, notifier: Held) -> None:
        self.count += 1
        self.total = (self.total + notifier_hash(notifier)) % MODULUS

    def remove(self, notifier: Held) -> None:
        self.count -= 1
        self.total = (self.total - notifier_hash(notifier)) % MODULUS

    def change(self, old: Held | None, new: Held | None) -> None:
        """`old` replaced by `new` (either may be None: a creation, a tombstone)."""
        if old is not None:
            self.remove(old)
        if new is not None:
            self.add(new)

    def merge(self, other: ViewDigest) -> ViewDigest:
        """The digest of both sets of notifiers together (they must not overlap). Pure."""
        return ViewDigest(self.count + other.count, (self.total + other.total) % MODULUS)

    @property
    def text(self) -> str:
        """`<count>:<32 hex digits>`, as `/view` shows it."""
        return f"{self.count}:{self.total:032x}"


def digest_of(notifiers: Iterable[Held]) -> ViewDigest:
    """The digest of `notifiers`, read in any order. Pure."""
    digest = ViewDigest()
    for notifier in notifiers:
        digest.add(notifier)
    return digest
