"""Who is on the other end: the client's address (behind trusted proxies) and its bucket.

Every per-address limit (guessed lesson codes, guest entries) asks this module, for
socket.io connections and REST requests alike, so that a proxy in front of Sabak does not
make every client look like 127.0.0.1, and a client cannot pick its own address by
sending `X-Forwarded-For` straight to us.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from aiohttp import web

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Iterable[str], key: str = "server.trusted_proxies") -> list[Network]:
    """Addresses or CIDRs; a wrong one stops the server with the key's name."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{key}: {value!r} is not an IP address or CIDR") from None
    return networks


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        ip = ipaddress.ip_address(text.strip().split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped  # ::ffff:1.2.3.4 is the IPv4 client 1.2.3.4
    return ip


def _trusted(text: str, trusted: list[Network]) -> bool:
    ip = _ip(text)
    return ip is not None and any(ip in net for net in trusted)


def client_address(peer: str, forwarded_for: str | None, trusted: list[Network]) -> str:
    """The client's own address: the TCP peer, unless that is a trusted proxy.

    Then `X-Forwarded-For` is read from the right (each proxy appends the address it saw):
    the right-most hop that is not itself a trusted proxy is the client. Hops further left
    were written by the client and could be anything.
    """
    if not forwarded_for or not _trusted(peer, trusted):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if _ip(hop) is None:
            return peer  # a garbled header from our own proxy: the proxy is all we know
        if not _trusted(hop, trusted):
            return hop
    return hops[0] if hops else peer


def bucket(address: str) -> str:
    """The key a limit counts under: an IPv4 address, or the /64 of an IPv6 address.

    One IPv6 subscriber usually gets a whole /64 and can use any address in it, so
    counting single IPv6 addresses would give an attacker 2^64 fresh budgets.
    """
    ip = _ip(address)
    if ip is None:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class ClientAddresses:
    """The one place that turns a request (REST, or socket.io's handshake) into an address."""

    def __init__(self, trusted_proxies: Iterable[str]) -> None:
        self.trusted = parse_networks(trusted_proxies)

    def of_request(self, request: web.BaseRequest) -> str:
        peer = request.remote or "?"
        return client_address(peer, request.headers.get("X-Forwarded-For"), self.trusted)

    def of_environ(self, environ: dict[str, Any]) -> str:
        """socket.io's environ (engine.io's aiohttp driver puts a constant in REMOTE_ADDR)."""
        request = environ.get("aiohttp.request")
        if isinstance(request, web.BaseRequest):
            return self.of_request(request)
        return str(environ.get("REMOTE_ADDR", "?"))
