"""The SSRF-safe outgoing HTTP client every HTTP channel uses (docs/architecture.md).

Guards, in order of use:

1. `check_url` on the URL, and again on the host as yarl parsed it (aiohttp connects to IP
   literals without asking the resolver, so literals are only ever checked here).
2. `SafeResolver` checks every address a name resolves to; aiohttp connects only to the
   addresses the resolver returns, so DNS rebinding between check and connect is moot.
3. No redirects, no proxies from the environment, short timeouts, a capped response body.

Transport failures are translated here, at the edge, into `herald_core.errors` types; the
status code is left to `herald_sender.classify.classify_http`. Error details carry only the
redacted URL: aiohttp's own messages may contain the full URL, so they are not chained.
"""

from __future__ import annotations

import functools
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Self

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from herald_core.errors import (
    FailureReason,
    PermanentDeliveryError,
    RetryableDeliveryError,
    UnsafeUrl,
)
from herald_core.urlpolicy import check_address, check_url, redact_url
from yarl import URL

DEFAULT_CONNECT_TIMEOUT_S = 5.0
DEFAULT_TOTAL_TIMEOUT_S = 10.0
DEFAULT_MAX_BODY_BYTES = 64 * 1024
DEFAULT_LIMIT_PER_HOST = 10
DEFAULT_DNS_CACHE_TTL_S = 10
USER_AGENT = "Herald-Notifier/0.1"

_HEADER_FORBIDDEN = frozenset("\r\n\x00")


@dataclass(frozen=True, slots=True)
class HttpResult:
    """A response as far as the client read it.

    `headers` has lower-case names; repeated headers are joined with ", ". `body` holds at most
    the client's `max_body_bytes`; `truncated` says whether the receiver sent more.
    """

    status: int
    headers: dict[str, str]
    body: bytes
    truncated: bool
    elapsed_s: float


