"""A JSON client of the in-process API for one bearer token (integration tests)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, NamedTuple


class ApiResponse(NamedTuple):
    """One answer of the API: unpacks as `status, body, headers`."""

    status: int
    body: Any
    """The decoded JSON body; the text as it is when it is not JSON; None when empty."""
    headers: Mapping[str, str]
    """The response headers (case-insensitive keys: `headers["ETag"]`, `headers["Location"]`)."""


class ApiClient:
    """Calls `http://127.0.0.1:<port>` with `Authorization: Bearer <token>` (none when the token
    is None).

    `call` sends `body` as JSON (or `raw` bytes as they are), `headers` as extra request headers
    (`If-Match`, `Idempotency-Key`, …), `params` as the query string, and answers (status, body).
    `call_with_headers` takes the same arguments and answers an `ApiResponse`, the response
    headers included. Redirects are returned, never followed (the OAuth flows answer with one).
    """

    def __init__(self, http: Any, port: int, token: str | None) -> None:
        self.http, self.base, self.token = http, f"http://127.0.0.1:{port}", token

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        **params: str,
    ) -> tuple[int, Any]:
        status, answer, _ = await self.call_with_headers(
            method, path, body, raw=raw, headers=headers, **params
        )
        return status, answer

    async def call_with_headers(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        **params: str,
    ) -> ApiResponse:
        sent = {"Authorization": f"Bearer {self.token}"} if self.token is not None else {}
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        if data is not None:
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        async with self.http.request(
            method,
            self.base + path,
            data=data,
            params=params or None,
            headers=sent,
            allow_redirects=False,
        ) as response:
            text = await response.text()
            return ApiResponse(response.status, _decoded(text), response.headers)


def _decoded(text: str) -> Any:
    """The JSON value of `text`, the text itself when it is not JSON, None when it is empty."""
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text
