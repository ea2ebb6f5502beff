"""One MediaRoom behind plain HTTP on 127.0.0.1, for bench/media.py (no socket.io, no Redis)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from pathlib import Path
from typing import Any

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from signaling.aiortc_compat import check_internals
from signaling.sfu import Egress, MediaError, MediaRoom

ROOM: web.AppKey[MediaRoom] = web.AppKey("room", MediaRoom)
LOOPBACK = "127.0.0.1"


async def publish(request: web.Request) -> web.Response:
    body = await request.json()
    answer = await request.app[ROOM].publish(
        body["pid"],
        body["sdp"],
        set(body["allowed"]),
        seat=body["seat"],
        track_kinds=body.get("kinds"),
    )
    return web.json_response({"sdp": answer})


async def subscribe(request: web.Request) -> web.Response:
    body = await request.json()
    return web.json_response({"sdp": await request.app[ROOM].subscribe(body["pid"], body["mode"])})


async def answer(request: web.Request) -> web.Response:
    body = await request.json()
    await request.app[ROOM].subscriber_answer(body["pid"], body["sdp"])
    return web.json_response({})


async def stats(request: web.Request) -> web.Response:
    return web.json_response(request.app[ROOM].stats())


@web.middleware
async def media_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        response: web.StreamResponse = await handler(request)
    except MediaError as exc:
        return web.json_response({"code": exc.code, "message": str(exc)}, status=400)
    return response


def make_app(egress: Egress) -> web.Application:
    app = web.Application(middlewares=[media_errors])
    app[ROOM] = MediaRoom(
        ice_host_addresses=(LOOPBACK,), ice_accept_remote_ips=(LOOPBACK,), egress=egress
    )
    app.router.add_post("/publish", publish)
    app.router.add_post("/subscribe", subscribe)
    app.router.add_post("/answer", answer)
    app.router.add_get("/stats", stats)
    app.on_cleanup.append(lambda app: app[ROOM].close())
    return app


async def serve(port: int, egress: Egress, duration: float) -> None:
    runner = web.AppRunner(make_app(egress), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, LOOPBACK, port)
    await site.start()
    print(f"LISTENING {runner.addresses[0][1]}", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    with contextlib.suppress(TimeoutError):  # a hard stop, whatever happens
        await asyncio.wait_for(stop.wait(), duration)
    await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="0: a free port (printed)")
    parser.add_argument("--egress", choices=("direct", "sender"), default="direct")
    parser.add_argument("--duration", type=float, default=300, help="stop after this many s")
    args = parser.parse_args()
    check_internals()
    asyncio.run(serve(args.port, args.egress, args.duration))


if __name__ == "__main__":
    main()
