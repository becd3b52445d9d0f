"""The sender contract: every channel of `sender_factories()`, against a real local receiver.

Each channel's sender is built by its own factory from `SenderSettings` (loopback targets
allowed, short timeouts) and sends one delivery to a server on 127.0.0.1 that answers as the
case asks: an aiohttp `HttpReceiver` with scripted `Reply`s for the HTTP channels, an aiosmtpd
server scripted per recipient (or a server that accepts and stays silent) for e-mail.

    case        HTTP receiver            SMTP server                the sender
    success     200                      250                        returns a SendReport with the
                                                                    status; one request/message,
                                                                    naming its delivery (below)
    retryable   503                      451 on RCPT                RetryableDeliveryError,
                                                                    server_error, status kept
    permanent   400                      550 on RCPT                PermanentDeliveryError,
                                                                    status kept
    timeout     answers after the        accepts, never greets      RetryableDeliveryError,
                sender's timeout                                    timeout

The sender runs inside the real shell (`SenderService`, no broker: its attempt handler only
builds records), so the records it would produce are checked too: the delivery result, the
record on the first retry tier, and the dead letter, of the first attempt and, for a retryable
failure, of the last. Every notifier carries secrets in `type_data` (and the e-mail settings an
SMTP password); in every case, none of them appears in the error (`str`, `detail`, `args`, the
excerpt), in a log line the sender or the shell emits (structlog and the standard library), in
the delivery result (its attempt fields: the result also carries the delivery itself, notifier
included, kept for redelivery, as the deliveries topic does), or in the headers of a retry or
dead-letter record.

Every request or message names its delivery: a webhook by `webhook-id`, a mail by
`X-Herald-Delivery-Id`, a chat request (Slack's Web API calls included) by `X-Herald-Delivery-Id`
and `X-Herald-Event-Id`.

A channel added to `sender_factories()` is in the matrix at once: with `webhook_url` notifiers it
needs nothing more; otherwise add how its notifier looks to `TARGETS`. A `Channel` with no sender
fails `test_every_channel_has_a_sender` unless `NO_SENDER_YET` says why.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from enum import StrEnum
from typing import Any

import pytest
from contract_servers import ScriptedSmtp, smtp_server, stalling_server
from contract_shell import Attempt, attempt
from herald_core import headers as h
from herald_core.deliveries import AttemptOutcome, Delivery, DeliveryResult, Recipient
from herald_core.errors import (
    DeliveryError,
    FailureReason,
    PermanentDeliveryError,
    RetryableDeliveryError,
)
from herald_core.topics import (
    DELIVERY_RESULTS,
    Channel,
    delivery_dlq_topic,
    retry_topic,
)
from herald_kafka.producer import OutgoingRecord
from herald_sender.channels import Sender, SendReport, sender_factories
from herald_sender.channels.slack import SlackSender
from herald_sender.chat.samples import sample_delivery
from herald_sender.settings import ChatSettings, SenderSettings, SmtpSettings
from herald_testing.receivers import HttpReceiver, Reply
from herald_testing.slack_standin import SlackStandIn
from pydantic import SecretStr

# The timeout case's sender timeout, waited out in real time by each timeout case. The answer
# comes far later (SLOW_ANSWER_S), and a connect that overruns it on a busy machine is a
# TIMEOUT as well, so a short one cannot make a case fail.
SHORT_TIMEOUT_S = 0.01
SLOW_ANSWER_S = 0.2  # how late the timeout case's receiver answers
SMTP_USER = "herald-contract"
SMTP_PASSWORD = "smtp-pass-Vq7cN2xL"
UNSUBSCRIBE_SECRET = "unsub-secret-Hk3wP9rT"
WEBHOOK_KEY = base64.b64encode(b"contract-signing-key-0123456789!").decode()

NO_SENDER_YET: dict[Channel, str] = {
    Channel.APNS: "iOS push notifiers are stored (Cloud 66's ios_push) but not delivered yet",
    Channel.WEBPUSH: "browser push notifiers are stored (browser_push) but not delivered yet",
}
"""Channels users can configure that this build does not deliver (docs/architecture.md, Topics).
Each is an expected failure of `test_every_channel_has_a_sender`, strict: the day it gets a
sender, that test fails until its entry here is removed, and the contract matrix covers it."""


class Case(StrEnum):
    SUCCESS = "success"
    RETRYABLE = "retryable"
    PERMANENT = "permanent"
    TIMEOUT = "timeout"


@dataclass(frozen=True)
class Target:
    """How a notifier of one channel variant reaches the receiver, and what it keeps secret."""

    type_data: dict[str, Any]
    path: str
    """The request path the receiver sees (its scripts are keyed by path)."""
    secrets: tuple[str, ...]
    sent: tuple[str, ...]
    """The secrets the receiver must get (in the URL, a header or the body): proof that the
    sender really used them, so their absence from the error means something."""
    slack_api_base_url: str | None = None


def _chat_webhook(base: str, prefix: str) -> Target:
    """Any `webhook_url` notifier: a token in the path and one in the query."""
    path = f"{prefix}/hooks/path-token-Zr8sK1"
    secrets = ("path-token-Zr8sK1", "query-token-Lm4tB6")
    return Target({"webhook_url": f"{base}{path}?token={secrets[1]}"}, path, secrets, secrets)


def _webhook(base: str, prefix: str) -> Target:
    path = f"{prefix}/herald"
    query, header = "query-token-Wb2nD5", "header-token-Xc9pF3"
    return Target(
        {
            "webhook_url": f"{base}{path}?token={query}",
            "secret": f"whsec_{WEBHOOK_KEY}",
            "headers": {"Authorization": f"Bearer {header}"},
        },
        path,
        (query, header, WEBHOOK_KEY),
        (query, header),
    )


def _slack_webhook(base: str, prefix: str) -> Target:
    path = f"{prefix}/services/T0001/B0001/slack-hook-token-Qe5vR8"
    token = ("slack-hook-token-Qe5vR8",)
    return Target({"webhook_url": base + path}, path, token, token)


def _slack_bot(base: str, prefix: str) -> Target:
    token = "xoxb-contract-bot-token-Jd6yH4"
    return Target(
        {"bot_token": token, "channel": "C0123"},
        f"{prefix}/api/chat.postMessage",
        (token,),
        (token,),
        slack_api_base_url=f"{base}{prefix}/api",
    )


def _discord(base: str, prefix: str) -> Target:
    path = f"{prefix}/api/webhooks/1234567890/discord-token-Ua3mG7"
    token = ("discord-token-Ua3mG7",)
    return Target({"webhook_url": base + path}, path, token, token)


def _googlechat(base: str, prefix: str) -> Target:
    path = f"{prefix}/v1/spaces/AAAA/messages"
    key, token = "gchat-key-Nf1sW8", "gchat-token-Py6kE2"
    url = f"{base}{path}?key={key}&token={token}"
    return Target({"webhook_url": url}, path, (key, token), (key, token))


def _hipchat(base: str, prefix: str) -> Target:
    token = "hipchat-token-Ti4oA9"
    return Target(
        {"token": token, "room": "ops", "webhook_url": base + prefix},
        f"{prefix}/v1/rooms/message",
        (token,),
        (token,),
    )


def _flowdock(base: str, prefix: str) -> Target:
    path = f"{prefix}/messages"
    flow_token = "flow-token-Gs7jC3"
    return Target(
        {"webhook_url": base + path, "flow_token": flow_token}, path, (flow_token,), (flow_token,)
    )


TARGETS: dict[Channel, dict[str, Callable[[str, str], Target]]] = {
    Channel.WEBHOOK: {"signed": _webhook},
    Channel.SLACK: {"incoming-webhook": _slack_webhook, "bot-token": _slack_bot},
    Channel.DISCORD: {"webhook": _discord},
    Channel.GOOGLECHAT: {"webhook": _googlechat},
    Channel.HIPCHAT: {"api-v1": _hipchat},
    Channel.FLOWDOCK: {"flow-token": _flowdock},
}
"""How each channel's notifiers look; a channel not listed is a plain `webhook_url` one."""


