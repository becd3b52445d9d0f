"""The probes every Herald service serves (`herald_runtime.health`), declared for the API."""

from __future__ import annotations

from herald_runtime.health import livez, metrics, readyz

from herald_api.http import wire_models as w
from herald_api.http.declare import Answer, Auth, Route, ok_answer

ROUTES = (
    Route(
        "GET",
        "/livez",
        "Liveness",
        "health",
        {200: ok_answer(w.Liveness), 500: ok_answer(w.Liveness, "A supervised task failed")},
        auth=Auth.PUBLIC,
        handler=livez,
    ),
    Route(
        "GET",
        "/readyz",
        "Readiness",
        "health",
        {
            200: ok_answer(w.Readiness),
            503: ok_answer(w.Readiness, "Database or broker unreachable"),
        },
        auth=Auth.PUBLIC,
        handler=readyz,
    ),
    Route(
        "GET",
        "/metrics",
        "Prometheus metrics",
        "health",
        {200: Answer("Prometheus text exposition format", None, "text/plain")},
        auth=Auth.PUBLIC,
        handler=metrics,
    ),
)
