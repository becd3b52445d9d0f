"""`python -m herald_sender --channel webhook`: one channel's sender."""

from __future__ import annotations

import argparse
import asyncio

from herald_core.logging import configure
from herald_core.topics import Channel
from herald_runtime.startup import refuse_unsafe_start

from herald_sender.app import serve
from herald_sender.production import production_problems
from herald_sender.settings import SenderSettings


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m herald_sender", description=__doc__)
    parser.add_argument(
        "--channel",
        choices=[c.value for c in Channel],
        help="the channel to send (default: $HERALD_SENDER_CHANNEL or webhook)",
    )
    args = parser.parse_args()
    overrides = {"channel": Channel(args.channel)} if args.channel else {}
    settings = SenderSettings(**overrides)  # type: ignore[arg-type]
    configure(
        json=settings.log.json_output,
        level=settings.log.level,
        service=f"sender-{settings.channel}",
    )
    refuse_unsafe_start(
        f"sender-{settings.channel}", lambda environment: production_problems(settings, environment)
    )
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
