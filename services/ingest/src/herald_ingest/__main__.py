"""`python -m herald_ingest`: HTTP intake and the platform.events consumer."""

from __future__ import annotations

import asyncio

from herald_core.logging import configure
from herald_runtime.startup import refuse_unsafe_start

from herald_ingest.app import serve
from herald_ingest.production import start_problems
from herald_ingest.settings import IngestSettings


def main() -> None:
    settings = IngestSettings()
    configure(json=settings.log.json_output, level=settings.log.level, service="ingest")
    refuse_unsafe_start("ingest", lambda environment: start_problems(settings, environment))
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
