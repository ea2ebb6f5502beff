"""Every touch of python-engineio (and aiohttp WebSocket) internals, in one place, checked at start.

engine.io has no public call to drop one client's transport (so it reconnects by itself) or
to see how much is queued for it; both are needed: to restart without telling clients to go
away, and to cut off a client that stopped reading before its queue eats the memory.

It has no way either to send one ready packet to many sockets: `deliver` does, for
`patches.socketio.broadcast` (see there why), writing a broadcast's frame straight to the
transport of each socket whose writer is idle and queueing it for the others. That needs our
own WebSocket class for this server's engine.io (`use_sabak_websocket`): it picks the deflate
setting, knows its socket's transport, and its socket's writer tells when it waits on an empty
queue.

Hostile input is stopped here too (`guard`): socket.io's handlers of engine.io's connect,
message and disconnect are wrapped so that the gate (patches/engineio/gate.py) counts sessions and
every message passes patches/engineio/inbound.py before socket.io parses (or buffers) it; a
violation or a packet socket.io cannot parse closes that connection with one log line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import time
import types
from collections.abc import Callable, Iterable
from typing import Any

import aiohttp
import engineio
import engineio.async_drivers.aiohttp as eio_aiohttp
import socketio
from aiohttp import WSMsgType, web
from aiohttp._websocket.writer import WebSocketWriter
from aiohttp.base_protocol import BaseProtocol
from engineio import exceptions as eio_exceptions
from engineio import packet as eio_packet
from engineio import payload as eio_payload
from engineio.async_socket import AsyncSocket
from engineio.base_socket import BaseSocket
from socketio.async_manager import AsyncManager
from socketio.async_pubsub_manager import AsyncPubSubManager
from socketio.async_server import AsyncServer as SioAsyncServer
from socketio.base_manager import BaseManager
from socketio.base_server import BaseServer as SioBaseServer

from patches import internals
from patches.engineio.gate import TOO_MANY, Gate
from patches.engineio.inbound import frame_problem, message_problem

log = logging.getLogger(__name__)


class EngineioInternalsChanged(RuntimeError):
    """An upgrade of python-engineio, python-socketio or aiohttp moved what we rely on."""


# --- the check ----------------------------------------------------------------------------

# (owner, attribute, code it must contain): instance attributes exist only in __init__'s code.
_SOURCE: internals.Source = (
    # drop_transport, drop_slow, deliver: the socket's state and its outgoing queue
    (
        BaseSocket,
        "__init__",
        (
            "self.queue = self.server.create_queue()",
            "self.last_ping",
            "self.upgrading",
            "self.upgraded",
            "self.closing",
            "self.closed",
        ),
    ),
    # _poll stands in for poll: same queue protocol (None ends the writer) and timeout
    (
        AsyncSocket,
        "poll",
        (
            "self.queue.get()",
            "self.server.ping_interval + self.server.ping_timeout",
            "self.queue.task_done()",
            "raise exceptions.QueueEmpty()",
            "self.queue.put_nowait(None)",
        ),
    ),
    # deliver does what send does: the ping-timeout check, then the queue
    (AsyncSocket, "send", ("await self.check_ping_timeout()", "await self.queue.put(pkt)")),
    (
        AsyncSocket,
        "check_ping_timeout",
        ("time.time() - last_ping > self.server.ping_timeout", "raise exceptions.Socket"),
    ),
    # SabakWebSocket is made by the socket, with its bound handler, from server._async
    (
        AsyncSocket,
        "_upgrade_websocket",
        ("self.server._async['websocket'](", "self._websocket_handler, self.server)"),
    ),
    # the socket's writer: polls, sends each packet's encoding in order, then closes
    (
        AsyncSocket,
        "_websocket_handler",
        (
            "self.upgrading = True",
            "self.upgraded = True",
            "self.upgrading = False",
            "await self.poll()",
            "await ws.send(pkt.encode())",
            "await ws.close()",
        ),
    ),
    # a broadcast's packet carries its Framed text as the encoding every socket sends
    (eio_packet.Packet, "encode", ("if self.encode_cache:", "return self.encode_cache")),
    # SabakWebSocket replaces __call__ only; send, wait and close use the response as _sock
    (eio_aiohttp.WebSocket, "__init__", ("self.handler = handler", "self._sock = None")),
    (eio_aiohttp.WebSocket, "send", ("self._sock.send_str",)),
    (eio_aiohttp.WebSocket, "wait", ("self._sock.receive()",)),
    (eio_aiohttp.WebSocket, "close", ("self._sock.close()",)),
    # DirectEmit does what AsyncManager.emit does for a plain broadcast, one packet for all
    (
        AsyncManager,
        "emit",
        (
            "room = to or room",
            "if namespace not in self.rooms:",
            "skip_sid = [skip_sid]",
            "data=[event] + data)",
            "eio_packet.Packet(eio_packet.MESSAGE, p)",
            "self.get_participants(namespace, room)",
            "self.server._send_eio_packet(eio_sid, p)",
        ),
    ),
    # with Redis, each process delivers to its own sockets through the next emit in the MRO
    (AsyncPubSubManager, "_handle_emit", ("await super().emit(",)),
    # a direct write lands between whole frames: aiohttp writes an uncompressed frame to the
    # transport at once (no buffer or lock of its own), on the request's transport
    (WebSocketWriter, "send_frame", ("self._write_websocket_frame(message, opcode, 0)",)),
    (WebSocketWriter, "_write_websocket_frame", ("self.transport.write(",)),
    (web.WebSocketResponse, "_pre_start", ("transport = request._protocol.transport",)),
    # guard: socket.io's own engine.io handlers, which it registers and we wrap
    (
        SioBaseServer,
        "__init__",
        (
            "self.eio.on('connect', self._handle_eio_connect)",
            "self.eio.on('message', self._handle_eio_message)",
            "self.eio.on('disconnect', self._handle_eio_disconnect)",
        ),
    ),
    # a binary packet is buffered here, attachment by attachment: guard never lets one in
    (SioAsyncServer, "_handle_eio_message", ("self._binary_packet[eio_sid] = pkt",)),
    # the gate refuses a session by returning a value from engine.io's connect handler
    (
        engineio.AsyncServer,
        "_handle_connect",
        ("if ret is not None and ret is not True:", "return self._unauthorized(ret or None)"),
    ),
    # SabakWebSocket.wait checks each frame the driver's wait returns; None ends the session
    (eio_aiohttp.WebSocket, "wait", ("msg = await self._sock.receive()", "return msg.data")),
    (AsyncSocket, "_websocket_handler", ("if p is None:",)),
    # _post stands in for handle_post_request: same body, decoding and delivery; an
    # EngineIOError it raises is answered 400 (after a disconnect that finds it closed)
    (
        AsyncSocket,
        "handle_post_request",
        (
            "length = int(environ.get('CONTENT_LENGTH', '0'))",
            "await environ['wsgi.input'].read(length)).decode('utf-8')",
            "p = payload.Payload(encoded_payload=body)",
            "await self.receive(pkt)",
        ),
    ),
    (
        engineio.AsyncServer,
        "handle_request",
        ("await socket.handle_post_request(environ)", "except exceptions.EngineIOError:"),
    ),
)
# (owner, attribute, parameter names)
_SIGNATURES: internals.Signatures = (
    (AsyncSocket, "close", ("self", "wait", "abort", "reason")),
    (eio_aiohttp.WebSocket, "__init__", ("self", "handler", "server")),
    (eio_aiohttp.WebSocket, "__call__", ("self", "environ")),
    (
        AsyncManager,
        "emit",
        ("self", "event", "data", "namespace", "room", "skip_sid", "callback", "to", "kwargs"),
    ),
    (BaseManager, "get_participants", ("self", "namespace", "room")),
    (BaseManager, "sid_from_eio_sid", ("self", "eio_sid", "namespace")),
    (SioAsyncServer, "_handle_eio_connect", ("self", "eio_sid", "environ")),
    (SioAsyncServer, "_handle_eio_message", ("self", "eio_sid", "data")),
    (SioAsyncServer, "_handle_eio_disconnect", ("self", "eio_sid", "reason")),
)
# (owner, attribute): public properties used on the aiohttp side
_ATTRIBUTES: internals.Attributes = (
    (web.WebSocketResponse, "compress"),
    (web.WebSocketResponse, "closed"),
    (web.BaseRequest, "transport"),
    (web.BaseRequest, "protocol"),
    (BaseProtocol, "writing_paused"),
    (asyncio, "timeout"),
)


def check_internals() -> None:
    """Raise EngineioInternalsChanged naming every internal that moved; call it at start."""
    problems = internals.problems(_SOURCE, _SIGNATURES, _ATTRIBUTES)
    eio = engineio.AsyncServer(async_mode="aiohttp")
    if not hasattr(eio, "sockets"):
        problems.append("engineio.AsyncServer.sockets is missing")
    transports = getattr(eio, "_async", None)
    if not isinstance(transports, dict) or transports.get("websocket") is not eio_aiohttp.WebSocket:
        problems.append("engineio.AsyncServer._async['websocket'] is not the aiohttp WebSocket")
    sio = socketio.AsyncServer()
    for name in ("environ", "packet_class", "eio"):
        if not hasattr(sio, name):
            problems.append(f"socketio.AsyncServer.{name} is missing")
    if not hasattr(sio.manager, "rooms"):
        problems.append("socketio.AsyncManager.rooms is missing")
    if problems:
        raise EngineioInternalsChanged(
            "internals used by patches/engineio/compat.py changed (python-engineio "
            f"{_version('python-engineio')}, python-socketio {_version('python-socketio')}, "
            f"aiohttp {aiohttp.__version__}): "
            + "; ".join(problems)
            + ": pin the versions in requirements.lock"
        )


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "?"


# --- dropping clients -----------------------------------------------------------------------


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


# --- hostile clients: the gate, and messages checked before socket.io parses them ----------


def guard(
    sio: socketio.AsyncServer,
    gate: Gate,
    address: Callable[[dict[str, Any]], str],
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Wrap socket.io's engine.io handlers: the gate admits and counts, messages are checked.

    socket.io registered its own handlers in its __init__; `eio.on` replaces each with ours,
    which calls socket.io's after its check.
    """
    connect, message = sio._handle_eio_connect, sio._handle_eio_message
    disconnect = sio._handle_eio_disconnect

    async def on_connect(eio_sid: str, environ: dict[str, Any]) -> Any:
        peer, now = address(environ), clock()
        if not gate.admit(eio_sid, peer, now):
            if gate.worth_logging(peer, now):
                log.warning("refused sessions from %s: too many open (logged once a minute)", peer)
            return TOO_MANY  # engine.io answers 401 with this as JSON
        sock = sio.eio.sockets.get(eio_sid)
        if sock is not None:  # this socket's polling POSTs are checked (on the instance only)
            sock.handle_post_request = types.MethodType(_post, sock)
        return await connect(eio_sid, environ)

    async def on_message(eio_sid: str, data: Any) -> None:
        sock = sio.eio.sockets.get(eio_sid)
        if sock is None or sock.closed:
            return  # what was still read after a refusal: never parsed, never buffered
        problem = message_problem(data)
        if problem is None:
            try:
                return await message(eio_sid, data)  # type: ignore[no-any-return]
            except Exception as exc:  # socket.io's parser refused it: a malformed packet
                problem = f"malformed packet ({type(exc).__name__})"
        await refuse(sio, eio_sid, problem)

    async def on_disconnect(eio_sid: str, reason: Any) -> None:
        gate.closed(eio_sid)
        await disconnect(eio_sid, reason)

    sio.eio.on("connect", on_connect)
    sio.eio.on("message", on_message)
    sio.eio.on("disconnect", on_disconnect)


