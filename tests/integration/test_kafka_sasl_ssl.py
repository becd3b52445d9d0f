"""A broker with a SASL_SSL listener (SCRAM-SHA-512, TLS from a throwaway CA): Herald's clients,
built from `KafkaSettings` alone, round-trip a record through it, and a wrong password or an
untrusted CA fails fast with a message that names it.

The broker is this module's own (`KafkaNode(secure_port=…)`), not the session's.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from herald_core.envelope import Event
from herald_core.intake import parse_event
from herald_core.settings import KafkaSettings
from herald_core.topics import EVENTS, TopicSpec
from herald_devstack.kafka import KafkaNode
from herald_devstack.processes import distinct_free_ports
from herald_devstack.tls import make_tls
from herald_kafka.admin import admin_client, apply_topics, wait_until_ready
from herald_kafka.connection import KafkaConnectFailed, start_client
from herald_kafka.consumer import commit_at_end
from herald_kafka.lag import consumer_lags
from herald_kafka.producer import OutgoingRecord, idempotent_producer, send_all
from herald_kafka.reader import AssignedReader
from herald_testing.service_process import ServiceProcess, started

FAIL_WITHIN_S = 10.0


@pytest.fixture(scope="module")
def secured_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaNode]:
    port, controller, secure, mtls = distinct_free_ports(4)
    node = KafkaNode(
        tmp_path_factory.mktemp("secured"),
        port=port,
        controller_port=controller,
        secure_port=secure,
        mtls_port=mtls,
        heap="512m",
    )
    node.start()
    try:
        yield node
    finally:
        node.reset()


async def _ready(node: KafkaNode) -> KafkaSettings:
    """The node's secured settings, once it answers on its SASL_SSL listener."""
    try:
        await wait_until_ready(node.secure_settings(), timeout_s=120)
    except (TimeoutError, KafkaConnectFailed) as exc:
        raise AssertionError(f"{exc}\n--- kafka log ---\n{node.process.tail(40)}") from exc
    return node.secure_settings(client_id="herald-secure-test")


async def _round_trip(kafka: KafkaSettings) -> str:
    """A topic made, a record produced and read back, all with `kafka`'s security alone; the
    topic's name."""
    topic = f"secured-{uuid.uuid4().hex[:8]}"
    async with admin_client(kafka) as admin:
        plan = await apply_topics(
            admin, [TopicSpec(name=topic, partitions=1, replication_factor=1)]
        )
    assert plan.created == [topic]
    producer = idempotent_producer(kafka)
    try:
        await start_client(producer, kafka)
        await send_all(producer, [OutgoingRecord(topic, kafka.client_id.encode(), b"k", [])])
    finally:
        await producer.stop()
    async with AssignedReader(kafka, [topic], start="beginning") as reader:
        deadline = time.monotonic() + 30
        values: list[bytes | None] = []
        while not values and time.monotonic() < deadline:
            batches = await reader.getmany(timeout_ms=500)
            values = [r.value for records in batches.values() for r in records]
    assert values == [kafka.client_id.encode()]
    return topic


async def test_a_record_round_trips_over_sasl_ssl(secured_broker: KafkaNode) -> None:
    kafka = await _ready(secured_broker)
    topic = await _round_trip(kafka)
    group = f"secured-group-{uuid.uuid4().hex[:8]}"
    # a group consumer (its coordinator found over SASL_SSL), then the admin and lag clients
    await commit_at_end(kafka, group, [topic])
    assert await consumer_lags(kafka, {group: [topic]}) == {group: 0}


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "PLAIN"])
async def test_the_other_sasl_mechanisms_work_too(
    secured_broker: KafkaNode, mechanism: str
) -> None:
    await _ready(secured_broker)
    kafka = secured_broker.secure_settings(f"herald-{mechanism.lower()}", sasl_mechanism=mechanism)
    await _round_trip(kafka)


