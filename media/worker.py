"""Media forwarding in worker processes: one event loop per core, each lesson pinned to one.

One Python event loop is one core. The socket.io process keeps deciding who may do what
(media/rooms.py) and relays each media request (media/workers.py) to the worker that holds
the lesson's MediaRoom; the worker answers with plain strings and dicts. Requests and answers
are JSON, one object a line, over the worker's stdin and stdout:

    → {"id": 7, "lesson": "L1", "op": "subscribe", "args": {"pid": "p2", "mode": "video"}}
    ← {"id": 7, "ok": "v=0…"}          or   ← {"id": 7, "error": ["bad-mode", "…"]}

A worker also sends news nobody asked for, without an id: a lesson's recording failed or
resumed (media/recorder.py), `{"event": "recording", "lesson": "L1", "state": "failed",
"reason": "disk-full"}`.

WebRTC itself (ICE, DTLS, SRTP) goes straight between browsers and the worker's UDP sockets.
A worker reads until its stdin closes — when the server stops, and also when the server is
killed — then closes its rooms and exits: a worker never outlives its server. A worker that
dies is started again on the next request; the lessons it held lose their media connections
(the server tells their clients, with `media_restart`, to offer anew) and are pinned afresh.
A worker that hangs instead (alive, answering nothing) is found by a ping every
`[media] worker_ping_s` that must be answered within `worker_ping_timeout_s`: it is killed,
and from there it is a dead one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from media.connections import MAX_PEERS
from media.errors import MediaError
from media.recorder import RecordingOptions
from media.room import MediaRoom

log = logging.getLogger(__name__)

LINE_LIMIT = 16 * 1024 * 1024  # an SDP is a few KB; a stats answer for a big class more
READY = "ready"


@dataclass(frozen=True)
class RoomOptions:
    """What every MediaRoom of a worker is made with (from `[media]`)."""

    ice_servers: tuple[dict[str, Any], ...] = ()
    ice_host_addresses: tuple[str, ...] = ()
    ice_accept_remote_ips: tuple[str, ...] = ()
    max_peers: int = MAX_PEERS

    def to_json(self) -> str:
        return json.dumps(
            {
                "ice_servers": list(self.ice_servers),
                "ice_host_addresses": list(self.ice_host_addresses),
                "ice_accept_remote_ips": list(self.ice_accept_remote_ips),
                "max_peers": self.max_peers,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> RoomOptions:
        raw = json.loads(text)
        return cls(
            tuple(raw["ice_servers"]),
            tuple(raw["ice_host_addresses"]),
            tuple(raw["ice_accept_remote_ips"]),
            int(raw["max_peers"]),
        )


Op = Callable[[MediaRoom, dict[str, Any]], Awaitable[Any]]


def recording_options(args: dict[str, Any]) -> RecordingOptions:
    """`record`'s arguments: the lesson's folder, its segment length and the retry period."""
    return RecordingOptions(Path(args["folder"]), float(args["segment_s"]), float(args["retry_s"]))


async def _publish(room: MediaRoom, a: dict[str, Any]) -> Any:
    return await room.publish(
        a["pid"], a["sdp"], a["allowed"], seat=a["seat"], track_kinds=a.get("track_kinds")
    )


async def _receiving(room: MediaRoom, a: dict[str, Any]) -> Any:
    return {pid: room.receiving(pid) for pid in a["pids"]}


async def _stats(room: MediaRoom, a: dict[str, Any]) -> Any:
    return room.stats()


async def _stop_recording(room: MediaRoom, a: dict[str, Any]) -> Any:
    await room.stop_recording()


OPS: dict[str, Op] = {
    "publish": _publish,
    "unpublish": lambda room, a: room.unpublish(a["pid"]),
    "subscribe": lambda room, a: room.subscribe(a["pid"], a["mode"]),
    "set_mode": lambda room, a: room.set_mode(a["pid"], a["mode"]),
    "subscriber_answer": lambda room, a: room.subscriber_answer(a["pid"], a["sdp"]),
    "add_ice_candidate": lambda room, a: room.add_ice_candidate(
        a["pid"], a["direction"], a["candidate"]
    ),
    "remove": lambda room, a: room.remove(a["pid"]),
    "receiving": _receiving,
    "stats": _stats,
    "stop_recording": _stop_recording,
}


class Worker:
    """The rooms of one worker process and the requests it is answering."""

    def __init__(self, options: RoomOptions, send: Callable[[dict[str, Any]], None]) -> None:
        self.options = options
        self.send = send
        self.rooms: dict[str, MediaRoom] = {}
        self.tasks: set[asyncio.Task[None]] = set()

    def room(self, lesson_id: str) -> MediaRoom:
        if lesson_id not in self.rooms:
            self.rooms[lesson_id] = MediaRoom(
                ice_servers=self.options.ice_servers,
                ice_host_addresses=self.options.ice_host_addresses,
                ice_accept_remote_ips=self.options.ice_accept_remote_ips,
                max_peers=self.options.max_peers,
            )
        return self.rooms[lesson_id]

    def receive(self, line: bytes) -> None:
        """Answer one request line in a task of its own: a slow answer blocks no other."""
        task = asyncio.create_task(self._answer(json.loads(line)))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _answer(self, request: dict[str, Any]) -> None:
        rid, lesson_id, op = request["id"], str(request["lesson"]), str(request["op"])
        try:
            result = await self.perform(lesson_id, op, request.get("args") or {})
        except MediaError as error:
            self.send({"id": rid, "error": [error.code, str(error)]})
        except Exception:
            log.exception("media request %s for lesson %s failed", op, lesson_id)
            self.send({"id": rid, "error": ["media-failed", "Media forwarding failed."]})
        else:
            self.send({"id": rid, "ok": result})

    async def perform(self, lesson_id: str, op: str, args: dict[str, Any]) -> Any:
        if op == "close":  # the lesson is over
            room = self.rooms.pop(lesson_id, None)
            if room is not None:
                await room.close()
            return None
        if op == "lessons":
            return sorted(self.rooms)
        if op == "ping":  # answered by the event loop: a hung loop answers nothing
            return "pong"
        if op == "record":  # its failures and recoveries come later, as "recording" events
            self.room(lesson_id).record(recording_options(args), partial(self._told, lesson_id))
            return None
        if op not in OPS:
            raise MediaError("bad-request", f"There is no media operation {op!r}.")
        return await OPS[op](self.room(lesson_id), args)

    def _told(self, lesson_id: str, state: str, reason: str) -> None:
        """The recorder's news, unasked: `{"event": "recording", "lesson", "state", "reason"}`."""
        self.send({"event": "recording", "lesson": lesson_id, "state": state, "reason": reason})

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        for room in self.rooms.values():
            await room.close()
        self.rooms.clear()


