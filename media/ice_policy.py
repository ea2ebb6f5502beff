"""Which remote addresses the server's ICE agent may send connectivity checks to.

A client names its candidates, and the server's ICE agent sends STUN checks to each one, with
retransmissions, from the media worker's own sockets. Unchecked, a student's script could
aim those packets at the server's loopback services, at link-local or multicast addresses, or
at anyone else. The rule (docs/reliability.md):

- `[media] ice_accept_remote_ips` set: those addresses only.
- otherwise any unicast address that can be a phone's: public and private (a school LAN is
  10/8, 172.16/12 or 192.168/16, and must work without any setting), but never loopback,
  link-local, unspecified ("this network" 0/8), multicast, broadcast or reserved, IPv4 written
  in IPv6 included; and never a name (mDNS `….local`), which would make the server resolve it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

_THIS_NETWORK = ipaddress.IPv4Network("0.0.0.0/8")


def is_usable(host: str) -> bool:
    """Whether a candidate address may get checks when no accept list is configured."""
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])  # fe80::1%eth0 names its interface
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if isinstance(ip, ipaddress.IPv4Address) and ip in _THIS_NETWORK:
        return False
    return not (
        ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_multicast or ip.is_reserved
    )


class RemoteAddresses:
    """The rule above for one room: the accept list when there is one, else is_usable."""

    def __init__(self, accept: Iterable[str] = ()) -> None:
        self.listed = frozenset(accept)

    def allows(self, host: str) -> bool:
        return host in self.listed if self.listed else is_usable(host)
