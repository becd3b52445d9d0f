"""Scalingo's event types (its App Notifiers documentation): ids and display names as listed.

Descriptions are Scalingo's, with its slips corrected (`addon_resumed` and `app_deleted` were
given other types' descriptions; "was ran", "were unlinked to", "variables was"). The list of
corrections lives in `tests/unit/test_catalog_seeds.py`.
"""

from __future__ import annotations

from pydantic import BaseModel

from herald_core.catalog import type_data as td
from herald_core.catalog.model import Family
from herald_core.catalog.tables import FamilyTable

ROWS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "addons": (
        ("addon_db_upgraded", "Addon database upgraded", "A database addon was upgraded"),
        ("addon_deleted", "Addon deleted", "An addon was deleted"),
        ("addon_plan_changed", "Addon plan changed", "An addon plan was changed"),
        ("addon_provisioned", "Addon provisioned", "An addon was provisioned"),
        ("addon_resumed", "Addon resumed", "An addon was resumed"),
        ("addon_suspended", "Addon suspended", "An addon was suspended"),
        ("addon_updated", "Addon Updated", "An addon has been updated"),
        ("database_backup_failed", "Database backup failed", "A database backup has failed"),
        (
            "database_backup_succeeded",
            "Database backup succeeded",
            "A database backup has succeeded",
        ),
        (
            "database_maintenance_completed",
            "Addon maintenance completed",
            "A maintenance has been completed successfully on your addon",
        ),
        (
            "database_maintenance_planned",
            "Addon maintenance planned",
            "A maintenance is planned on your addon",
        ),
        (
            "database_maintenance_started",
            "Addon maintenance started",
            "A maintenance has started on your addon",
        ),
    ),
    "alerts": (
        ("alert_added", "Alert Added", "An alert has been configured"),
        ("alert_deleted", "Alert Deleted", "An alert has been deleted"),
        ("app_alert_triggered", "Alert triggered", "An alert was triggered"),
    ),
    "app_operations": (
        ("app_command_ran", "App command ran", "A command was run in an app"),
        (
            "app_crashed",
            "App crashed",
            "An app was crashed. This event is only sent on 2nd, 5th and 12th crash.",
        ),
        (
            "app_crashed_repeated",
            "App crashed repeated",
            "An app was crashed. This event is sent on each crash.",
        ),
        ("app_deleted", "App deleted", "An app was deleted"),
        ("app_edited", "App Edited", "Application settings have been edited"),
        ("app_project_updated", "App project updated", "An app was moved to another project"),
        (
            "app_region_migration_started",
            "Region Migration Started",
            "An app is being migrated to another region",
        ),
        ("app_renamed", "App renamed", "An app was renamed"),
        ("app_restarted", "App restarted", "An app was restarted"),
        ("app_scaled", "App scaled", "An app was scaled"),
        ("app_stopped", "App stopped", "An app was stopped"),
        ("app_transferred", "App transferred", "An app was transferred"),
    ),
    "deployments": (("app_deployed", "App deployed", "An app was deployed"),),
    "collaborators": (
        (
            "collaborator_accepted",
            "Collaborator accepted",
            "A collaborator invitation was accepted",
        ),
        ("collaborator_invited", "Collaborator invited", "A collaborator was invited"),
        ("collaborator_removed", "Collaborator removed", "A collaborator was removed"),
        (
            "collaborator_role_changed",
            "Collaborator role changed",
            "A collaborator role was changed",
        ),
    ),
    "domains": (
        ("domain_added", "Domain added", "A domain was added"),
        ("domain_edited", "Domain edited", "A domain was edited"),
        ("domain_removed", "Domain removed", "A domain was removed"),
    ),
    "scm": (
        ("github_link", "Github link", "A GitHub repo was linked to an app"),
        ("github_unlink", "Github unlink", "A GitHub repo was unlinked from an app"),
    ),
    "notifiers": (
        ("notifier_added", "Notifier added", "A notifier was added"),
        ("notifier_edited", "Notifier edited", "A notifier was edited"),
        ("notifier_removed", "Notifier removed", "A notifier was removed"),
    ),
    "projects": (
        ("project_created", "Project created", "A project has been created"),
        ("project_deleted", "Project deleted", "A project has been deleted"),
        ("project_edited", "Project edited", "Project was edited"),
    ),
    "variables": (
        ("variable_added", "Variable added", "A variable was added"),
        ("variable_bulk_edited", "Variables bulk edited", "Some variables were bulk edited"),
        ("variable_edited", "Variable edited", "A variable was edited"),
        ("variable_removed", "Variable removed", "A variable was removed"),
    ),
}

