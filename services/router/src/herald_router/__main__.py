"""`python -m herald_router`: route notify.events to the channel topics."""

from __future__ import annotations

import asyncio

from herald_core.logging import configure
from herald_runtime.startup import no_problems, refuse_unsafe_start

from herald_router.app import serve
from herald_router.settings import RouterSettings


def main() -> None:
    settings = RouterSettings()
    configure(json=settings.log.json_output, level=settings.log.level, service="router")
    refuse_unsafe_start("router", no_problems)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
