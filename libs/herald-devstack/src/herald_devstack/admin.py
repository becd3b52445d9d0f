"""Admin actions on a running stack, through its public interfaces only.

Notifiers go through the config API (`services/api`), as any client's would: the API checks
them, stores them in Postgres and publishes them to `notify.config.notifiers` through its
outbox, so they show in `GET /v1/apps/{app}/notifiers` and survive `herald-api rebuild-topics`.
Events go to ingest's `POST /v1/events`. Blocking `urllib` calls: these are one-shot commands.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

DEFAULT_OWNER = "acme"
"""The owner an app gets when `herald-dev` registers it (the README's examples use it too)."""


class ApiUnreachable(RuntimeError):
    """The config API did not answer at all (not started, wrong address)."""


class ApiProblem(RuntimeError):
    """The config API answered with an error: its status and problem+json body."""

    def __init__(self, status: int, problem: Any) -> None:
        self.status, self.problem = status, problem
        super().__init__(problem_summary(status, problem))


def problem_summary(status: int, problem: Any) -> str:
    """One line: the status and the problem's `detail` (or its body). Pure."""
    if isinstance(problem, dict):
        detail = problem.get("detail") or problem.get("title") or ""
    else:
        detail = str(problem or "")
    return f"the API answered {status}" + (f": {detail}" if detail else "")


def problem_errors(problem: Any) -> list[str]:
    """A problem's `errors` member (Scalingo's, field → messages) as "field: message". Pure."""
    errors = problem.get("errors") if isinstance(problem, dict) else None
    if not isinstance(errors, dict):
        return []
    return [
        f"{field}: {message}"
        for field, messages in errors.items()
        for message in (messages if isinstance(messages, list) else [messages])
    ]


def notifier_body(
    *,
    platform: str,
    url: str,
    events: Sequence[str],
    send_all: bool,
    name: str,
) -> dict[str, Any]:
    """A `POST /v1/apps/{app}/notifiers` body in Scalingo's shape. Pure."""
    return {
        "notifier": {
            "name": name,
            "platform_id": platform,
            "active": True,
            "send_all_events": send_all,
            "selected_event_ids": list(dict.fromkeys(events)),
            "type_data": {"webhook_url": url},
        }
    }


@dataclass(frozen=True)
class ConfigApi:
    """The config API at `base_url`, called with a bearer `token` (the local admin token)."""

    base_url: str
    token: str
    timeout_s: float = 10.0

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """One request; (status, decoded JSON or None). Raises ApiUnreachable when nobody
        answers; any HTTP status is returned."""
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        url = self.base_url.rstrip("/") + path
        request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310 - an operator-given API URL
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310
                return response.status, _decoded(response.read())
        except urllib.error.HTTPError as error:
            return error.code, _decoded(error.read())
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise ApiUnreachable(
                f"the config API does not answer at {self.base_url} ({reason}). Start the local"
                " stack with `make up` (or `herald-dev up`), or give --api-url."
            ) from error

    def expect(self, method: str, path: str, body: Any, *statuses: int) -> tuple[int, Any]:
        """`call`, raising ApiProblem unless the status is one of `statuses`."""
        status, answer = self.call(method, path, body)
        if status not in statuses:
            raise ApiProblem(status, answer)
        return status, answer

    def ensure_app(self, app_id: str, owner_id: str) -> dict[str, Any] | None:
        """Register the app (`PUT /v1/apps/{app}`) unless it exists; the new app, or None."""
        path = f"/v1/apps/{quote(app_id, safe='')}"
        status, answer = self.call("GET", path)
        if status == 200:
            return None
        if status != 404:
            raise ApiProblem(status, answer)
        app = {"app": {"name": app_id, "owner_id": owner_id}}
        _, created = self.expect("PUT", path, app, 200, 201)
        return dict(created["app"])

    def create_notifier(self, app_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /v1/apps/{app}/notifiers`; the created notifier as the API shows it."""
        path = f"/v1/apps/{quote(app_id, safe='')}/notifiers"
        _, created = self.expect("POST", path, body, 201)
        return dict(created["notifier"])

    def notifiers(self, app_id: str) -> list[dict[str, Any]]:
        """`GET /v1/apps/{app}/notifiers`: every notifier of the app."""
        path = f"/v1/apps/{quote(app_id, safe='')}/notifiers"
        _, listed = self.expect("GET", path, None, 200)
        return list(listed["notifiers"])

    def delete_notifier(self, app_id: str, notifier_id: str) -> None:
        """`DELETE /v1/apps/{app}/notifiers/{id}`."""
        path = f"/v1/apps/{quote(app_id, safe='')}/notifiers/{quote(notifier_id, safe='')}"
        self.expect("DELETE", path, None, 204)


def _decoded(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


def sample_event(
    app_id: str,
    event_type: str,
    type_data: dict[str, Any] | None = None,
    *,
    owner_id: str = DEFAULT_OWNER,
) -> dict[str, Any]:
    """A plausible event of `event_type` for `app_id` (a deployment by default)."""
    return {
        "id": str(uuid.uuid4()),
        "type": event_type,
        "created_at": datetime.now(UTC).isoformat(),
        "source": "herald-dev",
        "app_id": app_id,
        "app_name": app_id,
        "owner_id": owner_id,
        "user": {"id": "u-dev", "username": "dev", "email": "dev@example.com"},
        "type_data": type_data
        if type_data is not None
        else {
            "deployment_id": str(uuid.uuid4()),
            "pusher": "dev",
            "git_ref": "0123456789abcdef",
            "status": "success",
            "duration": 42,
        },
    }


def post_event(
    ingest_url: str, event: dict[str, Any], token: str | None = None
) -> tuple[int, dict[str, Any]]:
    """POST one event to ingest, with producer token `token` when given; returns the status
    and the JSON answer."""
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(  # noqa: S310 - the local ingest URL
        f"{ingest_url}/v1/events",
        data=json.dumps(event).encode(),
        headers=headers,
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")
