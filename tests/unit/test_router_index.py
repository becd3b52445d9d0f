"""The router's notifier index, fed the way the config view feeds it (update or tombstone)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from herald_core.directory import AppEntry, Directory, MemberEntry, OwnerEntry
from herald_core.envelope import Event, EventUser
from herald_core.notifiers import Notifier, Scope, Selection
from herald_core.topics import CONFIG_NOTIFIERS, Channel
from herald_router.index import NotifierIndex

CREATED_AT = datetime(2026, 3, 12, 16, 5, 14, tzinfo=UTC)


def notifier(id_, **scope):
    return Notifier(
        id=id_,
        platform=Channel.WEBHOOK,
        selection=Selection(send_all_events=True),
        **scope,
    )


def app(id_, app_id):
    return notifier(id_, scope=Scope.APP, app_id=app_id)


def owner(id_, owner_id, **filters):
    return notifier(id_, scope=Scope.OWNER, owner_id=owner_id, **filters)


def user(id_, user_id):
    return notifier(id_, scope=Scope.USER, user_id=user_id)


def event(app_id="app-a", owner_id="org-1", user_id=None):
    return Event(
        id="evt-1",
        type="app_deployed",
        created_at=CREATED_AT,
        app_id=app_id,
        owner_id=owner_id,
        user=EventUser(id=user_id) if user_id else None,
    )


def put(index, new, old=None):
    index.on_change(CONFIG_NOTIFIERS, new.id, old, new)


def delete(index, key, old=None):
    index.on_change(CONFIG_NOTIFIERS, key, old, None)


def ids(notifiers):
    return [n.id for n in notifiers]


def test_empty_index_has_no_candidates():
    index = NotifierIndex()
    assert len(index) == 0
    assert index.candidates(event()) == []


def test_add():
    index = NotifierIndex()
    hook = app("n-1", "app-a")
    put(index, hook)
    assert len(index) == 1
    assert index.candidates(event("app-a")) == [hook]
    assert index.candidates(event("app-b")) == []


def test_update_in_place_replaces_the_notifier():
    index = NotifierIndex()
    first = app("n-1", "app-a")
    put(index, first)
    second = first.model_copy(update={"name": "renamed", "version": 2})
    put(index, second, old=first)
    assert len(index) == 1
    assert index.candidates(event("app-a")) == [second]


@pytest.mark.parametrize("tell_old", [True, False], ids=["old-given", "old-unknown"])
def test_update_moving_a_notifier_to_another_app(tell_old):
    index = NotifierIndex()
    before = app("n-1", "app-a")
    put(index, before)
    after = app("n-1", "app-b")
    put(index, after, old=before if tell_old else None)
    assert len(index) == 1
    assert index.candidates(event("app-a")) == []
    assert index.candidates(event("app-b")) == [after]


def test_update_changing_scope_from_app_to_owner():
    index = NotifierIndex()
    before = app("n-1", "app-a")
    put(index, before)
    after = owner("n-1", "org-2")
    put(index, after, old=before)
    assert index.candidates(event("app-a", owner_id="org-1")) == []
    assert index.candidates(event("app-z", owner_id="org-2")) == [after]


def test_tombstone_removes():
    index = NotifierIndex()
    hook = app("n-1", "app-a")
    put(index, hook)
    put(index, app("n-2", "app-a"))
    delete(index, "n-1", old=hook)
    assert len(index) == 1
    assert ids(index.candidates(event("app-a"))) == ["n-2"]


def test_tombstone_of_an_unknown_key_is_harmless():
    index = NotifierIndex()
    put(index, app("n-1", "app-a"))
    delete(index, "n-404")
    delete(index, "n-404")
    assert ids(index.candidates(event("app-a"))) == ["n-1"]


def test_tombstone_then_recreate():
    index = NotifierIndex()
    put(index, app("n-1", "app-a"))
    delete(index, "n-1")
    assert index.candidates(event("app-a")) == []
    put(index, app("n-1", "app-b"))
    assert index.candidates(event("app-a")) == []
    assert ids(index.candidates(event("app-b"))) == ["n-1"]


WATCHERS = [
    app("n-app-a", "app-a"),
    app("n-app-b", "app-b"),
    owner("n-org-1", "org-1"),
    owner("n-org-1-filtered", "org-1", app_ids=("app-b",)),
    owner("n-org-2", "org-2"),
    user("n-u-1", "u-1"),
    user("n-u-2", "u-2"),
]


@pytest.mark.parametrize(
    ("routed", "expected"),
    [
        (event("app-a", "org-1"), ["n-app-a", "n-org-1", "n-org-1-filtered", "n-u-1"]),
        (event("app-b", "org-1"), ["n-app-b", "n-org-1", "n-org-1-filtered", "n-u-1"]),
        (event(None, "org-1"), ["n-org-1", "n-org-1-filtered", "n-u-1"]),
        (event("app-a", None), ["n-app-a"]),
        (event("app-c", "org-2"), ["n-org-2"]),
        # user notifiers: the members of the event's owner (u-1 in org-1), and an own account
        (
            event("app-a", "org-1", user_id="u-2"),
            ["n-app-a", "n-org-1", "n-org-1-filtered", "n-u-1"],
        ),
        (event("app-x", "u-2"), ["n-u-2"]),
        (event("app-x", "org-x", user_id="u-1"), []),
    ],
    ids=[
        "app-a-of-org-1",
        "app-b-of-org-1",
        "owner-level-event",
        "app-without-owner",
        "other-owner",
        "member-of-the-owner",
        "own-account",
        "acting-user-is-not-a-member",
    ],
)
def test_candidates_by_app_owner_and_user(routed, expected):
    """Candidates over-approximate (owner filters are left to routing) and come sorted by id."""
    index = NotifierIndex()
    for watcher in reversed(WATCHERS):
        put(index, watcher)
    directory = Directory(owners=[OwnerEntry(id="org-1", members=(MemberEntry(user_id="u-1"),))])
    assert ids(index.candidates(routed, directory)) == expected


def test_candidates_follow_the_apps_current_owner():
    index = NotifierIndex()
    put(index, owner("n-new-owner", "org-2"))
    moved = Directory(apps=[AppEntry(id="app-a", name="a", owner_id="org-2")])
    assert ids(index.candidates(event("app-a", "org-1"), moved)) == ["n-new-owner"]


def test_alert_events_reach_the_notifiers_they_list():
    index = NotifierIndex()
    put(index, app("n-listed", "app-z"))
    alert = event("app-a", "org-1").model_copy(
        update={"type_data": {"notifier_ids": ["n-listed", "gone"]}}
    )
    assert ids(index.candidates(alert)) == ["n-listed"]


def test_candidates_are_sorted_by_id_whatever_the_insertion_order():
    index = NotifierIndex()
    for id_ in ["n-9", "n-10", "n-1", "a", "Z", "n-2"]:
        put(index, app(id_, "app-a"))
    put(index, owner("n-0", "org-1"))
    assert ids(index.candidates(event("app-a", "org-1"))) == sorted(
        ["n-9", "n-10", "n-1", "a", "Z", "n-2", "n-0"]
    )


def test_a_notifier_appears_once_even_if_two_keys_lead_to_it():
    index = NotifierIndex()
    put(index, app("n-1", "same"))
    # An event whose app id and owner id are equal must not list an app notifier twice.
    put(index, owner("n-2", "same"))
    assert ids(index.candidates(event("same", "same"))) == ["n-1", "n-2"]