def variants() -> list[tuple[Channel, str]]:
    """Every (channel, variant) of the senders this build has."""
    found: list[tuple[Channel, str]] = []
    for channel in sender_factories():
        if channel is Channel.EMAIL:
            found.append((channel, "smtp-auth"))
        else:
            found += [(channel, name) for name in TARGETS.get(channel, {"webhook": _chat_webhook})]
    return found


MATRIX = [
    pytest.param(channel, variant, case, id=f"{channel}-{variant}-{case}")
    for channel, variant in variants()
    for case in Case
]


# --- the stage: a sender, a delivery and a receiver scripted for one case --------------------


@dataclass
class Stage:
    settings: SenderSettings
    delivery: Delivery
    secrets: tuple[str, ...]
    received: Callable[[], list[str]]
    """What reached the receiver, one text per request or message (URL, headers and body)."""
    asked: Callable[[], int]
    """How often the sender asked the receiver to take the delivery: HTTP requests, RCPTs."""
    sent: tuple[str, ...]
    success_status: int
    carried: Callable[[], list[dict[str, str]]] = list
    """The headers of each request or message that reached the receiver, names lower-cased."""
    identity: dict[str, str] = field(default_factory=dict)
    """The headers (lower-cased names) every request or message must carry, with their values."""


def identity_of(delivery: Delivery) -> dict[str, str]:
    """The headers that name `delivery` on its channel's requests or mails."""
    if delivery.channel is Channel.WEBHOOK:
        return {"webhook-id": delivery.id}
    if delivery.channel is Channel.EMAIL:
        return {h.HERALD_DELIVERY_ID.lower(): delivery.id}
    return {h.HERALD_DELIVERY_ID.lower(): delivery.id, h.HERALD_EVENT_ID.lower(): delivery.event.id}


