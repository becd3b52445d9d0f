"""What keeps the API from starting in production (`herald_core.deployment`). Pure."""

from __future__ import annotations

from herald_core.deployment import Environment, loopback_problem, secret_problem

from herald_api.native.unsubscribe_api import UnsubscribeSettings
from herald_api.settings import ApiSettings


def production_problems(
    settings: ApiSettings, unsubscribe: UnsubscribeSettings, environment: Environment
) -> list[str]:
    """Every development default the API's settings keep; empty outside production."""
    if environment is not Environment.PRODUCTION:
        return []
    admin = settings.admin_token.get_secret_value() if settings.admin_token else None
    found = [
        secret_problem("HERALD_API_JWT_SECRET", settings.jwt_secret.get_secret_value()),
        secret_problem("HERALD_UNSUBSCRIBE_SECRET", unsubscribe.secret.get_secret_value()),
        secret_problem("HERALD_API_ADMIN_TOKEN", admin),
        loopback_problem("HERALD_API_ALLOW_LOOPBACK_TARGETS")
        if settings.allow_loopback_targets
        else None,
    ]
    return [problem for problem in found if problem is not None]
