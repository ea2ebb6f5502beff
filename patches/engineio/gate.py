"""Which engine.io sessions may stay open: so many per address, connected in time.

Opening an engine.io session needs no credentials. Without a gate one client can open
thousands and never send the socket.io CONNECT (which carries the credentials), holding
memory and file descriptors. The gate counts open sessions per client address and refuses
past `[server] sessions_per_address`; a session that has not connected to socket.io within
`[server] connect_timeout_s` is handed back to be closed. Time is an argument.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Container
from dataclasses import dataclass, field

LOG_EVERY_S = 60.0
TOO_MANY = {
    "code": "too-many-connections",
    "message": "Too many connections from your network; close some and try again.",
}


@dataclass
class Gate:
    """Open sessions by engine.io sid: their address, and since when they wait to connect."""

    per_address: int
    connect_timeout_s: float
    addresses: dict[str, str] = field(default_factory=dict)
    per: Counter[str] = field(default_factory=Counter)
    waiting: dict[str, float] = field(default_factory=dict)
    told: dict[str, float] = field(default_factory=dict)  # address: when a refusal was logged

    def admit(self, eio_sid: str, address: str, now: float) -> bool:
        """Count a new session in, or False if its address holds too many already."""
        if self.per[address] >= self.per_address:
            return False
        self.addresses[eio_sid] = address
        self.per[address] += 1
        self.waiting[eio_sid] = now
        return True

    def worth_logging(self, address: str, now: float) -> bool:
        """A refusal is logged once a minute per address: a flood of them is not a log flood."""
        if now - self.told.get(address, -LOG_EVERY_S) < LOG_EVERY_S:
            return False
        self.told = {a: t for a, t in self.told.items() if now - t < LOG_EVERY_S}
        self.told[address] = now
        return True

    def connected(self, eio_sid: str) -> None:
        self.waiting.pop(eio_sid, None)

    def closed(self, eio_sid: str) -> None:
        self.waiting.pop(eio_sid, None)
        address = self.addresses.pop(eio_sid, None)
        if address is None:
            return
        self.per[address] -= 1
        if self.per[address] <= 0:
            del self.per[address]

    def keep_only(self, open_sids: Container[str]) -> None:
        """Forget the sessions no longer open (their close went unannounced)."""
        for eio_sid in [sid for sid in self.addresses if sid not in open_sids]:
            self.closed(eio_sid)

    def overdue(self, now: float) -> list[str]:
        """Sessions still waiting past the timeout: the caller closes or marks each."""
        limit = now - self.connect_timeout_s
        return [sid for sid, since in self.waiting.items() if since < limit]
