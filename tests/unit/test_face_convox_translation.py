"""The Convox face's pure parts: OAuth dialects, the integration notifier, the audit log query,
the audit consumer's filter, and the router's audit-only rule for integrations."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from herald_api.faces.convox.convox_face import (
    ConnectedWebhook,
    Provider,
    TokenExchangeFailed,
    authorize_url,
    callback_url,
    connected_webhook,
    integration_json,
    integration_notifier,
    is_integration,
    token_request,
)
from herald_api.http.keyset import Cursor, encode_cursor
from herald_api.http.web import ApiProblem
from herald_api.model.platforms import platform_by_id
from herald_api.model.type_data import check_type_data, mask_type_data
from herald_api.native.audit_api import AuditQuery, audit_sql, parse_audit_query
from herald_api.settings import DISCORD_OAUTH, SLACK_OAUTH, ApiSettings
from herald_core.catalog import CATALOG, Family
from herald_core.envelope import Event
from herald_core.notifiers import Scope
from herald_core.routing import Exclusion, explain, route
from herald_core.topics import Channel
from herald_recorder.audit import actor_of, audit_event, audit_row
from pydantic import SecretStr

NOW = datetime(2026, 4, 27, 10, 30, tzinfo=UTC)
CONVOX_AUDIT_ONLY = sorted(
    t.id for t in CATALOG.types() if t.family is Family.CONVOX and t.id in CATALOG.audit_only_ids()
)
CONVOX_FORWARDED = sorted(
    t.id
    for t in CATALOG.types()
    if t.family is Family.CONVOX and t.id not in CATALOG.audit_only_ids()
)


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@pytest.mark.parametrize(
    ("provider", "oauth", "scope"),
    [
        (Provider.SLACK, SLACK_OAUTH, "incoming-webhook"),
        (Provider.DISCORD, DISCORD_OAUTH, "webhook.incoming"),
    ],
)
def test_authorize_url_carries_client_scope_redirect_and_state(provider, oauth, scope) -> None:
    oauth = oauth.model_copy(update={"client_id": "cid"})
    redirect = callback_url("https://herald.example.com/", provider)
    assert redirect == f"https://herald.example.com/v1/integrations/{provider.value}/callback"
    url = authorize_url(oauth, provider, state="s t&ate", redirect_uri=redirect)
    assert url.startswith(oauth.authorize_url + "?")
    got = query(url)
    assert (got["client_id"], got["scope"], got["redirect_uri"], got["state"]) == (
        "cid",
        scope,
        redirect,
        "s t&ate",
    )
    assert ("response_type" in got) is (provider is Provider.DISCORD)


def test_the_token_request_has_the_credentials_and_the_same_redirect_uri() -> None:
    oauth = DISCORD_OAUTH.model_copy(update={"client_id": "cid", "client_secret": SecretStr("shh")})
    form = token_request(oauth, Provider.DISCORD, code="c0de", redirect_uri="https://h/cb")
    assert form == {
        "grant_type": "authorization_code",
        "client_id": "cid",
        "client_secret": "shh",
        "code": "c0de",
        "redirect_uri": "https://h/cb",
    }
    assert "grant_type" not in token_request(oauth, Provider.SLACK, code="c", redirect_uri="r")


def test_the_defaults_are_the_real_services() -> None:
    settings = ApiSettings()
    assert settings.slack_oauth.token_url == "https://slack.com/api/oauth.v2.access"
    assert settings.discord_oauth.scope == "webhook.incoming"


@pytest.mark.parametrize(
    ("provider", "status", "answer", "expected"),
    [
        (
            Provider.SLACK,
            200,
            {
                "ok": True,
                "incoming_webhook": {
                    "url": "https://hooks.slack.com/services/T/B/x",
                    "channel": "#ops",
                },
                "team": {"name": "Acme"},
            },
            ConnectedWebhook("https://hooks.slack.com/services/T/B/x", "#ops", "Acme"),
        ),
        (
            Provider.DISCORD,
            200,
            {
                "webhook": {
                    "url": "https://discord.com/api/webhooks/1/t",
                    "channel_id": "9",
                    "guild_id": "8",
                }
            },
            ConnectedWebhook("https://discord.com/api/webhooks/1/t", "9", "8"),
        ),
        (
            Provider.DISCORD,
            200,
            {"webhook": {"id": "42", "token": "tok"}},
            ConnectedWebhook("https://discord.com/api/webhooks/42/tok"),
        ),
    ],
)
def test_the_webhook_is_read_from_each_dialect(provider, status, answer, expected) -> None:
    assert connected_webhook(provider, status, answer) == expected


@pytest.mark.parametrize(
    ("provider", "status", "answer"),
    [
        (Provider.SLACK, 200, {"ok": False, "error": "invalid_code"}),
        (Provider.SLACK, 200, {"ok": True}),
        (Provider.SLACK, 200, {"ok": True, "incoming_webhook": {"channel": "#x"}}),
        (Provider.DISCORD, 400, {"error": "invalid_grant"}),
        (Provider.DISCORD, 200, {"access_token": "a"}),
        (Provider.DISCORD, 200, {"webhook": {"id": "1"}}),
        (Provider.DISCORD, 200, None),
    ],
)
def test_refusals_and_answers_without_a_webhook_fail(provider, status, answer) -> None:
    with pytest.raises(TokenExchangeFailed):
        connected_webhook(provider, status, answer)


def test_an_integration_is_an_owner_scoped_send_all_chat_notifier() -> None:
    notifier = integration_notifier(
        "org-1", Provider.DISCORD, ConnectedWebhook("https://discord.com/api/webhooks/1/t"), NOW
    )
    assert (notifier.scope, notifier.owner_id, notifier.platform) == (
        Scope.OWNER,
        "org-1",
        Channel.DISCORD,
    )
    assert notifier.selection.send_all_events
    assert is_integration(notifier)
    shown = integration_json(notifier)
    assert shown["provider"] == "discord"
    assert "webhooks/1/t" not in str(shown)
    errors = check_type_data(
        platform_by_id("discord"),
        notifier.type_data,
        allow_loopback=False,  # type: ignore[arg-type]
    )
    assert errors == {}


def convox(event_type: str, owner: str = "org-1", **data: object) -> Event:
    return Event(
        id=f"ev-{event_type}",
        type=event_type,
        created_at=NOW,
        app_id="app-1",
        app_name="myapp",
        owner_id=owner,
        rack="production",
        type_data={"actor": "alice@example.com", **data},
    )


def test_integrations_never_get_an_audit_only_type_and_get_every_other_convox_type() -> None:
    notifier = integration_notifier(
        "org-1", Provider.SLACK, ConnectedWebhook("https://hooks.slack.com/services/x"), NOW
    )
    assert len(CONVOX_AUDIT_ONLY) == 7
    for event_type in CONVOX_AUDIT_ONLY:
        (decision,) = explain(convox(event_type), [notifier])
        assert decision.exclusion is Exclusion.AUDIT_ONLY, event_type
        assert route(convox(event_type), [notifier], NOW) == []
    for event_type in CONVOX_FORWARDED:
        assert len(route(convox(event_type), [notifier], NOW)) == 1, event_type
    assert route(convox("release:promote", owner="org-2"), [notifier], NOW) == []


def test_the_audit_consumer_keeps_only_audit_only_events() -> None:
    for event_type in CONVOX_AUDIT_ONLY:
        event = audit_event(convox(event_type).to_json())
        assert event is not None
        assert event.type == event_type
    assert audit_event(convox("release:promote").to_json()) is None
    assert audit_event(b"not json") is None
    assert audit_event(None) is None
    row = audit_row(convox("app:budget:set"))
    assert row[:7] == (
        "ev-app:budget:set",
        "org-1",
        "app-1",
        "myapp",
        "production",
        "app:budget:set",
        "alice@example.com",
    )
    assert actor_of(convox("app:budget:set", actor=None)) is None


def test_audit_query_parses_filters_and_refuses_bad_ones() -> None:
    cursor = encode_cursor(Cursor(NOW, "ev-9"))
    parsed = parse_audit_query(
        {
            "app": "myapp",
            "type": "app:budget:set",
            "since": "2026-04-27T10:00:00Z",
            "limit": "999",
            "cursor": cursor,
        }
    )
    assert parsed.app == "myapp"
    assert parsed.limit == 200
    assert parsed.cursor == Cursor(NOW, "ev-9")
    with pytest.raises(ApiProblem) as caught:
        parse_audit_query({"since": "yesterday", "limit": "0", "cursor": "nope"})
    assert set(caught.value.errors) == {"since", "limit", "cursor"}


def test_audit_sql_is_a_keyset_page_with_placeholders_only() -> None:
    sql, args = audit_sql(
        "org-1", AuditQuery(app="myapp", type="app:budget:set", cursor=Cursor(NOW, "ev-9"), limit=3)
    )
    assert "myapp" not in sql
    assert args == ["org-1", "myapp", "app:budget:set", NOW, "ev-9", 4]
    assert "(created_at, event_id) < ($4, $5)" in sql
    assert sql.endswith("ORDER BY created_at DESC, event_id DESC LIMIT $6")


WEBHOOK = platform_by_id("webhook")


@pytest.mark.parametrize(
    ("type_data", "fields"),
    [
        ({"format": "convox", "convox_signing_key": "k" * 16}, set()),
        (
            {
                "format": "convox",
                "convox_signing_key": "k" * 16,
                "convox_signing_keys": ["o" * 16] * 3,
            },
            set(),
        ),
        ({"convox_signing_key": "k" * 16}, {"type_data.format"}),
        ({"format": "convox", "convox_signing_key": "short"}, {"type_data.convox_signing_key"}),
        ({"format": "convox", "convox_signing_key": "k\n" * 10}, {"type_data.convox_signing_key"}),
        (
            {"format": "convox", "convox_signing_keys": ["o" * 16]},
            {"type_data.convox_signing_keys"},
        ),
        (
            {
                "format": "convox",
                "convox_signing_key": "k" * 16,
                "convox_signing_keys": ["o" * 16] * 4,
            },
            {"type_data.convox_signing_keys"},
        ),
        ({"format": "convox"}, set()),
    ],
)
def test_convox_signing_keys_are_validated(type_data, fields) -> None:
    data = {"webhook_url": "https://hooks.example.com/x", **type_data}
    errors = check_type_data(WEBHOOK, data, allow_loopback=False)  # type: ignore[arg-type]
    assert set(errors) == fields


def test_convox_signing_keys_are_write_only() -> None:
    shown = mask_type_data(
        {"convox_signing_key": "secret-key-123456", "convox_signing_keys": ["old-key-1234567"]}
    )
    assert "secret-key" not in str(shown)
    assert "old-key" not in str(shown)