def lowered(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


# Read from the environment once: each case copies it with its own members.
BASE_SETTINGS = SenderSettings(allow_loopback_targets=True, endpoint_rate_per_s=0)


def settings_for(channel: Channel, case: Case, **changes: Any) -> SenderSettings:
    timeout = SHORT_TIMEOUT_S if case is Case.TIMEOUT else 5.0
    members = {"connect_timeout_s": timeout, "request_timeout_s": timeout, **changes}
    return SenderSettings.model_validate(
        {**BASE_SETTINGS.model_dump(), "channel": channel, **members}
    )


def a_delivery(channel: Channel, type_data: dict[str, Any], **changes: Any) -> Delivery:
    delivery = sample_delivery("crash", channel)
    notifier = delivery.notifier.model_copy(update={"type_data": type_data})
    return delivery.model_copy(update={"notifier": notifier, **changes})


HTTP_REPLIES = {
    Case.SUCCESS: Reply(200, body="ok"),
    Case.RETRYABLE: Reply(503, body="busy"),
    Case.PERMANENT: Reply(400, body="bad request"),
    Case.TIMEOUT: Reply(200, body="too late", delay_s=SLOW_ANSWER_S),
}
SLACK_OK = '{"ok": true, "channel": "C0123", "ts": "1700000000.000001"}'


def http_stage(
    receiver: HttpReceiver, channel: Channel, variant: str, case: Case, prefix: str
) -> Stage:
    build = TARGETS.get(channel, {}).get(variant, _chat_webhook)
    target = build(receiver.base_url, prefix)
    reply = HTTP_REPLIES[case]
    if target.slack_api_base_url and case is Case.SUCCESS:
        reply = Reply(200, body=SLACK_OK)
    receiver.scripts[target.path] = [reply]
    chat = ChatSettings(slack_api_base_url=target.slack_api_base_url or receiver.base_url)
    delivery = a_delivery(channel, target.type_data)
    return Stage(
        settings=settings_for(channel, case, chat=chat),
        delivery=delivery,
        secrets=target.secrets,
        received=lambda: [
            f"{r.path}?{r.query}\n{r.headers}\n{r.body.decode(errors='replace')}"
            for r in receiver.on(target.path)
        ],
        asked=lambda: len(receiver.on(target.path)),
        sent=target.sent,
        success_status=200,
        carried=lambda: [lowered(r.headers) for r in receiver.on(target.path)],
        identity=identity_of(delivery),
    )


SMTP_REPLIES = {
    Case.RETRYABLE: "451 4.3.0 Try again later",
    Case.PERMANENT: "550 5.1.1 No such user here",
}


@contextlib.asynccontextmanager
async def smtp_stage(
    smtp: tuple[ScriptedSmtp, int], case: Case, prefix: str
) -> AsyncIterator[Stage]:
    handler, port = smtp
    address = f"{prefix.strip('/').replace('/', '-')}@example.org"
    if case in SMTP_REPLIES:
        handler.rcpt_replies[address] = SMTP_REPLIES[case]
    async with contextlib.AsyncExitStack() as stack:
        if case is Case.TIMEOUT:
            port = await stack.enter_async_context(stalling_server())
        smtp_settings = SmtpSettings(
            port=port,
            username=SMTP_USER,
            password=SecretStr(SMTP_PASSWORD),
            timeout_s=SHORT_TIMEOUT_S if case is Case.TIMEOUT else 5.0,
            unsubscribe_secret=SecretStr(UNSUBSCRIBE_SECRET),
        )
        delivery = a_delivery(
            Channel.EMAIL, {"emails": [address]}, recipients=(Recipient(address=address),)
        )
        yield Stage(
            settings=settings_for(Channel.EMAIL, case, smtp=smtp_settings),
            delivery=delivery,
            secrets=(SMTP_PASSWORD, UNSUBSCRIBE_SECRET),
            received=lambda: [m.decode(errors="replace") for m in handler.received_by(address)],
            asked=lambda: handler.rcpts.count(address),
            sent=(),
            success_status=250,
            carried=lambda: [
                lowered(dict(BytesHeaderParser().parsebytes(m)))
                for m in handler.received_by(address)
            ],
            identity=identity_of(delivery),
        )


def build_sender(settings: SenderSettings) -> Sender:
    """The channel's sender from its own factory, as the service builds it."""
    sender = sender_factories()[settings.channel](settings)
    if isinstance(sender, SlackSender):
        # Its deploy-thread store reads a Kafka topic when the sender starts; without the store
        # the sender posts each event by itself. Threads are tested with the real broker
        # (tests/integration/test_chat_channels.py).
        sender._threads = None
    return sender


# --- the contract -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def receiver() -> AsyncIterator[HttpReceiver]:
    server = await HttpReceiver().start()
    yield server
    await server.stop()


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[ScriptedSmtp, int]]:
    handler = ScriptedSmtp(SMTP_USER, SMTP_PASSWORD)
    with smtp_server(handler) as port:
        yield handler, port


