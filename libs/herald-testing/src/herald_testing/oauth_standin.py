"""A stand-in for Slack's and Discord's OAuth 2 on 127.0.0.1 (Convox integrations in tests).

    GET  /{slack|discord}/authorize   checks client_id and scope, then "the user consents":
                                      302 to redirect_uri?code=…&state=… (the state echoed)
    POST /slack/token                 oauth.v2.access: form client_id, client_secret, code,
                                      redirect_uri → {"ok": true, "incoming_webhook": {"url",
                                      "channel"}, "team": {"name"}}; errors are HTTP 200 with
                                      {"ok": false, "error": …}, as Slack answers
    POST /discord/token               form grant_type=authorization_code, code, redirect_uri,
                                      client_id, client_secret → {"access_token", "webhook":
                                      {"id", "token", "url", "channel_id", "guild_id"}}; errors
                                      are 400 {"error": "invalid_grant" | …}, as Discord answers

A code is single-use and bound to the client and the redirect_uri of its authorize request; a
reused code, a wrong redirect_uri or a wrong client secret is refused like the real services do.
The webhook each provider hands out is `webhook_urls[provider]` (a local receiver).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from yarl import URL

from herald_testing.loopback import serve_on_loopback

SCOPES = {"slack": "incoming-webhook", "discord": "webhook.incoming"}
DISCORD_HOOK = "/api/webhooks/1234/standin-token"
"""The path of the Discord webhook tests hand out (on a local receiver)."""
SLACK_HOOK = "/services/T1/B1/standin"
"""The path of the Slack incoming webhook tests hand out (on a local receiver)."""


@dataclass
class Grant:
    provider: str
    redirect_uri: str
    state: str
    used: bool = False


@dataclass
class OAuthStandIn:
    client_id: str = "herald-client"
    client_secret: str = "herald-client-secret"  # noqa: S105 - a test double's secret
    webhook_urls: dict[str, str] = field(default_factory=dict)
    grants: dict[str, Grant] = field(default_factory=dict)
    exchanges: list[dict[str, Any]] = field(default_factory=list)
    """Every token request's form, in order (what the API sent)."""
    refusals: list[str] = field(default_factory=list)
    """The error code of every refused token request, in order."""
    port: int = 0
    _runner: web.AppRunner | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def _authorize(self, request: web.Request) -> web.Response:
        provider = request.match_info["provider"]
        query = request.query
        if query.get("client_id") != self.client_id:
            return web.Response(status=400, text="unknown client_id")
        if query.get("scope") != SCOPES[provider]:
            return web.Response(status=400, text="wrong scope")
        if provider == "discord" and query.get("response_type") != "code":
            return web.Response(status=400, text="response_type must be code")
        redirect_uri, state = query.get("redirect_uri"), query.get("state")
        if not redirect_uri or not state:
            return web.Response(status=400, text="redirect_uri and state are required")
        code = secrets.token_urlsafe(16)
        self.grants[code] = Grant(provider, redirect_uri, state)
        target = URL(redirect_uri).update_query(code=code, state=state)
        raise web.HTTPFound(str(target))

    def _refusal(self, provider: str, form: Any) -> str | None:
        if provider == "discord" and form.get("grant_type") != "authorization_code":
            return "unsupported_grant_type"
        if form.get("client_id") != self.client_id or form.get("client_secret") != (
            self.client_secret
        ):
            return "invalid_client"
        grant = self.grants.get(form.get("code", ""))
        if grant is None or grant.provider != provider or grant.used:
            return "invalid_code" if provider == "slack" else "invalid_grant"
        if form.get("redirect_uri") != grant.redirect_uri:
            return "bad_redirect_uri" if provider == "slack" else "invalid_grant"
        grant.used = True
        return None

    async def _token(self, request: web.Request) -> web.Response:
        provider = request.match_info["provider"]
        form = await request.post()
        self.exchanges.append({"provider": provider, **dict(form)})
        error = self._refusal(provider, form)
        if error is not None:
            self.refusals.append(error)
            if provider == "slack":
                return web.json_response({"ok": False, "error": error})
            return web.json_response({"error": error}, status=400)
        url = self.webhook_urls[provider]
        if provider == "slack":
            return web.json_response(
                {
                    "ok": True,
                    "access_token": "xoxb-standin",
                    "incoming_webhook": {"url": url, "channel": "#deploys", "channel_id": "C1"},
                    "team": {"id": "T1", "name": "Acme"},
                }
            )
        return web.json_response(
            {
                "access_token": "standin-access",
                "token_type": "Bearer",
                "scope": SCOPES["discord"],
                "webhook": {
                    "id": "1234",
                    "token": "standin-token",
                    "url": url,
                    "channel_id": "998877",
                    "guild_id": "112233",
                    "name": "Herald",
                },
            }
        )

    async def start(self) -> OAuthStandIn:
        app = web.Application()
        app.router.add_get("/{provider:slack|discord}/authorize", self._authorize)
        app.router.add_post("/{provider:slack|discord}/token", self._token)
        self._runner, self.port = await serve_on_loopback(app)
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


async def connect_integration(
    http: Any, api_base: str, token: str, owner: str, provider: str
) -> Any:
    """A Convox integration through the whole OAuth flow: the API's authorize redirect, the
    stand-in's consent, the API's callback. Returns the created integration (201's body)."""
    headers = {"Authorization": f"Bearer {token}"}
    path = f"{api_base}/v1/owners/{owner}/integrations/{provider}/authorize"
    async with http.get(path, headers=headers, allow_redirects=False) as response:
        assert response.status == 302, await response.text()
        consent = response.headers["Location"]
    async with http.get(consent, allow_redirects=False) as response:
        assert response.status == 302, await response.text()
        callback = response.headers["Location"]
    async with http.get(callback, allow_redirects=False) as response:
        assert response.status == 201, await response.text()
        return (await response.json())["integration"]