TEMPLATES = {
    "addon_db_upgraded": "{user} upgraded the database addon {addon_name} of {app_name}",
    "addon_deleted": "{user} deleted the addon {addon_name} of {app_name}",
    "addon_plan_changed": "{user} changed the plan of {addon_name} to {new_plan_name}",
    "addon_provisioned": "{user} provisioned the addon {addon_name} for {app_name}",
    "addon_resumed": "The addon {addon_name} of {app_name} was resumed",
    "addon_suspended": "The addon {addon_name} of {app_name} was suspended: {reason}",
    "addon_updated": "{user} updated the addon {addon_name} of {app_name}",
    "database_backup_failed": "A backup of {addon_name} ({app_name}) failed",
    "database_backup_succeeded": "A backup of {addon_name} ({app_name}) succeeded",
    "database_maintenance_completed": "The maintenance of {addon_name} ({app_name}) completed",
    "database_maintenance_planned": "A maintenance of {addon_name} ({app_name}) is planned",
    "database_maintenance_started": "The maintenance of {addon_name} ({app_name}) started",
    "alert_added": "{user} added an alert on {metric} for {app_name}",
    "alert_deleted": "{user} deleted the alert on {metric} of {app_name}",
    "app_alert_triggered": "Alert on {app_name}: {metric} is {value} (limit {limit})",
    "app_command_ran": "{user} ran `{command}` in {app_name}",
    "app_crashed": "{app_name} crashed ({crash_count} crashes)",
    "app_crashed_repeated": "{app_name} crashed",
    "app_deleted": "{user} deleted {app_name}",
    "app_deployed": "{user} deployed {app_name}: {status}",
    "app_edited": "{user} edited the settings of {app_name}",
    "app_project_updated": "{user} moved {app_name} to another project",
    "app_region_migration_started": "{app_name} is being migrated to {destination_region}",
    "app_renamed": "{user} renamed {old_name} to {new_name}",
    "app_restarted": "{user} restarted {app_name}",
    "app_scaled": "{user} scaled {app_name}",
    "app_stopped": "{user} stopped {app_name}",
    "app_transferred": "{user} transferred {app_name} to a new owner",
    "collaborator_accepted": "{email} accepted to collaborate on {app_name}",
    "collaborator_invited": "{user} invited {email} to collaborate on {app_name}",
    "collaborator_removed": "{user} removed {email} from the collaborators of {app_name}",
    "collaborator_role_changed": "{user} made {email} {role} on {app_name}",
    "domain_added": "{user} added the domain {hostname} to {app_name}",
    "domain_edited": "{user} edited the domain {hostname} of {app_name}",
    "domain_removed": "{user} removed the domain {hostname} from {app_name}",
    "github_link": "{user} linked {repo_name} to {app_name}",
    "github_unlink": "{user} unlinked {repo_name} from {app_name}",
    "notifier_added": "{user} added the notifier {notifier_name} to {app_name}",
    "notifier_edited": "{user} edited the notifier {notifier_name} of {app_name}",
    "notifier_removed": "{user} removed the notifier {notifier_name} from {app_name}",
    "project_created": "{user} created the project {project_name}",
    "project_deleted": "{user} deleted the project {project_name}",
    "project_edited": "{user} edited the project {project_name}",
    "variable_added": "{user} added the variable {name} to {app_name}",
    "variable_bulk_edited": "{user} edited variables of {app_name}",
    "variable_edited": "{user} edited the variable {name} of {app_name}",
    "variable_removed": "{user} removed the variable {name} from {app_name}",
}

_BY_PREFIX: tuple[tuple[str, type[BaseModel]], ...] = (
    ("addon_", td.AddonData),
    ("database_backup_", td.BackupData),
    ("database_maintenance_", td.MaintenanceData),
    ("alert_", td.AlertConfigData),
    ("app_crashed", td.CrashData),
    ("collaborator_", td.CollaboratorData),
    ("domain_", td.DomainData),
    ("github_", td.ScmData),
    ("notifier_", td.NotifierData),
    ("project_", td.ProjectData),
    ("variable_", td.VariableData),
)

MODELS: dict[str, type[BaseModel]] = {
    **{
        type_id: model
        for rows in ROWS.values()
        for type_id, _, _ in rows
        for prefix, model in _BY_PREFIX
        if type_id.startswith(prefix)
    },
    "app_alert_triggered": td.AlertData,
    "app_command_ran": td.CommandData,
    "app_deployed": td.DeploymentData,
    "app_project_updated": td.AppMoveData,
    "app_region_migration_started": td.AppMoveData,
    "app_renamed": td.RenameData,
    "app_restarted": td.RestartData,
    "app_scaled": td.ScaleData,
    "app_transferred": td.TransferData,
    "variable_bulk_edited": td.VariablesBulkData,
}

TABLE = FamilyTable(
    family=Family.SCALINGO,
    rows=ROWS,
    templates=TEMPLATES,
    models=MODELS,
    default_model=td.Permissive,
    warning=frozenset({"app_crashed_repeated", "database_maintenance_started"}),
    critical=frozenset(
        {
            "app_crashed",
            "app_alert_triggered",
            "database_backup_failed",
            "database_maintenance_planned",
            "addon_suspended",
        }
    ),
)

# Names of Scalingo's events API (`GET /v1/apps/:app/events`, the legacy webhook's), which older
# producers and the legacy notifications face still use, mapped to the notifier type id.
LEGACY_NAMES = {
    "deployment": "app_deployed",
    "rename_app": "app_renamed",
    "transfer_app": "app_transferred",
    "restart": "app_restarted",
    "scale": "app_scaled",
    "run": "app_command_ran",
    "new_domain": "domain_added",
    "edit_domain": "domain_edited",
    "delete_domain": "domain_removed",
    "new_addon": "addon_provisioned",
    "upgrade_addon": "addon_plan_changed",
    "delete_addon": "addon_deleted",
    "new_collaborator": "collaborator_invited",
    "accept_collaborator": "collaborator_accepted",
    "delete_collaborator": "collaborator_removed",
    "change_collaborator_role": "collaborator_role_changed",
    "new_variable": "variable_added",
    "edit_variable": "variable_edited",
    "edit_variables": "variable_bulk_edited",
    "delete_variable": "variable_removed",
    "link_scm": "github_link",
    "unlink_scm": "github_unlink",
    "new_project": "project_created",
    "edit_project": "project_edited",
    "delete_project": "project_deleted",
    "update_app_project": "app_project_updated",
    "plan_database_maintenance": "database_maintenance_planned",
    "start_database_maintenance": "database_maintenance_started",
    "complete_database_maintenance": "database_maintenance_completed",
}
