"""Deploy threads: which events share one Slack message (herald_sender.threads)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from herald_core.envelope import Event
from herald_core.thread_state import ThreadRef
from herald_sender.threads import (
    ThreadStep,
    after_send,
    deploy_thread,
    message_to_update,
    state_key,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def event(type_: str, **type_data: object) -> Event:
    return Event(
        id="evt-1",
        type=type_,
        created_at=NOW,
        app_id="app-1",
        owner_id="org-1",
        type_data=dict(type_data),
    )


@pytest.mark.parametrize(
    ("type_", "data", "expected"),
    [
        ("release:create", {"release_id": "R1"}, ThreadStep("app-1:release_id:R1", True, False)),
        (
            "release:promote",
            {"release_id": "R1", "status": "start"},
            ThreadStep("app-1:release_id:R1", False, False),
        ),
        (
            "release:promote",
            {"release_id": "R1", "status": "error"},
            ThreadStep("app-1:release_id:R1", False, True),
        ),
        (
            "app:promote:completed",
            {"release_id": "R1"},
            ThreadStep("app-1:release_id:R1", False, True),
        ),
        (
            "account.deploy.started",
            {"stack_uid": "s-9"},
            ThreadStep("app-1:stack:s-9", True, False),
        ),
        ("account.redeploy.fail", {"stack_uid": "s-9"}, ThreadStep("app-1:stack:s-9", False, True)),
        (
            "app_deployed",
            {"deployment_id": "d-1", "status": "success"},
            ThreadStep("app-1:deployment_id:d-1", False, True),
        ),
    ],
)
def test_the_steps_of_a_deployment(type_, data, expected):
    assert deploy_thread(event(type_, **data)) == expected


@pytest.mark.parametrize(
    ("type_", "data"),
    [
        ("app_crashed", {"deployment_id": "d-1"}),
        ("app_deployed", {"status": "success"}),
        ("release:create", {}),
    ],
    ids=["not-a-deployment", "no-deployment-id", "no-release-id"],
)
def test_events_outside_any_thread(type_, data):
    assert deploy_thread(event(type_, **data)) is None


def test_a_result_updates_the_open_message_and_closes_it():
    start = deploy_thread(event("release:create", release_id="R1"))
    result = deploy_thread(event("app:promote:completed", release_id="R1"))
    assert start is not None
    assert result is not None
    assert message_to_update(start, None) is None
    opened = after_send(start, "C1", "1700000000.000100", NOW)
    assert opened.open
    assert message_to_update(result, opened) == opened
    closed = after_send(result, "C1", opened.ts, NOW)
    assert not closed.open
    assert message_to_update(result, closed) is None, "a closed thread is not rewritten"


def test_a_new_start_opens_a_new_message_even_if_one_is_open():
    start = deploy_thread(event("account.deploy.started", stack_uid="s-9"))
    assert start is not None
    current = ThreadRef(channel="C1", ts="1.2", open=True, updated_at=NOW)
    assert message_to_update(start, current) is None


def test_state_keys_are_per_notifier():
    step = ThreadStep("app-1:release_id:R1", True, False)
    assert state_key("n-1", step) == "n-1|app-1:release_id:R1"
    assert state_key("n-1", step) != state_key("n-2", step)


def test_a_thread_written_here_gives_way_to_a_later_one_from_another_instance():
    """A partition moved to another sender instance and back: that instance's later write,
    read from the topic, is the thread's state, not this process's older own write."""
    from datetime import timedelta

    from herald_sender.channels.slack import latest_ref

    own = ThreadRef(channel="C1", ts="1.0", open=True, updated_at=NOW)
    later = ThreadRef(channel="C1", ts="1.0", open=False, updated_at=NOW + timedelta(seconds=5))
    assert latest_ref(own, later) == later
    assert latest_ref(later, own) == later
    assert latest_ref(own, own.model_copy()) is own  # the topic's echo of our own write
    assert latest_ref(own, None) is own
    assert latest_ref(None, later) is later
    assert latest_ref(None, None) is None