class SafeResolver(AbstractResolver):
    """Resolves through `inner`, then refuses the name if any address fails `check_address`."""

    def __init__(self, inner: AbstractResolver, *, allow_loopback: bool = False) -> None:
        self._inner = inner
        self._allow_loopback = allow_loopback

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Resolve `host`; raise UnsafeUrl if any of its addresses is refused."""
        results = await self._inner.resolve(host, port, family)
        for result in results:
            try:
                check_address(result["host"], allow_loopback=self._allow_loopback)
            except UnsafeUrl as exc:
                raise UnsafeUrl(
                    f"host {host!r} resolves to a refused address: {exc.detail}"
                ) from None
        return results

    async def close(self) -> None:
        """Close the wrapped resolver."""
        await self._inner.close()


class SafeHttpClient:
    """One aiohttp session behind the SSRF policy; use as `async with SafeHttpClient() as c`.

    Args:
        allow_loopback: accept 127.0.0.0/8, ::1 and `localhost` targets (tests, local runs).
        connect_timeout_s: limit for getting a connection (DNS and TCP/TLS handshakes).
        total_timeout_s: limit for the whole exchange, response body included.
        max_body_bytes: how much of a response body is read; the rest is dropped.
        limit_per_host: concurrent connections per receiver.
        dns_cache_ttl_s: how long checked resolutions are reused; 0 turns the cache off.
        resolver: the resolver to wrap (tests inject one), closed with the client; aiohttp's
            default resolver otherwise.
    """

    def __init__(
        self,
        *,
        allow_loopback: bool = False,
        connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
        total_timeout_s: float = DEFAULT_TOTAL_TIMEOUT_S,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        limit_per_host: int = DEFAULT_LIMIT_PER_HOST,
        dns_cache_ttl_s: int = DEFAULT_DNS_CACHE_TTL_S,
        resolver: AbstractResolver | None = None,
    ) -> None:
        if max_body_bytes < 0:
            raise ValueError("max_body_bytes must be >= 0")
        self._allow_loopback = allow_loopback
        self._timeout = aiohttp.ClientTimeout(total=total_timeout_s, connect=connect_timeout_s)
        self._max_body_bytes = max_body_bytes
        self._limit_per_host = limit_per_host
        self._dns_cache_ttl_s = dns_cache_ttl_s
        self._inner_resolver = resolver
        self._session: aiohttp.ClientSession | None = None
        self._resolver: SafeResolver | None = None

    async def __aenter__(self) -> Self:
        self._resolver = SafeResolver(
            self._inner_resolver or DefaultResolver(), allow_loopback=self._allow_loopback
        )
        connector = aiohttp.TCPConnector(
            resolver=self._resolver,
            limit_per_host=self._limit_per_host,
            use_dns_cache=self._dns_cache_ttl_s > 0,
            ttl_dns_cache=self._dns_cache_ttl_s or None,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=self._timeout,
            trust_env=False,  # an environment proxy would connect to unchecked addresses
            headers={"User-Agent": USER_AGENT},
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the session, its connections and the resolver. Idempotent."""
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()
        if self._resolver is not None:
            # A connector closes only the resolvers it created itself.
            resolver, self._resolver = self._resolver, None
            await resolver.close()

    async def post(self, url: str, *, body: bytes, headers: Mapping[str, str]) -> HttpResult:
        """POST `body` to `url` once, without following redirects; any status is returned.

        Raises:
            PermanentDeliveryError: UNSAFE_URL when the policy refuses the URL or an address of
                its host (nothing is sent); INVALID_PAYLOAD for a header with CR, LF or NUL.
            RetryableDeliveryError: TIMEOUT or CONNECTION_ERROR.
            RuntimeError: when used outside `async with`.
        """
        if self._session is None:
            raise RuntimeError("SafeHttpClient used outside 'async with'")
        target = self._checked_target(url)
        _check_headers(headers)
        started = time.perf_counter()
        try:
            async with self._session.post(
                target, data=body, headers=dict(headers), allow_redirects=False
            ) as response:
                content, truncated = await self._read_capped(response)
                return HttpResult(
                    status=response.status,
                    headers=_flatten_headers(response.headers),
                    body=content,
                    truncated=truncated,
                    elapsed_s=time.perf_counter() - started,
                )
        except UnsafeUrl as exc:
            raise _unsafe(url, exc.detail) from None
        except TimeoutError:
            raise RetryableDeliveryError(
                FailureReason.TIMEOUT, f"timed out posting to {redact_url(url)}"
            ) from None
        except aiohttp.InvalidURL:
            raise _unsafe(url, "aiohttp refused the URL") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise RetryableDeliveryError(
                FailureReason.CONNECTION_ERROR,
                f"{type(exc).__name__} posting to {redact_url(url)}",
            ) from None

    def _checked_target(self, url: str) -> URL:
        try:
            return _checked_url(url, self._allow_loopback)
        except UnsafeUrl as exc:
            raise _unsafe(url, exc.detail) from None
        except ValueError:
            raise _unsafe(url, "malformed URL") from None

    async def _read_capped(self, response: aiohttp.ClientResponse) -> tuple[bytes, bool]:
        # The status line decides the outcome; the body is only kept for diagnostics. So a body
        # that stalls or breaks off after the headers arrived ends the read, not the delivery.
        chunks: list[bytes] = []
        remaining = self._max_body_bytes
        try:
            while remaining > 0:
                chunk = await response.content.read(remaining)
                if not chunk:
                    return b"".join(chunks), False
                chunks.append(chunk)
                remaining -= len(chunk)
            truncated = not response.content.at_eof()
        except (TimeoutError, aiohttp.ClientError):
            truncated = True
        if truncated:
            response.close()  # unread bytes make the connection unusable; drop it
        return b"".join(chunks), truncated


@functools.lru_cache(maxsize=4096)
def _checked_url(url: str, allow_loopback: bool) -> URL:
    """`url` parsed, once the policy accepts it. Pure, so cached: a sender posts to the same
    URLs over and over. A refusal raises and is not cached.

    Raises:
        UnsafeUrl, ValueError: when the policy refuses the URL or it does not parse.
    """
    check_url(url, allow_loopback=allow_loopback)
    target = URL(url)
    # Check the host exactly as aiohttp will see it, so a parser differential between urllib
    # and yarl cannot smuggle an unchecked IP literal through.
    host = target.raw_host or ""
    bracketed = f"[{host}]" if ":" in host else host
    check_url(f"{target.scheme}://{bracketed}/", allow_loopback=allow_loopback)
    return target


def _unsafe(url: str, detail: str) -> PermanentDeliveryError:
    return PermanentDeliveryError(FailureReason.UNSAFE_URL, f"{redact_url(url)} refused: {detail}")


def _check_headers(headers: Mapping[str, str]) -> None:
    for name, value in headers.items():
        if _HEADER_FORBIDDEN.intersection(name) or _HEADER_FORBIDDEN.intersection(value):
            # Neither name nor value is quoted: header values often are secrets.
            raise PermanentDeliveryError(
                FailureReason.INVALID_PAYLOAD, "a request header contains CR, LF or NUL"
            )


def _flatten_headers(headers: Mapping[str, str]) -> dict[str, str]:
    flat: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        flat[key] = f"{flat[key]}, {value}" if key in flat else value
    return flat
