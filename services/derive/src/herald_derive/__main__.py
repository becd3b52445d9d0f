"""`python -m herald_derive`: count crashes on notify.events, emit app_crashed."""

from __future__ import annotations

import asyncio
import sys

from herald_core.logging import configure
from herald_runtime.startup import no_problems, refuse_unsafe_start

from herald_derive.app import serve
from herald_derive.settings import DeriveSettings


def main() -> None:
    settings = DeriveSettings()
    configure(json=settings.log.json_output, level=settings.log.level, service="derive")
    refuse_unsafe_start("derive", no_problems)
    sys.exit(asyncio.run(serve(settings)))


if __name__ == "__main__":
    main()
