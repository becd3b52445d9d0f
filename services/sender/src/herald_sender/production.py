"""What keeps a sender from starting in production (`herald_core.deployment`). Pure."""

from __future__ import annotations

from herald_core.deployment import Environment, loopback_problem, secret_problem
from herald_core.topics import Channel

from herald_sender.settings import SenderSettings


def production_problems(settings: SenderSettings, environment: Environment) -> list[str]:
    """Every development default `settings` keep; empty outside production."""
    if environment is not Environment.PRODUCTION:
        return []
    problems = []
    if settings.allow_loopback_targets:
        problems.append(loopback_problem("HERALD_SENDER_ALLOW_LOOPBACK_TARGETS"))
    if Channel.EMAIL in settings.served_channels:  # the only channel signing unsubscribe links
        problem = secret_problem(
            "HERALD_SENDER_SMTP__UNSUBSCRIBE_SECRET",
            settings.smtp.unsubscribe_secret.get_secret_value(),
        )
        if problem is not None:
            problems.append(problem + " (the same value as the API's HERALD_UNSUBSCRIBE_SECRET)")
    return problems
