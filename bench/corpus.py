"""The data the benchmarks run on: realistic raw events and one app's notifiers.

Events mix the families Herald reads (Scalingo, Convox, Cloud 66, Clever Cloud, a legacy name, an
alert) with about one record in ten that intake must refuse (bad JSON, unknown type, wrong
type_data, no subject). Every builder is deterministic for a given `n`, so two runs compare.
`check_corpus` fails loudly when the catalog drifts away from these shapes.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from herald_core.directory import (
    AppEntry,
    CollaboratorEntry,
    Directory,
    MemberEntry,
    OwnerEntry,
    OwnerKind,
)
from herald_core.envelope import Event
from herald_core.errors import InvalidEvent
from herald_core.intake import parse_event
from herald_core.notifiers import Notifier, Preset, Scope, Selection
from herald_core.topics import Channel

APP_ID = "app-5343eccd646173000a140000"
OWNER_ID = "org-0e6d8e46-5cd0-42a4-acba-372b2be605ac"
USER = {"id": "51e6bc626edfe40bbb000001", "username": "johndoe", "email": "john@doe.com"}
EPOCH = datetime(2026, 3, 12, 17, 0, tzinfo=UTC)

Template = Callable[[int], dict[str, Any]]


def _envelope(
    i: int, event_type: str, source: str, type_data: dict[str, Any], app_id: str = APP_ID
) -> dict[str, Any]:
    return {
        "id": str(uuid.UUID(int=i + 1)),
        "type": event_type,
        "created_at": (EPOCH + timedelta(seconds=i)).isoformat(),
        "source": source,
        "app_id": app_id,
        "app_name": "billing-api",
        "owner_id": OWNER_ID,
        "addon_id": None,
        "rack": None,
        "user": USER,
        "type_data": type_data,
    }


def _deployed(i: int, app_id: str = APP_ID) -> dict[str, Any]:
    status = "success" if i % 3 else "build-error"
    data = {
        "deployment_id": f"5343eccd646aa3012a{i:06d}",
        "pusher": "johndoe",
        "git_ref": f"{i:016x}",
        "status": status,
        "duration": 40 + i % 60,
    }
    return _envelope(i, "app_deployed", "deployer", data, app_id)


def _legacy_deployment(i: int) -> dict[str, Any]:
    return {**_deployed(i), "type": "deployment"}


def _crashed(i: int) -> dict[str, Any]:
    data = {"crash_count": 2, "container_type": "web", "container_index": 1, "exit_code": 137}
    return _envelope(i, "app_crashed", "derive", data)


def _restarted(i: int) -> dict[str, Any]:
    return _envelope(i, "app_restarted", "scheduler", {"scope": ["web"], "reason": "user"})


def _convox(event_type: str, status: str) -> Template:
    def build(i: int) -> dict[str, Any]:
        data = {"status": status, "release_id": f"R{i:010d}", "actor": "jane@acme.example"}
        if status == "error":
            data["message"] = "health check failed for service web"
        return {**_envelope(i, event_type, "rack", data), "rack": "production"}

    return build


def _cloud66(event_type: str) -> Template:
    def build(i: int) -> dict[str, Any]:
        data = {
            "stack_uid": f"{i:032x}",
            "stack_name": "shop",
            "environment": "production",
            "server_name": f"web-{i % 4:02d}",
        }
        return {**_envelope(i, event_type, "heartbeat", data), "user": None}

    return build


def _git_push(i: int) -> dict[str, Any]:
    data = {"git_ref": f"{i:040x}", "branch": "main", "pusher": "johndoe"}
    return _envelope(i, "GIT_PUSH", "clever-cloud", data)


def _alert(i: int) -> dict[str, Any]:
    data = {
        "alert_id": "al-297f1134",
        "metric": "p95_response_time",
        "limit": 60.0,
        "value": 73.5,
        "container_type": "web",
        "notifier_ids": ["n-00"],
    }
    return {**_envelope(i, "app_alert_triggered", "alerter", data), "user": None}


def _unknown_type(i: int) -> dict[str, Any]:
    return {**_deployed(i), "type": "app_deploy_typo"}


def _bad_type_data(i: int) -> dict[str, Any]:
    event = _deployed(i)
    return {**event, "type_data": {**event["type_data"], "duration": "forty seconds"}}


def _no_subject(i: int) -> dict[str, Any]:
    return {**_deployed(i), "app_id": None, "owner_id": None}


# One cycle of 20: 18 valid records across the families, 2 that intake refuses.
VALID: tuple[Template, ...] = (
    _deployed,
    _deployed,
    _deployed,
    _deployed,
    _legacy_deployment,
    _crashed,
    _restarted,
    _convox("app:promote:completed", "success"),
    _convox("app:promote:errored", "error"),
    _convox("release:promote", "start"),
    _convox("resource:create", "success"),
    _convox("app:budget:set", "success"),  # audit-only: parsed, never forwarded
    _cloud66("server.stopped"),
    _cloud66("account.redeploy.ok"),
    _cloud66("process.down"),
    _git_push,
    _alert,
    _deployed,
)
INVALID: tuple[Template, ...] = (_unknown_type, _bad_type_data, _no_subject)
BAD_JSON = b'{"id": "ev-truncated", "type": "app_deployed", "created_at": '


def raw_events(n: int) -> list[bytes]:
    """`n` raw JSON records as producers send them: 90% valid, 10% refused."""
    cycle = len(VALID) + 2
    records: list[bytes] = []
    for i in range(n):
        slot = i % cycle
        if slot < len(VALID):
            records.append(json.dumps(VALID[slot](i)).encode())
        elif (i // cycle) % 4 == 3:
            records.append(BAD_JSON)
        else:
            records.append(json.dumps(INVALID[(i // cycle) % 3](i)).encode())
    return records


def valid_events(n: int) -> list[Event]:
    """`n` canonical events (what `notify.events` carries), parsed from the valid templates."""
    return [parse_event(json.dumps(VALID[i % len(VALID)](i))) for i in range(n)]


def deployments(n: int, *, offset: int = 0, apps: tuple[str, ...] = (APP_ID,)) -> list[Event]:
    """`n` `app_deployed` events, round-robin over `apps`, ids unique per `offset`."""
    return [parse_event(json.dumps(_deployed(offset + i, apps[i % len(apps)]))) for i in range(n)]


def many_apps(count: int) -> tuple[str, ...]:
    """`count` app ids of the same owner (their keys spread over every partition)."""
    return tuple(f"app-{k:04d}-b1a2" for k in range(count))


def _notifier(
    k: int, platform: Channel, selection: Selection, app_id: str = APP_ID, **fields: Any
) -> Notifier:
    scope_fields: dict[str, Any] = {"scope": Scope.APP, "app_id": app_id}
    if fields.pop("owner", False):
        scope_fields = {"scope": Scope.OWNER, "owner_id": OWNER_ID, "app_ids": (APP_ID,)}
    type_data: dict[str, Any] = {"webhook_url": f"https://hooks.example.com/{k}", "format": "raw"}
    if platform is Channel.EMAIL:
        type_data = {"owner": True, "collaborators": True, "emails": ["ops@acme.example"]}
    return Notifier(
        id=f"n-{k:02d}",
        name=f"notifier {k}",
        platform=platform,
        selection=selection,
        type_data=type_data,
        **scope_fields,
        **fields,
    )


def app_notifiers() -> list[Notifier]:
    """20 notifiers of one app: plain ids, aliases, groups, presets, send-all, inactive, owner."""
    sel = Selection
    selections: list[tuple[Channel, Selection, dict[str, Any]]] = [
        (Channel.EMAIL, sel(preset=Preset.CRITICAL_ALERTS), {}),  # the default notifier
        (Channel.WEBHOOK, sel(selected_event_ids=("app_deployed",)), {}),
        (Channel.SLACK, sel(selected_event_ids=("app_crashed", "app_restarted")), {}),
        (Channel.WEBHOOK, sel(selected_event_ids=("app:promote:completed", "release:promote")), {}),
        (Channel.DISCORD, sel(selected_event_ids=("server.stopped", "process.down")), {}),
        (Channel.WEBHOOK, sel(selected_event_ids=("DEPLOYMENT_FAIL",)), {}),
        (Channel.SLACK, sel(selected_event_ids=("DEPLOYMENT_SUCCESS",)), {}),
        (Channel.MSTEAMS, sel(selected_event_ids=("META_DEPLOYMENT_RESULT",)), {}),
        (Channel.WEBHOOK, sel(selected_event_ids=("META_SERVICE_LIFECYCLE",)), {}),
        (Channel.SLACK, sel(preset=Preset.DEPLOYMENTS), {}),
        (Channel.WEBHOOK, sel(send_all_events=True), {}),
        (Channel.EMAIL, sel(send_all_alerts=True), {}),
        (Channel.WEBHOOK, sel(send_all_events=True), {"active": False}),
        (Channel.SLACK, sel(selected_event_ids=tuple(_MANY_IDS)), {}),
        (Channel.WEBHOOK, sel(selected_event_ids=("GIT_PUSH", "CREDITS_ADDED")), {}),
        (Channel.MATTERMOST, sel(selected_event_ids=("app_alert_triggered",)), {}),
        (Channel.WEBHOOK, sel(send_all_events=True), {"owner": True}),
        (Channel.SLACK, sel(selected_event_ids=("app:promote:errored",)), {"owner": True}),
        (Channel.GOOGLECHAT, sel(selected_event_ids=("addon_provisioned", "addon_deleted")), {}),
        (Channel.DISCORD, sel(preset=Preset.CRITICAL_ALERTS, send_all_alerts=True), {}),
    ]
    return [_notifier(k, p, s, **f) for k, (p, s, f) in enumerate(selections)]


_MANY_IDS = (
    "app_deployed",
    "app_crashed",
    "app_restarted",
    "app_scaled",
    "app_renamed",
    "domain_added",
    "variable_added",
    "collaborator_invited",
    "addon_provisioned",
    "server.stopped",
)


def app_directory() -> Directory:
    """The directory the router resolves e-mail recipients from: `APP_ID`, its organisation
    (three members) and two collaborators."""
    members = tuple(
        MemberEntry(user_id=f"u-{k}", email=f"member{k}@acme.example", name=f"Member {k}")
        for k in range(3)
    )
    collaborators = (
        CollaboratorEntry(id="c-1", user_id="u-9", email="contractor@example.com"),
        CollaboratorEntry(id="c-2", email="auditor@example.com", status="pending"),
    )
    return Directory(
        apps=[
            AppEntry(id=APP_ID, name="billing-api", owner_id=OWNER_ID, collaborators=collaborators)
        ],
        owners=[OwnerEntry(id=OWNER_ID, kind=OwnerKind.ORGANISATION, members=members)],
    )


def webhook_notifier(k: int = 0, app_id: str = APP_ID) -> Notifier:
    """A webhook notifier of the pipeline benchmark: `app_deployed` of one app."""
    selection = Selection(selected_event_ids=("app_deployed",))
    return _notifier(k, Channel.WEBHOOK, selection, app_id)


def check_corpus() -> None:
    """Fail when the corpus no longer means what the benchmarks say (catalog drift)."""
    refused = 0
    for raw in raw_events(100):
        try:
            parse_event(raw)
        except InvalidEvent:
            refused += 1
    if refused != 10:
        raise RuntimeError(f"the intake corpus should refuse 10 records in 100, not {refused}")
