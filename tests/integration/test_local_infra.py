"""The local infrastructure itself: Postgres, the SMTP sink, topic apply, and `herald-dev`."""

from __future__ import annotations

import os
import re
import shutil
import smtplib
import subprocess
import sys
import tempfile
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from herald_core.settings import KafkaSettings
from herald_core.topics import TopicSpec, load_topic_file
from herald_devstack.processes import free_port, port_open
from herald_devstack.smtp_sink import read_messages, start_sink
from herald_devstack.stack import CHAT_CHANNELS
from herald_kafka.admin import apply_topics
from herald_kafka.connection import client_options

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


async def test_postgres_is_a_real_server(postgres_url: str) -> None:
    connection = await asyncpg.connect(postgres_url)
    try:
        version = await connection.fetchval("SHOW server_version")
        await connection.execute("CREATE TEMP TABLE t (id int PRIMARY KEY, v jsonb)")
        await connection.execute("INSERT INTO t VALUES (1, $1::jsonb)", '{"a": 1}')
        assert await connection.fetchval("SELECT v->>'a' FROM t WHERE id = 1") == "1"
        assert int(version.split(".")[0]) >= 13
    finally:
        await connection.close()


def test_smtp_sink_keeps_every_message(tmp_path: Path) -> None:
    port = free_port()
    controller = start_sink(tmp_path / "mail", port)
    try:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = (
            "herald@example.com",
            "jo@example.com",
            "Deployed",
        )
        message.set_content("my-app was deployed")
        with smtplib.SMTP("127.0.0.1", port) as client:
            client.send_message(message, to_addrs=["jo@example.com", "al@example.com"])
    finally:
        controller.stop()
    [received] = read_messages(tmp_path / "mail")
    assert received["Subject"] == "Deployed"
    assert received["X-Herald-Rcpt-To"] == "jo@example.com, al@example.com"
    assert received.get_content().strip() == "my-app was deployed"


async def test_topic_apply_is_idempotent_and_converges(
    kafka_settings: KafkaSettings, unique: str
) -> None:
    admin = AIOKafkaAdminClient(**client_options(kafka_settings))
    await admin.start()
    try:
        again = await apply_topics(admin, load_topic_file())
        assert (again.created, again.grown, again.reconfigured) == ([], [], [])
        assert len(again.unchanged) == len(load_topic_file())

        spec = TopicSpec(
            f"test.apply.{unique}", 1, 1, {"cleanup.policy": "delete", "retention.ms": "60000"}
        )
        assert (await apply_topics(admin, [spec])).created == [spec.name]
        changed = replace(
            spec, partitions=3, config={"cleanup.policy": "delete", "retention.ms": "120000"}
        )
        dry = await apply_topics(admin, [changed], dry_run=True)
        assert (dry.grown, dry.reconfigured) == ([(spec.name, 1, 3)], [spec.name])
        plan = await apply_topics(admin, [changed])
        assert (plan.grown, plan.reconfigured) == ([(spec.name, 1, 3)], [spec.name])
        settled = await apply_topics(admin, [changed])
        assert (settled.grown, settled.reconfigured, settled.unchanged) == ([], [], [spec.name])
    finally:
        await admin.close()


def _herald_dev(
    env: dict[str, str], *args: str, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "herald_devstack", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.timeout(300)  # the whole stack from cold: ~75 s alone, more on a loaded machine
def test_herald_dev_up_demo_down(tmp_path: Path) -> None:
    """The README start command: all comes up, an event reaches the webhook sink, all stops."""
    home = Path(tempfile.mkdtemp(prefix="herald-dev-test-"))
    os.chmod(home, 0o755)  # postgres runs as its own user when we are root
    ports = {
        name: str(free_port())
        for name in (
            "KAFKA_PORT",
            "KAFKA_CONTROLLER_PORT",
            "POSTGRES_PORT",
            "SMTP_PORT",
            "WEBHOOK_SINK_PORT",
            "API_PORT",
            "INGEST_PORT",
            "ROUTER_PORT",
            "DERIVE_PORT",
            "ALERTER_PORT",
            "RECORDER_PORT",
            "SENDER_WEBHOOK_PORT",
            "SENDER_EMAIL_PORT",
            "SENDER_CHAT_PORT",
        )
    }
    env = {
        **os.environ,
        "HERALD_DEV_HOME": str(home),
        **{f"HERALD_DEV_{k}": v for k, v in ports.items()},
    }
    try:
        up = _herald_dev(env, "up")
        assert up.returncode == 0, up.stdout + up.stderr
        for part in (
            "api ready",
            "kafka 4.",
            "postgres ready",
            "smtp sink",
            "webhook sink",
            "ingest ready",
            "router ready",
            "derive ready",
            "alerter ready",
            "recorder ready",
            "sender-webhook ready",
            "sender-email ready",
            f"sender-chat ready on http://127.0.0.1:{ports['SENDER_CHAT_PORT']} "
            f"({len(CHAT_CHANNELS)} chat channels: slack, mattermost,",
        ):
            assert part in " ".join(up.stdout.split()), f"{part!r} missing from:\n{up.stdout}"
        demo = _herald_dev(env, "demo", "--timeout", "60")
        assert demo.returncode == 0, demo.stdout + demo.stderr
        assert "webhook received" in demo.stdout
        assert '"type": "app_deployed"' in demo.stdout
        # the demo's notifier was made through the config API, which lists it
        made = re.search(r"notifier (\S+) for app (demo-\d+)", demo.stdout)
        assert made, demo.stdout
        listed = _herald_dev({**env, "COLUMNS": "250"}, "notifier", "list", "--app", made[2])
        assert listed.returncode == 0, listed.stdout + listed.stderr
        assert made[1] in listed.stdout
        status = _herald_dev({**env, "COLUMNS": "250"}, "status")
        assert status.stdout.count(" up ") >= 13, status.stdout  # one sender for every chat
        chat = next(line for line in status.stdout.splitlines() if "sender-chat" in line)
        assert f"ready ({len(CHAT_CHANNELS)} chat channels: slack," in chat, status.stdout
        assert not any(f"sender-{c} " in status.stdout for c in CHAT_CHANNELS), status.stdout
    finally:
        down = _herald_dev(env, "down")
        shutil.rmtree(home, ignore_errors=True)
    assert down.returncode == 0, down.stdout + down.stderr
    assert not any(port_open(int(p)) for p in ports.values()), "something still listens after down"
    assert not list(home.glob("run/*.pid"))


def test_a_killed_sessions_infra_is_reaped_by_the_next_one() -> None:
    from herald_devstack.processes import ManagedProcess
    from herald_testing.infra import OWNER, PREFIX, reap_orphans

    dead = Path(tempfile.mkdtemp(prefix=PREFIX))
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    (dead / OWNER).write_text(str(gone.pid))  # its session's process no longer exists
    stray = ManagedProcess("kafka", dead)  # stands in for the broker it left running
    pid = stray.start([sys.executable, "-c", "import time; time.sleep(600)"])
    alive = Path(tempfile.mkdtemp(prefix=PREFIX))
    (alive / OWNER).write_text(str(os.getpid()))  # a session still running: left alone
    try:
        reaped = reap_orphans()
        assert dead in reaped
        assert not dead.exists()
        assert alive.exists()
        stat = Path(f"/proc/{pid}/stat")
        assert not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z", "stopped"
    finally:
        stray.stop()
        shutil.rmtree(alive, ignore_errors=True)
