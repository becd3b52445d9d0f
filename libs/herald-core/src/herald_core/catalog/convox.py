"""Convox's events: ids and descriptions exactly as listed, display names ours.

Convox forwards every event but the budget-configuration and override ones, which are recorded
in the audit log only: those are `audit_only` here and never reach a notifier.
"""

from __future__ import annotations

from pydantic import BaseModel

from herald_core.catalog import type_data as td
from herald_core.catalog.model import Family
from herald_core.catalog.tables import FamilyTable

_SHUTDOWN = "app:budget:auto-shutdown"

ROWS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "app_operations": (
        ("app:create", "App created", "App created"),
        ("app:delete", "App deleted", "App deleted"),
        ("release:scale", "Service scaled", "Service scaled"),
    ),
    "deployments": (
        ("build:create", "Build failed", "Build failed"),
        ("release:create", "Release created", "Release created"),
        ("release:promote", "Release promoted", "Release promoted, started, or failed"),
        ("release:finish", "Release finished", "Rolling deploy of a Release finished"),
        (
            "app:promote:completed",
            "Release deployment completed",
            "Release deployment completed successfully",
        ),
        ("app:promote:errored", "Release deployment failed", "Release deployment failed"),
        (
            "app:promote:cancelled",
            "Release deployment cancelled",
            "Release deployment superseded by a newer Release",
        ),
    ),
    "infrastructure": (
        ("resource:create", "Resource created", "Resource created"),
        ("resource:delete", "Resource deleted", "Resource deleted"),
        (
            "system:update",
            "Rack updated",
            "Rack updated (version, instance count, or instance type)",
        ),
    ),
    "workflows": (
        (
            "workflow:complete",
            "Workflow completed",
            "Deployment or Review workflow completed, cancelled, or failed",
        ),
    ),
    "alerts": (
        ("alert:firing", "Alert firing", "Alert is firing"),
        ("alert:resolved", "Alert resolved", "Alert has resolved"),
    ),
    "budget": (
        ("app:budget:threshold", "Budget threshold reached", "Spend threshold alert triggered"),
        ("app:budget:cap", "Budget cap reached", "Budget cap reached"),
        (f"{_SHUTDOWN}:armed", "Auto-shutdown armed", "Auto-shutdown scheduled"),
        (f"{_SHUTDOWN}:fired", "Auto-shutdown fired", "Services scaled to zero by auto-shutdown"),
        (f"{_SHUTDOWN}:cancelled", "Auto-shutdown cancelled", "Auto-shutdown cancelled"),
        (f"{_SHUTDOWN}:restored", "Auto-shutdown restored", "App restored from auto-shutdown"),
        (
            f"{_SHUTDOWN}:expired",
            "Auto-shutdown expired",
            "Auto-shutdown expired, manual recovery required",
        ),
        (
            f"{_SHUTDOWN}:flap-suppressed",
            "Auto-shutdown suppressed",
            "Auto-shutdown suppressed (re-trip within cooldown)",
        ),
        (
            f"{_SHUTDOWN}:failed",
            "Auto-shutdown failed",
            "Auto-shutdown or restore operation failed",
        ),
        (f"{_SHUTDOWN}:simulated", "Auto-shutdown simulated", "Auto-shutdown simulation result"),
        # Audit-only (Convox: "recorded in the audit log but not forwarded").
        ("app:budget:set", "Budget set", "App budget configured"),
        ("app:budget:clear", "Budget cleared", "App budget removed"),
        ("app:budget:reset", "Budget reset", "App budget spend reset"),
        ("app:triggers-override:toggled", "Triggers override toggled", "Triggers override toggled"),
        (
            "app:triggers-override:threshold-set",
            "Triggers override threshold set",
            "Triggers override threshold set",
        ),
        ("app:scale-override:toggled", "Scale override toggled", "Scale override toggled"),
        ("app:scale-override:honored", "Scale override honored", "Scale override honored"),
    ),
}

