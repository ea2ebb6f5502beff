"""The start-up check: every engine.io, socket.io and aiohttp internal this package uses.

engine.io has no public call to drop one client's transport (so it reconnects by itself), to
see how much is queued for it, or to send one ready packet to many sockets; socket.io has no
hook before it parses a message. The other modules of this package do these things with the
libraries' internals; each one they rely on is listed here, and a moved one stops the server
at start with one message instead of failing later, deep inside a lesson.
"""

from __future__ import annotations

import asyncio

import aiohttp
import engineio
import engineio.async_drivers.aiohttp as eio_aiohttp
import socketio
from aiohttp import web
from aiohttp._websocket.writer import WebSocketWriter
from aiohttp.base_protocol import BaseProtocol
from engineio import packet as eio_packet
from engineio.async_socket import AsyncSocket
from engineio.base_socket import BaseSocket
from socketio.async_server import AsyncServer as SioAsyncServer
from socketio.base_manager import BaseManager
from socketio.base_server import BaseServer as SioBaseServer

from patches import internals


class EngineioInternalsChanged(internals.InternalsChanged):
    """An upgrade of python-engineio, python-socketio or aiohttp moved what we rely on."""


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
    for name in ("environ", "eio"):
        if not hasattr(sio, name):
            problems.append(f"socketio.AsyncServer.{name} is missing")
    if problems:
        raise EngineioInternalsChanged(
            "internals used by patches/engineio changed (python-engineio "
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
