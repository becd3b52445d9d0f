"""Pydantic models of `type_data`, one per kind of event.

Every model accepts fields it does not know (`extra="allow"`): producers may send more than
the platforms document and Herald forwards it. Known fields are typed, so a wrong type is a
`ValidationError` (→ `InvalidEvent(INVALID_TYPE_DATA)` at intake). All fields are optional
except where a type means nothing without one (a deployment result without its status).

Field names follow the Scalingo events API (`developers.scalingo.com/events`) where it has one,
and Convox's webhook data (`status`, `message`) otherwise; Convox's bare `id` is spelled
`release_id` or `build_id` here, and its `rack` and `app` live in the envelope. Scalingo's
event-log shapes that nest ids (`old_owner.id`, `collaborator.email`) are lifted to flat fields.
"""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator


class Permissive(BaseModel):
    """Any JSON object; the model of types whose platforms document no fields."""

    model_config = ConfigDict(extra="allow", frozen=True)


def _lift(data: Any, nested: str, fields: dict[str, str]) -> Any:
    """Copy `data[nested][inner]` to `data[outer]` where `outer` is absent. Pure."""
    if not isinstance(data, dict) or not isinstance(data.get(nested), dict):
        return data
    inner = data[nested]
    lifted = {outer: inner[key] for outer, key in fields.items() if key in inner}
    return {**lifted, **data}


class DeploymentData(Permissive):
    """A deployment result (Scalingo's deployment): `status` is `success` or what went wrong."""

    deployment_id: str | None = None
    deployment_type: str | None = None
    pusher: str | None = None
    git_ref: str | None = None
    git_ref_url: str | None = None
    status: str = Field(
        min_length=1, description="success, build-error, crashed-error, timeout-error, aborted, …"
    )
    stack: str | None = None
    duration: int | None = Field(default=None, ge=0, description="seconds")
    finished_at: AwareDatetime | None = None


class CrashData(Permissive):
    """An app crash; `crash_count` is the crash's rank (2nd, 5th, 12th for `app_crashed`)."""

    crash_count: int | None = Field(default=None, ge=1)
    container_type: str | None = None
    container_index: int | None = Field(default=None, ge=0)
    exit_code: int | None = None
    reason: str | None = None


class AlertConfigData(Permissive):
    """An alert rule that was added or deleted."""

    alert_id: str | None = None
    metric: str | None = None
    limit: float | None = None
    container_type: str | None = None
    send_when_below: bool | None = None
    notifier_ids: list[str] = Field(default_factory=list)


class AlertData(AlertConfigData):
    """An alert that fired or resolved; `notifier_ids` are the notifiers its rule lists."""

    name: str | None = None
    value: float | None = None
    status: str | None = None


class CommandData(Permissive):
    """A one-off command run in an app."""

    command: str | None = None
    detached: bool | None = None
    audit_log_id: str | None = None


class RenameData(Permissive):
    """An app's old and new names."""

    old_name: str | None = None
    new_name: str | None = None


class TransferData(Permissive):
    """An app's previous and new owner (Scalingo nests them: `old_owner.id`)."""

    old_owner_id: str | None = None
    new_owner_id: str | None = None
    old_owner_email: str | None = None
    new_owner_email: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _lift_owners(cls, data: Any) -> Any:
        data = _lift(data, "old_owner", {"old_owner_id": "id", "old_owner_email": "email"})
        return _lift(data, "new_owner", {"new_owner_id": "id", "new_owner_email": "email"})


class RestartData(Permissive):
    """Which process types restarted (all when `scope` is absent) and why."""

    scope: list[str] | None = None
    reason: str | None = None


class ScaleData(Permissive):
    """The formation before and after a scale operation."""

    previous_containers: list[Any] | dict[str, Any] | None = None
    containers: list[Any] | dict[str, Any] | None = None


class AppMoveData(Permissive):
    """An app moved to another project or region."""

    old_project_id: str | None = None
    new_project_id: str | None = None
    source_region: str | None = None
    destination_region: str | None = None


