"""Items an app owns, and versioned items: an item is found only under its own app (another
app's is a 404, like a missing one); a versioned item is answered with its ETag and changed
only if `If-Match` (when sent) names that version. Shared by the faces' app resources
(notifiers, alerts, notifications) and Herald's own endpoints (notifier secrets)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from aiohttp import web
from herald_core.directory import AppEntry

from herald_api.http.web import check_if_match, etag, json_response, not_found, storable


class Owned(Protocol):
    """An item of one app."""

    @property
    def app_id(self) -> str | None: ...


class Versioned(Protocol):
    """An item whose every change has a new version, its ETag."""

    @property
    def id(self) -> str: ...

    @property
    def version(self) -> int: ...


Item = TypeVar("Item", bound=Owned)


async def owned_or_404(
    load: Callable[[str], Awaitable[Item | None]], app: AppEntry, what: str, item_id: str
) -> Item:
    """The app's item of that id, loaded only when the id is text Postgres can store.

    Raises:
        ApiProblem: 404 (`what` its resource) when there is none or it is another app's.
    """
    item = await load(item_id) if storable(item_id) else None
    if item is None or item.app_id != app.id:
        raise not_found(f"{what} {item_id}")
    return item


def check_version(request: web.Request, item: Versioned) -> None:
    """Raises ApiProblem 412 when the request's `If-Match` does not name the item's version."""
    check_if_match(request, etag(item.id, item.version))


def versioned_answer(
    name: str, item: Versioned, wire: Any, *, status: int = 200, location: str | None = None
) -> web.Response:
    """`{name: wire}` with the item's ETag, and a `Location` when given (a created item's)."""
    response = json_response({name: wire}, status=status, tag=etag(item.id, item.version))
    if location is not None:
        response.headers["Location"] = location
    return response
