"""`herald <command> [args]`: the image's entry point, one command per service or job.

    herald ingest | api | router | derive | alerter | recorder     a service (port 8080)
    herald sender --channel slack                                  one channel's sender
    herald api migrate                                             the API's admin commands
    herald topics apply --file /app/deploy/topics.yaml ...         create/update the topics
    herald ops ...                                                 the operators' commands
    herald webhook-sink --port 8080 --dir /tmp/webhooks            a local webhook sink

Each command replaces this process (`exec`) with `python -m <module> [args]`, so the service
is the container's main process and receives its SIGTERM directly. `command_for` is the whole
mapping (pure); `main` only executes it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

MODULES: dict[str, str] = {
    "ingest": "herald_ingest",
    "api": "herald_api",
    "router": "herald_router",
    "derive": "herald_derive",
    "alerter": "herald_alerter",
    "recorder": "herald_recorder",
    "sender": "herald_sender",
    "topics": "herald_kafka.topics",
    "ops": "herald_ops.cli",
    "webhook-sink": "herald_devstack.http_sink",
}
"""Command → the module `python -m` runs for it."""

USAGE = (
    "usage: herald <command> [args...]\n"
    f"commands: {', '.join(MODULES)}\n"
    "e.g. herald router | herald sender --channel email | herald api migrate |"
    " herald topics apply --file /app/deploy/topics.yaml --bootstrap-servers kafka:9092"
)


class UnknownCommand(ValueError):
    """The first argument names no command."""


def command_for(args: Sequence[str], python: str = sys.executable) -> list[str]:
    """The argv that runs `herald <args>`: `python -m <module> <rest>`. Pure.

    Raises:
        UnknownCommand: when `args` is empty or its first word is not in `MODULES`.
    """
    if not args or args[0] not in MODULES:
        given = args[0] if args else "nothing"
        raise UnknownCommand(f"unknown command {given!r}\n{USAGE}")
    return [python, "-m", MODULES[args[0]], *args[1:]]


def main() -> None:
    """Exec the command's module; a usage message and exit status 2 for an unknown one."""
    args = sys.argv[1:]
    if args and args[0] in {"-h", "--help", "help"}:
        print(USAGE)  # noqa: T201 - the command's own help
        return
    try:
        argv = command_for(args)
    except UnknownCommand as error:
        print(error, file=sys.stderr)  # noqa: T201 - a command-line error
        raise SystemExit(2) from None
    os.execv(argv[0], argv)  # noqa: S606 - the interpreter itself, with a fixed module


if __name__ == "__main__":
    main()
