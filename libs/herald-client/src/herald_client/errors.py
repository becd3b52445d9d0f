"""What the client raises: one base class, so that a caller can catch everything Herald-side.

    HeraldClientError
    ├── InvalidEventError      build_event: unknown type, bad envelope or type_data (ValueError)
    ├── RequestRefusedError    HTTP 4xx: the request itself is wrong (its problem body attached)
    │   ├── AuthenticationError    401/403: no token, or not a valid one
    │   └── EventsRejectedError    422/207: ingest refused some events (per-event results)
    ├── UnavailableError       HTTP 5xx or 503, or no answer: nothing was taken; send again
    └── KafkaSendError         the broker did not acknowledge a record

Sending the same event again is always safe: ingest drops a repeat of an id it took recently,
and downstream every delivery id is derived from the event id (docs/guarantees.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class HeraldClientError(Exception):
    """Anything the Herald client raises on purpose."""


class InvalidEventError(HeraldClientError, ValueError):
    """The event does not fit the envelope or the catalog; `reason` is ingest's own reason
    (`unknown_type`, `invalid_type_data`, `invalid_envelope`), `errors` the field errors."""

    def __init__(self, reason: str, detail: str, errors: Sequence[Mapping[str, Any]] = ()) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.errors = list(errors)


class RequestRefusedError(HeraldClientError):
    """Ingest answered 4xx: sending the same request again will not help.

    `problem` is the `application/problem+json` body (RFC 9457: `title`, `detail`, `reason`…),
    or `{"detail": <text>}` when the body was not JSON.
    """

    def __init__(self, status: int, problem: Mapping[str, Any]) -> None:
        self.status = status
        self.problem = dict(problem)
        detail = self.problem.get("detail") or self.problem.get("title") or "no detail"
        super().__init__(f"ingest refused the request ({status}): {detail}")


class AuthenticationError(RequestRefusedError):
    """401 or 403: the producer token is missing or not one ingest accepts."""


class EventsRejectedError(RequestRefusedError):
    """Ingest refused one event or more (422, or 207 for a batch with some accepted).

    `results` has one entry per event sent, in order, as ingest wrote them: `status`
    (`accepted`, `duplicate`, `rejected`), `id`, and for a refusal `reason`, `detail`, `errors`.
    The accepted ones are durably on `notify.events`: do not resend them in a panic (a resend
    would be dropped as a repeat anyway).
    """

    def __init__(
        self, status: int, problem: Mapping[str, Any], results: Sequence[Mapping[str, Any]]
    ) -> None:
        super().__init__(status, problem)
        self.results = [dict(r) for r in results]


class UnavailableError(HeraldClientError):
    """Ingest or the broker could not take the events now (5xx, 503, a network error, a
    timeout). Nothing is lost by sending the same events again, after `retry_after_s` if set."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        problem: Mapping[str, Any] | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.problem = dict(problem or {})
        self.retry_after_s = retry_after_s


class KafkaSendError(HeraldClientError):
    """The broker did not acknowledge every record; some may still have been written. Sending
    the same events again is safe (ingest drops repeats of an event id)."""
