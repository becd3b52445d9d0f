"""A real HTTP receiver on 127.0.0.1 that records what it is sent (webhook endpoints in tests)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from herald_testing.loopback import serve_on_loopback
from herald_testing.polling import eventually


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = 0.0
    """`time.monotonic()` when the request arrived."""
    query: str = ""
    """The query string, without its `?`."""

    def json(self) -> Any:
        import json

        return json.loads(self.body)


@dataclass(frozen=True)
class Reply:
    """One scripted answer: `status` with `headers` and `body`, after `delay_s` (a slow or
    silent endpoint)."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    body: str = "scripted"


@dataclass
class HttpReceiver:
    """Records every request; answers with `status` (settable per path).

    `scripts[path]` is a list of `Reply`s used one per request, in order, before `statuses`.
    """

    status: int = 200
    statuses: dict[str, int] = field(default_factory=dict)
    scripts: dict[str, list[Reply]] = field(default_factory=dict)
    requests: list[Received] = field(default_factory=list)
    port: int = 0
    _runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "/hook") -> str:
        return self.base_url + path

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.requests.append(
            Received(
                request.method,
                request.path,
                dict(request.headers),
                body,
                time.monotonic(),
                request.query_string,
            )
        )
        script = self.scripts.get(request.path)
        if script:
            reply = script.pop(0)
            await asyncio.sleep(reply.delay_s)
            return web.Response(status=reply.status, headers=reply.headers, text=reply.body)
        return web.Response(status=self.statuses.get(request.path, self.status), text="ok")

    async def start(self) -> HttpReceiver:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner, self.port = await serve_on_loopback(app)
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def on(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]

    async def wait_for(self, path: str, count: int = 1, timeout_s: float = 20.0) -> list[Received]:
        """Wait until `count` requests reached `path`; return them."""
        await eventually(
            lambda: len(self.on(path)) >= count,
            timeout_s=timeout_s,
            what=f"{count} request(s) on {path}",
        )
        return self.on(path)

    async def wait_for_id(self, path: str, event_id: str, timeout_s: float = 20.0) -> Received:
        """Wait until a request on `path` carries the envelope `event_id` (a raw webhook, or a
        sentinel); return it. "Nothing else arrived" is shown this way, never by waiting."""
        await eventually(
            lambda: any(_event_id(r) == event_id for r in self.on(path)),
            timeout_s=timeout_s,
            what=f"event {event_id} on {path}",
        )
        return next(r for r in self.on(path) if _event_id(r) == event_id)


def _event_id(request: Received) -> str | None:
    try:
        body = request.json()
    except ValueError:
        return None
    return body.get("id") if isinstance(body, dict) else None
