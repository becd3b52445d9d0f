"""Herald's own services in-process (ingest, router, webhook sender) on the session broker.

The `herald` fixture starts them once per test session; tests keep apart by unique ids.
Every test router joins the default `herald-router` group, so routers never duplicate each
other's work.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from herald_core.notifiers import Notifier
from herald_core.settings import HttpSettings, KafkaSettings, LogSettings
from herald_core.topics import CONFIG_NOTIFIERS, Channel
from herald_ingest.app import IngestService
from herald_ingest.settings import IngestSettings
from herald_kafka.producer import OutgoingRecord, send_all
from herald_router.app import RouterService
from herald_router.settings import RouterSettings
from herald_sender.app import SenderService
from herald_sender.settings import SenderSettings

from herald_testing.polling import eventually

LOCAL = HttpSettings(host="127.0.0.1", port=0)


@dataclass
class Herald:
    ingest: IngestService
    router: RouterService
    sender: SenderService
    settings: KafkaSettings
    producer: Any

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.ingest.port}/v1/events"

    async def add_notifier(self, notifier: Notifier) -> None:
        await send_all(
            self.producer,
            [
                OutgoingRecord(
                    CONFIG_NOTIFIERS, notifier.model_dump_json().encode(), notifier.id.encode()
                )
            ],
        )
        await eventually(
            lambda: self.router.view.table(CONFIG_NOTIFIERS).get(notifier.id) == notifier,
            what=f"router sees notifier {notifier.id}",
        )

    async def remove_notifier(self, notifier_id: str) -> None:
        await send_all(
            self.producer, [OutgoingRecord(CONFIG_NOTIFIERS, None, notifier_id.encode())]
        )
        await eventually(
            lambda: notifier_id not in self.router.view.table(CONFIG_NOTIFIERS),
            what=f"router forgets notifier {notifier_id}",
        )


@pytest.fixture(scope="session")
async def herald(kafka_settings: KafkaSettings, producer: Any) -> AsyncIterator[Herald]:
    quiet = LogSettings(json=False, level="warning")
    ingest = IngestService(IngestSettings(kafka=kafka_settings, http=LOCAL, log=quiet))
    router = RouterService(RouterSettings(kafka=kafka_settings, http=LOCAL, log=quiet))
    sender = SenderService(
        SenderSettings(
            kafka=kafka_settings,
            http=LOCAL,
            log=quiet,
            channel=Channel.WEBHOOK,
            allow_loopback_targets=True,
            request_timeout_s=3,
        )
    )
    async with ingest, router, sender:
        await eventually(
            lambda: ingest.ready()[0] and router.ready()[0] and sender.ready()[0],
            timeout_s=60,
            what="services ready",
        )
        yield Herald(ingest, router, sender, kafka_settings, producer)
