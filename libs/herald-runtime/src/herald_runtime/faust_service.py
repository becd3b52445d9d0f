"""The shell of a faust-streaming service (derive): settings, faust options, lifecycle.

    FaustServiceSettings   the settings every faust service has; a service subclasses it with
                           its env prefix, its defaults (`app_id_field`, `data_dir_field`) and
                           its own knobs
    faust_options()        settings → `faust.App` keyword arguments (pure); `RAW_SCHEMA`
    FaustService           owns the faust app, the producer and the health site (`/livez`,
                           `/readyz`, `/metrics`); a subclass adds its tables, topics and agents,
                           checks its topics and says what it is doing once ready
    serve_until_stopped()  runs a service until SIGTERM/SIGINT or a crash; the exit status
    handle_each()          an agent's body: one failing record is counted and logged, not fatal
    send_until_acked()     the emit step: retry a send while the broker refuses

This module imports no faust: herald-runtime is shared by every service, only derive depends on
faust-streaming (it also uses `herald_runtime.faust_consumer`, faust's consumer with
Herald's fixes, which does import faust). Each service builds its own `faust.App` (from
`faust_options`) and producer and hands them to `FaustService`, which uses them through the
small `FaustApp` and `Lifecycle` protocols. The same goes for Kafka: the producer and the
retryable error type are parameters, so herald-runtime needs no herald-kafka either: its
dependencies (and uv.lock) are unchanged.

faust's web server is off, faust declares no topic (`topic_allow_declare=False`, every topic
comes from deploy/topics.yaml) and the leader topic is disabled: nothing here needs a leader.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any, ClassVar, Protocol, Self

import structlog
from aiohttp import web
from herald_core.settings import HttpSettings, KafkaSettings, LogSettings
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from herald_runtime.health import add_health_routes, start_site
from herald_runtime.signals import stop_event_on_signals
from herald_runtime.tasks import TaskSupervisor

log = structlog.get_logger(__name__)

EMIT_RETRY_MAX_S = 30.0


def app_id_field(default: str) -> Any:
    """The `app_id` field of a service whose faust app id defaults to `default`."""
    return Field(
        default=default,
        min_length=1,
        description="faust app id: the consumer group and the prefix of the changelog topics",
    )


def data_dir_field(name: str) -> Any:
    """The `data_dir` field: a directory named `name` in the system's temporary directory."""
    return Field(
        default=Path(tempfile.gettempdir()) / name,
        description="faust's data directory (tables live in memory; faust still creates it)",
    )


class FaustServiceSettings(BaseSettings):
    """What every faust service is configured with; a subclass sets `env_prefix` and defaults."""

    model_config = SettingsConfigDict(
        env_nested_delimiter="__",
        frozen=True,
        nested_model_default_partial_update=True,
        hide_input_in_errors=True,  # an error would print the Kafka password
    )

    kafka: KafkaSettings
    http: HttpSettings
    log: LogSettings = LogSettings()
    app_id: str
    table_partitions: int = Field(
        default=6,
        ge=1,
        description="partitions of every changelog: those of the source topics (co-partitioned)",
    )
    auto_offset_reset: str = Field(
        default="earliest",
        pattern="^(earliest|latest)$",
        description="where a consumer group without committed offsets starts",
    )
    commit_interval_s: float = Field(default=2.8, gt=0, description="faust offset commits")
    session_timeout_s: float = Field(
        default=60.0,
        ge=6,
        le=90,
        description="consumer-group session timeout: how long the group waits for a silent "
        "worker (one that was killed) before its partitions move to the others; at least the "
        "broker's group.min.session.timeout.ms (6 s), at most faust's request timeout (90 s)",
    )
    data_dir: Path

    def changelog(self, table: str) -> str:
        """faust's changelog topic of `table`; deploy/topics.yaml must declare it."""
        return f"{self.app_id}-{table}-changelog"


def faust_options(settings: FaustServiceSettings, **extra: Any) -> dict[str, Any]:
    """The `faust.App(settings.app_id, **options)` options: no web server, no topic creation.

    `extra` adds or overrides options. Pure.
    """
    brokers = [
        f"kafka://{server.strip()}" for server in settings.kafka.bootstrap_servers.split(",")
    ]
    return {
        "broker": brokers,
        "broker_client_id": settings.kafka.client_id,
        "broker_commit_interval": settings.commit_interval_s,
        "broker_session_timeout": settings.session_timeout_s,
        "broker_heartbeat_interval": heartbeat_interval_s(settings.session_timeout_s),
        "consumer_auto_offset_reset": settings.auto_offset_reset,
        "store": "memory://",
        "datadir": str(settings.data_dir),
        "processing_guarantee": "at_least_once",
        "producer_acks": -1,
        "topic_partitions": settings.table_partitions,
        "topic_allow_declare": False,
        "topic_disable_leader": True,
        "web_enabled": False,
        "autodiscover": False,
        # An event whose handling was cancelled (shutdown mid-retry) is handled again.
        "stream_ack_cancelled_tasks": False,
        **extra,
    }


