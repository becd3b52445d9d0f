"""A stand-in for Slack's Web API on 127.0.0.1: `chat.postMessage` and `chat.update`.

It keeps the messages it was asked to post, answers like Slack (`{"ok": true, "channel", "ts"}`,
or `{"ok": false, "error": …}` with HTTP 200), checks the bearer token, and can be told to
answer the next calls with scripted replies (`fail_next`), e.g. a 429 with `Retry-After`.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from herald_testing.loopback import serve_on_loopback


@dataclass(frozen=True)
class ApiCall:
    method: str
    token: str | None
    payload: dict[str, Any]


@dataclass
class SlackStandIn:
    """Records every Web API call; `messages` maps ts → the latest payload of that message."""

    token: str = "xoxb-herald-test"  # noqa: S105 (a test double's token)
    calls: list[ApiCall] = field(default_factory=list)
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    scripted: list[tuple[int, dict[str, str], dict[str, Any]]] = field(default_factory=list)
    port: int = 0
    _runner: web.AppRunner | None = None
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def api_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def on(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method]

    def fail_next(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        """Answer the next call with `status`, `headers` and the JSON `body`, whatever it is."""
        self.scripted.append((status, headers or {}, body))

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None
        payload = json.loads(await request.read() or b"{}")
        self.calls.append(ApiCall(method, token, payload))
        if self.scripted:
            status, headers, body = self.scripted.pop(0)
            return web.json_response(body, status=status, headers=headers)
        if token != self.token:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        channel = payload.get("channel")
        if method == "chat.postMessage":
            ts = f"1700000000.{next(self._ts):06d}"
            self.messages[ts] = payload
            return web.json_response({"ok": True, "channel": channel, "ts": ts, "message": payload})
        if method == "chat.update":
            ts = payload.get("ts")
            if ts not in self.messages:
                return web.json_response({"ok": False, "error": "message_not_found"})
            self.messages[ts] = payload
            return web.json_response({"ok": True, "channel": channel, "ts": ts})
        return web.json_response({"ok": False, "error": "unknown_method"}, status=404)

    async def start(self) -> SlackStandIn:
        app = web.Application()
        app.router.add_post("/api/{method}", self._handle)
        self._runner, self.port = await serve_on_loopback(app)
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
