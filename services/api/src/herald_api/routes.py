"""Every route of the API, in the order of the OpenAPI document.

Each module declares its own routes next to its handlers (`ROUTES`, see `http.declare`); this
tuple is the only list of them, read by registration, the access middleware and the OpenAPI
document.
"""

from __future__ import annotations

from herald_api.faces.clevercloud import clevercloud_api
from herald_api.faces.cloud66 import account_notifications_api
from herald_api.faces.convox import integrations_api
from herald_api.faces.scalingo import alerts_api, legacy_notifications_api, notifiers_api
from herald_api.http import openapi, probes
from herald_api.http.declare import Route
from herald_api.native import (
    audit_api,
    catalog_api,
    directory_api,
    history_api,
    notifier_health_api,
    notifier_secrets_api,
    notifier_test_api,
    redeliver_api,
    simulate_api,
    tokens_api,
    unsubscribe_api,
)
from herald_api.stream import stream_api

ROUTES: tuple[Route, ...] = (
    *tokens_api.ROUTES,
    *catalog_api.ROUTES,
    *directory_api.ROUTES,
    *notifiers_api.ROUTES,
    *alerts_api.ROUTES,
    *probes.ROUTES,
    *openapi.ROUTES,
    *simulate_api.ROUTES,
    *history_api.ROUTES,
    *unsubscribe_api.ROUTES,
    *notifier_health_api.ROUTES,
    *notifier_test_api.ROUTES,
    *redeliver_api.ROUTES,
    *notifier_secrets_api.ROUTES,
    *integrations_api.ROUTES,
    *audit_api.ROUTES,
    *stream_api.ROUTES,
    *legacy_notifications_api.ROUTES,
    *account_notifications_api.ROUTES,
    *clevercloud_api.ROUTES,
)
