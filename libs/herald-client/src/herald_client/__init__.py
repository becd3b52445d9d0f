"""herald_client: produce Herald events from platform components.

    from herald_client import build_event, HeraldClient, KafkaProducerClient

    event = build_event("app_deployed", app_id="app-1", type_data={"status": "success"})
    HeraldClient("https://ingest.example", token=TOKEN).send(event)        # HTTP
    with KafkaProducerClient(kafka_settings) as producer:                  # platform.events
        producer.send(event)

Modules: `events` (`build_event`, checked against the catalog as ingest checks it), `http`
(`AsyncHeraldClient`, `HeraldClient`), `kafka` (`AsyncKafkaProducerClient`,
`KafkaProducerClient`), `protocol` (ingest's HTTP answers, pure), `errors`.
"""

from herald_core.envelope import Event, EventUser
from herald_core.settings import KafkaSettings

from herald_client.errors import (
    AuthenticationError,
    EventsRejectedError,
    HeraldClientError,
    InvalidEventError,
    KafkaSendError,
    RequestRefusedError,
    UnavailableError,
)
from herald_client.events import build_event, event_types
from herald_client.http import AsyncHeraldClient, HeraldClient
from herald_client.kafka import AsyncKafkaProducerClient, KafkaProducerClient, platform_record
from herald_client.protocol import Receipt

__version__ = "0.1.0"

__all__ = [
    "AsyncHeraldClient",
    "AsyncKafkaProducerClient",
    "AuthenticationError",
    "Event",
    "EventUser",
    "EventsRejectedError",
    "HeraldClient",
    "HeraldClientError",
    "InvalidEventError",
    "KafkaProducerClient",
    "KafkaSendError",
    "KafkaSettings",
    "Receipt",
    "RequestRefusedError",
    "UnavailableError",
    "build_event",
    "event_types",
    "platform_record",
]
