"""Cloud 66's account notification types: ids and descriptions as listed.

Cloud 66's `account.provision.ok.` carries the table's full stop; the id is
`account.provision.ok`. Descriptions fix "succesfully" and "Sever"; display names are ours.
"""

from __future__ import annotations

from herald_core.catalog import type_data as td
from herald_core.catalog.model import Family
from herald_core.catalog.tables import FamilyTable

ROWS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "infrastructure": (
        ("account.provision.ok", "Provisioning succeeded", "Account provisioned successfully"),
        ("account.provision.fail", "Provisioning failed", "Account provision failed"),
        ("server.stopped", "Server stopped", "Server heartbeat stopped"),
        ("server.backon", "Server back on", "Server heartbeat restored"),
        ("process.down", "Process down", "Process is down"),
    ),
    "deployments": (
        ("account.redeploy.ok", "Redeployment succeeded", "Account redeployed successfully"),
        ("account.redeploy.fail", "Redeployment failed", "Account redeploy failed"),
        (
            "account.redeploy.hook.fail",
            "Redeployment hook failed",
            "Account redeployment hook failed",
        ),
        ("account.deploy.started", "Deployment started", "Account deployment started"),
    ),
    "jobs": (
        ("job.fail", "Job failed", "Job run failed"),
        ("job.backon", "Job back on", "Job run succeeded (after fail)"),
    ),
    "account": (
        ("app.auth", "App authorized", "App authorized to access the account"),
        ("app.deauth", "App deauthorized", "App deauthorized from accessing the account"),
    ),
}

TEMPLATES = {
    "account.provision.ok": "{stack_name} was provisioned",
    "account.provision.fail": "Provisioning {stack_name} failed: {message}",
    "server.stopped": "The heartbeat of {server_name} ({stack_name}) stopped",
    "server.backon": "The heartbeat of {server_name} ({stack_name}) is back",
    "process.down": "The process {process_name} of {stack_name} is down",
    "account.redeploy.ok": "{stack_name} was redeployed",
    "account.redeploy.fail": "Redeploying {stack_name} failed: {message}",
    "account.redeploy.hook.fail": "A redeployment hook of {stack_name} failed: {message}",
    "account.deploy.started": "{user} started deploying {stack_name}",
    "job.fail": "The job {job_name} of {stack_name} failed",
    "job.backon": "The job {job_name} of {stack_name} succeeded again",
    "app.auth": "An app was authorized to access the account of {user}",
    "app.deauth": "An app was deauthorized from the account of {user}",
}

TABLE = FamilyTable(
    family=Family.CLOUD66,
    rows=ROWS,
    templates=TEMPLATES,
    models={},
    default_model=td.Cloud66Data,
    critical=frozenset(
        {
            "server.stopped",
            "process.down",
            "job.fail",
            "account.provision.fail",
            "account.redeploy.fail",
            "account.redeploy.hook.fail",
        }
    ),
)
