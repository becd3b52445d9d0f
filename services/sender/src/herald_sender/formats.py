"""Webhook body formats (the notifier's `type_data.format`): one pure renderer each.

    raw          the envelope, byte for byte as on `notify.events` and the live stream
    scalingo     Scalingo's legacy notification JSON: id, created_at, user, app_id, app_name, type,
                 type_data. `type` is the name Scalingo's events API gives the type
                 (`deployment` for `app_deployed`, `restart` for `app_restarted`, …, from the
                 catalog's legacy names), else the type id. `created_at` has milliseconds, as
                 in Scalingo's example.
    cloud66      Cloud 66: the event's fields plus `timestamp` (epoch seconds of sending, from
                 the injected clock) and `event_type` (the type id)
    cloudevents  CloudEvents 1.0 structured mode (`application/cloudevents+json`): `id` is the
                 event id, so every copy of one happening has one CloudEvents id (source + id
                 identify the occurrence); the delivery id travels in the extension attribute
                 `heralddeliveryid` (CloudEvents names are lower-case letters and digits only,
                 so no underscores) and in the `webhook-id` header. `source` is
                 `/herald/<event source>`, `type` the type id and `subject` the app id (else the
                 owner id), all as in the `ce_*` headers on `notify.events`; `data` is the
                 envelope.

    convox       Convox's webhook JSON (`action`, `status`, `timestamp`, `data`), signed with
                 `Convox-Signature` when the notifier has a key (`herald_sender.convox`)

    slack        Clever Cloud's hook formats: the chat payloads of `herald_sender.chat`,
    flowdock     rendered with the sender's `ChatOptions`, signed like every other webhook
    gitter

A format this module does not know is a permanent delivery error.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from herald_core.catalog import CATALOG
from herald_core.deliveries import Delivery
from herald_core.errors import FailureReason, PermanentDeliveryError
from herald_core.notifiers import WebhookFormat

from herald_sender.chat import WEBHOOK_FORMAT_RENDERERS, ChatOptions
from herald_sender.convox import render_convox
from herald_sender.signing import timestamp_of

JSON = "application/json"
CLOUDEVENTS_JSON = "application/cloudevents+json"
CLOUDEVENTS_SPECVERSION = "1.0"
CLOUDEVENTS_DELIVERY_ID = "heralddeliveryid"
SOURCE_PREFIX = "/herald/"

# Scalingo's events-API names, keyed by type id (`app_deployed` → `deployment`); should two
# names ever share a type, the first listed wins.
_SCALINGO_NAMES: Mapping[str, str] = {
    type_id: name for name, type_id in reversed(list(CATALOG.legacy_names().items()))
}
# Characters a URI path may hold as they are (RFC 3986 pchar and "/"); others are escaped.
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


def webhook_format(type_data: Mapping[str, Any]) -> WebhookFormat:
    """The notifier's `format`, `raw` when absent or null. Pure.

    Raises:
        PermanentDeliveryError: INVALID_PAYLOAD for a format that is not one of WebhookFormat.
    """
    given = type_data.get("format")
    if given is None:
        return WebhookFormat.RAW
    try:
        return WebhookFormat(given)
    except ValueError:
        raise PermanentDeliveryError(
            FailureReason.INVALID_PAYLOAD, f"unknown webhook format {str(given)[:40]!r}"
        ) from None


def content_type(fmt: WebhookFormat) -> str:
    """The Content-Type of a body in `fmt`. Pure."""
    return CLOUDEVENTS_JSON if fmt is WebhookFormat.CLOUDEVENTS else JSON


def render_body(
    delivery: Delivery, fmt: WebhookFormat, now: datetime, options: ChatOptions | None = None
) -> bytes:
    """The request body of `delivery` in `fmt`; `now` is the time of sending. Pure.

    `options` render the chat formats (`slack`, `flowdock`, `gitter`); defaults otherwise.

    Raises:
        PermanentDeliveryError: INVALID_PAYLOAD for a format this module does not render.
    """
    chat = WEBHOOK_FORMAT_RENDERERS.get(fmt)
    if chat is not None:
        return _dumps(chat(delivery, options or ChatOptions()))
    renderer = _RENDERERS.get(fmt)
    if renderer is None:
        raise PermanentDeliveryError(
            FailureReason.INVALID_PAYLOAD,
            f"webhook format {fmt.value!r} is not available on the webhook channel",
        )
    return renderer(delivery, now)


def render_raw(delivery: Delivery, now: datetime) -> bytes:
    """The envelope exactly as `Event.to_json` writes it. Pure."""
    return delivery.event.to_json()


def scalingo_body(delivery: Delivery) -> dict[str, Any]:
    """Scalingo's legacy notification shape. Pure."""
    event = delivery.event
    return {
        "id": event.id,
        "created_at": _rfc3339_millis(event.created_at),
        "user": event.user.model_dump(mode="json") if event.user is not None else None,
        "app_id": event.app_id,
        "app_name": event.app_name,
        "type": _SCALINGO_NAMES.get(event.type, event.type),
        "type_data": event.type_data,
    }


def cloud66_body(delivery: Delivery, now: datetime) -> dict[str, Any]:
    """Cloud 66's payload: the event's fields, `timestamp` of sending, `event_type`. Pure."""
    return {
        **delivery.event.model_dump(mode="json"),
        "timestamp": timestamp_of(now),
        "event_type": delivery.event.type,
    }


def cloudevents_body(delivery: Delivery) -> dict[str, Any]:
    """A CloudEvents 1.0 structured-mode event carrying the envelope as `data`. Pure."""
    event = delivery.event
    data = event.model_dump(mode="json")
    return {
        "specversion": CLOUDEVENTS_SPECVERSION,
        "id": event.id,
        "source": SOURCE_PREFIX + quote(event.source, safe=_PATH_SAFE),
        "type": event.type,
        "time": data["created_at"],
        "subject": event.app_id or event.owner_id,
        "datacontenttype": JSON,
        CLOUDEVENTS_DELIVERY_ID: delivery.id,
        "data": data,
    }


def _dumps(value: Mapping[str, Any]) -> bytes:
    # Compact UTF-8, the way pydantic writes the raw envelope.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _rfc3339_millis(moment: datetime) -> str:
    # Scalingo shows "2015-02-12T18:05:14.226+01:00"; UTC is "Z" as in the raw envelope.
    text = moment.isoformat(timespec="milliseconds")
    return text[:-6] + "Z" if moment.utcoffset() == timedelta(0) else text


_RENDERERS: Mapping[WebhookFormat, Callable[[Delivery, datetime], bytes]] = {
    WebhookFormat.RAW: render_raw,
    WebhookFormat.SCALINGO: lambda delivery, now: _dumps(scalingo_body(delivery)),
    WebhookFormat.CLOUD66: lambda delivery, now: _dumps(cloud66_body(delivery, now)),
    WebhookFormat.CLOUDEVENTS: lambda delivery, now: _dumps(cloudevents_body(delivery)),
    WebhookFormat.CONVOX: render_convox,
}