def heartbeat_interval_s(session_timeout_s: float) -> float:
    """faust's 3 s heartbeat, or a third of a shorter session timeout (Kafka's rule). Pure."""
    return min(3.0, session_timeout_s / 3)


RAW_SCHEMA: Mapping[str, Any] = {
    "key_type": bytes,
    "value_type": bytes,
    "key_serializer": "raw",
    "value_serializer": "raw",
}
"""`faust.Schema(**RAW_SCHEMA)`: keys and values as bytes, untouched; Herald decodes them itself."""


class TopicsNotReady(RuntimeError):
    """A source topic or changelog is missing or has the wrong partitions."""


def check_partitions(
    found: Mapping[str, int], topics: Iterable[str], expected: int, doc: str
) -> None:
    """Raise unless each of `topics` has `expected` partitions in `found`. Pure.

    Raises:
        TopicsNotReady: naming the first wrong topic and what to do (see `doc`).
    """
    for topic in topics:
        if found.get(topic) != expected:
            raise TopicsNotReady(
                f"{topic} has {found.get(topic, 'no')} partitions, expected "
                f"{expected}: declare it in deploy/topics.yaml and run "
                f"`herald-topics apply` ({doc})"
            )


class TopicPartition(Protocol):
    """A faust `TP`: one partition of one topic."""

    @property
    def topic(self) -> str: ...

    @property
    def partition(self) -> int: ...


class Assignor(Protocol):
    """The part of faust's partition assignor the shell reads: this worker's partitions."""

    def assigned_actives(self) -> AbstractSet[TopicPartition]: ...

    def assigned_standbys(self) -> AbstractSet[TopicPartition]: ...


class PartitionsCollector(Collector):
    """`herald_faust_assigned_partitions{topic,partition,role}`: 1 per partition this worker
    holds, `role` = `active` (it processes the partition and owns its table shard) or `standby`
    (it keeps a replica of the shard from the changelog). Read from faust at each scrape."""

    def __init__(self, assignor: Callable[[], Assignor]) -> None:
        self._assignor = assignor

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "herald_faust_assigned_partitions",
            "Partitions assigned to this worker by faust (1 each), by role",
            labels=["topic", "partition", "role"],
        )
        assignor = self._assignor()
        for role, tps in (
            ("active", assignor.assigned_actives()),
            ("standby", assignor.assigned_standbys()),
        ):
            for tp in sorted(tps, key=lambda t: (t.topic, t.partition)):
                family.add_metric([tp.topic, str(tp.partition), role], 1.0)
        yield family


class FaustApp(Protocol):
    """The part of `faust.App` the shell uses."""

    rebalancing: bool
    in_recovery: bool
    on_startup_finished: Callable[..., Any] | None

    @property
    def assignor(self) -> Assignor: ...

    @property
    def crashed(self) -> bool: ...

    @property
    def crash_reason(self) -> BaseException | None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class Lifecycle(Protocol):
    """Something started once and stopped once, such as a Kafka producer."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class FaustService:
    """Owns a faust app, a producer and the health site; a subclass adds agents and tables.

    Entering starts the health site, checks the topics (`check_topics`), starts the producer,
    then runs the faust app as a supervised task; leaving stops them in the reverse order.
    """

    recovering: ClassVar[str] = "joining the group and recovering the tables"

    def __init__(
        self,
        settings: FaustServiceSettings,
        app: FaustApp,
        producer: Lifecycle,
        registry: CollectorRegistry | None = None,
        starts: StartOffset | None = None,
    ) -> None:
        self.settings = settings
        self.registry = registry or CollectorRegistry()
        self.producer = producer
        self.port = settings.http.port
        self.tasks = TaskSupervisor()
        self.app = app
        app.on_startup_finished = self._on_startup_finished
        self.registry.register(PartitionsCollector(lambda: self.app.assignor))
        self.gaps = OffsetGaps(self.registry, starts)
        self._runner: web.AppRunner | None = None
        self._started = False

    async def check_topics(self) -> None:
        """Fail fast unless the service's topics exist; raise `TopicsNotReady` otherwise."""

    def status(self) -> str:
        """What the service is doing once ready (the `/readyz` detail)."""
        return "running"

    def on_started(self) -> None:
        """Called once faust has joined the group and recovered the tables."""

    def ready(self) -> tuple[bool, str]:
        if not self._started:
            return False, self.recovering
        if self.app.rebalancing or self.app.in_recovery:
            return False, "rebalancing"
        return True, self.status()

    def alive(self) -> str | None:
        if self.tasks.failure is not None:
            return self.tasks.failure
        if self.app.crashed:
            return f"faust app crashed: {self.app.crash_reason!r}"
        return None

    async def __aenter__(self) -> Self:
        app = web.Application()
        add_health_routes(app, self.registry, self.ready, self.alive)
        self._runner, self.port = await start_site(
            app, self.settings.http.host, self.settings.http.port
        )
        try:
            await self.check_topics()
        except BaseException:
            await self.producer.stop()  # never started, but it must be closed all the same
            await self._runner.cleanup()
            raise
        await self.producer.start()
        self.tasks.start(self.app.start(), "faust-app")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.app.stop()
        await self.tasks.join()
        await self.producer.stop()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _on_startup_finished(self) -> None:
        self._started = True
        self.on_started()


