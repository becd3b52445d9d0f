"""The ledger's webhook receiver: an HTTP server on 127.0.0.1 that records every request.

Each request is checked as a Standard Webhooks receiver would (`standardwebhooks.Webhook(secret)
.verify`, with the secret of the path's notifier) and handed to the ledgers that own its path
as an `Arrival`: its `webhook-id`, the event id of its (raw-format) body, what was answered,
whether the signature held, and when (wall clock, as Kafka's record times are).

What it answers is switchable at run time, per path prefix (`behave`): 200 by default, or a
`Behaviour` (a status, a `Retry-After` in seconds or as an HTTP date) until it is reset.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any, Protocol

from aiohttp import web
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from herald_testing.ledger import Arrival


class Books(Protocol):
    """What the receiver feeds: a `Ledger`."""

    def owns(self, path: str) -> bool: ...

    def arrived(self, arrival: Arrival) -> None: ...


@dataclass(frozen=True)
class Behaviour:
    """What a path answers: `status`, with `Retry-After` when `retry_after_s` is set (as
    delay-seconds, or as an HTTP date that far ahead when `as_http_date`)."""

    status: int = 200
    retry_after_s: int | None = None
    as_http_date: bool = False

    def headers(self, now: datetime) -> dict[str, str]:
        if self.retry_after_s is None:
            return {}
        if self.as_http_date:
            at = now + timedelta(seconds=self.retry_after_s)
            return {"Retry-After": format_datetime(at.astimezone(UTC), usegmt=True)}
        return {"Retry-After": str(self.retry_after_s)}


OK = Behaviour()


@dataclass
class LedgerReceiver:
    """Records every request, answers per its path's `Behaviour`; one server for all ledgers."""

    secrets: dict[str, str] = field(default_factory=dict)
    """The signing secret of each path (`whsec_…`)."""
    books: list[Books] = field(default_factory=list)
    behaviours: dict[str, Behaviour] = field(default_factory=dict)
    unclaimed: list[Arrival] = field(default_factory=list)
    """Requests on a path no ledger owns."""
    port: int = 0
    _runner: web.AppRunner | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def expect(self, path: str, secret: str) -> None:
        """Verify the requests on `path` with `secret`."""
        self.secrets[path] = secret

    def behave(self, prefix: str, behaviour: Behaviour = OK) -> None:
        """Answer requests on paths starting with `prefix` per `behaviour` (OK resets)."""
        if behaviour == OK:
            self.behaviours.pop(prefix, None)
        else:
            self.behaviours[prefix] = behaviour

    def behaviour(self, path: str) -> Behaviour:
        matches = [prefix for prefix in self.behaviours if path.startswith(prefix)]
        return self.behaviours[max(matches, key=len)] if matches else OK

    def attach(self, books: Books) -> None:
        self.books.append(books)

    def detach(self, books: Books) -> None:
        self.books.remove(books)

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        now = datetime.now(UTC)
        behaviour = self.behaviour(request.path)
        arrival = Arrival(
            path=request.path,
            webhook_id=request.headers.get("webhook-id"),
            event_id=_event_id(body),
            status=behaviour.status,
            signature_valid=self._verified(request.path, body, dict(request.headers)),
            at=now.timestamp(),
        )
        owners = [books for books in self.books if books.owns(request.path)]
        for books in owners:
            books.arrived(arrival)
        if not owners:
            self.unclaimed.append(arrival)
        return web.Response(status=behaviour.status, headers=behaviour.headers(now), text="ok")

    def _verified(self, path: str, body: bytes, headers: dict[str, str]) -> bool:
        secret = self.secrets.get(path)
        if secret is None:
            return False
        try:
            Webhook(secret).verify(body, headers)
        except WebhookVerificationError:
            return False
        return True

    async def start(self) -> LedgerReceiver:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


def _event_id(body: bytes) -> str | None:
    try:
        document: Any = json.loads(body)
    except ValueError:
        return None
    value = document.get("id") if isinstance(document, dict) else None
    return value if isinstance(value, str) else None
