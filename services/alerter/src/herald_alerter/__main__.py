"""`python -m herald_alerter`: evaluate metric alert rules, emit alert events."""

from __future__ import annotations

import asyncio
import sys

from herald_core.logging import configure
from herald_runtime.startup import no_problems, refuse_unsafe_start

from herald_alerter.app import serve
from herald_alerter.settings import AlerterSettings


def main() -> None:
    settings = AlerterSettings()
    configure(json=settings.log.json_output, level=settings.log.level, service="alerter")
    refuse_unsafe_start("alerter", no_problems)
    sys.exit(asyncio.run(serve(settings)))


if __name__ == "__main__":
    main()
