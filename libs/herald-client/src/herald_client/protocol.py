"""Ingest's HTTP protocol as pure functions, shared by the async and the sync HTTP client.

    POST {http_url}/v1/events          Authorization: Bearer <producer token>
      one event object  → 202 {"status": "accepted"|"duplicate", "id", "type"}
                          422 problem+json (reason, detail, errors)
      an array (batch)  → 202 all taken, 207 some refused, 422 all refused:
                          {"results": [{"index", "status", "id", "type", …}]}
      400 not JSON, 401 no/bad token, 413 too large or too many, 503 broker away (Retry-After)

Nothing here does I/O: the clients send what `request` says and hand the answer to `receipts`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from herald_core.envelope import Event

from herald_client.errors import (
    AuthenticationError,
    EventsRejectedError,
    RequestRefusedError,
    UnavailableError,
)

EVENTS_PATH = "/v1/events"
MAX_BATCH = 500
"""Ingest's default `HERALD_INGEST_MAX_BATCH`: `send_many` splits larger lists."""


@dataclass(frozen=True)
class Receipt:
    """What ingest did with one event: `accepted` (durably on `notify.events`) or `duplicate`
    (an event of that id was taken recently; dropped, nothing lost)."""

    id: str
    status: str
    type: str | None = None


@dataclass(frozen=True)
class Request:
    url: str
    body: bytes
    headers: dict[str, str]


def request(http_url: str, token: str | None, events: Sequence[Event], batch: bool) -> Request:
    """The POST that sends `events` (one object, or an array when `batch`). Pure."""
    if not batch and len(events) != 1:
        raise ValueError("a single-event request carries exactly one event")
    parts = [e.to_json() for e in events]
    body = b"[" + b",".join(parts) + b"]" if batch else parts[0]
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return Request(http_url.rstrip("/") + EVENTS_PATH, body, headers)


def chunks(events: Sequence[Event], size: int) -> Iterator[Sequence[Event]]:
    """`events` in slices of at most `size`, in order. Pure."""
    for start in range(0, len(events), size):
        yield events[start : start + size]


def decoded(body: bytes) -> dict[str, Any]:
    """A JSON object answer, or `{"detail": <text>}` for anything else (a proxy's page). Pure."""
    try:
        document = json.loads(body)
    except ValueError:
        return {"detail": body.decode("utf-8", "replace")[:500] or "empty answer"}
    return document if isinstance(document, dict) else {"detail": str(document)[:500]}


def receipts(status: int, headers: Mapping[str, str], body: bytes, batch: bool) -> list[Receipt]:
    """The receipts of an answer, one per event sent, in order. Pure.

    Raises:
        AuthenticationError: 401/403.
        EventsRejectedError: 422, or 207 (a batch partly refused).
        RequestRefusedError: any other 4xx.
        UnavailableError: 5xx (with Retry-After when ingest gave one) or any other status.
    """
    document = decoded(body)
    if status == 202:
        items = document.get("results", []) if batch else [document]
        return [_receipt(item) for item in items]
    if status in (207, 422):
        results = document.get("results") or [{**document, "status": "rejected"}]
        raise EventsRejectedError(status, _problem_of(document, results), results)
    if status in (401, 403):
        raise AuthenticationError(status, document)
    if 400 <= status < 500:
        raise RequestRefusedError(status, document)
    raise UnavailableError(
        f"ingest could not take the events ({status}): {document.get('detail', 'no detail')}",
        status=status,
        problem=document,
        retry_after_s=_retry_after(headers),
    )


def _receipt(item: Mapping[str, Any]) -> Receipt:
    return Receipt(str(item.get("id", "")), str(item.get("status", "")), item.get("type"))


def _problem_of(document: dict[str, Any], results: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    if "detail" in document:
        return document
    refused = [r for r in results if r.get("status") == "rejected"]
    first = refused[0] if refused else {}
    detail = f"{len(refused)} of {len(results)} events refused; first: {first.get('detail')}"
    return {"detail": detail}


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
