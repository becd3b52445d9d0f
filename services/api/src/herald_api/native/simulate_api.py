"""`POST /v1/events/simulate`: who would receive an event, and why the others would not.

The same pure rules as the router (`herald_core.routing.explain`), run against the config in
Postgres (the source the router's topics are published from). Body: an event as producers send
it (validated and normalised by the catalog). Answer:

    {"event": {...}, "answers_to": [...],
     "deliveries": [{"notifier_id", "name", "platform", "delivery_id", "recipients": [...]}],
     "excluded":   [{"notifier_id", "name", "platform", "rule", "detail"}]}
"""

from __future__ import annotations

from typing import Any

import asyncpg
from aiohttp import web
from herald_core.catalog import answers_to
from herald_core.deliveries import delivery_id
from herald_core.directory import Directory
from herald_core.envelope import Event
from herald_core.errors import InvalidEvent
from herald_core.intake import parse_event
from herald_core.notifiers import Notifier
from herald_core.routing import Decision, explain

from herald_api.http import wire_models as w
from herald_api.http.context import context, principal
from herald_api.http.declare import Route, ok_answer
from herald_api.http.web import invalid, json_response, not_found, read_json
from herald_api.model.platforms import platform_of
from herald_api.native.native_wire import SimulateAnswer
from herald_api.store import directory_store, notifier_store


async def load_world(
    connection: asyncpg.Connection, event: Event
) -> tuple[Directory, list[Notifier]]:
    """The directory entries and candidate notifiers an event can reach, from Postgres."""
    app = await directory_store.load_app(connection, event.app_id) if event.app_id else None
    owner_id = app.owner_id if app is not None else event.owner_id
    owner = await directory_store.load_owner(connection, owner_id) if owner_id else None
    directory = Directory(apps=[app] if app else [], owners=[owner] if owner else [])
    users = (
        sorted({m.user_id for m in owner.members} | {owner.id})
        if owner
        else ([owner_id] if owner_id else [])
    )
    listed = event.type_data.get("notifier_ids")
    listed_ids = [i for i in listed if isinstance(i, str)] if isinstance(listed, list) else []
    notifiers = await notifier_store.candidates(
        connection, app_id=event.app_id, owner_id=owner_id, user_ids=users, notifier_ids=listed_ids
    )
    return directory, notifiers


def _decision_json(event: Event, decision: Decision) -> dict[str, Any]:
    notifier = decision.notifier
    base = {
        "notifier_id": notifier.id,
        "name": notifier.name,
        "platform": platform_of(notifier.platform).name,
    }
    if decision.delivered:
        return {
            **base,
            "delivery_id": delivery_id(event.id, notifier.id),
            "recipients": [r.model_dump(mode="json") for r in decision.recipients],
        }
    assert decision.exclusion is not None
    return {**base, "rule": decision.exclusion.value, "detail": decision.detail}


async def simulate(request: web.Request) -> web.Response:
    try:
        event = parse_event(await read_json(request))
    except InvalidEvent as error:
        raise invalid({"event": [f"{error.reason.value}: {error.detail}"]}) from None
    caller = principal(request)
    async with context(request).pool.acquire() as connection:
        directory, notifiers = await load_world(connection, event)
    owner = directory.owner_of(event.app_id, event.owner_id)
    if not (
        caller.is_admin
        or (event.app_id and caller.may_see_app(event.app_id, owner))
        or (owner and caller.may_see_owner(owner))
    ):
        raise not_found(f"app {event.app_id or owner}")
    decisions = explain(event, notifiers, directory)
    return json_response(
        {
            "event": event.model_dump(mode="json"),
            "answers_to": sorted(answers_to(event.type, event.type_data)),
            "deliveries": [_decision_json(event, d) for d in decisions if d.delivered],
            "excluded": [_decision_json(event, d) for d in decisions if not d.delivered],
        }
    )


ROUTES = (
    Route(
        "POST",
        "/v1/events/simulate",
        "Who would receive an event, and why the others would not",
        "routing",
        {200: ok_answer(SimulateAnswer)},
        body=w.AnyObject,
        description="Runs the router's own rules against the current config. The body is an event "
        "as producers send it; an invalid one is a 422 naming the problem.",
        handler=simulate,
    ),
)
