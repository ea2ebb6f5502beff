"""Hostile clients: the session gate, and every message checked before socket.io parses it.

socket.io's handlers of engine.io's connect, message and disconnect are wrapped (`guard`) so
that the gate (patches/engineio/gate.py) counts sessions and every message passes
patches/engineio/inbound.py before socket.io parses (or buffers) it; a violation or a packet
socket.io cannot parse closes that connection with one log line.
"""

from __future__ import annotations

import asyncio
import logging
import time
import types
from collections.abc import Callable
from typing import Any

import socketio
from engineio import exceptions as eio_exceptions
from engineio import payload as eio_payload
from engineio.async_socket import AsyncSocket

from patches.engineio.gate import TOO_MANY, Gate
from patches.engineio.inbound import message_problem
from patches.engineio.websocket import SabakWebSocket

log = logging.getLogger(__name__)


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
    if ws is not None:
        ws.abort()  # the WebSocket's own connection (it may follow a polling one)
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
