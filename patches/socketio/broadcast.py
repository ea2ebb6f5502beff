"""Broadcasts built once: one WebSocket frame per message, written to each idle socket directly.

python-socketio's `AsyncManager.emit` makes one asyncio task per recipient, each of which
queues the packet for the socket's writer task, which wakes, builds the frame (and deflates it
for that socket) and writes it. At 1,000 students that was most of the server's CPU
(bench/compare.py, docs/benchmarks.md). Here a plain broadcast (no ack callback, no binary
attachment) encodes its packet once and builds its frame once; each recipient then gets it
through `patches.engineio.delivery.deliver`: written straight to the transport when the
socket's writer waits on an empty queue (nothing queued earlier can be overtaken), else
queued for the writer, which writes the same bytes. Acks and binary emits take the library's
path unchanged, and so do all the packets engine.io and socket.io send on their own (connect,
acks, pings, close): they go through the queue, which a direct write never overtakes.

Every library internal this relies on is listed in `patches/socketio/check.py` (socket.io's)
and `patches/engineio/check.py` (engine.io's), both checked at start.
"""

from __future__ import annotations

from typing import Any

import socketio
from engineio import packet as eio_packet
from socketio import packet as sio_packet

from patches.engineio import delivery


class DirectEmit(socketio.AsyncManager):  # type: ignore[misc]
    """`emit` without a task per recipient; use `manager_class` to combine it with pub/sub."""

    async def emit(
        self, event: str, data: Any, namespace: str, room: Any = None, skip_sid: Any = None,
        callback: Any = None, to: Any = None, **kwargs: Any,
    ) -> None:  # fmt: skip
        room = to or room
        if callback is not None or namespace not in self.rooms:
            await super().emit(event, data, namespace, room=room, skip_sid=skip_sid,
                               callback=callback, **kwargs)  # fmt: skip
            return
        # as AsyncManager.emit: a tuple is several arguments, anything else one
        args = list(data) if isinstance(data, tuple) else [] if data is None else [data]
        encoded = self.server.packet_class(
            sio_packet.EVENT, namespace=namespace, data=[event, *args]
        ).encode()
        if isinstance(encoded, list):  # binary attachments: several packets, the library's way
            await super().emit(event, data, namespace, room=room, skip_sid=skip_sid, **kwargs)
            return
        pkt = eio_packet.Packet(eio_packet.MESSAGE, encoded)
        pkt.encode_cache = delivery.Framed(pkt.encode())
        skip = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        recipients = [e for s, e in self.get_participants(namespace, room) if s not in skip]
        await delivery.deliver(self.server.eio, pkt, recipients)


def manager_class(base: type[socketio.AsyncManager]) -> type[socketio.AsyncManager]:
    """`base` (AsyncManager, AsyncRedisManager…) with direct broadcasts.

    For a pub/sub manager the direct emit sits below it in the MRO: `emit` still publishes to
    Redis, and each process's delivery to its own sockets (the pub/sub manager's call to
    `super().emit` in `_handle_emit`) is the direct one.
    """
    if not issubclass(base, socketio.AsyncManager):
        raise TypeError(f"{base.__name__} is not a socketio.AsyncManager")
    if issubclass(base, DirectEmit):
        return base
    if base is socketio.AsyncManager:
        return DirectEmit
    return type(f"Direct{base.__name__}", (base, DirectEmit), {})
