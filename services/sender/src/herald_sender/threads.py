"""Deploy threads: the events of one deployment update one chat message. Pure.

A deployment tells its story in several events — it starts, then succeeds or fails — and a chat
channel that receives one message per event fills up with unrelated lines. In Slack's bot-token
mode the sender posts the first message with `chat.postMessage` and then rewrites it with
`chat.update`, so a channel shows one message per deployment, always in its latest state.

    family      opens the thread                          keyed by
    Convox      release:create, release:promote (start)   type_data.release_id
    Cloud 66    account.deploy.started                    type_data.deployment_id, else the stack
    Scalingo    —  (app_deployed is the result only)      type_data.deployment_id
    Clever Cloud's DEPLOYMENT_ACTION_BEGIN and DEPLOYMENT_* are aliases of the types above.

A result (`app_deployed`, `app:promote:completed|errored|cancelled`, `release:finish`,
`account.redeploy.ok|fail`) updates the open message of its key, or posts a new one when there is
none. A start always posts a new message: a key reused by a new deployment (Cloud 66 keys by
stack) starts a new thread.

Where the reference lives: the compacted topic `notify.state.slack-threads`, keyed by
`<notifier id>|<thread key>`, value `{"channel", "ts", "open", "updated_at"}`. A Kafka topic and
not Postgres because the sender has no database and needs none: deliveries are keyed by notifier
id, so every event of one notifier's threads is handled by one sender instance in order; the
state record is an output of the handler, so it is acknowledged before the delivery's offset is
committed (commit-after-ack); and every sender instance reads the whole topic into memory at start
(`MaterializedView`) before it consumes, so a restarted or rebalanced sender knows every thread.
The topic is compacted and time-limited (`compact,delete`, 7 days): one record per thread, and a
thread older than a week is forgotten (its next event posts a new message), so the topic does not
grow with history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from herald_core.envelope import Event
from herald_core.thread_state import ThreadRef
from herald_core.topics import SLACK_THREADS

THREADS_TOPIC = SLACK_THREADS

_STARTS = frozenset({"release:create", "account.deploy.started"})
_RESULTS = frozenset(
    {
        "app_deployed",
        "app:promote:completed",
        "app:promote:errored",
        "app:promote:cancelled",
        "release:finish",
        "account.redeploy.ok",
        "account.redeploy.fail",
    }
)
_PROGRESS = frozenset({"release:promote"})
_STARTED_STATUSES = frozenset({"start", "started", "running", "pending"})


@dataclass(frozen=True, slots=True)
class ThreadStep:
    """Where an event stands in its deployment's thread."""

    key: str
    opens: bool
    """Post a new message even if one is open for this key."""
    closes: bool
    """The deployment is over: the message shows its result."""


def _deployment_key(event: Event) -> str | None:
    data: dict[str, Any] = event.type_data
    for name in ("deployment_id", "release_id"):
        value = data.get(name)
        if isinstance(value, str | int) and str(value):
            return f"{name}:{value}"
    if event.type.startswith("account."):
        stack = data.get("stack_uid") or data.get("stack_name")
        if isinstance(stack, str) and stack:
            return f"stack:{stack}"
    return None


def deploy_thread(event: Event) -> ThreadStep | None:
    """The thread step of `event`, or None when it belongs to no deployment thread."""
    if event.type not in _STARTS | _RESULTS | _PROGRESS:
        return None
    deployment = _deployment_key(event)
    if deployment is None:
        return None
    key = f"{event.app_id or event.owner_id}:{deployment}"
    if event.type in _PROGRESS:
        status = str(event.type_data.get("status") or "").lower()
        return ThreadStep(key, opens=False, closes=status not in _STARTED_STATUSES)
    return ThreadStep(key, opens=event.type in _STARTS, closes=event.type in _RESULTS)


def state_key(notifier_id: str, step: ThreadStep) -> str:
    """The key of a thread's record on `THREADS_TOPIC`."""
    return f"{notifier_id}|{step.key}"


def message_to_update(step: ThreadStep, current: ThreadRef | None) -> ThreadRef | None:
    """The message an event should rewrite, or None to post a new one."""
    if current is None or step.opens or not current.open:
        return None
    return current


def after_send(step: ThreadStep, channel: str, ts: str, now: datetime) -> ThreadRef:
    """The thread's state once the message `ts` shows this event."""
    return ThreadRef(channel=channel, ts=ts, open=not step.closes, updated_at=now)