TEMPLATES = {
    "app:create": "{user} created {app_name} on {rack}",
    "app:delete": "{user} deleted {app_name} on {rack}",
    "release:scale": "{actor} scaled {app_name} on {rack}",
    "build:create": "Build {build_id} of {app_name} on {rack}: {status}",
    "release:create": "Release {release_id} of {app_name} created on {rack}",
    "release:promote": "Release {release_id} of {app_name} on {rack}: {status}",
    "release:finish": "Release {release_id} of {app_name} finished rolling out on {rack}",
    "app:promote:completed": "Release {release_id} of {app_name} deployed on {rack}",
    "app:promote:errored": "Release {release_id} of {app_name} failed on {rack}: {message}",
    "app:promote:cancelled": "Release {release_id} of {app_name} superseded on {rack}",
    "resource:create": "Resource {name} ({resource_type}) created on {rack}",
    "resource:delete": "Resource {name} ({resource_type}) deleted on {rack}",
    "system:update": "Rack {rack} updated",
    "workflow:complete": "Workflow on {rack} finished: {status}",
    "alert:firing": "Alert {name} is firing on {rack}: {metric} is {value}",
    "alert:resolved": "Alert {name} has resolved on {rack}",
    "app:budget:threshold": "{app_name} spent {spend} {currency} (threshold {threshold})",
    "app:budget:cap": "{app_name} reached its budget cap of {cap} {currency}",
    f"{_SHUTDOWN}:armed": "Auto-shutdown of {app_name} is scheduled",
    f"{_SHUTDOWN}:fired": "Auto-shutdown scaled {app_name} to zero",
    f"{_SHUTDOWN}:cancelled": "Auto-shutdown of {app_name} was cancelled",
    f"{_SHUTDOWN}:restored": "{app_name} was restored from auto-shutdown",
    f"{_SHUTDOWN}:expired": "Auto-shutdown of {app_name} expired: recover it manually",
    f"{_SHUTDOWN}:flap-suppressed": "Auto-shutdown of {app_name} suppressed within cooldown",
    f"{_SHUTDOWN}:failed": "Auto-shutdown or restore of {app_name} failed: {message}",
    f"{_SHUTDOWN}:simulated": "Auto-shutdown simulation for {app_name}: {status}",
    "app:budget:set": "{actor} set the budget of {app_name}",
    "app:budget:clear": "{actor} cleared the budget of {app_name}",
    "app:budget:reset": "{actor} reset the budget of {app_name}",
    "app:triggers-override:toggled": "{actor} toggled the triggers override of {app_name}",
    "app:triggers-override:threshold-set": "{actor} set the triggers override of {app_name}",
    "app:scale-override:toggled": "{actor} toggled the scale override of {app_name}",
    "app:scale-override:honored": "The scale override of {app_name} was honored",
}

MODELS: dict[str, type[BaseModel]] = {
    **{type_id: td.BudgetData for type_id, _, _ in ROWS["budget"]},
    "resource:create": td.ResourceData,
    "resource:delete": td.ResourceData,
    "alert:firing": td.AlertData,
    "alert:resolved": td.AlertData,
}

TABLE = FamilyTable(
    family=Family.CONVOX,
    rows=ROWS,
    templates=TEMPLATES,
    models=MODELS,
    default_model=td.ConvoxData,
    warning=frozenset(
        {
            "build:create",
            "app:promote:errored",
            "app:budget:threshold",
            f"{_SHUTDOWN}:armed",
            f"{_SHUTDOWN}:expired",
        }
    ),
    critical=frozenset(
        {"alert:firing", "app:budget:cap", f"{_SHUTDOWN}:fired", f"{_SHUTDOWN}:failed"}
    ),
    audit_only=frozenset(
        {
            "app:budget:set",
            "app:budget:clear",
            "app:budget:reset",
            "app:triggers-override:toggled",
            "app:triggers-override:threshold-set",
            "app:scale-override:toggled",
            "app:scale-override:honored",
        }
    ),
)