async def refuse(sio: socketio.AsyncServer, eio_sid: str, problem: str) -> None:
    """One log line, and the connection closed now: nothing more is read from it."""
    sock = sio.eio.sockets.get(eio_sid)
    if sock is None or sock.closed:
        return
    request = (sio.environ.get(eio_sid) or {}).get("aiohttp.request")
    log.warning("closed %s from %s: %s", eio_sid, getattr(request, "remote", "?"), problem)
    sock.sabak_refused = True  # a polling POST that carried it is answered 400 (_post)
    ws: SabakWebSocket | None = getattr(sock, "sabak_websocket", None)
    if ws is not None and ws._transport is not None:
        ws._transport.abort()  # the WebSocket's own connection (it may follow a polling one)
    await sock.close(wait=False, abort=True)
    # This ends the socket's writer, or a polling GET waiting; a polling POST that carried
    # the packet is answered 400 by _post on its own connection.
    sock.queue.put_nowait(None)


async def watch_connect(
    sio: socketio.AsyncServer,
    gate: Gate,
    every_s: float = 1.0,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Close the sessions that have not connected to socket.io within the gate's timeout."""
    while True:
        await asyncio.sleep(every_s)
        try:
            await close_overdue(sio, gate, clock())
        except Exception:
            log.exception("connect watch failed; it goes on")


async def _post(self: AsyncSocket, environ: dict[str, Any]) -> None:
    """AsyncSocket.handle_post_request that answers 400 (after one log line, no traceback)
    to a body that is not an Engine.IO payload, or whose packets guard refused; engine.io
    would log a traceback and answer 200. The size was checked before (server/http_limits)."""
    body = await environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH", "0")))
    try:
        packets = eio_payload.Payload(encoded_payload=body.decode("utf-8")).packets
        for pkt in packets:
            if self.closed:
                break
            await self.receive(pkt)
    except Exception as exc:
        peer = getattr(environ.get("aiohttp.request"), "remote", "?")
        log.warning("closed %s from %s: malformed payload (%s)", self.sid, peer, type(exc).__name__)
        self.sabak_refused = True
    if getattr(self, "sabak_refused", False):
        await self.close(wait=False, abort=True)
        raise eio_exceptions.EngineIOError("refused")


async def close_overdue(sio: socketio.AsyncServer, gate: Gate, now: float) -> int:
    # a session engine.io closed without telling (socket.io's disconnect) frees its place
    gate.keep_only({sid for sid, sock in sio.eio.sockets.items() if not sock.closed})
    closed = 0
    for eio_sid in gate.overdue(now):
        gate.connected(eio_sid)  # looked at once: connected now, or closed now
        if sio.manager.sid_from_eio_sid(eio_sid, "/") is None:
            closed += 1
            await refuse(sio, eio_sid, f"no socket.io connect within {gate.connect_timeout_s:g} s")
    return closed


# --- one frame for many sockets ---------------------------------------------------------------

# RFC 6455 §5.2 frame headers for the three payload length classes (as aiohttp's writer).
_LEN1, _LEN2, _LEN3 = (struct.Struct(f).pack for f in ("!BB", "!BBH", "!BBQ"))
_FINAL_TEXT = 0x80 | WSMsgType.TEXT


def text_frame(payload: bytes) -> bytes:
    """A final, unmasked, uncompressed text frame: a server's frame without extensions."""
    size = len(payload)
    if size < 126:
        return _LEN1(_FINAL_TEXT, size) + payload
    if size < 65536:
        return _LEN2(_FINAL_TEXT, 126, size) + payload
    return _LEN3(_FINAL_TEXT, 127, size) + payload


class Framed(str):
    """An Engine.IO packet's text that also carries its WebSocket frame, built on first use.

    It is the packet's `encode_cache`: polling clients and sockets with deflate send the text;
    SabakWebSocket sends the frame.
    """

    _frame: bytes | None = None

    @property
    def frame(self) -> bytes:
        if self._frame is None:
            self._frame = text_frame(self.encode("utf-8"))
        return self._frame


async def deliver(eio: engineio.AsyncServer, pkt: Any, eio_sids: Iterable[str]) -> None:
    """Send one MESSAGE packet to many sockets, as `AsyncSocket.send` would to each.

    A socket whose writer waits on an empty queue gets the frame at once; any other gets the
    packet queued, behind what is already there. A socket whose ping timed out goes through
    `send`, which closes it, as the library does; a closed one is skipped.
    """
    frame = pkt.encode_cache if isinstance(pkt.encode_cache, Framed) else None
    sockets, late = eio.sockets, []
    deadline = time.time() - eio.ping_timeout
    for eio_sid in eio_sids:
        sock = sockets.get(eio_sid)
        if sock is None or sock.closed:
            continue
        if sock.last_ping and sock.last_ping < deadline:
            late.append(sock)
        elif frame is None or not _write_if_idle(sock, frame):
            sock.queue.put_nowait(pkt)
    for sock in late:
        if not sock.closed:
            with contextlib.suppress(eio_exceptions.SocketIsClosedError):
                await sock.send(pkt)


def _write_if_idle(sock: Any, text: Framed) -> bool:
    """Write now if the socket is on our WebSocket and its writer waits on an empty queue.

    Then nothing is queued for it nor being sent by it: the frame cannot overtake a packet.
    While upgrading from polling, closing, or with deflate, the packet is queued instead.
    """
    ws: SabakWebSocket | None = getattr(sock, "sabak_websocket", None)
    if ws is None or not getattr(sock, "sabak_polling", False) or not sock.queue.empty():
        return False
    if sock.upgrading or not sock.upgraded or sock.closing:
        return False
    return ws.write_now(text.frame)


# --- the WebSocket transport: deflate or not, ready frames ------------------------------------


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
