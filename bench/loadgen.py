"""A small closed-loop HTTP/1.1 load generator on raw asyncio streams.

aiohttp's client costs about as much per request as the server under test, which on two cores
caps what a bench can measure. This client writes pre-built requests on keep-alive connections
and reads only the status line, headers and `Content-Length` body: a few tens of µs per
request. Each connection has one request outstanding at a time (closed loop).

    python bench/loadgen.py HOST PORT PATH BODIES.json --connections 64 --seconds 5
    → one JSON line: {"requests": n, "seconds": s, "statuses": {...}}

Run in its own process, so that it does not share an event loop (or a core's time slices)
with the server it measures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from collections.abc import Sequence


def request_bytes(host: str, port: int, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {host}:{port}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        *(f"{k}: {v}" for k, v in headers.items()),
        "",
        "",
    ]
    return "\r\n".join(lines).encode() + body


async def connection(
    host: str, port: int, requests: Sequence[bytes], start: int, until: float, counts: Counter[int]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    index = start
    try:
        while time.perf_counter() < until:
            writer.write(requests[index % len(requests)])
            index += 1
            status_line = await reader.readline()
            if not status_line:
                raise ConnectionError("the server closed the connection")
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if length:
                await reader.readexactly(length)
            counts[int(status_line.split()[1])] += 1
    finally:
        writer.close()


async def run(
    host: str, port: int, requests: Sequence[bytes], connections: int, seconds: float
) -> dict[str, object]:
    counts: Counter[int] = Counter()
    started = time.perf_counter()
    until = started + seconds
    step = max(1, len(requests) // connections)
    await asyncio.gather(
        *(connection(host, port, requests, i * step, until, counts) for i in range(connections))
    )
    elapsed = time.perf_counter() - started
    return {
        "requests": sum(counts.values()),
        "seconds": elapsed,
        "statuses": {str(k): v for k, v in counts.items()},
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("path")
    parser.add_argument("bodies", help="a JSON file: a list of request bodies (strings)")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--header", action="append", default=[], metavar="NAME:VALUE")
    args = parser.parse_args(argv)
    with open(args.bodies) as f:
        bodies = [b.encode() for b in json.load(f)]
    headers = dict(h.split(":", 1) for h in args.header)
    requests = [request_bytes(args.host, args.port, args.path, b, headers) for b in bodies]
    result = asyncio.run(run(args.host, args.port, requests, args.connections, args.seconds))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
