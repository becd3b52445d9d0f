"""The real broker and database for a test session, on free loopback ports, torn down after.

with LocalInfra.start() as infra:   # Kafka 4.x (KRaft) + topics; Postgres on demand
    infra.bootstrap_servers
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from herald_devstack.kafka import KafkaNode
from herald_devstack.postgres import PostgresNode
from herald_devstack.processes import free_port
from herald_kafka.admin import wait_until_ready
from herald_kafka.topics import apply_file


@dataclass
class LocalInfra:
    """A throwaway state directory with one broker (and a database when asked)."""

    state_dir: Path
    kafka: KafkaNode
    postgres: PostgresNode | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @classmethod
    def create(cls) -> LocalInfra:
        state = Path(tempfile.mkdtemp(prefix="herald-test-"))
        os.chmod(state, 0o755)  # noqa: S103 - the postgres user must read it when we run as root
        return cls(state, KafkaNode(state, port=free_port(), controller_port=free_port()))

    @property
    def bootstrap_servers(self) -> str:
        return self.kafka.bootstrap_servers

    def start_kafka(self, *, timeout_s: float = 120) -> None:
        started = time.monotonic()
        self.kafka.start()
        try:
            asyncio.run(wait_until_ready(self.bootstrap_servers, timeout_s=timeout_s))
        except TimeoutError as exc:
            raise RuntimeError(f"{exc}\n--- kafka log ---\n{self.kafka.process.tail(40)}") from exc
        self.timings["kafka_ready_s"] = time.monotonic() - started
        started = time.monotonic()
        asyncio.run(apply_file(self.bootstrap_servers))
        self.timings["topics_s"] = time.monotonic() - started

    def start_postgres(self) -> PostgresNode:
        if self.postgres is None:
            self.postgres = PostgresNode(self.state_dir, port=free_port())
            self.timings["postgres_ready_s"] = self.postgres.start()
        return self.postgres

    def stop(self) -> None:
        try:
            self.kafka.stop()
            if self.postgres is not None:
                self.postgres.stop()
        finally:
            shutil.rmtree(self.state_dir, ignore_errors=True)
