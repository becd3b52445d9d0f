"""Sender settings (env prefix `HERALD_SENDER_`); one channel per process (`--channel`), or several
(`--channel slack,discord`, `HERALD_SENDER_CHANNELS`)."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

from herald_core.settings import HttpSettings, KafkaSettings, LogSettings
from herald_core.topics import Channel
from herald_core.unsubscribe import DEV_SECRET
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

if TYPE_CHECKING:
    from herald_sender.chat.options import ChatOptions


class SmtpTls(StrEnum):
    NONE = "none"  # plain SMTP: the local sink, or a relay on a trusted network
    STARTTLS = "starttls"  # port 587: upgrade after EHLO
    TLS = "tls"  # port 465: implicit TLS from the first byte


class SmtpSettings(BaseModel):
    """The e-mail channel's SMTP server, sender address and unsubscribe links."""

    model_config = ConfigDict(frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=12525, ge=1, le=65535, description="12525: the local sink")
    username: str | None = None
    password: SecretStr | None = None
    tls: SmtpTls = SmtpTls.NONE
    from_address: str = "Herald <notifications@herald.local>"
    timeout_s: float = Field(default=10.0, gt=0)
    unsubscribe_base_url: str = Field(
        default="http://127.0.0.1:18080",
        description="The API's public base URL; links are <base>/v1/unsubscribe/<token>",
    )
    unsubscribe_secret: SecretStr = Field(
        default=SecretStr(DEV_SECRET),
        description="Signs unsubscribe tokens; the API's HERALD_UNSUBSCRIBE_SECRET must match",
    )


class ChatSettings(BaseModel):
    """The chat channels' rendering and Slack's Web API."""

    model_config = ConfigDict(frozen=True)

    dashboard_url_template: str = Field(
        default="",
        description=(
            "The app's dashboard page in messages: {app_name} {app_id} {owner_id} {rack};"
            " empty (the default): no dashboard link"
        ),
    )
    event_url_template: str | None = Field(
        default=None, description="An optional second link, to the event; same placeholders"
    )
    product_name: str = Field(default="Herald", description="The name messages are sent as")
    slack_api_base_url: str = Field(
        default="https://slack.com/api",
        description="Slack's Web API for bot-token notifiers (chat.postMessage, chat.update)",
    )

    def options(self) -> ChatOptions:
        """The renderers' options (`herald_sender.chat`)."""
        from herald_sender.chat.options import ChatOptions

        return ChatOptions(
            dashboard_url_template=self.dashboard_url_template,
            event_url_template=self.event_url_template,
            product_name=self.product_name,
        )


class SenderSettings(BaseSettings):
    """Everything a channel sender needs; built once in `__main__`."""

    model_config = SettingsConfigDict(
        env_prefix="HERALD_SENDER_",
        env_nested_delimiter="__",
        frozen=True,
        nested_model_default_partial_update=True,
        hide_input_in_errors=True,  # an error would print the Kafka password
    )

    channel: Channel = Channel.WEBHOOK
    channels: Annotated[tuple[Channel, ...], NoDecode] = Field(
        default=(),
        description="Several channels in one process, comma-separated (slack,discord,…), each"
        " with its own consumer groups and topics as if it ran alone; empty: `channel` alone",
    )
    kafka: KafkaSettings = KafkaSettings(client_id="herald-sender")
    http: HttpSettings = HttpSettings(port=18090)
    log: LogSettings = LogSettings()
    otlp_endpoint: str | None = Field(
        default=None,
        description="An OpenTelemetry collector (OTLP/HTTP, `http://collector:4318`): export"
        " this service's spans there. Default: no spans exported (docs/architecture.md Tracing)",
    )
    smtp: SmtpSettings = SmtpSettings()
    chat: ChatSettings = ChatSettings()
    group_id: str | None = Field(default=None, description="Default: herald-sender-<channel>")
    allow_loopback_targets: bool = Field(
        default=False,
        description="Let webhooks reach 127.0.0.0/8 and ::1: tests and local runs only",
    )
    connect_timeout_s: float = Field(default=5.0, gt=0)
    request_timeout_s: float = Field(default=10.0, gt=0)
    max_response_bytes: int = Field(default=64 * 1024, ge=0)
    retry_delays_s: tuple[float, ...] = Field(
        default=(10, 60, 600, 3600, 21600),
        description="One delay per retry tier of the topic file, in its order (10s … 6h)",
    )
    concurrency: int = Field(
        default=64,
        ge=1,
        description="Deliveries in flight per process (each notifier's in order)",
    )
    max_records: int = Field(
        default=500, ge=1, description="Records per batch; a batch commits once it is all sent"
    )
    max_uncommitted: int = Field(
        default=10_000,
        ge=1,
        description="Records held in memory, finished ones waiting behind an unfinished one"
        " (a hanging receiver) included; at least the unfinished bound",
    )
    endpoint_rate_per_s: float = Field(
        default=50.0,
        ge=0,
        description="Requests per second to one HTTP endpoint (webhook URL), bursts of as"
        " many; 0: off",
    )
    endpoint_concurrency: int = Field(
        default=10, ge=1, description="Requests in flight to one HTTP endpoint (webhook URL)"
    )
    host_rate_per_s: float = Field(
        default=500.0,
        ge=0,
        description="Requests per second to one host, over all its URLs, bursts of as many; 0: off",
    )
    host_concurrency: int = Field(
        default=50,
        ge=1,
        description="Requests (and connections) in flight to one host, over all its URLs",
    )
    retry_group_id: str | None = Field(
        default=None, description="Default: <group id>-retry (herald-sender-<channel>-retry)"
    )
    dlq_depth_every_s: float = Field(
        default=30.0,
        gt=0,
        description="How often the channel's DLQ depth (herald_dlq_records) is sampled",
    )

    @field_validator("channels", mode="before")
    @classmethod
    def _split_channels(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @model_validator(mode="after")
    def _one_group_per_channel(self) -> SenderSettings:
        if len(set(self.channels)) != len(self.channels):
            raise ValueError("channels: a channel is named twice")
        if len(self.channels) > 1 and (self.group_id or self.retry_group_id):
            raise ValueError(
                "group_id and retry_group_id name one channel's groups: leave them unset"
                " with several channels (each gets herald-sender-<channel>)"
            )
        return self

    @property
    def served_channels(self) -> tuple[Channel, ...]:
        """The channels this process sends: `channels`, else `channel` alone."""
        return self.channels or (self.channel,)

    def per_channel_settings(self) -> list[SenderSettings]:
        """One channel's settings per served channel (its own groups, topics, metrics)."""
        return [
            self.model_copy(update={"channel": channel, "channels": ()})
            for channel in self.served_channels
        ]

    @property
    def consumer_group(self) -> str:
        return self.group_id or f"herald-sender-{self.channel.value}"

    @property
    def retry_consumer_group(self) -> str:
        return self.retry_group_id or f"{self.consumer_group}-retry"
