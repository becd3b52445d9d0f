"""A JSON client of the in-process API for one bearer token (integration tests)."""

from __future__ import annotations

import json
from typing import Any


class ApiClient:
    """Calls `http://127.0.0.1:<port>` with `Authorization: Bearer <token>`.

    `call` sends `body` as JSON (or `raw` bytes as they are), `params` as the query string, and
    answers (status, the decoded JSON body or None when empty).
    """

    def __init__(self, http: Any, port: int, token: str) -> None:
        self.http, self.base, self.token = http, f"http://127.0.0.1:{port}", token

    async def call(
        self, method: str, path: str, body: Any = None, *, raw: bytes | None = None, **params: str
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.token}"}
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        if data is not None:
            headers["Content-Type"] = "application/json"
        async with self.http.request(
            method, self.base + path, data=data, params=params or None, headers=headers
        ) as response:
            text = await response.text()
            return response.status, json.loads(text) if text else None
