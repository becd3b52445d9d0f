"""Ingest settings (env prefix `HERALD_INGEST_`).

Producers authenticate (`auth`, docs/operations.md "Ingest authentication"):

    HERALD_INGEST_AUTH__TOKENS='["<token>", "<next token>"]'   # Authorization: Bearer <token>
    HERALD_INGEST_AUTH__TOKEN_FILE=/run/secrets/ingest-tokens   # one per line (a secret mount)
    HERALD_INGEST_AUTH__TLS_CERTFILE=… __TLS_KEYFILE=… __CLIENT_CAFILE=…   # HTTPS, mTLS
    HERALD_INGEST_AUTH__OPEN=true        # no authentication: a trusted network, never production
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any, Self

from herald_core.settings import HttpSettings, KafkaSettings, LogSettings
from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def tokens_in(text: str) -> list[str]:
    """The tokens of a token file: one per line; blank lines and `#` comments skipped. Pure."""
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


class IngestAuthSettings(BaseModel):
    """Who may post events: a producer token, a client certificate, or anyone when `open`."""

    model_config = {"frozen": True, "hide_input_in_errors": True}

    open: bool = Field(
        default=False,
        description="Accept events without authentication (a trusted network, a test); refused"
        " in production. Without it, ingest needs a token or client CAs to start",
    )
    tokens: tuple[SecretStr, ...] = Field(
        default=(),
        description="Producer tokens accepted as `Authorization: Bearer <token>` (a JSON list;"
        " several let a token be rotated without downtime)",
    )
    token_file: Path | None = Field(
        default=None,
        description="A file of more producer tokens, one per line (a secret mount), read once"
        " at start",
    )
    tls_certfile: Path | None = Field(
        default=None, description="Serve HTTPS with this certificate (PEM, chain first)"
    )
    tls_keyfile: Path | None = Field(default=None, description="The certificate's private key")
    client_cafile: Path | None = Field(
        default=None,
        description="mTLS: the CAs whose client certificates authenticate a producer without a"
        " token (PEM); needs tls_certfile and tls_keyfile",
    )

    @model_validator(mode="before")
    @classmethod
    def _read_token_file(cls, data: Any) -> Any:
        """Add the tokens of `token_file` to `tokens`, so that the rest reads one field."""
        if not isinstance(data, dict) or not data.get("token_file"):
            return data
        path = Path(data["token_file"])
        try:
            found = tokens_in(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ValueError(f"token_file {path} cannot be read: {exc.strerror}") from None
        if not found:
            raise ValueError(f"token_file {path} holds no token")
        given = [
            t.get_secret_value() if isinstance(t, SecretStr) else str(t)
            for t in data.get("tokens") or ()
        ]
        return {**data, "tokens": tuple(dict.fromkeys([*given, *found]))}

    @model_validator(mode="after")
    def _check_tls(self) -> Self:
        if bool(self.tls_certfile) != bool(self.tls_keyfile):
            raise ValueError("HTTPS needs both tls_certfile and tls_keyfile")
        if self.client_cafile and not self.tls_certfile:
            raise ValueError("client_cafile (mTLS) needs tls_certfile and tls_keyfile (HTTPS)")
        if any(not t.get_secret_value().strip() for t in self.tokens):
            raise ValueError("a producer token is empty")
        return self

    @cached_property
    def token_values(self) -> tuple[str, ...]:
        """The tokens in clear, read once (every request compares with them)."""
        return tuple(t.get_secret_value() for t in self.tokens)

    @property
    def mtls(self) -> bool:
        return self.client_cafile is not None

    @property
    def closed_to_all(self) -> bool:
        """True when no producer could get in: not open, no token, no client CA."""
        return not (self.open or self.tokens or self.mtls)


class IngestSettings(BaseSettings):
    """Everything ingest needs; built once in `__main__`."""

    model_config = SettingsConfigDict(
        env_prefix="HERALD_INGEST_",
        env_nested_delimiter="__",
        frozen=True,
        nested_model_default_partial_update=True,
        hide_input_in_errors=True,  # an error would print the Kafka password
    )

    kafka: KafkaSettings = KafkaSettings(client_id="herald-ingest")
    http: HttpSettings = HttpSettings(port=18081)
    log: LogSettings = LogSettings()
    otlp_endpoint: str | None = Field(
        default=None,
        description="An OpenTelemetry collector (OTLP/HTTP, `http://collector:4318`): export"
        " this service's spans there. Default: no spans exported (docs/architecture.md Tracing)",
    )
    group_id: str = "herald-ingest"
    consume_platform_events: bool = True
    auth: IngestAuthSettings = IngestAuthSettings()
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_event_bytes: int = Field(
        default=512 * 1024,
        ge=1024,
        description="The largest event accepted, in its JSON form on notify.events; a larger one"
        " is refused (reason too_large), so that what later hops add (the notifier, retry"
        " headers, the attempt's result) still fits kafka.max_record_bytes",
    )
    max_batch: int = Field(default=500, ge=1)
    dedup_window_s: float = Field(default=3600.0, ge=0)
    dedup_capacity: int = Field(default=200_000, ge=0)
    ack_timeout_s: float = Field(
        default=2.0,
        gt=0,
        description="How long a request waits for the broker's acknowledgement before its 503",
    )
    readiness_probe_s: float = Field(
        default=2.0, gt=0, description="How often /readyz probes the broker (3 misses: unready)"
    )