async def test_a_wrong_plain_password_fails_fast_and_says_so(secured_broker: KafkaNode) -> None:
    await _ready(secured_broker)
    kafka = secured_broker.secure_settings(sasl_mechanism="PLAIN", sasl_password="wrong-one")
    error = await _fails_fast(kafka)
    assert "SASL authentication as 'herald' (PLAIN)" in str(error)


async def test_mutual_tls_with_the_client_certificate_works(secured_broker: KafkaNode) -> None:
    await _ready(secured_broker)
    await _round_trip(secured_broker.mtls_settings("herald-mtls"))


async def test_mutual_tls_without_a_client_certificate_fails_fast(
    secured_broker: KafkaNode,
) -> None:
    await _ready(secured_broker)
    kafka = secured_broker.mtls_settings(ssl_certfile=None, ssl_keyfile=None)
    error = await _fails_fast(kafka)
    assert "certificate" in str(error), error


async def test_mutual_tls_with_a_certificate_of_another_ca_fails_fast(
    secured_broker: KafkaNode, tmp_path: Path
) -> None:
    await _ready(secured_broker)
    other = make_tls(tmp_path / "other", ca_name="Some other CA")
    kafka = secured_broker.mtls_settings(
        ssl_certfile=other.client_cert, ssl_keyfile=other.client_key
    )
    error = await _fails_fast(kafka)
    assert "certificate" in str(error), error


async def _fails_fast(kafka: KafkaSettings) -> KafkaConnectFailed:
    started = time.monotonic()
    with pytest.raises(KafkaConnectFailed) as caught:
        await wait_until_ready(kafka, timeout_s=60)
    elapsed = time.monotonic() - started
    assert elapsed < FAIL_WITHIN_S, f"took {elapsed:.1f}s: {caught.value}"
    assert caught.value.fatal
    return caught.value


async def test_a_wrong_password_fails_fast_and_says_so(secured_broker: KafkaNode) -> None:
    await _ready(secured_broker)
    error = await _fails_fast(secured_broker.secure_settings(sasl_password="not-the-password"))
    assert "SASL authentication as 'herald' (SCRAM-SHA-512)" in str(error)
    assert "not-the-password" not in str(error)


async def test_an_untrusted_ca_fails_fast_and_says_so(
    secured_broker: KafkaNode, tmp_path: Path
) -> None:
    await _ready(secured_broker)
    other = make_tls(tmp_path / "other", ca_name="Some other CA")
    error = await _fails_fast(secured_broker.secure_settings(ssl_cafile=other.ca))
    assert "is not trusted" in str(error)
    assert "ssl_cafile" in str(error)


async def test_a_plaintext_client_of_the_secured_listener_fails_fast(
    secured_broker: KafkaNode,
) -> None:
    await _ready(secured_broker)
    kafka = KafkaSettings(bootstrap_servers=f"127.0.0.1:{secured_broker.secure_port}")
    producer = idempotent_producer(kafka)
    started = time.monotonic()
    try:
        with pytest.raises(KafkaConnectFailed):
            await start_client(producer, kafka)
    finally:
        await producer.stop()
    assert time.monotonic() - started < FAIL_WITHIN_S


def _secured_env(node: KafkaNode, prefix: str, tmp_path: Path) -> dict[str, str]:
    """The variables of a secured connection to `node`, the password from a file."""
    kafka = node.secure_settings()
    password = tmp_path / "sasl-password"
    password.write_text(node.scram_password + "\n")
    return {
        f"{prefix}SECURITY_PROTOCOL": kafka.security_protocol,
        f"{prefix}SASL_MECHANISM": str(kafka.sasl_mechanism),
        f"{prefix}SASL_USERNAME": str(kafka.sasl_username),
        f"{prefix}SASL_PASSWORD_FILE": str(password),
        f"{prefix}SSL_CAFILE": str(kafka.ssl_cafile),
    }


