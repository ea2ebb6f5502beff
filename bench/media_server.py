"""MediaRooms behind plain HTTP on 127.0.0.1, for bench/media.py (no socket.io, no Redis).

`--workers 0`: one MediaRoom in this process (every request's lesson is the same room).
`--workers N`: Sabak's media workers (media/worker.py, media/workers.py), N processes, each lesson
pinned to one, this process relaying requests to them as the server does.
"""

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

from media.errors import MediaError
from media.recorder import RecordingOptions
from media.room import MediaRoom
from media.slot import Egress
from media.worker import RoomOptions
from media.workers import MediaWorkers
from patches.aiortc.check import check_internals

ROOM: web.AppKey[MediaRoom] = web.AppKey("room", MediaRoom)
WORKERS: web.AppKey[MediaWorkers | None] = web.AppKey("workers")
LOOPBACK = "127.0.0.1"


def room_of(request: web.Request, lesson: str) -> Any:
    """The lesson's room: this process's own, or its worker's (same calls, awaited)."""
    workers = request.app[WORKERS]
    return request.app[ROOM] if workers is None else workers.room(lesson)


async def publish(request: web.Request) -> web.Response:
    body = await request.json()
    answer = await room_of(request, body.get("lesson", "L0")).publish(
        body["pid"],
        body["sdp"],
        set(body["allowed"]),
        seat=body["seat"],
        track_kinds=body.get("kinds"),
    )
    return web.json_response({"sdp": answer})


async def subscribe(request: web.Request) -> web.Response:
    body = await request.json()
    room = room_of(request, body.get("lesson", "L0"))
    return web.json_response({"sdp": await room.subscribe(body["pid"], body["mode"])})


async def answer(request: web.Request) -> web.Response:
    body = await request.json()
    await room_of(request, body.get("lesson", "L0")).subscriber_answer(body["pid"], body["sdp"])
    return web.json_response({})


async def stats(request: web.Request) -> web.Response:
    room = room_of(request, request.query.get("lesson", "L0"))
    result = room.stats()
    return web.json_response(await result if asyncio.iscoroutine(result) else result)


async def record(request: web.Request) -> web.Response:
    """Record the in-process room into `folder` (bench/recording.py); failures are printed."""
    body = await request.json()
    options = RecordingOptions(Path(body["folder"]), float(body.get("segment_s", 10)))
    request.app[ROOM].record(options, lambda state, reason: print("RECORDING", state, reason))
    return web.json_response({})


async def stop_recording(request: web.Request) -> web.Response:
    await request.app[ROOM].stop_recording()
    return web.json_response({})


async def worker_pids(request: web.Request) -> web.Response:
    workers = request.app[WORKERS]
    pids = [] if workers is None else [w.pid for w in workers.workers]
    return web.json_response({"pids": pids})


@web.middleware
async def media_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        response: web.StreamResponse = await handler(request)
    except MediaError as exc:
        return web.json_response({"code": exc.code, "message": str(exc)}, status=400)
    return response


def make_app(egress: Egress, workers: int = 0) -> web.Application:
    app = web.Application(middlewares=[media_errors])
    app[ROOM] = MediaRoom(
        ice_host_addresses=(LOOPBACK,), ice_accept_remote_ips=(LOOPBACK,), egress=egress
    )
    options = RoomOptions(ice_host_addresses=(LOOPBACK,), ice_accept_remote_ips=(LOOPBACK,))
    app[WORKERS] = MediaWorkers(workers, options) if workers else None
    app.router.add_post("/publish", publish)
    app.router.add_post("/subscribe", subscribe)
    app.router.add_post("/answer", answer)
    app.router.add_get("/stats", stats)
    app.router.add_get("/workers", worker_pids)
    app.router.add_post("/record", record)
    app.router.add_post("/stop_recording", stop_recording)
    app.on_startup.append(start_workers)
    app.on_cleanup.append(close_rooms)
    return app


async def start_workers(app: web.Application) -> None:
    workers = app[WORKERS]
    if workers is not None:
        await workers.start()


async def close_rooms(app: web.Application) -> None:
    await app[ROOM].close()
    workers = app[WORKERS]
    if workers is not None:
        await workers.close()


async def serve(port: int, egress: Egress, duration: float, workers: int) -> None:
    runner = web.AppRunner(make_app(egress, workers), access_log=None)
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
    parser.add_argument("--workers", type=int, default=0, help="0: the room in this process")
    args = parser.parse_args()
    check_internals()
    asyncio.run(serve(args.port, args.egress, args.duration, args.workers))


if __name__ == "__main__":
    main()
