"""Clever Cloud's notification event ids (Clever Cloud's own, as its API spells them).

Source: the `NotificationEventType` and `NotificationMetaEventType` unions of
`CleverCloud/clever-client.js` (`src/clients/cc-api/commands/notification/notification.types.ts`)
and the meta-event contents from Clever Cloud's "Notifications management with Clever Tools"
page (`META_DEPLOYMENT_RESULT = DEPLOYMENT_FAIL, DEPLOYMENT_SUCCESS`, …).

Of the 21 event ids, the 11 that name a happening another family already has are aliases
(`crosswalk.py`: `DEPLOYMENT_SUCCESS` is `app_deployed` with status success, …). The 10 below
have no equivalent and are types of their own. The 4 meta-events are groups.
"""

from __future__ import annotations

from pydantic import BaseModel

from herald_core.catalog import type_data as td
from herald_core.catalog.model import Family, Group
from herald_core.catalog.tables import FamilyTable

ROWS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "account": (
        ("ACCOUNT_CREATION", "Account created", "A user account was created"),
        ("ACCOUNT_DELETION", "Account deleted", "A user account was deleted"),
        ("ACCOUNT_EDITION", "Account edited", "A user account was edited"),
        ("ORGANISATION_CREATION", "Organisation created", "An organisation was created"),
        ("ORGANISATION_DELETION", "Organisation deleted", "An organisation was deleted"),
        ("ORGANISATION_EDITION", "Organisation edited", "An organisation was edited"),
        (
            "ORGANISATION_USER_ADDITION",
            "Organisation member added",
            "A user was added to an organisation",
        ),
        (
            "CLEVER_TOOLS_REQUEST",
            "Clever Tools request",
            "A request was made with the Clever Tools command line",
        ),
    ),
    "billing": (("CREDITS_ADDED", "Credits added", "Credits were added to an account"),),
    "deployments": (("GIT_PUSH", "Git push", "Code was pushed to an application's repository"),),
}

TEMPLATES = {
    "ACCOUNT_CREATION": "The account of {user} was created",
    "ACCOUNT_DELETION": "The account of {user} was deleted",
    "ACCOUNT_EDITION": "{user} edited their account",
    "ORGANISATION_CREATION": "{user} created the organisation {owner_id}",
    "ORGANISATION_DELETION": "{user} deleted the organisation {owner_id}",
    "ORGANISATION_EDITION": "{user} edited the organisation {owner_id}",
    "ORGANISATION_USER_ADDITION": "{user} added {email} to the organisation {owner_id}",
    "CLEVER_TOOLS_REQUEST": "{user} made a request with Clever Tools",
    "CREDITS_ADDED": "{amount} {currency} of credits were added to {owner_id}",
    "GIT_PUSH": "{pusher} pushed {git_ref} to {app_name}",
}

MODELS: dict[str, type[BaseModel]] = {
    "ORGANISATION_USER_ADDITION": td.CollaboratorData,
    "CREDITS_ADDED": td.CreditsData,
    "GIT_PUSH": td.GitPushData,
}

TABLE = FamilyTable(
    family=Family.CLEVERCLOUD,
    rows=ROWS,
    templates=TEMPLATES,
    models=MODELS,
    default_model=td.Permissive,
)

ALIAS_IDS = (
    "ADDON_CREATION",
    "ADDON_DELETION",
    "APPLICATION_CREATION",
    "APPLICATION_DELETION",
    "APPLICATION_EDITION",
    "APPLICATION_REDEPLOY",
    "APPLICATION_STOP",
    "DEPLOYMENT_ACTION_BEGIN",
    "DEPLOYMENT_ACTION_END",
    "DEPLOYMENT_FAIL",
    "DEPLOYMENT_SUCCESS",
)
"""The 11 Clever Cloud ids that are aliases of other families' types (`crosswalk.py`)."""

META_EVENTS = (
    Group(
        "META_SERVICE_LIFECYCLE",
        "Service lifecycle",
        "Applications stopping and deployments starting, succeeding or failing",
        ("APPLICATION_STOP", "DEPLOYMENT_ACTION_BEGIN", "DEPLOYMENT_FAIL", "DEPLOYMENT_SUCCESS"),
        Family.CLEVERCLOUD,
    ),
    Group(
        "META_DEPLOYMENT_RESULT",
        "Result of deployments (success/fail)",
        "Deployments succeeding or failing",
        ("DEPLOYMENT_FAIL", "DEPLOYMENT_SUCCESS"),
        Family.CLEVERCLOUD,
    ),
    Group(
        "META_SERVICE_MANAGEMENT",
        "Service management",
        "Applications and add-ons created, edited or deleted",
        (
            "ADDON_CREATION",
            "ADDON_DELETION",
            "APPLICATION_CREATION",
            "APPLICATION_EDITION",
            "APPLICATION_DELETION",
        ),
        Family.CLEVERCLOUD,
    ),
    Group(
        "META_CREDITS",
        "Credits",
        "Credits added to an account",
        ("CREDITS_ADDED",),
        Family.CLEVERCLOUD,
    ),
)
