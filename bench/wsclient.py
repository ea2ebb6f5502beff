"""A minimal Socket.IO 5 / Engine.IO 4 client on one aiohttp WebSocket, for load generation."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from typing import Any

import aiohttp

# Engine.IO packet types (first character of a text frame) and Socket.IO types (second).
EIO_OPEN, EIO_CLOSE, EIO_PING, EIO_PONG, EIO_MESSAGE = "0", "1", "2", "3", "4"
SIO_CONNECT, SIO_DISCONNECT, SIO_EVENT, SIO_ACK, SIO_CONNECT_ERROR = "0", "1", "2", "3", "4"


class ProtocolError(Exception):
    """The server sent something this client does not expect, or refused the connection."""


class WsClient:
    """One participant speaking the lesson protocol over a direct WebSocket (no polling).

    It does what socketio.AsyncClient does for our events — namespace connect with `auth`,
    acks for `call`, answering Engine.IO pings — at a fraction of the memory and CPU, so that
    one process can hold a thousand of them. Events named in `watch` are kept with their
    arrival time (and `notify` is set); every event is counted by name.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        auth: dict[str, Any],
        *,
        compress: bool = True,
        watch: frozenset[str] = frozenset(),
        notify: asyncio.Event | None = None,
    ) -> None:
        self.session, self.auth, self.compress, self.watch = session, auth, compress, watch
        self.notify = notify  # set on every watched arrival
        self.url = base_url.rstrip("/") + "/socket.io/?EIO=4&transport=websocket"
        self.arrivals: list[tuple[float, str, Any]] = []
        self.counts: Counter[str] = Counter()
        self.closed_by_server = False
        self.error: Exception | None = None  # what ended the reader, if not a plain close
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._acks: dict[int, asyncio.Future[Any]] = {}
        self._next_ack = 0
        self._connected: asyncio.Future[dict[str, Any]] | None = None
        self._reader: asyncio.Task[None] | None = None

    async def connect(self, timeout: float = 10) -> dict[str, Any]:
        """Open the WebSocket and connect to the "/" namespace; returns the server's reply."""
        async with asyncio.timeout(timeout):
            # compress=15 makes the same permessage-deflate offer a browser makes.
            self._ws = await self.session.ws_connect(
                self.url, compress=15 if self.compress else 0, autoping=True, max_msg_size=0
            )
            _expect_open(await self._ws.receive_str())
            self._connected = asyncio.get_running_loop().create_future()
            self._reader = asyncio.create_task(self._read())
            await self._ws.send_str(EIO_MESSAGE + SIO_CONNECT + json.dumps(self.auth))
            return await self._connected

    async def call(self, event: str, data: Any = None, timeout: float = 10) -> Any:
        """Emit an event with an ack id and wait for the ack's first argument."""
        assert self._ws is not None, "connect first"
        ack_id, self._next_ack = self._next_ack, self._next_ack + 1
        future = self._acks[ack_id] = asyncio.get_running_loop().create_future()
        args = [event] if data is None else [event, data]
        try:
            await self._ws.send_str(f"{EIO_MESSAGE}{SIO_EVENT}{ack_id}{json.dumps(args)}")
            async with asyncio.timeout(timeout):
                reply = await future
        finally:
            self._acks.pop(ack_id, None)
        return reply[0] if reply else None

    async def close(self) -> None:
        """Disconnect from the namespace like a leaving client, then close the WebSocket."""
        ws = self._ws
        if ws is not None and not ws.closed:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.send_str(EIO_MESSAGE + SIO_DISCONNECT)
            await ws.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    async def _read(self) -> None:
        assert self._ws is not None
        try:
            async for msg in self._ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    await self._on_packet(msg.data)
        except (ProtocolError, ValueError, IndexError, ConnectionError) as exc:
            self.error = exc  # a malformed packet: the benchmark reports it
            await self._ws.close()
        finally:
            self._fail_pending(ProtocolError("the connection closed"))

    async def _on_packet(self, packet: str) -> None:
        kind = packet[:1]
        if kind == EIO_PING:
            assert self._ws is not None
            await self._ws.send_str(EIO_PONG + packet[1:])
        elif kind == EIO_MESSAGE:
            self._on_socketio(packet[1:])
        elif kind == EIO_CLOSE:
            self.closed_by_server = True

    def _on_socketio(self, packet: str) -> None:
        kind, body = packet[:1], packet[1:]
        handler = _SOCKETIO_HANDLERS.get(kind)
        if handler is None:
            raise ProtocolError(f"unexpected Socket.IO packet {packet[:40]!r}")
        handler(self, body)

    def _on_event(self, body: str) -> None:
        args = json.loads(body)
        name = args[0]
        self.counts[name] += 1
        if name in self.watch:
            self.arrivals.append((time.time(), name, args[1] if len(args) > 1 else None))
            if self.notify is not None:
                self.notify.set()

    def _on_ack(self, body: str) -> None:
        digits = body[: body.index("[")]
        future = self._acks.get(int(digits))
        if future is not None and not future.done():
            future.set_result(json.loads(body[len(digits) :]))

    def _on_connect(self, body: str) -> None:
        if self._connected is not None and not self._connected.done():
            self._connected.set_result(json.loads(body) if body else {})

    def _on_connect_error(self, body: str) -> None:
        if self._connected is not None and not self._connected.done():
            self._connected.set_exception(ProtocolError(f"connection refused: {body}"))

    def _on_disconnect(self, body: str) -> None:
        self.closed_by_server = True

    def _fail_pending(self, error: Exception) -> None:
        futures = [*self._acks.values(), *([self._connected] if self._connected else [])]
        for future in futures:
            if not future.done():
                future.set_exception(error)


_SOCKETIO_HANDLERS = {
    SIO_EVENT: WsClient._on_event,
    SIO_ACK: WsClient._on_ack,
    SIO_CONNECT: WsClient._on_connect,
    SIO_CONNECT_ERROR: WsClient._on_connect_error,
    SIO_DISCONNECT: WsClient._on_disconnect,
}


def _expect_open(packet: str) -> dict[str, Any]:
    if not packet.startswith(EIO_OPEN):
        raise ProtocolError(f"expected an Engine.IO open packet, got {packet[:40]!r}")
    return json.loads(packet[1:])  # type: ignore[no-any-return]
