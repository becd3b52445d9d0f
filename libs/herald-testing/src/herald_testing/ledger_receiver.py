"""The ledger's webhook and chat receiver: an HTTP server on 127.0.0.1 that records every request.

What a request is depends on its path, as the scenario declared it:

    webhook (`expect(path, secret)`)  checked as a Standard Webhooks receiver would
                                       (`standardwebhooks.Webhook(secret).verify`); its
                                       `webhook-id`, the event id of its (raw-format) body
    chat (`expect_chat(path)`)        a chat post, not signed (`signature_valid` None); its
                                       `X-Herald-Delivery-Id` and `X-Herald-Event-Id` headers
                                       (the payload carries no event id)
    any other path                     judged as a webhook with no secret: its signature fails

A path's kind comes from the scenario, never from the request: a webhook that lost its signature
is not taken for a chat post. Each request is handed to the ledgers that own its path as an
`Arrival`: the ids above, what was answered, whether the signature held, and when (wall clock,
as Kafka's record times are).

What it answers is switchable at run time, per path prefix (`behave`): 200 by default, or a
`Behaviour` (a status, a `Retry-After` in seconds or as an HTTP date, a delay before answering)
until it is reset.

A request whose signature holds but whose `webhook-timestamp` is more than `TOLERANCE_S` off
the receiver's clock is one a Standard Webhooks receiver refuses: it is counted in `skewed`,
and is `signature_valid` only while `accept_skew` is set (a scenario that moves a sender's
clock on purpose sets it: the timestamp is then the receiver's verdict, not a loss).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any, Protocol

from aiohttp import web
from herald_core.headers import HERALD_DELIVERY_ID, HERALD_EVENT_ID
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from herald_testing.ledger import Arrival
from herald_testing.loopback import serve_on_loopback


class Books(Protocol):
    """What the receiver feeds: a `Ledger`."""

    def owns(self, path: str) -> bool: ...

    def arrived(self, arrival: Arrival) -> None: ...


@dataclass(frozen=True)
class Behaviour:
    """What a path answers: `status`, with `Retry-After` when `retry_after_s` is set (as
    delay-seconds, or as an HTTP date that far ahead when `as_http_date`), after waiting a
    random time within `delay_s` (min, max)."""

    status: int = 200
    retry_after_s: int | None = None
    as_http_date: bool = False
    delay_s: tuple[float, float] = (0.0, 0.0)

    def pause_s(self) -> float:
        """How long to wait before answering this request."""
        low, high = self.delay_s
        return random.uniform(low, high) if high > 0 else 0.0

    def headers(self, now: datetime) -> dict[str, str]:
        if self.retry_after_s is None:
            return {}
        if self.as_http_date:
            at = now + timedelta(seconds=self.retry_after_s)
            return {"Retry-After": format_datetime(at.astimezone(UTC), usegmt=True)}
        return {"Retry-After": str(self.retry_after_s)}


OK = Behaviour()
TOLERANCE_S = 300.0
"""How far a `webhook-timestamp` may be off before a Standard Webhooks receiver refuses it."""


@dataclass(frozen=True)
class Skewed:
    """A request signed right but stamped more than `TOLERANCE_S` off the receiver's clock."""

    path: str
    skew_s: float
    """Its `webhook-timestamp` minus the receiver's clock (positive: from the future)."""


@dataclass
class LedgerReceiver:
    """Records every request, answers per its path's `Behaviour`; one server for all ledgers."""

    secrets: dict[str, str] = field(default_factory=dict)
    """The signing secret of each webhook path (`whsec_…`)."""
    chat_paths: set[str] = field(default_factory=set)
    """The paths chat notifiers post to (unsigned, identified by headers)."""
    books: list[Books] = field(default_factory=list)
    behaviours: dict[str, Behaviour] = field(default_factory=dict)
    unclaimed: list[Arrival] = field(default_factory=list)
    """Requests on a path no ledger owns."""
    skewed: list[Skewed] = field(default_factory=list)
    accept_skew: bool = False
    port: int = 0
    _runner: web.AppRunner | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def expect(self, path: str, secret: str) -> None:
        """Verify the requests on `path` with `secret`."""
        self.secrets[path] = secret

    def expect_chat(self, path: str) -> None:
        """Take the requests on `path` as chat posts: unsigned, their ids in headers."""
        self.chat_paths.add(path)

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
        behaviour = self.behaviour(request.path)
        pause = behaviour.pause_s()
        if pause:
            await asyncio.sleep(pause)
        now = datetime.now(UTC)
        arrival = self.arrival_of(
            request.path, dict(request.headers), body, behaviour.status, now.timestamp()
        )
        owners = [books for books in self.books if books.owns(request.path)]
        for books in owners:
            books.arrived(arrival)
        if not owners:
            self.unclaimed.append(arrival)
        return web.Response(status=behaviour.status, headers=behaviour.headers(now), text="ok")

    def arrival_of(
        self, path: str, headers: dict[str, str], body: bytes, status: int, at: float
    ) -> Arrival:
        """The arrival a request on `path` is, per the path's kind (see the module docstring)."""
        if path in self.chat_paths:
            return chat_arrival(path, headers, status, at)
        return Arrival(
            path=path,
            webhook_id=_lower(headers).get("webhook-id"),
            event_id=_event_id(body),
            status=status,
            signature_valid=self._verified(path, body, headers),
            at=at,
        )

    def _verified(self, path: str, body: bytes, headers: dict[str, str]) -> bool:
        secret = self.secrets.get(path)
        if secret is None:
            return False
        try:
            Webhook(secret).verify(body, headers)
        except WebhookVerificationError:
            pass
        else:
            return True
        skew = timestamp_skew(headers, time.time())
        if skew is None or abs(skew) <= TOLERANCE_S or not hmac_holds(secret, body, headers):
            return False
        self.skewed.append(Skewed(path, skew))
        return self.accept_skew

    async def start(self) -> LedgerReceiver:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner, self.port = await serve_on_loopback(app)
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


def chat_arrival(path: str, headers: dict[str, str], status: int, at: float) -> Arrival:
    """A chat post as an arrival: its ids from the headers the chat sender writes. Pure."""
    found = _lower(headers)
    return Arrival(
        path=path,
        webhook_id=found.get(HERALD_DELIVERY_ID.lower()),
        event_id=found.get(HERALD_EVENT_ID.lower()),
        status=status,
        signature_valid=None,
        at=at,
    )


def _event_id(body: bytes) -> str | None:
    try:
        document: Any = json.loads(body)
    except ValueError:
        return None
    value = document.get("id") if isinstance(document, dict) else None
    return value if isinstance(value, str) else None


def timestamp_skew(headers: dict[str, str], now: float) -> float | None:
    """`webhook-timestamp` minus `now`, in seconds; None when it is missing or not a number."""
    stamp = _lower(headers).get("webhook-timestamp", "")
    return float(stamp) - now if stamp.isdigit() else None


def hmac_holds(secret: str, body: bytes, headers: dict[str, str]) -> bool:
    """Whether one `v1` signature is the HMAC of the request with `secret`, whatever its time."""
    found = _lower(headers)
    key = base64.b64decode(secret.removeprefix("whsec_"))
    content = f"{found.get('webhook-id', '')}.{found.get('webhook-timestamp', '')}.".encode()
    digest = hmac.new(key, content + body, hashlib.sha256).digest()
    expected = base64.b64encode(digest).decode()
    given = [part.partition(",")[2] for part in found.get("webhook-signature", "").split()]
    return any(hmac.compare_digest(expected, signature) for signature in given)


def _lower(headers: dict[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}