EXPECTED: dict[Case, tuple[type[DeliveryError], FailureReason, int | None, int | None]] = {
    # case: (error class, reason, HTTP status kept, SMTP status kept)
    Case.RETRYABLE: (RetryableDeliveryError, FailureReason.SERVER_ERROR, 503, 451),
    Case.PERMANENT: (PermanentDeliveryError, FailureReason.CLIENT_ERROR, 400, 550),
    Case.TIMEOUT: (RetryableDeliveryError, FailureReason.TIMEOUT, None, None),
}
SMTP_PERMANENT_REASON = FailureReason.INVALID_RECIPIENT  # 550 on RCPT: that address is refused


@pytest.mark.parametrize(("channel", "variant", "case"), MATRIX)
async def test_sender_contract(
    channel: Channel,
    variant: str,
    case: Case,
    receiver: HttpReceiver,
    smtp: tuple[ScriptedSmtp, int],
) -> None:
    prefix = f"/{channel}/{variant}/{case}"
    async with contextlib.AsyncExitStack() as stack:
        if channel is Channel.EMAIL:
            stage = await stack.enter_async_context(smtp_stage(smtp, case, prefix))
        else:
            stage = http_stage(receiver, channel, variant, case, prefix)
        sender = build_sender(stage.settings)
        result = await attempt(stage.settings, sender, stage.delivery)

    if case is Case.SUCCESS:
        check_delivered(stage, result)
    else:
        check_failed(stage, result, case)
        if case is not Case.TIMEOUT:  # a timed-out request may or may not have arrived
            assert stage.asked() == 1
    check_no_secret(stage, result)


def check_delivered(stage: Stage, result: Attempt) -> None:
    assert isinstance(result.outcome, SendReport), result.outcome
    assert result.outcome.status == stage.success_status
    received = stage.received()
    assert len(received) == stage.asked() == 1, received
    for secret in stage.sent:  # the notifier's secrets were really used
        assert secret in received[0]
    [headers] = stage.carried()
    assert {name: headers.get(name) for name in stage.identity} == stage.identity
    assert [o.topic for o in result.outputs if o.topic == DELIVERY_RESULTS] == [DELIVERY_RESULTS]
    assert delivery_result(result.outputs).outcome is AttemptOutcome.DELIVERED


def check_failed(stage: Stage, result: Attempt, case: Case) -> None:
    error = result.outcome
    kind, reason, http_status, smtp_status = EXPECTED[case]
    email = stage.settings.channel is Channel.EMAIL
    if email and case is Case.PERMANENT:
        reason = SMTP_PERMANENT_REASON
    assert isinstance(error, kind), error
    assert error.reason is reason, error
    assert error.status_code == (smtp_status if email else http_status), error
    channel = stage.settings.channel
    topics = [o.topic for o in result.outputs]
    if error.retryable:
        assert topics == [DELIVERY_RESULTS, retry_topic(channel, "10s")]
        assert delivery_result(result.outputs).outcome is AttemptOutcome.RETRY_SCHEDULED
        assert [o.topic for o in result.last_outputs] == [
            DELIVERY_RESULTS,
            delivery_dlq_topic(channel),
        ]
        dead = result.last_outputs[1]
        assert h.header(dead.headers, h.DLQ_REASON) == FailureReason.EXHAUSTED
    else:
        assert topics == [DELIVERY_RESULTS, delivery_dlq_topic(channel)]
        assert h.header(result.outputs[1].headers, h.DLQ_REASON) == reason
    assert delivery_result(result.outputs).status_code == error.status_code
    assert any("delivery_failed" in line for line in result.logs), "no log captured"


