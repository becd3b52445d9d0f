"""Webhook formats and the webhook request: bodies, Content-Type, signing, custom headers."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from herald_api.model.type_data import FORBIDDEN_HEADERS
from herald_core.deliveries import Delivery
from herald_core.envelope import Event
from herald_core.errors import FailureReason, PermanentDeliveryError
from herald_core.intake import parse_event
from herald_core.notifiers import Notifier, Scope, Selection, WebhookFormat
from herald_core.topics import Channel
from herald_sender.channels.webhook import RESERVED_HEADERS, custom_headers, render_webhook
from herald_sender.formats import content_type, render_body, webhook_format
from standardwebhooks import Webhook

SENT_AT = datetime(2026, 3, 12, 16, 5, 21, 250_000, tzinfo=UTC)
SENT_EPOCH = 1773331521
URL = "https://hooks.example.com/herald"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

# The deployment notification of seed 002 (Scalingo's notifications API), verbatim.
SEED_002 = json.loads(
    """
    {
      "id": "54dcdd4a73636100011a0000",
      "created_at" : "2015-02-12T18:05:14.226+01:00",
      "user" : {
        "username" : "johndoe",
        "email" : "john@doe.com",
        "id" : "51e6bc626edfe40bbb000001"
      },
      "app_id" : "5343eccd646173000a140000",
      "app_name": "appname",
      "type": "deployment",
      "type_data": {
        "deployment_id" : "5343eccd646aa3012a140230",
        "pusher": "johndoe",
        "git_ref" : "0123456789abcdef",
        "status": "success",
        "duration": 40
      }
    }
    """
)


def event(**changes):
    fields = {
        "id": "evt-1",
        "type": "app_deployed",
        "created_at": datetime(2026, 3, 12, 16, 5, 14, tzinfo=UTC),
        "source": "deployer",
        "app_id": "app-1",
        "app_name": "my-app",
        "owner_id": "org-1",
        "user": {"id": "u-1", "username": "alice", "email": "alice@example.com"},
        "type_data": {"status": "success", "git_ref": "0a1b2c", "duration": 40},
        **changes,
    }
    return Event.model_validate(fields)


def delivery(the_event=None, **type_data):
    the_event = the_event or event()
    notifier = Notifier(
        id="n-1",
        name="ops",
        scope=Scope.APP if the_event.app_id else Scope.OWNER,
        app_id=the_event.app_id,
        owner_id=the_event.owner_id,
        platform=Channel.WEBHOOK,
        selection=Selection(send_all_events=True),
        type_data={"webhook_url": URL, **type_data},
    )
    return Delivery.for_(the_event, notifier, SENT_AT - timedelta(seconds=1))


def rendered(fmt, the_delivery=None, now=SENT_AT):
    return json.loads(render_body(the_delivery or delivery(), WebhookFormat(fmt), now))


# --- raw ------------------------------------------------------------------------------------


def test_raw_is_the_envelope_byte_for_byte():
    routed = delivery()
    assert render_body(routed, WebhookFormat.RAW, SENT_AT) == routed.event.to_json()
    assert content_type(WebhookFormat.RAW) == "application/json"


# --- scalingo -------------------------------------------------------------------------------


def test_seed_002_example_is_reproduced_from_its_event():
    routed = delivery(parse_event(SEED_002))  # the legacy name `deployment` is `app_deployed`
    assert routed.event.type == "app_deployed"
    body = render_body(routed, WebhookFormat.SCALINGO, SENT_AT)
    assert json.loads(body) == SEED_002
    assert b'"created_at":"2015-02-12T18:05:14.226+01:00"' in body
    assert content_type(WebhookFormat.SCALINGO) == "application/json"


@pytest.mark.parametrize(
    ("event_type", "scalingo_type"),
    [
        ("app_deployed", "deployment"),
        ("app_restarted", "restart"),
        ("addon_provisioned", "new_addon"),
        ("app_crashed", "app_crashed"),  # no name in Scalingo's events API: the type id
        ("server.stopped", "server.stopped"),
    ],
)
def test_scalingo_type_is_the_events_api_name(event_type, scalingo_type):
    body = rendered("scalingo", delivery(event(type=event_type)))
    assert body["type"] == scalingo_type


def test_scalingo_shape_has_exactly_the_seed_fields():
    body = rendered("scalingo")
    assert list(body) == [
        "id",
        "created_at",
        "user",
        "app_id",
        "app_name",
        "type",
        "type_data",
    ]
    assert body["created_at"] == "2026-03-12T16:05:14.000Z"
    assert body["user"] == {"id": "u-1", "username": "alice", "email": "alice@example.com"}
    assert rendered("scalingo", delivery(event(user=None)))["user"] is None


# --- cloud66 --------------------------------------------------------------------------------


def test_cloud66_is_the_event_plus_timestamp_of_sending_and_event_type():
    routed = delivery(event(type="server.stopped", app_id=None, type_data={"server": "web-1"}))
    body = rendered("cloud66", routed)
    envelope = json.loads(routed.event.to_json())
    assert body == {**envelope, "timestamp": SENT_EPOCH, "event_type": "server.stopped"}
    assert content_type(WebhookFormat.CLOUD66) == "application/json"


def test_cloud66_timestamp_follows_the_injected_clock_not_the_event():
    later = SENT_AT + timedelta(hours=1, seconds=2)
    assert rendered("cloud66", now=later)["timestamp"] == SENT_EPOCH + 3602
    assert rendered("cloud66")["created_at"] == rendered("cloud66", now=later)["created_at"]


# --- cloudevents ----------------------------------------------------------------------------

CE_ATTRIBUTE_NAME = re.compile(r"^[a-z0-9]{1,20}$")  # CloudEvents 1.0 §Attribute Naming


def test_cloudevents_structured_mode():
    routed = delivery()
    body = rendered("cloudevents", routed)
    assert body == {
        "specversion": "1.0",
        "id": "evt-1",
        "source": "/herald/deployer",
        "type": "app_deployed",
        "time": "2026-03-12T16:05:14Z",
        "subject": "app-1",
        "datacontenttype": "application/json",
        "heralddeliveryid": routed.id,
        "data": json.loads(routed.event.to_json()),
    }
    assert all(CE_ATTRIBUTE_NAME.match(name) for name in body)
    assert content_type(WebhookFormat.CLOUDEVENTS) == "application/cloudevents+json"


def test_cloudevents_id_is_the_event_id_for_every_notifier():
    first, second = delivery(), delivery()
    second = second.model_copy(update={"id": "another-delivery"})
    assert rendered("cloudevents", first)["id"] == rendered("cloudevents", second)["id"]
    assert rendered("cloudevents", second)["heralddeliveryid"] == "another-delivery"


def test_cloudevents_subject_of_an_owner_event_and_an_odd_source():
    routed = delivery(event(app_id=None, source="billing service/eu"))
    body = rendered("cloudevents", routed)
    assert body["subject"] == "org-1"
    assert body["source"] == "/herald/billing%20service/eu"


# --- format selection -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_data", "fmt"),
    [
        ({}, WebhookFormat.RAW),
        ({"format": None}, WebhookFormat.RAW),
        ({"format": "raw"}, WebhookFormat.RAW),
        ({"format": "cloud66"}, WebhookFormat.CLOUD66),
    ],
)
def test_webhook_format_defaults_to_raw(type_data, fmt):
    assert webhook_format(type_data) is fmt


@pytest.mark.parametrize("given", ["bogus", "RAW", 3, ["raw"]])
def test_unknown_format_is_permanent(given):
    with pytest.raises(PermanentDeliveryError) as info:
        render_webhook(delivery(format=given), SENT_AT)
    assert info.value.reason is FailureReason.INVALID_PAYLOAD


@pytest.mark.parametrize("fmt", ["slack", "flowdock", "gitter"])
def test_clever_clouds_chat_formats_are_the_chat_payloads_signed(fmt):
    from herald_sender.chat import ChatOptions, render_chat

    routed = delivery(format=fmt, secret=SECRET)
    request = render_webhook(routed, SENT_AT, ChatOptions(product_name="Clever"))
    channel = {"slack": Channel.SLACK, "flowdock": Channel.FLOWDOCK, "gitter": Channel.GITTER}
    expected = render_chat(channel[fmt], routed, ChatOptions(product_name="Clever"))
    assert json.loads(request.body) == expected
    assert request.headers["content-type"] == "application/json"
    assert "webhook-signature" in request.headers


@pytest.mark.parametrize("fmt", ["raw", "scalingo", "cloud66", "cloudevents"])
def test_every_format_is_pure(fmt):
    assert render_webhook(delivery(format=fmt, secret=SECRET), SENT_AT) == render_webhook(
        delivery(format=fmt, secret=SECRET), SENT_AT
    )


# --- the request: Content-Type, signing, custom headers --------------------------------------


@pytest.mark.parametrize("fmt", ["raw", "scalingo", "cloud66", "cloudevents"])
def test_request_has_the_format_body_and_content_type(fmt):
    routed = delivery(format=fmt)
    request = render_webhook(routed, SENT_AT)
    assert request.body == render_body(routed, WebhookFormat(fmt), SENT_AT)
    assert request.headers["content-type"] == content_type(WebhookFormat(fmt))


def test_without_a_secret_there_is_no_signature_but_id_and_timestamp():
    routed = delivery()
    headers = render_webhook(routed, SENT_AT).headers
    assert headers["webhook-id"] == routed.id
    assert headers["webhook-timestamp"] == str(SENT_EPOCH)
    assert "webhook-signature" not in headers


@pytest.mark.parametrize("fmt", ["raw", "scalingo", "cloud66", "cloudevents"])
def test_signature_over_the_sent_body_verifies_in_the_reference_library(fmt):
    now = datetime.now(UTC)  # the reference library only accepts a recent timestamp
    request = render_webhook(delivery(format=fmt, secret=SECRET), now)
    assert request.headers["webhook-signature"].startswith("v1,")
    assert Webhook(SECRET).verify(request.body, request.headers) == json.loads(request.body)


def test_malformed_secret_is_permanent_and_nothing_is_rendered_unsigned():
    with pytest.raises(PermanentDeliveryError) as info:
        render_webhook(delivery(secret="whsec_!!SECRETPART!!"), SENT_AT)
    assert info.value.reason is FailureReason.INVALID_PAYLOAD
    assert "SECRETPART" not in str(info.value)


def test_custom_headers_are_added_and_never_override_herald_headers():
    headers = {
        "Authorization": "Bearer abc",
        "X-Team": "ops",
        "Content-Type": "text/plain",
        "Webhook-Signature": "v1,forged",
        "webhook-id": "forged",
        "WEBHOOK-TIMESTAMP": "0",
        "X-Herald-Event-Type": "forged",
        "Host": "internal.example.com",
        "Content-Length": "0",
        "Connection": "close",
        "Transfer-Encoding": "chunked",
        "Proxy-Authorization": "Basic eA==",
    }
    routed = delivery(secret=SECRET, headers=headers)
    sent = render_webhook(routed, SENT_AT).headers
    assert sent["Authorization"] == "Bearer abc"
    assert sent["X-Team"] == "ops"
    lowered = {name.lower(): value for name, value in sent.items()}
    assert len(lowered) == len(sent), "no header is sent twice under two spellings"
    assert lowered["content-type"] == "application/json"
    assert lowered["webhook-id"] == routed.id
    assert lowered["webhook-timestamp"] == str(SENT_EPOCH)
    assert lowered["webhook-signature"] != "v1,forged"
    assert lowered["x-herald-event-type"] == "app_deployed"
    for dropped in ("host", "content-length", "connection", "transfer-encoding"):
        assert dropped not in lowered
    assert "proxy-authorization" not in lowered


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Split": "a\r\nX-Injected: 1"},
        {"X-Nul": "a\x00b"},
        {"X-Long": "v" * 2001},
        {"Bad Name": "v"},
        {"Bad:Name": "v"},
        {"": "v"},
        {"X-Number": 5},
        {"X-None": None},
        {"X-List": ["a"]},
        {"Ünïcode": "v"},
    ],
)
def test_invalid_custom_headers_are_dropped(headers):
    assert custom_headers({"headers": headers}) == {}
    render_webhook(delivery(headers=headers), SENT_AT)  # and the request is still rendered


@pytest.mark.parametrize("headers", [None, "X-A: 1", ["X-A", "1"], 42])
def test_headers_that_are_not_an_object_are_ignored(headers):
    assert custom_headers({"headers": headers}) == {}


def test_custom_header_spelled_twice_is_sent_once_first_wins():
    assert custom_headers({"headers": {"X-A": "1", "x-a": "2"}}) == {"X-A": "1"}


def test_reserved_headers_cover_everything_the_api_refuses():
    assert FORBIDDEN_HEADERS <= RESERVED_HEADERS
