"""Experimental launcher: `sabak serve` with broadcast-path levers patched in (bench only)."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Iterable
from typing import Any

import engineio.async_drivers.aiohttp as eio_aiohttp
import engineio.async_socket
from aiohttp import WSMsgType, web
from aiohttp._websocket.helpers import PACK_LEN1, PACK_LEN2, PACK_LEN3
from engineio import exceptions as eio_exceptions
from engineio import packet as eio_packet
from socketio import packet as sio_packet
from socketio.async_manager import AsyncManager

# SABAK_BENCH_LEVERS, comma-separated:
#   nodeflate  decline permessage-deflate (no per-socket zlib state, no per-frame deflate)
#   threshold  deflate negotiated, but frames under THRESHOLD bytes go uncompressed (RFC 7692
#              allows it per message: RSV1 unset), as Node's ws does by default
#   direct     a broadcast puts its packet on each recipient's queue itself: no asyncio task
#              per recipient (python-socketio's AsyncManager.emit makes one)
#   poll       each socket's writer waits on its queue under asyncio.timeout instead of
#              asyncio.wait_for (which on 3.11 wraps every wait in one more task)
#   frame      (with direct) the WebSocket frame of a broadcast is built once and its bytes
#              written to every socket that takes it uncompressed
#   write      (with frame) a socket whose writer is idle gets the frame written straight to
#              its transport by the broadcast, without waking the writer
LEVERS = frozenset(filter(None, os.environ.get("SABAK_BENCH_LEVERS", "").split(",")))
KNOWN = frozenset({"nodeflate", "threshold", "direct", "poll", "frame", "write"})
THRESHOLD = 1024
_original_emit = AsyncManager.emit
_original_ws_send = eio_aiohttp.WebSocket.send


class Preframed(str):
    """An Engine.IO packet's text that also carries its whole unmasked WebSocket frame."""

    _frame: bytes | None = None

    @property
    def frame(self) -> bytes:
        if self._frame is None:
            self._frame = ws_frame(self.encode("utf-8"))
        return self._frame


def ws_frame(payload: bytes) -> bytes:
    """A final, unmasked, uncompressed text frame (what aiohttp's writer would build)."""
    first, size = 0x80 | WSMsgType.TEXT, len(payload)
    if size < 126:
        return PACK_LEN1(first, size) + payload
    if size < 65536:
        return PACK_LEN2(first, 126, size) + payload
    return PACK_LEN3(first, 127, size) + payload


def takes_plain(ws: web.WebSocketResponse, size: int) -> bool:
    """Whether a frame of `size` payload bytes goes to this socket uncompressed."""
    writer = ws._writer
    if writer is None:
        return False
    return not writer.compress or ("threshold" in LEVERS and size < THRESHOLD)


def write_now(ws: web.WebSocketResponse, frame: bytes) -> bool:
    """Write a ready frame to the transport if nothing stands in the way; False otherwise."""
    writer = ws._writer
    if writer is None or writer._closing or writer.transport.is_closing():
        return False
    if writer.protocol._paused:
        return False  # the peer is slow: let the socket's writer wait for the drain
    writer.transport.write(frame)
    return True


async def ws_send(self: Any, message: Any) -> None:
    """engine.io's aiohttp WebSocket.send: ready frames as they are, small ones uncompressed."""
    ws: web.WebSocketResponse = self._sock
    if isinstance(message, Preframed):
        if takes_plain(ws, len(message.frame)):
            await _write_with_drain(ws, message.frame)
            return
    elif isinstance(message, str) and "threshold" in LEVERS:
        data = message.encode("utf-8")
        if takes_plain(ws, len(data)):
            await _write_with_drain(ws, ws_frame(data))
            return
    await _original_ws_send(self, message)


async def _write_with_drain(ws: web.WebSocketResponse, frame: bytes) -> None:
    writer = ws._writer
    assert writer is not None
    if writer._closing or writer.transport.is_closing():
        raise ConnectionResetError("Cannot write to closing transport")
    writer.transport.write(frame)
    writer._output_size += len(frame)
    if writer._output_size > writer._limit:
        writer._output_size = 0
        if writer.protocol._paused:
            await writer.protocol._drain_helper()


