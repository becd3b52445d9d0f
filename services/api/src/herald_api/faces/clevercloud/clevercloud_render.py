"""Clever Cloud's hooks as its API shows them, from the notifiers they are (`clevercloud_face`,
grouped by `herald_api.model.hooks`) and their failed attempts (`clevercloud_store`). Pure
functions."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from herald_core.notifiers import Notifier

from herald_api.faces.clevercloud.clevercloud_requests import HookScope
from herald_api.model.hooks import MAX_FAILURES, Failure

_HTTP_STATUS = re.compile(r"^HTTP (\d{3})\b")


def _time(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def _common_wire(first: Notifier, hook_id: str) -> dict[str, Any]:
    wire: dict[str, Any] = {"id": hook_id, "ownerId": first.owner_id}
    if first.name:
        wire["name"] = first.name
    if not first.selection.send_all_events:
        wire["events"] = list(first.selection.selected_event_ids)
    scope = HookScope(first.app_ids, first.addon_ids).wire
    if scope is not None:
        wire["scope"] = scope
    wire["createdAt"] = _time(first.created_at)
    return wire


def failure_wire(failure: Failure, url: str) -> dict[str, Any]:
    """A failed attempt as Clever Cloud shows it: a status, or a network failure. Pure."""
    wire: dict[str, Any] = {"url": url}
    status = failure.status_code or _status_in(failure.detail)
    if status is not None:
        wire["status"] = status
    else:
        wire["networkFailure"] = ": ".join(p for p in (failure.reason, failure.detail) if p)
    if failure.response_excerpt:
        wire["partialBody"] = failure.response_excerpt[:1000]
    wire["createdAt"] = _time(failure.at)
    return wire


def _status_in(detail: str | None) -> int | None:
    """The status of a failed attempt recorded without one (results from before failed
    attempts carried `status_code`), read from its detail (`HTTP 404 Not Found`). Pure."""
    found = _HTTP_STATUS.match(detail or "")
    return int(found.group(1)) if found else None


def webhook_to_wire(
    hook_id: str, notifiers: Sequence[Notifier], failures: Sequence[Failure] = ()
) -> dict[str, Any]:
    """A webhook hook in Clever Cloud's shape. Pure.

    `state` is `DISABLED` as soon as one URL's notifier is inactive (disabled after failing),
    and `failures` holds the most recent failed attempts, newest first.
    """
    urls = {n.id: str(n.type_data.get("webhook_url", "")) for n in notifiers}
    wire = _common_wire(notifiers[0], hook_id)
    wire["urls"] = [
        {"format": n.type_data.get("format", "raw"), "url": urls[n.id]} for n in notifiers
    ]
    wire["state"] = "ENABLED" if all(n.active for n in notifiers) else "DISABLED"
    recent = sorted(failures, key=lambda f: f.at, reverse=True)[:MAX_FAILURES]
    wire["failures"] = [failure_wire(f, urls.get(f.notifier_id, "")) for f in recent]
    return wire


def emailhook_to_wire(hook_id: str, notifier: Notifier) -> dict[str, Any]:
    """An e-mail hook in Clever Cloud's shape (`notified`). Pure."""
    data = notifier.type_data
    notified: list[dict[str, str]] = []
    if data.get("members"):
        notified.append({"type": "organisation"})
    if data.get("owner"):
        notified.append({"type": "userid"})
    notified += [{"type": "userid", "target": str(u)} for u in data.get("user_ids") or []]
    emails = [str(e) for e in data.get("emails") or []]
    if emails:
        notified.append({"type": "email", "target": ",".join(emails)})
    wire = _common_wire(notifier, hook_id)
    wire["notified"] = notified
    return wire
