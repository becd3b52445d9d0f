"""The router's view digest: order-independent, kept current update by update, and it moves
with any field of any notifier."""

from __future__ import annotations

import random

from herald_core.notifiers import Notifier, Scope, Selection
from herald_core.topics import CONFIG_NOTIFIERS, Channel
from herald_router.digest import ViewDigest, digest_of, notifier_hash
from herald_router.index import NotifierIndex


def notifier(k: int, **changes: object) -> Notifier:
    fields: dict[str, object] = {
        "id": f"ntf-{k}",
        "scope": Scope.APP,
        "app_id": f"app-{k % 7}",
        "platform": Channel.WEBHOOK,
        "selection": Selection(selected_event_ids=("app_deployed",)),
        "type_data": {"webhook_url": f"https://hooks.example.com/{k}", "format": "raw"},
        **changes,
    }
    return Notifier.model_validate(fields)


def test_the_order_notifiers_come_in_does_not_matter() -> None:
    notifiers = [notifier(k) for k in range(60)]
    shuffled = notifiers[:]
    random.Random(7).shuffle(shuffled)
    assert digest_of(shuffled) == digest_of(notifiers)
    assert digest_of(notifiers).count == 60


def test_any_field_of_any_notifier_moves_the_digest() -> None:
    base = [notifier(k) for k in range(50)]
    reference = digest_of(base).text
    for change in (
        {"active": False},
        {"app_id": "app-other"},
        {"selection": Selection(send_all_events=True)},
        {"type_data": {"webhook_url": "https://hooks.example.com/moved", "format": "raw"}},
        {"version": 2},
    ):
        changed = [*base[:10], notifier(10, **change), *base[11:]]
        assert digest_of(changed).text != reference, change


def test_two_copies_do_not_cancel_out_and_nothing_is_the_empty_digest() -> None:
    one = notifier(1)
    assert digest_of([one, one]).total != 0
    assert digest_of([one, one]).count == 2
    assert digest_of([]) == ViewDigest()


def test_the_index_keeps_the_digest_of_what_it_holds_through_updates_and_tombstones() -> None:
    index = NotifierIndex()
    held: dict[str, Notifier] = {}
    rng = random.Random(3)
    for step in range(2000):
        k = rng.randrange(100)
        key = f"ntf-{k}"
        new = None if rng.random() < 0.2 else notifier(k, version=step + 1)
        index.on_change(CONFIG_NOTIFIERS, key, held.get(key), new)
        if new is None:
            held.pop(key, None)
        else:
            held[key] = new
    assert len(index) == len(held)
    assert index.digest == digest_of(held.values())


def test_merging_digests_is_the_digest_of_the_union() -> None:
    left = [notifier(k) for k in range(30)]
    right = [notifier(k) for k in range(30, 45)]
    assert digest_of(left).merge(digest_of(right)) == digest_of(left + right)


def test_a_notifier_hash_is_stable_across_a_json_round_trip() -> None:
    one = notifier(5)
    again = Notifier.model_validate_json(one.model_dump_json())
    assert notifier_hash(again) == notifier_hash(one)
    assert digest_of([one]).text == f"1:{notifier_hash(one):032x}"
