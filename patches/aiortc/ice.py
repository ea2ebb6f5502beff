"""aioice under a peer connection: host addresses pinned, datagrams filtered, reading paused."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import aioice.ice
from aiortc import RTCPeerConnection

_original_host_addresses = aioice.ice.get_host_addresses


def pin_host_addresses(addresses: tuple[str, ...]) -> None:
    """Gather host candidates on exactly these addresses (process-wide); () restores aioice.

    aioice never offers 127.0.0.1 on its own, which loopback tests need.
    """
    if not addresses:
        aioice.ice.get_host_addresses = _original_host_addresses
        return
    pinned = list(addresses)

    def host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [a for a in pinned if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]

    aioice.ice.get_host_addresses = host_addresses


def _protocols(pc: RTCPeerConnection) -> Iterator[Any]:
    seen: set[int] = set()
    for transceiver in pc.getTransceivers():
        ice = transceiver.receiver.transport.transport
        if id(ice) not in seen:
            seen.add(id(ice))
            yield from ice._connection._protocols


def accept_datagrams_from(pc: RTCPeerConnection, ips: frozenset[str]) -> None:
    """Drop datagrams from other source addresses, so they never become candidates.

    Call after the local description is set (the sockets exist then).
    """
    for protocol in _protocols(pc):
        received = protocol.datagram_received

        def filtered(data: bytes, addr: tuple[Any, ...], received: Any = received) -> None:
            if addr[0] in ips:
                received(data, addr)

        protocol.datagram_received = filtered


def set_reading(pc: RTCPeerConnection, reading: bool) -> None:
    """Stop (or resume) reading a connection's sockets, as a phone that stalls (for tests)."""
    for protocol in _protocols(pc):
        transport: Any = protocol.transport  # asyncio's UDP transports can pause; TURN's not
        if hasattr(transport, "pause_reading"):
            transport.resume_reading() if reading else transport.pause_reading()
