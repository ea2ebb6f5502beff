"""aioice under a peer connection: host addresses pinned, datagrams filtered, reading paused,
consent checks that wait for a long round trip."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import aioice.ice
from aiortc import RTCPeerConnection

_original_host_addresses = aioice.ice.get_host_addresses
_original_request = aioice.ice.StunProtocol.request
# A consent check (RFC 7675) answered within 0.5 + 1 + 2 s counts; aioice's one try of 0.5 s
# fails every check on a link whose round trip is longer (EDGE, a rural radio, a satellite),
# and after six failures (~30 s) it closes a connection that works.
CONSENT_RETRANSMISSIONS = 2


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


def lengthen_consent_checks() -> None:
    """Let consent checks (aioice sends them alone with retransmissions=0) be retransmitted,
    so their answer may take up to 3.5 s (process-wide, idempotent)."""
    aioice.ice.StunProtocol.request = _consent_request  # type: ignore[method-assign]


async def _consent_request(
    self: aioice.ice.StunProtocol,
    request: Any,
    addr: tuple[str, int],
    integrity_key: bytes | None = None,
    retransmissions: int | None = None,
) -> Any:
    if retransmissions == 0:
        retransmissions = CONSENT_RETRANSMISSIONS
    return await _original_request(self, request, addr, integrity_key, retransmissions)


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