async def ws_call(self: Any, environ: dict[str, Any]) -> web.WebSocketResponse:
    """engine.io's aiohttp WebSocket.__call__, with our deflate choice and a back-reference."""
    request = environ["aiohttp.request"]
    compress = "nodeflate" not in LEVERS
    ws = self._sock = web.WebSocketResponse(
        max_msg_size=self.server.max_http_buffer_size, compress=compress
    )
    await ws.prepare(request)
    self.environ = environ
    owner = getattr(self.handler, "__self__", None)
    if owner is not None:
        owner.sabak_ws = ws  # the engine.io socket finds its WebSocket
    await self.handler(self)
    return ws


async def poll(self: Any) -> list[Any]:
    """AsyncSocket.poll without asyncio.wait_for's extra task per wake-up."""
    queue: asyncio.Queue[Any] = self.queue
    try:
        if queue.empty():
            async with asyncio.timeout(self.server.ping_interval + self.server.ping_timeout):
                first = await queue.get()
        else:
            first = queue.get_nowait()
        queue.task_done()
    except (TimeoutError, asyncio.CancelledError):
        raise eio_exceptions.QueueEmpty() from None
    if first is None:
        return []
    packets = [first]
    while not queue.empty():
        pkt = queue.get_nowait()
        queue.task_done()
        if pkt is None:
            queue.put_nowait(None)
            break
        packets.append(pkt)
    return packets


async def emit(
    self: AsyncManager, event: str, data: Any, namespace: str, room: Any = None,
    skip_sid: Any = None, callback: Any = None, to: Any = None, ignore_queue: bool = False,
) -> None:  # fmt: skip
    """AsyncManager.emit for plain broadcasts: each recipient's queue gets the packet directly."""
    if callback is not None or namespace not in self.rooms:
        await _original_emit(self, event, data, namespace, room, skip_sid, callback, to)
        return
    args = list(data) if isinstance(data, tuple) else [] if data is None else [data]
    encoded = self.server.packet_class(
        sio_packet.EVENT, namespace=namespace, data=[event, *args]
    ).encode()
    if isinstance(encoded, list):  # binary attachments: the library's way
        await _original_emit(self, event, data, namespace, room, skip_sid, callback, to)
        return
    pkt = eio_packet.Packet(eio_packet.MESSAGE, encoded)
    if "frame" in LEVERS:
        pkt.encode_cache = Preframed(pkt.encode())
    skip = set(skip_sid) if isinstance(skip_sid, list) else {skip_sid}
    late = _deliver(self, pkt, (e for s, e in self.get_participants(namespace, to or room)
                                if s not in skip))  # fmt: skip
    for sock in late:
        await sock.send(pkt)  # the library's path: it closes sockets whose pings timed out


def _deliver(manager: AsyncManager, pkt: Any, eio_sids: Iterable[str]) -> list[Any]:
    """Queue (or write) the packet for every socket; returns those needing the slow path."""
    sockets, late = manager.server.eio.sockets, []
    deadline = time.time() - manager.server.eio.ping_timeout
    write = "write" in LEVERS and isinstance(pkt.encode_cache, Preframed)
    for eio_sid in eio_sids:
        sock = sockets.get(eio_sid)
        if sock is None or sock.closed:
            continue
        if sock.last_ping and sock.last_ping < deadline:
            late.append(sock)
        elif not (write and _write_idle(sock, pkt.encode_cache)):
            sock.queue.put_nowait(pkt)
    return late


def _write_idle(sock: Any, text: Preframed) -> bool:
    """Write straight to the socket if its writer waits on an empty queue (order is kept)."""
    ws = getattr(sock, "sabak_ws", None)
    if ws is None or sock.upgrading or not sock.queue.empty() or not sock.queue._getters:
        return False
    return takes_plain(ws, len(text.frame)) and write_now(ws, text.frame)


def apply() -> None:
    unknown = LEVERS - KNOWN
    if unknown:
        sys.exit(f"unknown levers: {', '.join(sorted(unknown))} (known: {', '.join(KNOWN)})")
    eio_aiohttp.WebSocket.__call__ = ws_call
    if LEVERS & {"threshold", "frame"}:
        eio_aiohttp.WebSocket.send = ws_send
    if "poll" in LEVERS:
        engineio.async_socket.AsyncSocket.poll = poll
    if "direct" in LEVERS:
        AsyncManager.emit = emit


def main() -> None:
    apply()
    from server.cli import main as sabak_main

    print(f"sabak with levers: {', '.join(sorted(LEVERS)) or 'none'}", flush=True)
    sabak_main(sys.argv[1:])


if __name__ == "__main__":
    main()
