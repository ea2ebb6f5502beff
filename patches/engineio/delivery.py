"""One frame for many sockets: a broadcast's packet written to each idle socket directly.

engine.io has no way to send one ready packet to many sockets: `deliver` does, for
`patches.socketio.broadcast` (see there why), writing a broadcast's frame straight to the
transport of each socket whose writer is idle and queueing it for the others. That needs our
own WebSocket class for this server's engine.io (patches/engineio/websocket.py): it knows its
socket's transport, and its socket's writer tells when it waits on an empty queue.
"""

from __future__ import annotations

import contextlib
import struct
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import engineio
from aiohttp import WSMsgType
from engineio import exceptions as eio_exceptions

if TYPE_CHECKING:
    from patches.engineio.websocket import SabakWebSocket


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
