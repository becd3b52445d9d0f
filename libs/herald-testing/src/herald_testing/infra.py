"""The real broker and database for a test session, on free loopback ports, torn down after.

with LocalInfra.start() as infra:   # Kafka 4.x (KRaft) + topics; Postgres on demand
    infra.bootstrap_servers
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from herald_devstack.kafka import KafkaNode
from herald_devstack.postgres import PostgresNode
from herald_devstack.processes import distinct_free_ports, free_port
from herald_kafka.admin import wait_until_ready
from herald_kafka.topics import apply_file

PREFIX = "herald-test-"
OWNER = "owner.pid"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap_orphans() -> list[Path]:
    """Stop and delete the brokers and databases of test sessions whose process is gone.

    A session killed before its finaliser ran (SIGKILL, a CI time limit) leaves its Kafka and
    Postgres running; the next session cleans them up, so a machine never accumulates them.
    """
    reaped = []
    for state in Path(tempfile.gettempdir()).glob(f"{PREFIX}*"):
        try:
            owner = int((state / OWNER).read_text())
        except (OSError, ValueError):
            owner = 0
        if owner and _alive(owner):
            continue
        KafkaNode(state).stop()
        postgres = PostgresNode(state)
        if (postgres.data / "postmaster.pid").exists():
            with contextlib.suppress(Exception):
                postgres.stop()
        shutil.rmtree(state, ignore_errors=True)
        reaped.append(state)
    return reaped


@dataclass
class LocalInfra:
    """A throwaway state directory with one broker (and a database when asked)."""

    state_dir: Path
    kafka: KafkaNode
    postgres: PostgresNode | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @classmethod
    def create(cls) -> LocalInfra:
        reap_orphans()
        state = Path(tempfile.mkdtemp(prefix=PREFIX))
        os.chmod(state, 0o755)  # noqa: S103 - the postgres user must read it when we run as root
        (state / OWNER).write_text(str(os.getpid()))
        port, controller = distinct_free_ports(2)
        return cls(state, KafkaNode(state, port=port, controller_port=controller))

    @property
    def bootstrap_servers(self) -> str:
        return self.kafka.bootstrap_servers

    def start_kafka(self, *, timeout_s: float = 120) -> None:
        started = time.monotonic()
        self.kafka.start()
        try:
            asyncio.run(wait_until_ready(self.kafka.client_settings(), timeout_s=timeout_s))
        except TimeoutError as exc:
            raise RuntimeError(f"{exc}\n--- kafka log ---\n{self.kafka.process.tail(40)}") from exc
        self.timings["kafka_ready_s"] = time.monotonic() - started
        started = time.monotonic()
        asyncio.run(apply_file(self.kafka.client_settings()))
        self.timings["topics_s"] = time.monotonic() - started

    def start_postgres(self) -> PostgresNode:
        if self.postgres is None:
            self.postgres = PostgresNode(self.state_dir, port=free_port(), durable=False)
            self.timings["postgres_ready_s"] = self.postgres.start()
        return self.postgres

    def stop(self) -> None:
        try:
            self.kafka.stop()
            if self.postgres is not None:
                self.postgres.stop()
        finally:
            shutil.rmtree(self.state_dir, ignore_errors=True)
