"""Dropping clients' transports: all of them at a restart, and those that stopped reading.

engine.io has no public call to drop one client's transport so that it reconnects by itself,
nor to see how much is queued for it; both are needed: to restart without telling clients to
go away, and to cut off a client that stopped reading before its queue eats the memory.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import socketio

log = logging.getLogger(__name__)


def _sockets(sio: socketio.AsyncServer) -> list[Any]:
    return list(sio.eio.sockets.values())


async def drop_transport(sio: socketio.AsyncServer, sock: Any) -> None:
    """Close one client's transport without an engine.io goodbye: the client reconnects.

    The TCP connection is aborted too: a writer blocked on a client that stopped reading
    would otherwise wait on it for as long as the client keeps the connection open.
    """
    request = (sio.environ.get(sock.sid) or {}).get("aiohttp.request")
    transport = getattr(request, "transport", None)
    await sock.close(wait=False, abort=True)
    sock.queue.put_nowait(None)  # ends the socket's writer, which closes the WebSocket
    if transport is not None:
        transport.abort()


async def drop_all(sio: socketio.AsyncServer) -> None:
    for sock in _sockets(sio):
        await drop_transport(sio, sock)


async def drop_slow(sio: socketio.AsyncServer, max_queued: int) -> list[str]:
    """Drop the clients with more than `max_queued` packets waiting: they stopped reading.

    With direct broadcasts a client that stops reading first fills its transport's buffer
    (asyncio pauses writing at its high-water mark); from then on its packets are queued.
    """
    slow = [s for s in _sockets(sio) if not s.closed and s.queue.qsize() > max_queued]
    for sock in slow:
        log.warning("client %s stopped reading (%d queued): dropped", sock.sid, sock.queue.qsize())
        await drop_transport(sio, sock)
    return [s.sid for s in slow]


async def watch_slow(sio: socketio.AsyncServer, max_queued: int, every_s: float = 1.0) -> None:
    while True:
        await asyncio.sleep(every_s)
        try:
            await drop_slow(sio, max_queued)
        except Exception:
            log.exception("slow-client watch failed; it goes on")
