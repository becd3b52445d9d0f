"""A webhook sink for local runs: every request it receives is kept as a JSON file.

    python -m herald_devstack.http_sink --port 18099 --dir var/webhooks

Each request becomes `<dir>/<received-ns>.json` with method, path, headers and body, so that
`herald-dev webhooks` (and people) can see what Herald sent. It always answers 200, unless the
path is `/status/<code>` (handy for trying failures).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

from aiohttp import web

from herald_devstack.signals import wait_for_signal


def make_app(directory: Path) -> web.Application:
    directory.mkdir(parents=True, exist_ok=True)

    async def record(request: web.Request) -> web.Response:
        body = await request.read()
        entry = {
            "received_at": time.time(),
            "method": request.method,
            "path": request.path_qs,
            "headers": dict(request.headers),
            "body": body.decode("utf-8", "replace"),
        }
        name = f"{time.time_ns()}.json"
        (directory / f".{name}").write_text(json.dumps(entry, indent=2))
        (directory / f".{name}").rename(directory / name)
        parts = request.path.strip("/").split("/")
        status = (
            int(parts[1])
            if len(parts) == 2 and parts[0] == "status" and parts[1].isdigit()
            else 200
        )
        return web.json_response({"received": True}, status=status)

    app = web.Application(client_max_size=4 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", record)
    return app


def read_requests(directory: Path) -> list[dict[str, object]]:
    """Every recorded request, oldest first."""
    if not directory.is_dir():
        return []
    return [json.loads(p.read_text()) for p in sorted(directory.glob("*.json"))]


async def _serve(host: str, port: int, directory: Path) -> None:
    runner = web.AppRunner(make_app(directory), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    print(f"webhook sink on http://{host}:{port}/, writing to {directory}", flush=True)  # noqa: T201
    try:
        await wait_for_signal()
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18099)
    parser.add_argument("--dir", type=Path, default=Path("var/webhooks"))
    args = parser.parse_args()
    asyncio.run(_serve(args.host, args.port, args.dir))


if __name__ == "__main__":
    main()
