"""Admin actions on a running stack: write notifiers to the config topic, post events.

Without going through the config API, `herald-dev notifier add` is how notifiers reach
`notify.config.notifiers`; the router sees them through its materialised view.
"""

from __future__ import annotations

import json
import urllib.request
import uuid
from datetime import UTC, datetime
from typing import Any

from herald_core.notifiers import Notifier, Scope, Selection
from herald_core.settings import KafkaSettings
from herald_core.topics import CONFIG_NOTIFIERS, Channel
from herald_kafka.producer import OutgoingRecord, idempotent_producer, send_all


def webhook_notifier(
    app_id: str, url: str, events: list[str], *, notifier_id: str | None = None, name: str = ""
) -> Notifier:
    """An app-scoped webhook notifier sending `events` (all events when empty)."""
    selection = (
        Selection(selected_event_ids=tuple(events)) if events else Selection(send_all_events=True)
    )
    return Notifier(
        id=notifier_id or str(uuid.uuid4()),
        name=name or f"webhook for {app_id}",
        scope=Scope.APP,
        app_id=app_id,
        platform=Channel.WEBHOOK,
        selection=selection,
        type_data={"webhook_url": url, "format": "raw"},
        created_at=datetime.now(UTC),
        updated_at=datetime.now(UTC),
    )


async def put_notifier(bootstrap_servers: str, notifier: Notifier | None, notifier_id: str) -> None:
    """Write a notifier (or, with None, its tombstone) to the compacted config topic."""
    producer = idempotent_producer(
        KafkaSettings(bootstrap_servers=bootstrap_servers, client_id="herald-dev")
    )
    await producer.start()
    try:
        value = notifier.model_dump_json().encode() if notifier else None
        await send_all(producer, [OutgoingRecord(CONFIG_NOTIFIERS, value, notifier_id.encode())])
    finally:
        await producer.stop()


def sample_event(
    app_id: str, event_type: str, type_data: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A plausible event of `event_type` for `app_id` (a deployment by default)."""
    return {
        "id": str(uuid.uuid4()),
        "type": event_type,
        "created_at": datetime.now(UTC).isoformat(),
        "source": "herald-dev",
        "app_id": app_id,
        "app_name": app_id,
        "owner_id": f"owner-of-{app_id}",
        "user": {"id": "u-dev", "username": "dev", "email": "dev@example.com"},
        "type_data": type_data
        if type_data is not None
        else {
            "deployment_id": str(uuid.uuid4()),
            "pusher": "dev",
            "git_ref": "0123456789abcdef",
            "status": "success",
            "duration": 42,
        },
    }


def post_event(ingest_url: str, event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """POST one event to ingest; returns the status and the JSON answer."""
    request = urllib.request.Request(  # noqa: S310 - the local ingest URL
        f"{ingest_url}/v1/events",
        data=json.dumps(event).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")
