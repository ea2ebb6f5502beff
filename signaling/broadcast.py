"""Broadcasts built once: one WebSocket frame per message, written to each idle socket directly.

python-socketio's `AsyncManager.emit` makes one asyncio task per recipient, each of which
queues the packet for the socket's writer task, which wakes, builds the frame (and deflates it
for that socket) and writes it. At 1,000 students that is most of the server's CPU (bench/
compare.py, docs/benchmarks.md). Here a plain broadcast (no ack callback) encodes its packet
once, builds its frame once, and for every recipient either writes the frame to the transport
at once — when the socket's writer is idle on an empty queue, so order is kept — or queues it
for the writer, which then writes the same bytes. Acks, connects and single-socket emits take
the library's path unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import socketio
from aiohttp import WSMsgType, web
from aiohttp._websocket.helpers import PACK_LEN1, PACK_LEN2, PACK_LEN3
from engineio import packet as eio_packet
from socketio import packet as sio_packet


class Framed(str):
    """An Engine.IO packet's text that also carries its unmasked WebSocket frame, built once."""

    _frame: bytes | None = None

    @property
    def frame(self) -> bytes:
        if self._frame is None:
            self._frame = text_frame(self.encode("utf-8"))
        return self._frame


def text_frame(payload: bytes) -> bytes:
    """A final, unmasked, uncompressed text frame, as aiohttp's writer builds it."""
    first, size = 0x80 | WSMsgType.TEXT, len(payload)
    if size < 126:
        return PACK_LEN1(first, size) + payload
    if size < 65536:
        return PACK_LEN2(first, 126, size) + payload
    return PACK_LEN3(first, 127, size) + payload


def writable(ws: web.WebSocketResponse | None) -> bool:
    """An open, uncompressed WebSocket whose peer is keeping up (not paused for a drain)."""
    writer = None if ws is None else ws._writer
    if writer is None or writer.compress or writer._closing:
        return False
    return not writer.transport.is_closing() and not writer.protocol._paused


class DirectEmit(socketio.AsyncManager):  # type: ignore[misc]
    """`emit` without a task per recipient; mix in before AsyncManager (see `manager_class`)."""

    async def emit(
        self, event: str, data: Any, namespace: str, room: Any = None, skip_sid: Any = None,
        callback: Any = None, to: Any = None, ignore_queue: bool = False, **kwargs: Any,
    ) -> None:  # fmt: skip
        if callback is not None or kwargs or namespace not in self.rooms:
            await super().emit(event, data, namespace, room=room, skip_sid=skip_sid,
                               callback=callback, to=to, **kwargs)  # fmt: skip
            return
        args = list(data) if isinstance(data, tuple) else [] if data is None else [data]
        encoded = self.server.packet_class(
            sio_packet.EVENT, namespace=namespace, data=[event, *args]
        ).encode()
        if isinstance(encoded, list):  # binary attachments: the library's way
            await super().emit(event, data, namespace, room=room, skip_sid=skip_sid, to=to)
            return
        pkt = eio_packet.Packet(eio_packet.MESSAGE, encoded)
        pkt.encode_cache = Framed(pkt.encode())
        skip = set(skip_sid) if isinstance(skip_sid, list) else {skip_sid}
        targets = (e for s, e in self.get_participants(namespace, to or room) if s not in skip)
        for sock in self._deliver(pkt, targets):
            await sock.send(pkt)  # the library's path: it closes sockets whose pings timed out

    def _deliver(self, pkt: Any, eio_sids: Iterable[str]) -> list[Any]:
        """Write or queue the packet for each socket; returns those that need the slow path."""
        sockets, late = self.server.eio.sockets, []
        deadline = time.time() - self.server.eio.ping_timeout
        for eio_sid in eio_sids:
            sock = sockets.get(eio_sid)
            if sock is None or sock.closed:
                continue
            if sock.last_ping and sock.last_ping < deadline:
                late.append(sock)
            elif not _write_if_idle(sock, pkt.encode_cache):
                sock.queue.put_nowait(pkt)
        return late


def _write_if_idle(sock: Any, text: Framed) -> bool:
    """Write now if the socket's writer waits on an empty queue: nothing can overtake it."""
    if sock.upgrading or not sock.queue.empty() or not sock.queue._getters:
        return False
    ws = getattr(sock, "websocket", None)
    if ws is None or ws._writer is None or not writable(ws):
        return False
    ws._writer.transport.write(text.frame)
    return True


def manager_class(base: type[socketio.AsyncManager]) -> type[socketio.AsyncManager]:
    """`base` (AsyncManager, AsyncRedisManager…) with direct broadcasts.

    For a pub/sub manager the direct emit sits below it in the MRO: `emit` still publishes to
    Redis, and each process's delivery to its own sockets (the pub/sub manager's call to
    `super().emit`) is the direct one.
    """
    if base is socketio.AsyncManager:
        return DirectEmit
    return type(f"Direct{base.__name__}", (base, DirectEmit), {})
