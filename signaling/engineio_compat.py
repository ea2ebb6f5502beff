"""Every touch of python-engineio internals, in one place, checked at start.

engine.io has no public call to drop one client's transport (so it reconnects by itself) or
to see how much is queued for it; both are needed: to restart without telling clients to go
away, and to cut off a client that stopped reading before its queue eats the memory.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from typing import Any

import engineio
import engineio.async_drivers.aiohttp as eio_aiohttp
import socketio
from aiohttp import web
from engineio import exceptions as eio_exceptions
from engineio.async_socket import AsyncSocket

from signaling.broadcast import Framed, writable

log = logging.getLogger(__name__)


class EngineioInternalsChanged(RuntimeError):
    """An upgrade of python-engineio moved what this module relies on."""


def check_internals() -> None:
    from engineio.async_socket import AsyncSocket

    missing = []
    if "abort" not in inspect.signature(AsyncSocket.close).parameters:
        missing.append("AsyncSocket.close(abort=...)")
    if "queue" not in inspect.getsource(AsyncSocket.poll):
        missing.append("AsyncSocket.queue")
    if not hasattr(engineio.AsyncServer(), "sockets"):
        missing.append("AsyncServer.sockets")
    if not hasattr(socketio.AsyncServer(), "environ"):
        missing.append("socketio.AsyncServer.environ")
    if "websocket" not in getattr(engineio.AsyncServer(async_mode="aiohttp"), "_async", {}):
        missing.append("AsyncServer._async['websocket']")
    if "self._sock = WebSocketResponse(" not in inspect.getsource(eio_aiohttp.WebSocket):
        missing.append("async_drivers.aiohttp.WebSocket._sock")
    if missing:
        raise EngineioInternalsChanged(
            f"python-engineio {engineio.__version__ if hasattr(engineio, '__version__') else '?'}"
            f" no longer has {', '.join(missing)}: pin the version in requirements.lock"
        )


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
    """Drop the clients with more than `max_queued` packets waiting: they stopped reading."""
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


# -- the WebSocket transport: deflate or not, ready frames, one task less per wake-up ---------


class SabakWebSocket(eio_aiohttp.WebSocket):  # type: ignore[misc]
    """engine.io's aiohttp WebSocket: our deflate choice, and frames built once per broadcast."""

    compress = False  # permessage-deflate: a zlib state per socket (~110 KB) and per frame

    async def __call__(self, environ: dict[str, Any]) -> web.WebSocketResponse:
        ws = self._sock = web.WebSocketResponse(
            max_msg_size=self.server.max_http_buffer_size, compress=self.compress
        )
        await ws.prepare(environ["aiohttp.request"])
        self.environ = environ
        owner = getattr(self.handler, "__self__", None)
        if owner is not None:
            owner.websocket = ws  # signaling.broadcast writes ready frames to it
        await self.handler(self)
        return ws

    async def send(self, message: Any) -> None:
        ws = self._sock
        writer = ws._writer
        if isinstance(message, Framed) and writer is not None and writable(ws):
            writer.transport.write(message.frame)
            writer._output_size += len(message.frame)
            if writer._output_size > writer._limit:
                writer._output_size = 0
                if writer.protocol._paused:
                    await writer.protocol._drain_helper()
            return
        await super().send(message)


async def _poll(self: AsyncSocket) -> list[Any]:
    """AsyncSocket.poll without asyncio.wait_for, which on 3.11 adds a task per wake-up."""
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


def use_fast_websocket(sio: socketio.AsyncServer, compress: bool) -> None:
    """This server's WebSocket transport is ours; every socket's writer polls without wait_for."""
    websocket = type("SabakWebSocket", (SabakWebSocket,), {"compress": compress})
    sio.eio._async = {**sio.eio._async, "websocket": websocket}
    AsyncSocket.poll = _poll
