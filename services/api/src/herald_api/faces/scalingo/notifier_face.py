"""The Scalingo notifier face: wire JSON ⇄ the one notifier model (docs/scalingo-compat.md).

Pure functions. A body's shape is the wire model's (`NotifierCreate`, `NotifierPatch`: unknown
members, types, lengths, enums), parsed by `model.shapes`; this face adds what a model cannot
know (the platform, the catalog, a blank name, signing rules), and every problem is listed
(`errors`, field → messages). Read-only members that Scalingo's clients always send (`id`,
`app_id`, `type`, timestamps) are ignored. The type_data checks shared by every face are
`herald_api.model.type_data`; a notifier's wire shape is `herald_api.model.notifier_wire`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from herald_core.catalog import CATALOG
from herald_core.notifiers import Notifier, Preset, Scope, Selection
from herald_core.topics import Channel

from herald_api.http.wire_models import NotifierCreate, NotifierPatch
from herald_api.model.chat_hosts import ChatHosts
from herald_api.model.platforms import Platform, available_event_ids, platform_by_id, platform_of
from herald_api.model.shapes import add_problems, has_problem, shape_errors
from herald_api.model.type_data import (
    MASK,
    ROTATE_HINT,
    ROTATED,
    Errors,
    InvalidNotifier,
    check_type_data,
    merge_type_data,
)


def _selection_ids(
    body: Mapping[str, Any], platform: Platform | None, errors: Errors
) -> tuple[str, ...] | None:
    """The selected ids (from ids, or deprecated event names), checked against the catalog;
    their shape (a list of strings, or null) is the wire model's."""
    if "selected_event_ids" in body:
        raw, field = body["selected_event_ids"], "selected_event_ids"
    elif "selected_events" in body:
        raw, field = body["selected_events"], "selected_events"
    else:
        return None
    if raw is None:
        return ()
    if has_problem(errors, field):
        return None
    carried = set(available_event_ids(platform.id)) if platform else set()
    for event_id in raw:
        if not CATALOG.is_known(event_id):
            errors.setdefault(field, []).append(f"unknown event type {event_id!r}")
        elif CATALOG.get(event_id) is not None and platform is not None and event_id not in carried:
            errors.setdefault(field, []).append(
                f"{platform.display_name} cannot carry {event_id!r}"
            )
    return tuple(dict.fromkeys(raw))


def _preset(body: Mapping[str, Any], errors: Errors) -> Preset | bool | None:
    """The preset, None to clear it, or False when absent (or refused by the wire model)."""
    if "preset" not in body or has_problem(errors, "preset"):
        return False
    return None if body["preset"] is None else Preset(body["preset"])


def _signing_patch_problems(current: Notifier, patch: Mapping[str, Any]) -> Errors:
    """A PATCH may not remove a webhook's secret nor write its previous ones (`null` ends
    their overlap early). Pure."""
    errors: Errors = {}
    if patch.get(ROTATED) not in (None, MASK):
        errors[f"type_data.{ROTATED}"] = [ROTATE_HINT + " (null drops them)"]
    if (
        "secret" in patch
        and patch["secret"] is None
        and current.platform is Channel.WEBHOOK
        and current.type_data.get("secret")
    ):
        errors["type_data.secret"] = [
            "cannot be removed: every webhook is signed (give another, or rotate it with"
            " POST …/secret/rotate)"
        ]
    return errors


def _common_checks(
    body: Mapping[str, Any], platform: Platform | None, errors: Errors
) -> tuple[Any, Any]:
    if isinstance(body.get("name"), str) and not body["name"].strip() and "name" not in errors:
        errors["name"] = ["can't be blank"]
    return _selection_ids(body, platform, errors), _preset(body, errors)


def notifier_from_create(
    body: Mapping[str, Any],
    *,
    notifier_id: str,
    app_id: str,
    owner_id: str,
    now: datetime,
    allow_loopback: bool,
    chat_hosts: ChatHosts | None = None,
) -> Notifier:
    """A new app notifier from a POST body. Pure.

    Raises:
        InvalidNotifier: listing every problem.
    """
    errors = shape_errors(NotifierCreate, body)
    platform = (
        platform_by_id(body.get("platform_id") or "")
        if isinstance(body.get("platform_id"), str)
        else None
    )
    if platform is None and "platform_id" not in errors:
        errors["platform_id"] = ["unknown platform (see /v1/notification_platforms)"]
    selected, preset = _common_checks(body, platform, errors)
    given = body.get("type_data")
    type_data: dict[str, Any] = dict(given) if isinstance(given, dict) else {}
    if ROTATED in type_data:
        errors.setdefault(f"type_data.{ROTATED}", []).append(ROTATE_HINT)
    if platform is not None:
        add_problems(
            errors,
            check_type_data(
                platform, type_data, allow_loopback=allow_loopback, chat_hosts=chat_hosts
            ),
        )
    if errors:
        raise InvalidNotifier(errors)
    assert platform is not None
    return Notifier(
        id=notifier_id,
        name=body["name"].strip(),
        active=body.get("active", True),
        scope=Scope.APP,
        app_id=app_id,
        owner_id=owner_id,
        platform=platform.channel,
        selection=Selection(
            send_all_events=body.get("send_all_events", False),
            send_all_alerts=body.get("send_all_alerts", False),
            selected_event_ids=selected or (),
            preset=preset or None,
        ),
        type_data=dict(type_data),
        created_at=now,
        updated_at=now,
    )


def notifier_patched(
    current: Notifier,
    body: Mapping[str, Any],
    *,
    now: datetime,
    allow_loopback: bool,
    chat_hosts: ChatHosts | None = None,
) -> Notifier:
    """`current` with a PATCH body applied (absent = unchanged; type_data merged). Pure.

    Raises:
        InvalidNotifier: listing every problem.
    """
    errors = shape_errors(NotifierPatch, body)
    platform = platform_of(current.platform)
    wanted = body.get("platform_id")
    if wanted not in (None, "", platform.id) and "platform_id" not in errors:
        errors["platform_id"] = ["the platform of a notifier cannot change"]
    selected, preset = _common_checks(body, platform, errors)
    type_data = current.type_data
    if isinstance(body.get("type_data"), dict) and "type_data" not in errors:
        errors.update(_signing_patch_problems(current, body["type_data"]))
        type_data = merge_type_data(current.type_data, body["type_data"])
        add_problems(
            errors,
            check_type_data(
                platform, type_data, allow_loopback=allow_loopback, chat_hosts=chat_hosts
            ),
        )
    if errors:
        raise InvalidNotifier(errors)
    selection = current.selection.model_copy(
        update={k: body[k] for k in ("send_all_events", "send_all_alerts") if k in body}
    )
    if selected is not None:
        selection = selection.model_copy(update={"selected_event_ids": selected})
    if preset is not False:
        selection = selection.model_copy(update={"preset": preset})
    changes: dict[str, Any] = {"selection": selection, "type_data": type_data}
    if body.get("name") is not None:  # null, like absent: unchanged
        changes["name"] = body["name"].strip()
    if "active" in body:
        changes["active"] = body["active"]
    return current.model_copy(update=changes).touched(now)
