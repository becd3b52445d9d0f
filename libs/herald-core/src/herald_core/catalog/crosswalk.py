"""Where the families name one happening differently: aliases, and Herald's groups.

Each family module declares its own types; this module says which of them are the same
happening, so that a selection written in one family's words matches events emitted in
another's, and the platform emits each happening once (docs/decisions.md).

Two rules keep this honest, both checked by `Catalog`:
- aliases never chain: an alias applies to the event's own type and type_data only;
- criticality never spreads: no alias makes a non-critical type answer to a critical type's id,
  so `critical_alerts` matches exactly the critical types. Where families disagree (Cloud 66
  calls a failed redeploy critical, Scalingo and Convox do not) the link is one-way.
"""

from __future__ import annotations

from herald_core.catalog.model import ALWAYS, Alias, Condition, Group
from herald_core.catalog.tables import same_happening

SUCCESS = Condition.equals("status", "success")
NOT_SUCCESS = Condition.differs("status", "success")
STARTED = Condition.equals("status", "start")
FAILED_BUILD = Condition.differs("status", "start", "success")

_FINISHED = (
    "app_deployed",
    "app:promote:completed",
    "app:promote:errored",
    "app:promote:cancelled",
    "account.redeploy.ok",
    "account.redeploy.fail",
)

ALIASES: tuple[Alias, ...] = (
    # A deployment succeeded: Scalingo's result with status success, Convox's completed
    # promotion, Cloud 66's successful redeploy; Clever Cloud calls it DEPLOYMENT_SUCCESS.
    *same_happening(
        "a deployment succeeded",
        [
            ("app_deployed", SUCCESS),
            ("app:promote:completed", ALWAYS),
            ("account.redeploy.ok", ALWAYS),
        ],
        also=["DEPLOYMENT_SUCCESS"],
    ),
    # A deployment failed: Scalingo's result with any other status, Convox's errored promotion.
    *same_happening(
        "a deployment failed",
        [("app_deployed", NOT_SUCCESS), ("app:promote:errored", ALWAYS)],
        also=["DEPLOYMENT_FAIL"],
    ),
    # Cloud 66's failed redeploy is a failed deployment, one way only: it is critical there.
    *(
        Alias(target, "account.redeploy.fail", ALWAYS, "a failed redeploy is a failed deployment")
        for target in ("app_deployed", "app:promote:errored", "DEPLOYMENT_FAIL")
    ),
    # A Convox build that did not succeed (Convox calls build:create "Build failed") never
    # reached a release: the deployment failed.
    Alias("DEPLOYMENT_FAIL", "build:create", FAILED_BUILD, "a failed build fails the deployment"),
    # A deployment started: Cloud 66 says so, Convox promotes a release with status start.
    *same_happening(
        "a deployment started",
        [("account.deploy.started", ALWAYS), ("release:promote", STARTED)],
        also=["DEPLOYMENT_ACTION_BEGIN"],
    ),
    # Clever Cloud's DEPLOYMENT_ACTION_END: any deployment result, whatever the outcome.
    *(Alias("DEPLOYMENT_ACTION_END", t, ALWAYS, "a deployment finished") for t in _FINISHED),
    # An app was created (Convox); Clever Cloud's APPLICATION_CREATION.
    *same_happening("an app was created", [("app:create", ALWAYS)], also=["APPLICATION_CREATION"]),
    # An app was deleted (Scalingo, Convox); Clever Cloud's APPLICATION_DELETION.
    *same_happening(
        "an app was deleted",
        [("app_deleted", ALWAYS), ("app:delete", ALWAYS)],
        also=["APPLICATION_DELETION"],
    ),
    # App settings were edited; renaming is an edition for Clever Cloud.
    *same_happening("app settings edited", [("app_edited", ALWAYS)], also=["APPLICATION_EDITION"]),
    Alias("APPLICATION_EDITION", "app_renamed", ALWAYS, "renaming an app edits its settings"),
    # Clever Cloud restarts an application by redeploying it.
    *same_happening("an app restarted", [("app_restarted", ALWAYS)], also=["APPLICATION_REDEPLOY"]),
    # An app was stopped.
    *same_happening("an app stopped", [("app_stopped", ALWAYS)], also=["APPLICATION_STOP"]),
    # An add-on was created: a Scalingo addon, a Convox resource, a Clever Cloud add-on.
    *same_happening(
        "an add-on was created",
        [("addon_provisioned", ALWAYS), ("resource:create", ALWAYS)],
        also=["ADDON_CREATION"],
    ),
    # An add-on was deleted.
    *same_happening(
        "an add-on was deleted",
        [("addon_deleted", ALWAYS), ("resource:delete", ALWAYS)],
        also=["ADDON_DELETION"],
    ),
    # An app was scaled: Scalingo's app_scaled, Convox's release:scale ("Service scaled").
    *same_happening("an app was scaled", [("app_scaled", ALWAYS), ("release:scale", ALWAYS)]),
    # A metric alert fired: Scalingo's app alert, Convox's alert (both critical).
    *same_happening("an alert fired", [("app_alert_triggered", ALWAYS), ("alert:firing", ALWAYS)]),
    # A metric alert resolved.
    *same_happening(
        "an alert resolved", [("app_alert_resolved", ALWAYS), ("alert:resolved", ALWAYS)]
    ),
)

CRITICAL_ALERTS = (
    "app_crashed",
    "app_alert_triggered",
    "database_backup_failed",
    "database_maintenance_planned",
    "addon_suspended",
    "alert:firing",
    "app:budget:cap",
    "app:budget:auto-shutdown:fired",
    "app:budget:auto-shutdown:failed",
    "server.stopped",
    "process.down",
    "job.fail",
    "account.provision.fail",
    "account.redeploy.fail",
    "account.redeploy.hook.fail",
    "payment_failed",
)

GROUPS: tuple[Group, ...] = (
    Group(
        "deployments",
        "Deployments",
        "Every deployment starting, finishing, succeeding or failing, in every family",
        (
            "app_deployed",
            "META_DEPLOYMENT_RESULT",
            "DEPLOYMENT_ACTION_BEGIN",
            "DEPLOYMENT_ACTION_END",
            "build:create",
            "release:create",
            "release:promote",
            "release:finish",
            "app:promote:completed",
            "app:promote:errored",
            "app:promote:cancelled",
            "workflow:complete",
            "account.deploy.started",
            "account.redeploy.ok",
            "account.redeploy.fail",
            "account.redeploy.hook.fail",
        ),
    ),
    Group(
        "critical_alerts",
        "Critical alerts",
        "What the default notifier sends: crashes, alerts, failures that need someone now",
        CRITICAL_ALERTS,
    ),
    Group(
        "alerts",
        "Alerts",
        "Metric alerts firing and resolving (Scalingo's send_all_alerts)",
        ("app_alert_triggered", "app_alert_resolved", "alert:firing", "alert:resolved"),
    ),
)

RESOLUTIONS = {"app_alert_resolved": "app_alert_triggered", "alert:resolved": "alert:firing"}
"""Which type's incident each resolving type ends. The router lets a resolution reach every
notifier that its incident's firing reached (`herald_core.routing`): whoever was told an alert
fired is told it is over, whatever their selection names."""
