"""What keeps ingest from starting, anywhere and in production (`herald_core.deployment`).

Pure: the settings in, one sentence per problem out.
"""

from __future__ import annotations

from herald_core.deployment import Environment, secret_problem

from herald_ingest.settings import IngestSettings

P = "HERALD_INGEST_AUTH__"


def start_problems(settings: IngestSettings, environment: Environment) -> list[str]:
    """Every problem of `settings` in `environment`; empty when ingest may start."""
    auth = settings.auth
    if auth.closed_to_all:
        return [
            f"ingest accepts no producer: set {P}TOKENS (a JSON list) or {P}TOKEN_FILE to"
            f" producer tokens, or {P}CLIENT_CAFILE for client certificates (mTLS); on a"
            f" trusted network outside production, {P}OPEN=true accepts anyone"
        ]
    if environment is not Environment.PRODUCTION:
        return []
    problems = []
    if auth.open:
        problems.append(
            f"{P}OPEN is true: anyone who reaches ingest can post events, which become"
            f" notifications to every app's receivers; unset it and give producers tokens"
            f" ({P}TOKENS or {P}TOKEN_FILE) or client certificates ({P}CLIENT_CAFILE)"
        )
    for index, token in enumerate(auth.token_values):
        problem = secret_problem(
            f"producer token {index + 1} of {len(auth.tokens)} ({P}TOKENS, {P}TOKEN_FILE)", token
        )
        if problem is not None:
            problems.append(problem)
    return problems
