"""API settings (env prefix `HERALD_API_`)."""

from __future__ import annotations

from herald_core.settings import HttpSettings, KafkaSettings, LogSettings
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "postgresql://herald@127.0.0.1:15432/herald"


class ApiSettings(BaseSettings):
    """Everything the API needs; built once in `__main__`."""

    model_config = SettingsConfigDict(
        env_prefix="HERALD_API_",
        env_nested_delimiter="__",
        frozen=True,
        nested_model_default_partial_update=True,
    )

    database_url: SecretStr = SecretStr(DEFAULT_DATABASE_URL)
    kafka: KafkaSettings = KafkaSettings(client_id="herald-api")
    http: HttpSettings = HttpSettings(port=18080)
    log: LogSettings = LogSettings()
    public_url: str = Field(
        default="http://127.0.0.1:18080", description="How clients reach this API (links, OpenAPI)"
    )
    migrate_on_start: bool = Field(default=True, description="Apply pending migrations at start")
    pool_min_size: int = Field(default=1, ge=0)
    pool_max_size: int = Field(default=10, ge=1)
    relay_enabled: bool = True
    relay_batch: int = Field(default=500, ge=1)
    relay_poll_s: float = Field(default=1.0, gt=0, description="Fallback poll when no NOTIFY came")
    directory_consumer_enabled: bool = True
    directory_group_id: str = "herald-api-directory"
    admin_token: SecretStr | None = Field(
        default=None, description="A bootstrap admin token (platform components); stored hashed"
    )
    jwt_secret: SecretStr = Field(
        default=SecretStr("herald-local-development-only-change-me"),
        description="Signs the JWTs of POST /v1/tokens/exchange: a long random value in production",
    )
    allow_loopback_targets: bool = Field(
        default=False, description="Accept webhook URLs on loopback: tests and local runs only"
    )
    chat_hosts: dict[str, list[str]] = Field(
        default_factory=dict,
        description=(
            "More webhook hosts per chat platform (self-hosted Mattermost, Rocket.Chat, Hipchat…),"
            ' e.g. {"mattermost": ["chat.example.org", "*.example.net"]}'
        ),
    )
    default_per_page: int = Field(default=30, ge=1)
    max_per_page: int = Field(default=100, ge=1)
    idempotency_ttl_s: int = Field(default=86_400, ge=60)
    notifier_test_timeout_s: float = Field(
        default=15.0, gt=0, description="How long POST …/notifiers/{id}/test waits for a result"
    )
    notifier_test_max_waiting: int = Field(
        default=100, ge=1, description="Notifier tests awaiting their result at once; more get 503"
    )