async def test_herald_topics_and_derive_work_over_sasl_ssl(
    secured_broker: KafkaNode, tmp_path: Path
) -> None:
    """The tool reads `HERALD_KAFKA_…`, the faust service `HERALD_DERIVE_KAFKA__…`."""
    kafka = await _ready(secured_broker)
    applied = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "herald_kafka.topics", "apply"],
        env={
            **os.environ,
            "HERALD_KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
            **_secured_env(secured_broker, "HERALD_KAFKA_", tmp_path),
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "create" in applied.stdout

    settings = {
        key.removeprefix("HERALD_DERIVE_").lower(): value
        for key, value in _secured_env(secured_broker, "HERALD_DERIVE_KAFKA__", tmp_path).items()
    }
    derive = ServiceProcess("derive", kafka.bootstrap_servers, tmp_path / "derive.log", **settings)
    try:
        await started(derive, timeout_s=90)
        app_id = f"secured-{uuid.uuid4().hex[:8]}"
        crashes = [_crash(app_id, n) for n in (1, 2)]
        producer = idempotent_producer(kafka)
        try:
            await start_client(producer, kafka)
            await send_all(
                producer, [OutgoingRecord(EVENTS, e.to_json(), app_id.encode()) for e in crashes]
            )
        finally:
            await producer.stop()
        types = await _event_types(kafka, app_id, until="app_crashed")
        assert types.count("app_crashed") == 1, types
        assert derive.terminate() == 0
    finally:
        derive.stop()


def _crash(app_id: str, n: int) -> Event:
    return parse_event(
        {
            "id": f"{app_id}-crash-{n}",
            "type": "app_crashed_repeated",
            "created_at": f"2026-03-01T08:0{n}:00+00:00",
            "source": "platform",
            "app_id": app_id,
            "app_name": "crashy",
            "owner_id": "owner-crashy",
            "type_data": {"container_type": "web", "exit_code": 137},
        }
    )


async def _event_types(kafka: KafkaSettings, app_id: str, *, until: str) -> list[str]:
    """The types of `app_id`'s events on notify.events, read until one is `until`."""
    types: list[str] = []
    async with AssignedReader(kafka, [EVENTS], start="beginning") as reader:
        deadline = time.monotonic() + 60
        while until not in types and time.monotonic() < deadline:
            for records in (await reader.getmany(timeout_ms=500)).values():
                types += [
                    json.loads(r.value or b"{}")["type"]
                    for r in records
                    if r.key == app_id.encode()
                ]
    return types


async def test_a_service_with_a_wrong_password_stops_at_once_and_says_why(
    secured_broker: KafkaNode, tmp_path: Path
) -> None:
    """Retrying cannot mend a wrong password: the router, given one, exits within seconds with
    a non-zero status and a log line that names the SASL failure, so that the orchestrator
    shows the cause instead of a service that backs off for ever."""
    kafka = await _ready(secured_broker)
    settings = {
        key.removeprefix("HERALD_ROUTER_").lower(): value
        for key, value in _secured_env(secured_broker, "HERALD_ROUTER_KAFKA__", tmp_path).items()
    }
    (tmp_path / "sasl-password").write_text("not-the-password\n")
    router = ServiceProcess("router", kafka.bootstrap_servers, tmp_path / "router.log", **settings)
    started_at = time.monotonic()
    router.start()
    try:
        assert router.process is not None
        status = await asyncio.to_thread(router.process.wait, FAIL_WITHIN_S)
        took = time.monotonic() - started_at
    finally:
        router.stop()
    assert status != 0
    log = router.log.read_text(errors="replace")
    assert "SASL authentication as 'herald' (SCRAM-SHA-512)" in log, router.tail()
    assert "check sasl_username, sasl_password and sasl_mechanism" in log
    assert "not-the-password" not in log  # the wrong password is never printed
    print(f"router exited {status} after {took:.1f} s")
