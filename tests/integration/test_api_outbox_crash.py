"""SIGKILL between commit and publish loses nothing: the relay publishes the rows after restart.

The API runs as a real process (`python -m herald_api`) on a database of its own, so that no
other relay (the session's in-process API) can publish its rows in its place.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from herald_core.notifiers import Notifier
from herald_core.topics import CONFIG_NOTIFIERS
from herald_devstack.processes import free_port
from herald_testing.polling import eventually
from herald_testing.topics import records_for_key

pytestmark = pytest.mark.integration

TOKEN = "hrld_crash-test-admin-token-abcdefghijklmnopqrstuvwxyz"


class ApiProcess:
    def __init__(self, database_url: str, bootstrap: str, log: Path) -> None:
        self.port = free_port()
        self.env = {
            **os.environ,
            "HERALD_API_DATABASE_URL": database_url,
            "HERALD_API_KAFKA__BOOTSTRAP_SERVERS": bootstrap,
            "HERALD_API_HTTP__PORT": str(self.port),
            "HERALD_API_ADMIN_TOKEN": TOKEN,
            "HERALD_API_DIRECTORY_CONSUMER_ENABLED": "false",
            "HERALD_API_LOG__JSON": "false",
            "HERALD_API_RELAY_POLL_S": "0.2",
        }
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *, relay: bool) -> None:
        env = {**self.env, "HERALD_API_RELAY_ENABLED": str(relay).lower()}
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "herald_api"], env=env, stdout=log, stderr=subprocess.STDOUT
            )

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/readyz", timeout=1) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    def call(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            data=json.dumps(body).encode(),
            method=method,
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


@pytest.fixture
def api_process(fresh_database: str, kafka_settings: Any, tmp_path: Path) -> Iterator[ApiProcess]:
    process = ApiProcess(fresh_database, kafka_settings.bootstrap_servers, tmp_path / "api.log")
    try:
        yield process
    finally:
        process.stop()


async def test_sigkill_between_commit_and_publish_loses_nothing(
    api_process: ApiProcess, fresh_database: str, kafka_settings: Any, unique: str
) -> None:
    api_process.start(relay=False)  # committed rows stay in the outbox: the crash window, held open
    await eventually(api_process.ready, timeout_s=60, what="API ready")
    app_id = f"crash-{unique}"
    assert (
        api_process.call("PUT", f"/v1/apps/{app_id}", {"app": {"name": "c", "owner_id": "o"}})[0]
        == 201
    )
    status, created = api_process.call(
        "POST",
        f"/v1/apps/{app_id}/notifiers",
        {
            "notifier": {
                "name": "survivor",
                "platform_id": "webhook",
                "selected_event_ids": ["app_deployed"],
                "type_data": {"webhook_url": "https://hooks.example.com/x"},
            }
        },
    )
    assert status == 201
    notifier_id = created["notifier"]["id"]

    api_process.kill()
    connection = await asyncpg.connect(fresh_database)
    try:
        pending = await connection.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL")
        assert pending >= 4, (
            "app, default notifier, notifier and their events are still unpublished"
        )
        with pytest.raises(AssertionError):
            await records_for_key(
                kafka_settings.bootstrap_servers,
                CONFIG_NOTIFIERS,
                notifier_id.encode(),
                1,
                timeout_s=1.5,
            )

        api_process.start(relay=True)
        [record] = await records_for_key(
            kafka_settings.bootstrap_servers,
            CONFIG_NOTIFIERS,
            notifier_id.encode(),
            1,
            timeout_s=60,
        )
        assert Notifier.model_validate_json(record.value).name == "survivor"
        await eventually(lambda: _all_sent(connection), what="every outbox row marked sent")
    finally:
        await connection.close()


async def _all_sent(connection: asyncpg.Connection) -> bool:
    return bool(await connection.fetchval("SELECT count(*) = 0 FROM outbox WHERE sent_at IS NULL"))
