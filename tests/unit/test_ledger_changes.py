"""The ledger when a notifier's selection changes under load (herald_testing.ledger_changes):
old selection before the change's window, new one after, either inside. Planted data."""

from __future__ import annotations

import pytest
from herald_core.deliveries import delivery_id
from herald_testing.ledger import Arrival, Ledger, Sent, Subscriber
from herald_testing.ledger_changes import Change, optional_history_problems, selections_at

FAILS = frozenset({"DEPLOYMENT_FAIL"})
SUCCEEDS = frozenset({"DEPLOYMENT_SUCCESS"})
FAILED = frozenset({"app_deployed", "DEPLOYMENT_FAIL"})
SUCCESS = frozenset({"app_deployed", "DEPLOYMENT_SUCCESS"})
EDITED = Subscriber("n-edited", "app-1", "/s/app-1/edited", FAILS)
# Events accepted at or before 10 follow FAILS, from 20 on SUCCEEDS, in between either.
TO_SUCCESS = Change(EDITED.path, SUCCEEDS, old_until=10.0, new_from=20.0)
DISABLED = Change(EDITED.path, frozenset(), old_until=30.0, new_from=40.0)


def ledger(*changes: Change) -> Ledger:
    books = Ledger("unit")
    books.subscribe(EDITED)
    for change in changes:
        books.changed(change)
    return books


def delivered(books: Ledger, event_id: str, at: float = 50.0) -> None:
    ident = delivery_id(event_id, EDITED.notifier_id)
    books.arrived(Arrival(EDITED.path, ident, event_id, 200, True, at))


@pytest.mark.parametrize(
    ("at", "selections"),
    [
        (5.0, [FAILS]),
        (10.0, [FAILS]),
        (15.0, [FAILS, SUCCEEDS]),
        (20.0, [SUCCEEDS]),
        (35.0, [SUCCEEDS, frozenset()]),
        (45.0, [frozenset()]),
    ],
)
def test_selections_follow_the_changes_one_after_the_other(at, selections):
    assert selections_at(FAILS, [DISABLED, TO_SUCCESS], at) == selections


def test_a_change_cannot_take_effect_before_its_barrier():
    with pytest.raises(ValueError, match="after the events"):
        Change(EDITED.path, SUCCEEDS, old_until=10.0, new_from=9.0)


def test_before_the_window_the_old_selection_after_it_the_new_one_is_expected():
    books = ledger(TO_SUCCESS)
    books.accepted(Sent("old-fail", "app-1", FAILED, 5.0))
    books.accepted(Sent("old-success", "app-1", SUCCESS, 6.0))
    books.accepted(Sent("new-fail", "app-1", FAILED, 25.0))
    books.accepted(Sent("new-success", "app-1", SUCCESS, 26.0))
    assert {event for event, _ in books.expected()} == {"old-fail", "new-success"}
    assert books.optional() == {}
    delivered(books, "old-fail")
    delivered(books, "new-fail")  # the old selection after the change took effect: a phantom
    row = books.verdict()
    assert (row.expected, row.delivered, row.lost, row.phantom) == (2, 1, 1, 1)


def test_inside_the_window_either_selection_is_acceptable():
    books = ledger(TO_SUCCESS)
    books.accepted(Sent("mid-fail", "app-1", FAILED, 12.0))
    books.accepted(Sent("mid-success", "app-1", SUCCESS, 13.0))
    books.accepted(Sent("mid-fail-2", "app-1", FAILED, 14.0))
    assert books.expected() == {}
    assert {event for event, _ in books.optional()} == {"mid-fail", "mid-success", "mid-fail-2"}
    delivered(books, "mid-fail")  # made: not a phantom; the others not made: not lost
    row = books.verdict()
    assert row.passed, row.problems
    assert (row.expected, row.delivered, row.lost, row.phantom) == (0, 0, 0, 0)


def test_both_selections_selecting_an_event_inside_the_window_make_it_expected():
    books = ledger(Change(EDITED.path, FAILS | SUCCEEDS, old_until=10.0, new_from=20.0))
    books.accepted(Sent("mid-fail", "app-1", FAILED, 15.0))
    assert list(books.expected()) == [("mid-fail", EDITED.notifier_id)]
    row = books.verdict()
    assert (row.lost, row.passed) == (1, False)


def test_a_disabled_subscriber_expects_nothing_and_gets_nothing():
    books = ledger(TO_SUCCESS, DISABLED)
    books.accepted(Sent("late", "app-1", SUCCESS, 41.0))
    delivered(books, "late")
    row = books.verdict()
    assert (row.expected, row.phantom, row.passed) == (0, 1, False)


def test_an_optional_delivery_made_needs_its_one_terminal_history_row():
    books = ledger(TO_SUCCESS)
    books.accepted(Sent("mid-fail", "app-1", FAILED, 12.0))
    delivered(books, "mid-fail")
    ident = delivery_id("mid-fail", EDITED.notifier_id)
    books.recorded({})
    assert not books.verdict().passed
    books.recorded({ident: ["delivered"]})
    assert books.verdict().passed


def test_optional_history_problems_of_rows_made_or_recorded():
    key, ident = ("e", "n"), "d"
    assert optional_history_problems({key: ident}, set(), {}) == []
    assert optional_history_problems({key: ident}, {key}, {ident: ["delivered"]}) == []
    [problem] = optional_history_problems({key: ident}, set(), {ident: ["retry_scheduled"]})
    assert problem.startswith("1 optional deliveries without one terminal history row")
