"""The audit log: the recorder's third consumer group, on `notify.events`.

    event → audit-only type? (the catalog: Convox's budget-configuration and override events)
          → no: skip; yes: INSERT … ON CONFLICT (event_id) DO NOTHING into `audit_log`

The router never forwards those types (routing rule 1), so this is the only place they land;
the API lists them (`GET /v1/owners/{owner}/audit-log`). Why the recorder: it is the service
that writes what happened to Postgres (the delivery history), and a group of its own keeps the
API's request path and its directory consumer free of it. Inserts are idempotent by event id, so
a replayed or re-read record is recorded once; offsets are committed once the rows are written
(the handler returns only after the insert). A database outage is waited out, however long
(`herald_runtime.outage`), so no event is skipped because of it; a stop meanwhile ends the loop
with nothing committed. An event the database refuses is logged (`audit_event_unrecorded`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Mapping

import asyncpg
import structlog
from herald_core.catalog import CATALOG
from herald_core.envelope import Event
from herald_core.topics import EVENTS
from herald_kafka.consumer import Record, run_group
from herald_kafka.producer import OutgoingRecord
from herald_runtime.database import DATABASE_OUTAGE
from herald_runtime.outage import let_through, wait_out
from pydantic import ValidationError

from herald_recorder.settings import RecorderSettings

log = structlog.get_logger(__name__)

TRANSIENT = DATABASE_OUTAGE

_INSERT = (
    "INSERT INTO audit_log (event_id, owner_id, app_id, app_name, rack, event_type, actor,"
    " created_at, event) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)"
    " ON CONFLICT (event_id) DO NOTHING"
)


class _NoOutputs:
    """The audit consumer's `producer`: it has no outputs, so the consumer shell never sends."""

    async def send(self, *args: object, **kwargs: object) -> Awaitable[None]:
        raise AssertionError("the audit consumer produces nothing")


def audit_event(value: bytes | None) -> Event | None:
    """The event of a record when its type is audit-only; None otherwise (or unparsable). Pure."""
    if not value:
        return None
    try:
        event = Event.model_validate_json(value)
    except ValidationError:
        return None  # ingest validated notify.events; garbage is not ours to judge
    return event if event.type in CATALOG.audit_only_ids() else None


def actor_of(event: Event) -> str | None:
    """Who did it: `type_data.actor` (Convox's), else the event user's e-mail or name. Pure."""
    actor = event.type_data.get("actor")
    if isinstance(actor, str) and actor:
        return actor
    if event.user is not None:
        return event.user.email or event.user.username or event.user.id
    return None


def audit_row(event: Event) -> tuple[object, ...]:
    """The `audit_log` row of an event, in `_INSERT`'s order. Pure."""
    return (
        event.id,
        event.owner_id,
        event.app_id,
        event.app_name,
        event.rack,
        event.type,
        actor_of(event),
        event.created_at,
        json.dumps(event.model_dump(mode="json")),
    )


class AuditRecorder:
    """Runs the audit consumer group until `stop`; see the module docstring."""

    def __init__(
        self,
        settings: RecorderSettings,
        pool: asyncpg.Pool,
        stop: asyncio.Event,
        *,
        group_id: str | None = None,
        retry_initial_s: float = 0.2,
        on_lag: Callable[[Mapping[str, int]], None] | None = None,
    ) -> None:
        self._on_lag = on_lag
        self.settings = settings
        self.group_id = group_id or settings.audit_group_id
        self._pool = pool
        self._stop = stop
        self._retry_initial_s = retry_initial_s
        self.subscribed = False
        self.recorded = 0

    async def run(self) -> None:
        if not await self._wait_for_table():
            return

        def subscribed() -> None:
            self.subscribed = True
            log.info("audit_log_recording", group_id=self.group_id)

        await run_group(
            self.settings.kafka,
            self.group_id,
            [EVENTS],
            producer=_NoOutputs(),
            handle=self.handle,
            on_error=_log_unrecorded,
            stop=self._stop,
            on_subscribed=subscribed,
            max_records=self.settings.batch_max,
            on_lag=self._on_lag,
        )

    async def handle(self, record: Record) -> list[OutgoingRecord]:
        event = audit_event(record.value)
        if event is None:
            return []
        row = audit_row(event)
        await wait_out(
            lambda: self._pool.execute(_INSERT, *row),
            self._stop,
            transient=TRANSIENT,
            what="audit_log",
            first_pause_s=self._retry_initial_s,
            max_pause_s=self.settings.retry_max_s,
        )
        self.recorded += 1
        return []

    async def _wait_for_table(self) -> bool:
        """Poll until `audit_log` exists (the api's migration 0008); False if stopped first."""
        logged = False
        while not self._stop.is_set():
            try:
                if await self._pool.fetchval("SELECT to_regclass('audit_log') IS NOT NULL"):
                    return True
            except TRANSIENT:
                pass
            if not logged:
                log.warning("audit_log_waiting_for_table")
                logged = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.settings.schema_poll_s)
        return False


def _log_unrecorded(record: Record, exc: Exception) -> list[OutgoingRecord]:
    let_through(exc)  # stopping during a database outage: nothing committed
    log.error(
        "audit_event_unrecorded",
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        error=f"{type(exc).__name__}: {str(exc)[:300]}",
    )
    return []
