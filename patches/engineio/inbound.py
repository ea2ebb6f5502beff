"""What a socket may send before the libraries parse it: text packets, never binary ones.

Sabak sends and expects no binary payloads. A socket.io packet that announces attachments
would make python-socketio buffer every binary frame that follows until the announced count
arrives (it can be 10^9): such a packet, or any binary data, is a protocol violation that
closes the connection. So is a packet the libraries cannot parse: one log line, no traceback.
"""

from __future__ import annotations

ENGINEIO_TYPES = frozenset("0123456")  # open, close, ping, pong, message, upgrade, noop
SOCKETIO_BINARY_TYPES = frozenset("56")  # BINARY_EVENT, BINARY_ACK


def frame_problem(frame: str | bytes) -> str | None:
    """Why one Engine.IO WebSocket frame is refused, or None: text with a known packet type."""
    if not isinstance(frame, str):
        return "binary frame"
    if not frame:
        return "empty packet"
    if frame[0] not in ENGINEIO_TYPES:
        return "unknown Engine.IO packet type"
    return None


def message_problem(data: str | bytes) -> str | None:
    """Why one Socket.IO packet (an Engine.IO message's data) is refused, or None.

    Refused: binary data, the binary packet types, and an attachment count (`<digits>-`
    after the type, which python-socketio reads for any type, as its decoder does).
    """
    if not isinstance(data, str):
        return "binary message"
    if data[:1] in SOCKETIO_BINARY_TYPES:
        return "binary packet announcing attachments"
    rest = data[1:]
    dash = rest.find("-")
    if dash > 0 and rest[:dash].isdigit():
        return "packet announcing attachments"
    return None
