"""API settings (env prefix `HERALD_API_`)."""

from __future__ import annotations

from herald_core.settings import HttpSettings, KafkaSettings, LogSettings
from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "postgresql://herald@127.0.0.1:15432/herald"


class OAuthProviderSettings(BaseModel):
    """A chat service's OAuth 2 endpoints and this deployment's client (Convox integrations)."""

    model_config = ConfigDict(frozen=True)

    authorize_url: str
    token_url: str
    scope: str
    client_id: str = ""
    client_secret: SecretStr = SecretStr("")


SLACK_OAUTH = OAuthProviderSettings(
    authorize_url="https://slack.com/oauth/v2/authorize",
    token_url="https://slack.com/api/oauth.v2.access",  # noqa: S106 - a URL
    scope="incoming-webhook",
)
DISCORD_OAUTH = OAuthProviderSettings(
    authorize_url="https://discord.com/oauth2/authorize",
    token_url="https://discord.com/api/oauth2/token",  # noqa: S106 - a URL
    scope="webhook.incoming",
)


class ApiSettings(BaseSettings):
    """Everything the API needs; built once in `__main__`."""

    model_config = SettingsConfigDict(
        env_prefix="HERALD_API_",
        env_nested_delimiter="__",
        frozen=True,
        nested_model_default_partial_update=True,
        hide_input_in_errors=True,  # an error would print the Kafka password
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
    broker_ack_timeout_s: float = Field(
        default=2.0,
        gt=0,
        description="How long a request waits for the broker to acknowledge what it must produce"
        " at once (a notifier test, a redelivery) before answering 503 with Retry-After",
    )
    readiness_probe_s: float = Field(
        default=2.0,
        gt=0,
        description="How often /readyz probes the database and the broker (3 misses: unready)",
    )
    database_timeout_s: float = Field(
        default=5.0,
        gt=0,
        description="Connecting to Postgres, and a request's wait for a connection",
    )
    database_statement_timeout_s: float = Field(
        default=30.0,
        gt=0,
        description="One statement's wait for its answer: a 503, not a hang, behind a dead link",
    )
    relay_enabled: bool = True
    relay_batch: int = Field(default=500, ge=1)
    relay_poll_s: float = Field(default=1.0, gt=0, description="Fallback poll when no NOTIFY came")
    directory_consumer_enabled: bool = True
    directory_group_id: str = "herald-api-directory"
    notifier_commands_enabled: bool = Field(
        default=True,
        description="Apply notify.commands.notifiers (endpoint health's DisableNotifier records)",
    )
    notifier_commands_group_id: str = "herald-api-notifier-commands"
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
            "More webhook hosts per hosted chat platform (slack, discord, microsoft_teams,"
            " google_chat, flowdock, gitter), e.g. a proxy. `mattermost` lists the Mattermost"
            " servers Slack notifiers may also post to; Mattermost, Rocket.Chat and Hipchat"
            ' notifiers accept any allowed URL. E.g. {"mattermost": ["chat.example.org"]}'
        ),
    )
    default_faces: frozenset[str] = Field(
        default=frozenset({"scalingo", "clevercloud", "cloud66"}),
        description=(
            "Whose defaults new directory entries get: scalingo (an app's default notifier,"
            " critical alerts by e-mail), clevercloud (an owner's deployment result e-mails),"
            " cloud66 (a user's account e-mails). A deployment serving one platform keeps its"
            " own; with several, the router mails each address once per event from the defaults."
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
    # Convox organisation integrations (integrations_api): OAuth 2 with Slack and Discord.
    slack_oauth: OAuthProviderSettings = Field(
        default=SLACK_OAUTH, description="Slack's OAuth endpoints and this app's client id/secret"
    )
    discord_oauth: OAuthProviderSettings = Field(
        default=DISCORD_OAUTH, description="Discord's OAuth endpoints and this app's client"
    )
    oauth_state_ttl_s: int = Field(
        default=600, ge=30, description="How long an authorize link's `state` may be used"
    )
    oauth_timeout_s: float = Field(default=10.0, gt=0, description="The code exchange's timeout")
    integrations_done_url: str | None = Field(
        default=None,
        description="Where the OAuth callback sends the browser once connected (302, with"
        " `integration` and `provider` in the query); unset: a JSON answer",
    )
    stream_max_connections: int = Field(
        default=200, ge=0, description="Live event streams open at once per process; more get 503"
    )
    stream_heartbeat_s: float = Field(
        default=15.0, gt=0, description="A live stream idle this long gets a heartbeat"
    )
    stream_queue_size: int = Field(
        default=256, ge=1, description="Events queued for one live stream client at most"
    )
    stream_slow_client_s: float = Field(
        default=10.0,
        gt=0,
        description="A live stream client whose queue stays full, or one of whose writes does"
        " not finish, this long is dropped",
    )