class CollaboratorData(Permissive):
    """A collaborator or organisation member (Scalingo nests it under `collaborator`)."""

    user_id: str | None = None
    email: str | None = None
    username: str | None = None
    role: str | None = None
    old_role: str | None = None
    is_limited: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _lift_collaborator(cls, data: Any) -> Any:
        fields = {k: k for k in ("email", "username", "role", "is_limited")}
        return _lift(data, "collaborator", {"user_id": "id", **fields})


class AddonData(Permissive):
    """An add-on (or Convox resource) and its plan."""

    addon_name: str | None = None
    addon_uuid: str | None = None
    addon_provider_name: str | None = None
    resource_id: str | None = None
    plan_name: str | None = None
    old_plan_name: str | None = None
    new_plan_name: str | None = None
    reason: str | None = None


class BackupData(AddonData):
    """A database backup result."""

    backup_id: str | None = None
    backup_status: str | None = None
    started_at: AwareDatetime | None = None
    ended_at: AwareDatetime | None = None


class MaintenanceData(AddonData):
    """A database maintenance and its window."""

    maintenance_id: str | None = None
    maintenance_type: str | None = None
    maintenance_window_in_hours: int | None = Field(default=None, ge=0)
    next_maintenance_window: AwareDatetime | None = None


class DomainData(Permissive):
    """A custom domain."""

    hostname: str | None = None
    ssl: bool | None = None
    old_ssl: bool | None = None


class ScmData(Permissive):
    """A repository linked to or unlinked from an app."""

    repo_name: str | None = None
    source: str | None = None
    branch: str | None = None
    auto_deploy: bool | None = None


class NotifierData(Permissive):
    """A notifier that was added, edited or removed."""

    notifier_id: str | None = None
    notifier_name: str | None = None
    platform: str | None = None


class NotifierDisabledData(NotifierData):
    """Herald disabled a notifier whose endpoint kept failing (docs/operations.md)."""

    reason: str | None = None
    failing_since: AwareDatetime | None = None
    consecutive_failures: int | None = Field(default=None, ge=0)


class ProjectData(Permissive):
    """A project (a set of apps)."""

    project_id: str | None = None
    project_name: str | None = None
    default: bool | None = None


class VariableData(Permissive):
    """An environment variable, by name (values are secrets: producers should omit them)."""

    name: str | None = None


class VariablesBulkData(Permissive):
    """Variables created, updated and deleted at once."""

    new_vars: list[Any] | None = None
    updated_vars: list[Any] | None = None
    deleted_vars: list[Any] | None = None


class ConvoxData(Permissive):
    """A Convox rack event: `status` (start, success, error, …), release and actor."""

    status: str | None = None
    release_id: str | None = None
    build_id: str | None = None
    actor: str | None = None
    message: str | None = None


class ResourceData(ConvoxData):
    """A Convox resource (a database or cache attached to apps), Convox's add-on."""

    name: str | None = None
    resource_type: str | None = None


class BudgetData(ConvoxData):
    """A Convox app budget event (spend against threshold and cap)."""

    spend: float | None = None
    threshold: float | None = None
    cap: float | None = None
    currency: str | None = None


class Cloud66Data(Permissive):
    """A Cloud 66 notification: the stack and the server, process or job concerned."""

    stack_uid: str | None = None
    stack_name: str | None = None
    environment: str | None = None
    server_name: str | None = None
    process_name: str | None = None
    job_name: str | None = None
    message: str | None = None


class GitPushData(Permissive):
    """Code pushed to an app's git remote."""

    git_ref: str | None = None
    branch: str | None = None
    pusher: str | None = None


class CreditsData(Permissive):
    """Credits or a payment on an account."""

    amount: float | None = None
    currency: str | None = None
    payment_method: str | None = None
    invoice_id: str | None = None
    reason: str | None = None


class AccountSuspendedData(Permissive):
    """Why and since when an account is suspended."""

    reason: str | None = None
    suspended_at: AwareDatetime | None = None
