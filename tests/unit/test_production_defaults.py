"""`HERALD_ENV=production` refuses development defaults: one test per refused default, on each
service's pure checker, and the start that prints them all and exits 78 (docs/operations.md,
"Running in production"). The processes themselves: tests/integration/test_production_start.py.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from herald_api.native.unsubscribe_api import UnsubscribeSettings
from herald_api.production import production_problems as api_problems
from herald_api.settings import ApiSettings
from herald_core.deployment import (
    DEV_ADMIN_TOKEN,
    DEV_INGEST_TOKEN,
    KNOWN_SECRETS,
    Environment,
    environment_of,
    secret_problem,
)
from herald_core.topics import Channel
from herald_core.unsubscribe import DEV_SECRET
from herald_devstack.stack import Stack
from herald_ingest.production import start_problems as ingest_problems
from herald_ingest.settings import IngestAuthSettings, IngestSettings
from herald_runtime.startup import EX_CONFIG, no_problems, refuse_unsafe_start
from herald_sender.production import production_problems as sender_problems
from herald_sender.settings import SenderSettings, SmtpSettings
from pydantic import SecretStr, ValidationError

PRODUCTION = Environment.PRODUCTION
DEVELOPMENT = Environment.DEVELOPMENT
STRONG = "9f" * 32  # what `openssl rand -hex 32` gives
STRONG_TOO = "a1" * 32


def good_api(**changes: object) -> ApiSettings:
    fields = {"jwt_secret": SecretStr(STRONG), "admin_token": SecretStr("hrld_" + STRONG)}
    return ApiSettings(**(fields | changes))  # type: ignore[arg-type]


GOOD_UNSUBSCRIBE = UnsubscribeSettings(secret=SecretStr(STRONG_TOO))


def good_sender(**changes: object) -> SenderSettings:
    smtp = SmtpSettings(unsubscribe_secret=SecretStr(STRONG_TOO))
    return SenderSettings(**({"channel": Channel.EMAIL, "smtp": smtp} | changes))  # type: ignore[arg-type]


def good_ingest(**auth: object) -> IngestSettings:
    return IngestSettings(
        auth=IngestAuthSettings(**({"tokens": (SecretStr(STRONG),)} | auth))  # type: ignore[arg-type]
    )


def only(problems: list[str]) -> str:
    assert len(problems) == 1, problems
    return problems[0]


# --- HERALD_ENV -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, DEVELOPMENT),
        ("", DEVELOPMENT),
        ("development", DEVELOPMENT),
        ("Production", PRODUCTION),
    ],
)
def test_herald_env_names_the_environment(value, expected):
    assert environment_of({} if value is None else {"HERALD_ENV": value}) is expected


def test_a_misspelt_herald_env_is_refused_rather_than_taken_for_development():
    with pytest.raises(ValueError, match="'prod' is not one of development, production"):
        environment_of({"HERALD_ENV": "prod"})


# --- one test per refused default -----------------------------------------------------------


def test_the_default_jwt_secret_is_refused():
    problem = only(
        api_problems(good_api(jwt_secret=ApiSettings().jwt_secret), GOOD_UNSUBSCRIBE, PRODUCTION)
    )
    assert problem.startswith("HERALD_API_JWT_SECRET is a development default")
    assert "openssl rand -hex 32" in problem


def test_a_short_jwt_secret_is_refused():
    problem = only(
        api_problems(good_api(jwt_secret=SecretStr("s3cret")), GOOD_UNSUBSCRIBE, PRODUCTION)
    )
    assert problem.startswith("HERALD_API_JWT_SECRET is 6 characters long")


def test_the_apis_default_unsubscribe_secret_is_refused():
    problem = only(api_problems(good_api(), UnsubscribeSettings(), PRODUCTION))
    assert UnsubscribeSettings().secret.get_secret_value() == DEV_SECRET
    assert problem.startswith("HERALD_UNSUBSCRIBE_SECRET is a development default")


def test_the_email_senders_default_unsubscribe_secret_is_refused():
    problem = only(sender_problems(good_sender(smtp=SmtpSettings()), PRODUCTION))
    assert problem.startswith("HERALD_SENDER_SMTP__UNSUBSCRIBE_SECRET is a development default")
    assert "HERALD_UNSUBSCRIBE_SECRET" in problem, "says the API's must match"


def test_the_unsubscribe_secret_is_only_the_email_senders_concern():
    assert (
        sender_problems(good_sender(channel=Channel.WEBHOOK, smtp=SmtpSettings()), PRODUCTION) == []
    )


def test_the_local_admin_token_is_refused():
    settings = good_api(admin_token=SecretStr(DEV_ADMIN_TOKEN))
    problem = only(api_problems(settings, GOOD_UNSUBSCRIBE, PRODUCTION))
    assert problem.startswith("HERALD_API_ADMIN_TOKEN is a development default")


def test_the_compose_files_admin_token_is_refused():
    settings = good_api(admin_token=SecretStr("hrld_compose-admin-token-change-me"))
    assert only(api_problems(settings, GOOD_UNSUBSCRIBE, PRODUCTION)).startswith(
        "HERALD_API_ADMIN_TOKEN is a development default"
    )


def test_a_short_admin_token_is_refused():
    settings = good_api(admin_token=SecretStr("hrld_short"))
    assert only(api_problems(settings, GOOD_UNSUBSCRIBE, PRODUCTION)).startswith(
        "HERALD_API_ADMIN_TOKEN is 10 characters long"
    )


def test_no_admin_token_is_fine():
    assert api_problems(good_api(admin_token=None), GOOD_UNSUBSCRIBE, PRODUCTION) == []


def test_loopback_targets_are_refused_in_the_api():
    problem = only(
        api_problems(good_api(allow_loopback_targets=True), GOOD_UNSUBSCRIBE, PRODUCTION)
    )
    assert problem.startswith("HERALD_API_ALLOW_LOOPBACK_TARGETS is true")
    assert "server-side request forgery" in problem


@pytest.mark.parametrize("channel", [Channel.WEBHOOK, Channel.EMAIL, Channel.SLACK])
def test_loopback_targets_are_refused_in_every_sender(channel):
    problem = only(
        sender_problems(good_sender(channel=channel, allow_loopback_targets=True), PRODUCTION)
    )
    assert problem.startswith("HERALD_SENDER_ALLOW_LOOPBACK_TARGETS is true")


def test_ingest_open_without_auth_is_refused():
    problem = only(ingest_problems(good_ingest(open=True, tokens=()), PRODUCTION))
    assert problem.startswith("HERALD_INGEST_AUTH__OPEN is true")


def test_the_local_ingest_token_is_refused():
    settings = good_ingest(tokens=(SecretStr(STRONG), SecretStr(DEV_INGEST_TOKEN)))
    problem = only(ingest_problems(settings, PRODUCTION))
    assert problem.startswith("producer token 2 of 2 (HERALD_INGEST_AUTH__TOKENS")
    assert "development default" in problem


def test_a_short_ingest_token_is_refused():
    assert "too short" in only(ingest_problems(good_ingest(tokens=(SecretStr("abc"),)), PRODUCTION))


@pytest.mark.parametrize("environment", list(Environment))
def test_ingest_without_any_way_in_is_refused_everywhere(environment):
    problem = only(ingest_problems(IngestSettings(), environment))
    assert problem.startswith("ingest accepts no producer")
    assert "HERALD_INGEST_AUTH__TOKENS" in problem


# --- what passes ------------------------------------------------------------------------------


def test_production_with_every_setting_set_properly_has_no_problem():
    assert api_problems(good_api(), GOOD_UNSUBSCRIBE, PRODUCTION) == []
    for channel in Channel:
        assert sender_problems(good_sender(channel=channel), PRODUCTION) == []
    assert ingest_problems(good_ingest(), PRODUCTION) == []
    assert no_problems(PRODUCTION) == []


def test_development_keeps_its_defaults():
    assert (
        api_problems(ApiSettings(allow_loopback_targets=True), UnsubscribeSettings(), DEVELOPMENT)
        == []
    )
    assert sender_problems(SenderSettings(allow_loopback_targets=True), DEVELOPMENT) == []
    assert ingest_problems(good_ingest(open=True, tokens=()), DEVELOPMENT) == []


def test_every_default_at_once_is_refused_with_every_problem():
    problems = api_problems(
        ApiSettings(admin_token=SecretStr(DEV_ADMIN_TOKEN), allow_loopback_targets=True),
        UnsubscribeSettings(),
        PRODUCTION,
    )
    assert [p.split(" ")[0] for p in problems] == [
        "HERALD_API_JWT_SECRET",
        "HERALD_UNSUBSCRIBE_SECRET",
        "HERALD_API_ADMIN_TOKEN",
        "HERALD_API_ALLOW_LOOPBACK_TARGETS",
    ]


def test_secret_problem_leaves_an_unset_value_to_its_caller():
    assert secret_problem("X", None) is None
    assert secret_problem("X", STRONG) is None


# --- the start -------------------------------------------------------------------------------


def test_a_refused_start_prints_every_problem_at_once_and_exits_78():
    printed = io.StringIO()
    with pytest.raises(SystemExit) as exited:
        refuse_unsafe_start(
            "api",
            lambda environment: ["first problem", "second problem"],
            environ={"HERALD_ENV": "production"},
            stderr=printed,
        )
    assert exited.value.code == EX_CONFIG == 78
    assert printed.getvalue().splitlines()[:3] == [
        "herald api refuses to start in production: 2 problem(s)",
        "  - first problem",
        "  - second problem",
    ]


def test_a_misspelt_environment_refuses_the_start_before_any_check():
    printed = io.StringIO()
    checked: list[Environment] = []
    with pytest.raises(SystemExit):
        refuse_unsafe_start(
            "router",
            lambda e: checked.append(e) or [],
            environ={"HERALD_ENV": "prod"},
            stderr=printed,
        )
    assert checked == []
    assert "HERALD_ENV='prod' is not one of" in printed.getvalue()


def test_a_start_without_problems_returns_the_environment():
    assert (
        refuse_unsafe_start("router", no_problems, environ={"HERALD_ENV": "production"})
        is PRODUCTION
    )
    assert refuse_unsafe_start("router", no_problems, environ={}) is DEVELOPMENT


# --- ingest's producer settings ----------------------------------------------------------------


def test_producer_tokens_come_from_a_list_and_a_file(tmp_path, monkeypatch):
    tokens = tmp_path / "tokens"
    tokens.write_text(f"# rotated weekly\n{STRONG}\n\n{STRONG_TOO}\n")
    monkeypatch.setenv("HERALD_INGEST_AUTH__TOKENS", json.dumps(["given"]))
    monkeypatch.setenv("HERALD_INGEST_AUTH__TOKEN_FILE", str(tokens))
    settings = IngestSettings()
    assert settings.auth.token_values == ("given", STRONG, STRONG_TOO)
    assert STRONG not in repr(settings)


def test_an_empty_or_missing_token_file_is_refused(tmp_path):
    empty = tmp_path / "empty"
    empty.write_text("# nothing yet\n")
    with pytest.raises(ValidationError, match="holds no token"):
        IngestAuthSettings(token_file=empty)
    with pytest.raises(ValidationError, match="cannot be read"):
        IngestAuthSettings(token_file=tmp_path / "missing")


def test_mtls_needs_https(tmp_path):
    with pytest.raises(ValidationError, match=r"client_cafile \(mTLS\) needs tls_certfile"):
        IngestAuthSettings(client_cafile=tmp_path / "ca.pem")
    with pytest.raises(ValidationError, match="both tls_certfile and tls_keyfile"):
        IngestAuthSettings(tls_certfile=tmp_path / "cert.pem")


def test_the_local_stack_gives_ingest_its_token_and_no_open_door():
    stack = Stack()
    env = stack.spec("ingest").env(stack.settings)
    assert json.loads(env["HERALD_INGEST_AUTH__TOKENS"]) == [DEV_INGEST_TOKEN]
    assert "HERALD_INGEST_AUTH__OPEN" not in env
    assert stack.ingest_headers == {"Authorization": f"Bearer {DEV_INGEST_TOKEN}"}


def test_the_compose_files_placeholder_secrets_are_all_known_and_refused():
    """.env.example's placeholders (docker-compose.yml reads its secrets from `.env`) are
    published: each HERALD_ token and secret is in KNOWN_SECRETS."""
    example = (Path(__file__).resolve().parents[2] / ".env.example").read_text()
    values = re.findall(r"^HERALD_\w*(?:TOKEN|SECRET)\w*=(.+)$", example, re.MULTILINE)
    assert len(values) == 4, values
    assert set(values) <= KNOWN_SECRETS
