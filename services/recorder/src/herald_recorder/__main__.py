"""`python -m herald_recorder`: record notify.delivery-results in the delivery history."""

from __future__ import annotations

import asyncio

from herald_core.logging import configure
from herald_runtime.startup import no_problems, refuse_unsafe_start

from herald_recorder.app import serve
from herald_recorder.settings import RecorderSettings


def main() -> None:
    settings = RecorderSettings()
    configure(json=settings.log.json_output, level=settings.log.level, service="recorder")
    refuse_unsafe_start("recorder", no_problems)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