def check_no_secret(stage: Stage, result: Attempt) -> None:
    places: dict[str, str] = {"log lines": "\n".join(result.logs)}
    if isinstance(result.outcome, DeliveryError):
        error = result.outcome
        places |= {
            "str(error)": str(error),
            "error.detail": error.detail,
            "error.args": repr(error.args),
            "error.response_excerpt": error.response_excerpt or "",
        }
    for name, outputs in (("first attempt", result.outputs), ("last attempt", result.last_outputs)):
        for record in outputs:
            if record.topic == DELIVERY_RESULTS:
                attempt_fields = delivery_result([record]).model_dump_json(exclude={"delivery"})
                places[f"{name}: delivery result"] = attempt_fields
            else:
                places[f"{name}: {record.topic} headers"] = repr(record.headers)
    leaks = [
        f"{secret!r} in {place}: {text[:300]}"
        for secret in stage.secrets
        for place, text in places.items()
        if secret in text
    ]
    assert not leaks, "\n".join(leaks)


def delivery_result(outputs: list[OutgoingRecord]) -> DeliveryResult:
    [record] = [o for o in outputs if o.topic == DELIVERY_RESULTS]
    assert record.value is not None
    return DeliveryResult.model_validate_json(record.value)


# --- Slack's Web API dialect, against the stand-in --------------------------------------------


@pytest.fixture(scope="module")
async def slack_api() -> AsyncIterator[SlackStandIn]:
    standin = await SlackStandIn().start()
    yield standin
    await standin.stop()


@pytest.mark.parametrize(
    ("token", "scripted", "expected"),
    [
        pytest.param(SlackStandIn.token, None, None, id="ok"),
        pytest.param(
            "xoxb-revoked-token-Oa5lI2",
            None,
            (PermanentDeliveryError, FailureReason.AUTH_ERROR),
            id="invalid_auth",
        ),
        pytest.param(
            SlackStandIn.token,
            {"ok": False, "error": "ratelimited"},
            (RetryableDeliveryError, FailureReason.SERVER_ERROR),
            id="ratelimited",
        ),
    ],
)
async def test_slack_bot_token_answers_in_the_contract(
    slack_api: SlackStandIn,
    token: str,
    scripted: dict[str, Any] | None,
    expected: tuple[type[DeliveryError], FailureReason] | None,
) -> None:
    """Slack answers API errors with HTTP 200 and `ok: false`: classified like the statuses,
    and the bot token (checked by the stand-in) is kept out of everything the same way."""
    if scripted is not None:
        slack_api.fail_next(200, scripted)
    settings = settings_for(
        Channel.SLACK, Case.SUCCESS, chat=ChatSettings(slack_api_base_url=slack_api.api_base_url)
    )
    delivery = a_delivery(Channel.SLACK, {"bot_token": token, "channel": "C0123"})
    calls_before = len(slack_api.calls)
    result = await attempt(settings, build_sender(settings), delivery)

    [call] = slack_api.calls[calls_before:]
    assert call.token == token
    if expected is None:
        assert isinstance(result.outcome, SendReport)
        assert call.method == "chat.postMessage"
    else:
        assert isinstance(result.outcome, expected[0])
        assert result.outcome.reason is expected[1]
    stage = Stage(settings, delivery, (token,), list, lambda: 1, (token,), 200)
    check_no_secret(stage, result)


# --- the map itself ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "channel",
    [
        pytest.param(
            c,
            marks=pytest.mark.xfail(reason=NO_SENDER_YET[c], strict=True)
            if c in NO_SENDER_YET
            else (),
        )
        for c in Channel
    ],
    ids=str,
)
def test_every_channel_has_a_sender(channel: Channel) -> None:
    factory = sender_factories().get(channel)
    assert factory is not None, f"{channel} can be configured but has no sender"
    assert build_sender(settings_for(channel, Case.SUCCESS)).channel is channel


def test_the_matrix_covers_every_sender() -> None:
    assert {channel for channel, _ in variants()} == set(sender_factories())
    assert set(TARGETS) <= set(sender_factories()), "a target for a channel without a sender"
