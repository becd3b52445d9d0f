"""The API service: HTTP, the outbox relay, the directory and command consumers, one pool.

ApiService(settings)  — an async context manager; `serve()` runs it until SIGTERM.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import asyncpg
import structlog
from aiohttp import web
from herald_core.envelope import Event
from herald_core.metrics import ApiMetrics, ConsumerLag
from herald_core.topics import EVENTS, NOTIFIER_COMMANDS
from herald_kafka import AIOKafkaProducer
from herald_kafka.connection import start_client
from herald_kafka.consumer import Record, run_group
from herald_kafka.producer import (
    OutgoingRecord,
    broker_reachable,
    idempotent_producer,
    stop_producer,
)
from herald_runtime.health import PROBES, Probes, start_site
from herald_runtime.outage import let_through
from herald_runtime.probe import DependencyProbe
from herald_runtime.problems import problem_middleware
from herald_runtime.signals import stop_event_on_signals
from herald_runtime.tasks import TaskSupervisor
from prometheus_client import CollectorRegistry
from pydantic import ValidationError

from herald_api.http import openapi
from herald_api.http.access import access_middleware
from herald_api.http.auth import TokenScope, create_token
from herald_api.http.context import CONTEXT, ApiContext, utc_now
from herald_api.http.declare import register
from herald_api.http.observability import metrics_middleware
from herald_api.http.unavailable import unavailable_middleware
from herald_api.http.web import ApiProblem, problem_response
from herald_api.native import unsubscribe_api
from herald_api.pipes.database_wait import applied
from herald_api.pipes.delivery_queue import DELIVERY_PRODUCER
from herald_api.pipes.delivery_results import RESULT_WAITERS, ResultWaiters
from herald_api.pipes.directory_consumer import apply_event
from herald_api.pipes.notifier_commands import NotifierCommands, log_and_skip
from herald_api.pipes.relay import OutboxRelay
from herald_api.routes import ROUTES
from herald_api.settings import ApiSettings
from herald_api.store.migrate import migrate
from herald_api.stream import stream_api
from herald_api.stream.stream_hub import STREAMS

log = structlog.get_logger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def api_problems(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiProblem as error:
        return problem_response(error)


def build_app(
    context: ApiContext,
    registry: CollectorRegistry,
    ready: Callable[[], tuple[bool, str]],
    alive: Callable[[], str | None],
    metrics: ApiMetrics | None = None,
    *,
    producer: AIOKafkaProducer | None = None,
    results: ResultWaiters | None = None,
) -> web.Application:
    """The aiohttp application with every route of the API."""
    observe = [metrics_middleware(metrics)] if metrics is not None else []
    app = web.Application(
        middlewares=[
            *observe,
            problem_middleware,
            unavailable_middleware,
            api_problems,
            access_middleware,
        ],
        client_max_size=1024 * 1024,
    )
    app[CONTEXT] = context
    if producer is not None:  # the notifier test and redelivery produce deliveries
        app[DELIVERY_PRODUCER] = producer
    if results is not None:  # the notifier test awaits its result
        app[RESULT_WAITERS] = results
    app[PROBES] = Probes(registry, ready, alive)
    openapi.prepare(app, context.settings.public_url, ROUTES)
    stream_api.prepare(app, context.settings)
    if metrics is not None:
        hub = app[STREAMS]
        metrics.streams_open.set_function(lambda: hub.open)
    unsubscribe_api.prepare(app)
    register(app, ROUTES)
    return app


class ApiService:
    """Owns the pool, the producer, the relay, the consumers and the HTTP site."""

    def __init__(self, settings: ApiSettings, registry: CollectorRegistry | None = None) -> None:
        self.settings = settings
        self.registry = registry or CollectorRegistry()
        self.tasks = TaskSupervisor(self.registry)
        self.metrics = ApiMetrics.create(self.registry)
        self.lag = ConsumerLag(self.registry)
        self.producer = idempotent_producer(settings.kafka)
        self.results = ResultWaiters(settings.kafka, max_waiters=settings.notifier_test_max_waiting)
        self.port = settings.http.port
        self.pool: asyncpg.Pool | None = None
        self.relay: OutboxRelay | None = None
        self.commands: NotifierCommands | None = None
        self._stop = asyncio.Event()
        self._runner: web.AppRunner | None = None
        every_s = settings.readiness_probe_s
        self.database = DependencyProbe("database", self._select_one, every_s=every_s)
        self.broker = DependencyProbe(
            "broker", lambda: broker_reachable(self.producer, every_s), every_s=every_s
        )

    def ready(self) -> tuple[bool, str]:
        if not self.database.ok:
            return False, "database unreachable"
        if not self.broker.ok:
            return False, "broker unreachable"
        return True, "database and broker reachable"

    async def _select_one(self) -> None:
        assert self.pool is not None
        await self.pool.fetchval("SELECT 1")

    async def __aenter__(self) -> ApiService:
        url = self.settings.database_url.get_secret_value()
        # Migrations may take long (an index on a big table, another replica's lock): their
        # own connection, without the requests' statement timeout.
        connection = await asyncpg.connect(url, timeout=self.settings.database_timeout_s)
        try:
            await self._prepare(connection)
        finally:
            await connection.close()
        self.pool = await asyncpg.create_pool(
            url,
            min_size=self.settings.pool_min_size,
            max_size=self.settings.pool_max_size,
            timeout=self.settings.database_timeout_s,  # connecting: a 503 soon, not a hang
            command_timeout=self.settings.database_statement_timeout_s,  # a dead link too
        )
        await start_client(self.producer, self.settings.kafka)
        # Positioned at the end of the results before the first request can wait for one.
        await self.results.start()
        self.tasks.keep_running(
            lambda: self.results.run(self._stop), "delivery-results", self._stop
        )
        self.relay = OutboxRelay(
            self.pool,
            self.producer,
            batch=self.settings.relay_batch,
            poll_s=self.settings.relay_poll_s,
        )
        self.relay.metrics = self.metrics
        if self.settings.relay_enabled:
            self.tasks.keep_running(self._relay, "outbox-relay", self._stop)
        if self.settings.directory_consumer_enabled:
            self.tasks.keep_running(self._follow_directory_events, "directory-consumer", self._stop)
        if self.settings.notifier_commands_enabled:
            self.commands = NotifierCommands(self.pool, self.registry, utc_now, self._stop)
            self.tasks.keep_running(self._follow_notifier_commands, "notifier-commands", self._stop)
        self.tasks.keep_running(lambda: self.database.run(self._stop), "database-probe", self._stop)
        self.tasks.keep_running(lambda: self.broker.run(self._stop), "broker-probe", self._stop)
        app = build_app(
            ApiContext(self.settings, self.pool),
            self.registry,
            self.ready,
            lambda: self.tasks.failure,
            self.metrics,
            producer=self.producer,
            results=self.results,
        )
        self._runner, self.port = await start_site(
            app, self.settings.http.host, self.settings.http.port
        )
        log.info("api_listening", host=self.settings.http.host, port=self.port)
        return self

    async def _prepare(self, connection: asyncpg.Connection) -> None:
        """Pending migrations, then the bootstrap admin token."""
        if self.settings.migrate_on_start:
            for migration in await migrate(connection):
                log.info("migration_applied", version=migration.version, name=migration.name)
        if self.settings.admin_token is not None:
            await create_token(
                connection,
                "bootstrap admin",
                TokenScope.ADMIN,
                token=self.settings.admin_token.get_secret_value(),
            )

    async def __aexit__(self, *exc: object) -> None:
        self._stop.set()
        if self._runner is not None:
            await self._runner.cleanup()
        await self.tasks.join()
        await self.results.stop()
        await stop_producer(self.producer)
        if self.pool is not None:
            await self.pool.close()

    async def _relay(self) -> None:
        assert self.relay is not None
        await self.relay.run(self._stop)

    async def _follow_directory_events(self) -> None:
        await run_group(
            self.settings.kafka,
            self.settings.directory_group_id,
            [EVENTS],
            producer=self.producer,
            handle=self._directory_event,
            on_error=_log_and_skip,
            stop=self._stop,
            on_lag=self.lag.reporter(self.settings.directory_group_id),
        )

    async def _follow_notifier_commands(self) -> None:
        """Endpoint health's decisions (notifier_commands.py); commits after each transaction."""
        assert self.commands is not None
        await run_group(
            self.settings.kafka,
            self.settings.notifier_commands_group_id,
            [NOTIFIER_COMMANDS],
            producer=self.producer,
            handle=self.commands.handle,
            on_error=log_and_skip,
            stop=self._stop,
            on_lag=self.lag.reporter(self.settings.notifier_commands_group_id),
        )

    async def _directory_event(self, record: Record) -> list[OutgoingRecord]:
        assert self.pool is not None
        try:
            event = Event.model_validate_json(record.value or b"")
        except ValidationError:
            return []  # not ours to judge: ingest validated what is on notify.events
        pool, faces = self.pool, self.settings.default_faces
        # A database outage is waited out (database_wait): skipping the event would lose it.
        await applied(lambda: apply_event(pool, event, faces=faces), self._stop, what="directory")
        return []


def _log_and_skip(record: Record, exc: Exception) -> list[OutgoingRecord]:
    let_through(exc)  # stopping with the database out: nothing committed, read again at start
    log.error(
        "directory_event_failed",
        offset=record.offset,
        partition=record.partition,
        error=str(exc)[:300],
    )
    return []


async def serve(settings: ApiSettings) -> None:
    """Run until SIGTERM/SIGINT, then drain."""
    stop = stop_event_on_signals()
    async with ApiService(settings):
        await stop.wait()