async def worker_main() -> None:
    """Serve requests from stdin until it closes; every answer is one line on stdout.

    The server checked aiortc's internals before starting (the same installed files).
    """
    loop = asyncio.get_running_loop()
    # The protocol owns the real stdout; a stray print from a library goes to stderr instead.
    out_fd = os.dup(1)
    os.dup2(2, 1)
    reader = asyncio.StreamReader(limit=LINE_LIMIT)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    transport, protocol = await loop.connect_write_pipe(
        asyncio.streams.FlowControlMixin, os.fdopen(out_fd, "wb")
    )
    writer = asyncio.StreamWriter(transport, protocol, reader, loop)

    def send(message: dict[str, Any]) -> None:
        writer.write(json.dumps(message, separators=(",", ":")).encode() + b"\n")

    options = RoomOptions.from_json((await reader.readline()).decode())
    worker = Worker(options, send)
    send({"id": 0, "ok": READY})
    try:
        while line := await reader.readline():
            worker.receive(line)
    finally:
        await worker.close()
        with contextlib.suppress(Exception):
            await writer.drain()
            writer.close()


if __name__ == "__main__":
    # Ctrl-C in a terminal reaches the whole process group: the server stops its workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(
        level=os.environ.get("SABAK_MEDIA_LOG_LEVEL", "WARNING"),
        format="%(asctime)s media-worker[%(process)d] %(levelname)s %(name)s: %(message)s",
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(worker_main())
