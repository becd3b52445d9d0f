"""Send events to ingest over HTTP: `AsyncHeraldClient` (aiohttp) and `HeraldClient` (sync).

    async with AsyncHeraldClient("https://ingest.example", token=TOKEN) as herald:
        receipt = await herald.send(event)              # Receipt(id, "accepted")
        receipts = await herald.send_many(events)       # batches of at most 500

    with HeraldClient("https://ingest.example", token=TOKEN) as herald:
        herald.send(event)

A returned receipt means the event is durably on `notify.events` (ingest answers only after the
broker's acknowledgement). Errors are `herald_client.errors`: a 4xx carries ingest's problem
body; a 5xx, a timeout or a refused connection is an `UnavailableError`, after which sending
the same events again is safe. The sync client uses only the standard library (urllib), so a
script or a WSGI app needs no event loop and no extra dependency.
"""

from __future__ import annotations

import ssl
import urllib.error
import urllib.request
from collections.abc import Sequence
from types import TracebackType
from typing import Self

import aiohttp
from herald_core.envelope import Event

from herald_client import protocol
from herald_client.errors import UnavailableError
from herald_client.protocol import Receipt

DEFAULT_TIMEOUT_S = 10.0


class AsyncHeraldClient:
    """An ingest client on one aiohttp session; use it as an async context manager (or call
    `close`). `token` is a producer token (`Authorization: Bearer`); `ssl_context` carries
    a client certificate for mTLS, or the CAs of a private ingest certificate."""

    def __init__(
        self,
        http_url: str,
        *,
        token: str | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        ssl_context: ssl.SSLContext | None = None,
        max_batch: int = protocol.MAX_BATCH,
    ) -> None:
        self.http_url = http_url
        self._token = token
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._ssl = ssl_context
        self._max_batch = max_batch
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(self, event: Event) -> Receipt:
        """POST one event; its receipt once ingest took it.

        Raises:
            EventsRejectedError: ingest refused it (422: `problem` has reason, detail, errors).
            AuthenticationError, RequestRefusedError, UnavailableError: see `herald_client.errors`.
        """
        [receipt] = await self._post(protocol.request(self.http_url, self._token, [event], False))
        return receipt

    async def send_many(self, events: Sequence[Event]) -> list[Receipt]:
        """POST `events` as batches of at most `max_batch`, in order; one receipt per event.

        Raises:
            EventsRejectedError: a batch was partly or wholly refused (per-event `results`);
                the batches before it were taken, the ones after it not sent.
            AuthenticationError, RequestRefusedError, UnavailableError: as `send`.
        """
        found: list[Receipt] = []
        for chunk in protocol.chunks(events, self._max_batch):
            found += await self._post(protocol.request(self.http_url, self._token, chunk, True))
        return found

    async def _post(self, request: protocol.Request) -> list[Receipt]:
        batch = request.body.startswith(b"[")
        try:
            async with self._client().post(
                request.url, data=request.body, headers=request.headers, ssl=self._ssl or True
            ) as response:
                body = await response.read()
                return protocol.receipts(response.status, response.headers, body, batch)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise UnavailableError(f"no answer from ingest at {request.url}: {exc!r}") from exc

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session


class HeraldClient:
    """The blocking twin of `AsyncHeraldClient`, on the standard library's urllib.

    Thread-safe: each call is its own request. A context manager only for symmetry.
    """

    def __init__(
        self,
        http_url: str,
        *,
        token: str | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        ssl_context: ssl.SSLContext | None = None,
        max_batch: int = protocol.MAX_BATCH,
    ) -> None:
        self.http_url = http_url
        self._token = token
        self._timeout_s = timeout_s
        self._ssl = ssl_context
        self._max_batch = max_batch

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    def send(self, event: Event) -> Receipt:
        """POST one event; as `AsyncHeraldClient.send`."""
        [receipt] = self._post(protocol.request(self.http_url, self._token, [event], False))
        return receipt

    def send_many(self, events: Sequence[Event]) -> list[Receipt]:
        """POST events in batches; as `AsyncHeraldClient.send_many`."""
        found: list[Receipt] = []
        for chunk in protocol.chunks(events, self._max_batch):
            found += self._post(protocol.request(self.http_url, self._token, chunk, True))
        return found

    def _post(self, request: protocol.Request) -> list[Receipt]:
        if not request.url.startswith(("http://", "https://")):
            raise ValueError(f"ingest's URL must be http:// or https://, not {request.url!r}")
        batch = request.body.startswith(b"[")
        outgoing = urllib.request.Request(  # noqa: S310 - the scheme is checked above
            request.url, data=request.body, headers=request.headers, method="POST"
        )
        try:
            with urllib.request.urlopen(  # noqa: S310 - the scheme is checked above
                outgoing, timeout=self._timeout_s, context=self._ssl
            ) as response:
                headers = dict(response.headers.items())
                return protocol.receipts(response.status, headers, response.read(), batch)
        except urllib.error.HTTPError as answer:  # any status urllib does not call success
            with answer:
                headers = dict(answer.headers.items())
                return protocol.receipts(answer.code, headers, answer.read(), batch)
        except (urllib.error.URLError, OSError) as exc:
            raise UnavailableError(f"no answer from ingest at {request.url}: {exc!r}") from exc
