"""The Convox face: organisation integrations as owner-scoped chat notifiers. Pure.

Convox's Console connects Slack or Discord to an organisation with an OAuth 2 flow; each
integration then "forwards all events from all Racks in the organization", audit-only ones
excepted (the router's rule 1). On the one notifier model an integration is:

    scope owner (the organisation), platform slack | discord, selection send_all_events,
    families ["convox"] (Convox's events and alerts, not other platforms' nor Herald's own),
    type_data {"webhook_url": <the provider's incoming webhook>, "face": "convox",
               "integration": {"provider", "channel", "workspace"}}

(`type_data.face` marks a face's notifiers, as every face does: docs/faces.md.)

The OAuth dialects:

    Slack    authorize  https://slack.com/oauth/v2/authorize?client_id&scope=incoming-webhook
                        &redirect_uri&state
             token      POST form (client_id, client_secret, code, redirect_uri) to
                        oauth.v2.access → {"ok": true, "incoming_webhook": {"url", "channel"},
                        "team": {"name"}}; failures are HTTP 200 with {"ok": false, "error"}
    Discord  authorize  https://discord.com/oauth2/authorize?response_type=code&client_id
                        &scope=webhook.incoming&redirect_uri&state
             token      POST form (grant_type=authorization_code, code, redirect_uri, client_id,
                        client_secret) → {"webhook": {"url"} or {"id", "token"}, "channel_id",
                        "guild_id", "name"}; failures are 4xx with {"error"}
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from herald_core.catalog import Family
from herald_core.notifiers import Notifier, Scope, Selection
from herald_core.topics import Channel
from yarl import URL

from herald_api.settings import ApiSettings, OAuthProviderSettings

FACE = "convox"
DISCORD_WEBHOOK_BASE = "https://discord.com/api/webhooks"


class Provider(StrEnum):
    SLACK = "slack"
    DISCORD = "discord"

    @property
    def channel(self) -> Channel:
        return Channel.SLACK if self is Provider.SLACK else Channel.DISCORD

    @property
    def display_name(self) -> str:
        return "Slack" if self is Provider.SLACK else "Discord"


class TokenExchangeFailed(Exception):
    """The provider refused the code, or answered something without a webhook."""


@dataclass(frozen=True)
class ConnectedWebhook:
    """What a successful code exchange gives: the webhook and where it posts."""

    url: str
    channel: str | None = None
    workspace: str | None = None


def provider_settings(settings: ApiSettings, provider: Provider) -> OAuthProviderSettings:
    return settings.slack_oauth if provider is Provider.SLACK else settings.discord_oauth


def callback_url(public_url: str, provider: Provider) -> str:
    """The `redirect_uri` this API registers with the provider. Pure."""
    return f"{public_url.rstrip('/')}/v1/integrations/{provider.value}/callback"


def authorize_url(
    oauth: OAuthProviderSettings, provider: Provider, *, state: str, redirect_uri: str
) -> str:
    """The provider's consent page for this flow. Pure."""
    query = {
        "client_id": oauth.client_id,
        "scope": oauth.scope,
        "redirect_uri": redirect_uri,
        "state": state,
    }
    if provider is Provider.DISCORD:
        query = {"response_type": "code", **query}
    return str(URL(oauth.authorize_url).update_query(query))


def token_request(
    oauth: OAuthProviderSettings, provider: Provider, *, code: str, redirect_uri: str
) -> dict[str, str]:
    """The form fields of the code exchange. Pure."""
    form = {
        "client_id": oauth.client_id,
        "client_secret": oauth.client_secret.get_secret_value(),
        "code": code,
        "redirect_uri": redirect_uri,
    }
    if provider is Provider.DISCORD:
        form = {"grant_type": "authorization_code", **form}
    return form


def connected_webhook(provider: Provider, status: int, answer: Any) -> ConnectedWebhook:
    """The webhook in a token endpoint's answer. Pure.

    Raises:
        TokenExchangeFailed: on an error answer, or one without a webhook URL; the message is
            the provider's error code, never a secret.
    """
    if not isinstance(answer, dict):
        raise TokenExchangeFailed(f"the {provider.display_name} token endpoint answered {status}")
    if provider is Provider.SLACK:
        return _slack_webhook(status, answer)
    return _discord_webhook(status, answer)


def _error_of(answer: Mapping[str, Any]) -> str:
    error = answer.get("error")
    return str(error)[:100] if error else "no error code"


def _slack_webhook(status: int, answer: Mapping[str, Any]) -> ConnectedWebhook:
    hook = answer.get("incoming_webhook")
    if status != 200 or answer.get("ok") is not True or not isinstance(hook, dict):
        raise TokenExchangeFailed(f"Slack refused the code: {_error_of(answer)}")
    url = hook.get("url")
    if not isinstance(url, str) or not url:
        raise TokenExchangeFailed("Slack answered no incoming_webhook.url")
    team = answer.get("team")
    return ConnectedWebhook(
        url,
        channel=_text(hook.get("channel")),
        workspace=_text(team.get("name")) if isinstance(team, dict) else None,
    )


def _discord_webhook(status: int, answer: Mapping[str, Any]) -> ConnectedWebhook:
    hook = answer.get("webhook")
    if not 200 <= status < 300 or not isinstance(hook, dict):
        raise TokenExchangeFailed(f"Discord refused the code: {_error_of(answer)}")
    url = hook.get("url")
    if not isinstance(url, str) or not url:
        hook_id, token = hook.get("id"), hook.get("token")
        if not (isinstance(hook_id, str) and hook_id and isinstance(token, str) and token):
            raise TokenExchangeFailed("Discord answered no webhook url, nor id and token")
        url = f"{DISCORD_WEBHOOK_BASE}/{hook_id}/{token}"
    return ConnectedWebhook(
        url,
        channel=_text(hook.get("channel_id")),
        workspace=_text(hook.get("guild_id")),
    )


def _text(value: Any) -> str | None:
    return str(value)[:200] if isinstance(value, str | int) and value != "" else None


def integration_notifier(
    owner_id: str, provider: Provider, webhook: ConnectedWebhook, now: datetime
) -> Notifier:
    """The owner-scoped notifier an integration is. Pure but for its fresh id."""
    where = webhook.channel or webhook.workspace
    return Notifier(
        id=f"no-{uuid.uuid4()}",
        name=f"{provider.display_name}{f' {where}' if where else ''} (organisation integration)",
        scope=Scope.OWNER,
        owner_id=owner_id,
        platform=provider.channel,
        selection=Selection(send_all_events=True),
        families=(Family.CONVOX,),
        type_data={
            "webhook_url": webhook.url,
            "face": FACE,
            "integration": {
                "provider": provider.value,
                "channel": webhook.channel,
                "workspace": webhook.workspace,
            },
        },
        created_at=now,
        updated_at=now,
    )


def is_integration(notifier: Notifier) -> bool:
    """Whether a notifier is a Convox organisation integration. Pure."""
    return notifier.scope is Scope.OWNER and notifier.type_data.get("face") == FACE


def integration_json(notifier: Notifier) -> dict[str, Any]:
    """An integration as listed: never its webhook URL (a credential for Discord). Pure."""
    info = notifier.type_data.get("integration")
    info = info if isinstance(info, dict) else {}
    return {
        "id": notifier.id,
        "owner_id": notifier.owner_id,
        "provider": info.get("provider"),
        "name": notifier.name,
        "channel": info.get("channel"),
        "workspace": info.get("workspace"),
        "active": notifier.active,
        "families": list(notifier.families),
        "created_at": notifier.created_at.isoformat() if notifier.created_at else None,
    }
