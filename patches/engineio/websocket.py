"""engine.io's aiohttp WebSocket, ours: the deflate choice, ready frames, frames checked.

`use_sabak_websocket` makes this server's engine.io use it: it picks the deflate setting,
knows its socket's transport (for direct writes, patches/engineio/delivery.py), makes its
socket's writer tell when it waits on an empty queue, and refuses a frame that is not an
Engine.IO text packet (patches/engineio/inbound.py) before engine.io parses it.
"""

from __future__ import annotations

import asyncio
import logging
import types
from typing import Any

import engineio.async_drivers.aiohttp as eio_aiohttp
import socketio
from aiohttp import web
from aiohttp.base_protocol import BaseProtocol
from engineio import exceptions as eio_exceptions
from engineio.async_socket import AsyncSocket

from patches.engineio.delivery import Framed
from patches.engineio.inbound import frame_problem

log = logging.getLogger(__name__)


class SabakWebSocket(eio_aiohttp.WebSocket):  # type: ignore[misc]
    """engine.io's aiohttp WebSocket with our deflate choice, writing ready frames.

    `use_sabak_websocket` makes a subclass per server with `compress` set from the settings.
    """

    compress = False

    _transport: asyncio.Transport | None = None
    _protocol: BaseProtocol | None = None

    async def __call__(self, environ: dict[str, Any]) -> web.WebSocketResponse:
        request = environ["aiohttp.request"]
        ws = self._sock = web.WebSocketResponse(
            max_msg_size=self.server.max_http_buffer_size, compress=self.compress
        )
        await ws.prepare(request)
        self.environ = environ
        self._transport, self._protocol = request.transport, request.protocol
        sock = getattr(self.handler, "__self__", None)
        if not isinstance(sock, AsyncSocket):  # not engine.io's socket: no direct writes
            await self.handler(self)
            return ws
        # This socket's writer polls with _poll, which says when it waits; set on the
        # instance (this server's WebSocket sockets only), never on the AsyncSocket class.
        sock.poll = types.MethodType(_poll, sock)
        sock.sabak_websocket = self
        try:
            await self.handler(self)
        finally:
            sock.sabak_websocket = None
        return ws

    def abort(self) -> None:
        """Abort the WebSocket's own TCP connection, if it has one yet."""
        if self._transport is not None:
            self._transport.abort()

    def write_now(self, frame: bytes) -> bool:
        """Write a whole frame to the transport if it can take it now; False if not written."""
        if not self._ready():
            return False
        assert self._transport is not None
        self._transport.write(frame)
        return True

    def _ready(self) -> bool:
        """Open, without deflate (not offered, or declined), and the peer keeps up.

        When asyncio pauses writing (the peer's buffer is over its high-water mark) frames go
        through aiohttp's writer, which waits for the drain: a slow client's packets then pile
        up in its queue, where drop_slow sees them.
        """
        ws, transport, protocol = self._sock, self._transport, self._protocol
        return not (
            ws is None
            or transport is None
            or protocol is None
            or ws.compress
            or ws.closed
            or transport.is_closing()
            or protocol.writing_paused
        )

    async def wait(self) -> Any:
        """The next frame, or None (the session ends) for a frame Sabak refuses: binary or
        not an Engine.IO packet. Only text reaches engine.io's parser."""
        frame = await super().wait()
        problem = frame_problem(frame)
        if problem is None:
            return frame
        sock = getattr(self.handler, "__self__", None)
        peer = self._transport.get_extra_info("peername") if self._transport else None
        log.warning("closed %s from %s: %s", getattr(sock, "sid", "?"), peer, problem)
        if self._transport is not None:
            self._transport.abort()
        return None

    async def send(self, message: Any) -> None:
        if isinstance(message, Framed) and self.write_now(message.frame):
            return
        await super().send(message)


async def _poll(self: AsyncSocket) -> list[Any]:
    """AsyncSocket.poll that says while it waits on an empty queue, without asyncio.wait_for.

    `sabak_polling` is true only while the writer waits in `queue.get()` on an empty queue:
    then a direct write overtakes nothing. (wait_for also wraps every wait in one more task
    on Python 3.11; asyncio.timeout does not.)
    """
    queue: asyncio.Queue[Any] = self.queue
    try:
        if queue.empty():
            self.sabak_polling = True
            try:
                async with asyncio.timeout(self.server.ping_interval + self.server.ping_timeout):
                    first = await queue.get()
            finally:
                self.sabak_polling = False
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


def use_sabak_websocket(sio: socketio.AsyncServer, compress: bool) -> None:
    """This server's engine.io uses SabakWebSocket (deflate as given); idempotent.

    Only this server's table of transports changes (a copy of the driver's): other servers
    in the process, and the AsyncSocket class, are left as they are.
    """
    websocket = type("SabakWebSocket", (SabakWebSocket,), {"compress": compress})
    sio.eio._async = {**sio.eio._async, "websocket": websocket}
