"""`python -m herald_sender --channel webhook`: one channel's sender, or several channels in one
process (`--channel slack,discord`), each with its own consumer groups and topics."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from herald_core.logging import configure
from herald_core.topics import Channel
from herald_runtime.startup import refuse_unsafe_start

from herald_sender.app import serve
from herald_sender.production import production_problems
from herald_sender.settings import SenderSettings


def channel_list(text: str) -> tuple[Channel, ...]:
    """`slack,discord` as channels, in order; argparse shows the error of an unknown one."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    known = [c.value for c in Channel]
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown channel(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(known)}"
        )
    return tuple(Channel(name) for name in names)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m herald_sender", description=__doc__)
    parser.add_argument(
        "--channel",
        type=channel_list,
        help="the channel to send, or several comma-separated (default: $HERALD_SENDER_CHANNELS,"
        " else $HERALD_SENDER_CHANNEL, else webhook)",
    )
    args = parser.parse_args()
    overrides: dict[str, Any] = {}
    if args.channel:
        overrides = {"channel": args.channel[0], "channels": args.channel[1:] and args.channel}
    settings = SenderSettings(**overrides)
    name = "sender-" + "+".join(str(c) for c in settings.served_channels)
    configure(json=settings.log.json_output, level=settings.log.level, service=name)
    refuse_unsafe_start(name, lambda environment: production_problems(settings, environment))
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