class EventStream(Protocol):
    """The part of `faust.StreamT` an agent body uses."""

    def events(self) -> AsyncIterable[Any]: ...


StartOffset = Callable[[str, int, int], int | None]
"""(topic, partition, generation) → the offset the partition starts at in that generation, if
known: herald_runtime.faust_consumer.start_offsets."""


class OffsetGaps:
    """Watches the offsets an agent is handed, per partition, within one consumer generation.

    Herald's tables assume that each partition's records are handled in offset order with none
    left out. A record further on than the next offset means faust skipped the records between
    (docs/derive.md, *Records left out*); they are counted in
    `herald_faust_records_skipped_total` and logged (`records_skipped`). The first record of a
    partition in a generation is checked against where the partition starts (`starts`: the
    committed offset, or the first one), when known. A transaction marker also takes an
    offset, so a topic written in transactions shows a gap of one per transaction. Going back
    (a seek to the committed offset) and a new generation (a rebalance) start the count afresh.
    """

    def __init__(self, registry: CollectorRegistry, starts: StartOffset | None = None) -> None:
        self.skipped = Counter(
            "herald_faust_records_skipped_total",
            "Records faust handed over out of order: offsets jumped over, by topic",
            ["topic"],
            registry=registry,
        )
        self.starts = starts
        self._next: dict[tuple[str, int], tuple[int, int]] = {}

    def see(self, topic: str, partition: int, offset: int, generation: int) -> int:
        """Note a record handed to the agent; returns how many offsets were jumped over."""
        key = (topic, partition)
        expected = self._next.get(key)
        self._next[key] = (generation, offset + 1)
        if expected is None or expected[0] != generation:
            start = self.starts(topic, partition, generation) if self.starts else None
            expected = None if start is None else (generation, start)
        if expected is None or offset <= expected[1]:
            return 0
        jumped = offset - expected[1]
        self.skipped.labels(topic).inc(jumped)
        log.warning(
            "records_skipped", topic=topic, partition=partition, expected=expected[1], got=offset
        )
        return jumped


async def handle_each(
    stream: EventStream,
    handle: Callable[[Any], Awaitable[None]],
    count_failure: Callable[[], None],
    gaps: OffsetGaps | None = None,
) -> None:
    """Await `handle(event)` for each event of `stream`; a failure is counted, logged, skipped.

    This is the shell: one bad record must not kill the agent. Cancellation propagates. With
    `gaps`, the offsets handed over are watched for records faust left out.
    """
    async for event in stream.events():
        if gaps is not None:
            message = event.message
            generation = getattr(message, "generation_id", 0)
            gaps.see(message.topic, message.partition, message.offset, generation)
        try:
            await handle(event)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            count_failure()
            log.warning(
                "record_failed",
                topic=event.message.topic,
                partition=event.message.partition,
                offset=event.message.offset,
                error_type=type(exc).__name__,
                error=str(exc)[:500],
            )


async def send_until_acked(
    send: Callable[[], Awaitable[None]],
    retry_on: type[Exception],
    *,
    max_delay_s: float = EMIT_RETRY_MAX_S,
) -> None:
    """Await `send()`; while it raises `retry_on`, retry with a doubling delay (up to max).

    The record being handled stays unacknowledged meanwhile. Other errors propagate.
    """
    delay = 0.5
    while True:
        try:
            await send()
            return
        except retry_on as exc:
            log.warning("emit_failed_retrying", error=str(exc)[:300], retry_in_s=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_delay_s)


async def serve_until_stopped(make_service: Callable[[], FaustService], name: str) -> int:
    """Run the service until SIGTERM/SIGINT, then drain; return the exit status.

    1 if faust crashed, 2 if a topic is missing (nothing was read then). `name` prefixes the
    logged event names (`<name>_failed`, `<name>_topics_not_ready`).
    """
    stop = stop_event_on_signals()
    try:
        async with make_service() as service:
            while not stop.is_set() and service.alive() is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=1.0)
            failure = service.alive()
    except TopicsNotReady as exc:
        log.error(f"{name}_topics_not_ready", detail=str(exc))
        return 2
    if failure is not None:
        log.error(f"{name}_failed", detail=failure)
        return 1
    return 0
