"""The start-up check: every python-socketio internal patches/socketio/broadcast.py relies on."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

import socketio
from socketio.async_manager import AsyncManager
from socketio.async_pubsub_manager import AsyncPubSubManager
from socketio.base_manager import BaseManager

from patches import internals


class SocketioInternalsChanged(internals.InternalsChanged):
    """An upgrade of python-socketio moved what the direct broadcasts rely on."""


# (owner, attribute, code it must contain)
_SOURCE: internals.Source = (
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
)
# (owner, attribute, parameter names)
_SIGNATURES: internals.Signatures = (
    (
        AsyncManager,
        "emit",
        ("self", "event", "data", "namespace", "room", "skip_sid", "callback", "to", "kwargs"),
    ),
    (BaseManager, "get_participants", ("self", "namespace", "room")),
)


def check_internals() -> None:
    """Raise SocketioInternalsChanged naming every internal that moved; call it at start."""
    problems = internals.problems(_SOURCE, _SIGNATURES, ())
    sio = socketio.AsyncServer()
    if not hasattr(sio, "packet_class"):
        problems.append("socketio.AsyncServer.packet_class is missing")
    if not hasattr(sio.manager, "rooms"):
        problems.append("socketio.AsyncManager.rooms is missing")
    if problems:
        raise SocketioInternalsChanged(
            f"internals used by patches/socketio changed (python-socketio {_version()}): "
            + "; ".join(problems)
            + ": pin the version in requirements.lock"
        )


def _version() -> str:
    try:
        return version("python-socketio")
    except PackageNotFoundError:
        return "?"
