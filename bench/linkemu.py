"""A weak link on loopback: a UDP relay that rate-limits, delays, jitters, drops and cuts.

`tc netem` is not in this kernel, so this relay is the link emulator of the weak-link tests
and benches (issue 16). A `Link` is one peer's radio: two `Pipe`s (down: server to peer, up:
peer to server), shared by every `Relay` (one per peer connection) made on it. Each pipe
behaves as a router's queue in front of a slow link, per datagram:

- cut: during an outage every datagram is lost, and so is whatever was in flight;
- rate: a token bucket without burst (the link clocks bytes out at `rate_bps`); a datagram
  that would wait longer than the queue holds (`queue_s` of the rate, at least two full
  packets) is dropped at the tail, as rural routers drop rather than buffer forever;
- loss: then lost at random with probability `loss` (it did use the link's time: radio loss);
- delay: it arrives `delay_s` (one way) plus a uniform extra in [0, `jitter_s`] after it
  left the queue; never before the one sent ahead of it unless the shape says `reorder`.

Randomness comes from a seeded RNG per pipe, so a run is reproducible. Profiles are the
issue's: good, 3g, rural, edge, and outage (5 s of nothing, then the previous profile).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

PEER_IP = "127.0.0.1"  # the relay's side facing the peer
RELAY_IP = "127.0.0.2"  # its side facing the server: a server that accepts only this address
MTU = 1500  # bytes: the queue holds at least two packets of this size
Address = tuple[str, int]
Deliver = Callable[[bytes], None]


@dataclass(frozen=True)
class Shape:
    """One direction of a link. rate_bps None: as fast as loopback."""

    rate_bps: float | None = None
    delay_s: float = 0.0
    jitter_s: float = 0.0
    loss: float = 0.0
    queue_s: float = 0.2
    reorder: bool = False

    def queue_limit_s(self) -> float:
        if self.rate_bps is None:
            return float("inf")
        return max(self.queue_s, 2 * MTU * 8 / self.rate_bps)


@dataclass(frozen=True)
class Profile:
    """A named link: its two directions; cut_s > 0 is an outage of that long instead."""

    name: str
    down: Shape
    up: Shape
    cut_s: float = 0.0


def _both(name: str, rate_bps: float, delay_s: float, **more: Any) -> Profile:
    shape = Shape(rate_bps, delay_s, **more)
    return Profile(name, shape, shape)


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile("open", Shape(), Shape()),  # no shaping: the relay alone
        _both("good", 1_500_000, 0.040),
        _both("3g", 750_000, 0.150, loss=0.01),
        Profile(
            "rural",
            Shape(300_000, 0.250, jitter_s=0.040, loss=0.03),
            Shape(150_000, 0.250, jitter_s=0.040, loss=0.03),
        ),
        _both("edge", 100_000, 0.400, loss=0.05),
        Profile("outage", Shape(), Shape(), cut_s=5.0),
    )
}


def profile(name: str) -> Profile:
    if name not in PROFILES:
        raise ValueError(f"no link profile {name!r}; there are {', '.join(PROFILES)}")
    return PROFILES[name]


@dataclass
class Counters:
    """What one direction saw: datagrams and bytes in and out, and why the others died."""

    packets_in: int = 0
    bytes_in: int = 0
    packets_out: int = 0
    bytes_out: int = 0
    dropped_queue: int = 0
    dropped_loss: int = 0
    dropped_cut: int = 0


@dataclass
class Pipe:
    """One direction: the queue and the timer that delivers what survives it, in order."""

    shape: Shape
    rng: random.Random
    counters: Counters = field(default_factory=Counters)
    free_at: float = 0.0  # when the link has clocked out everything admitted so far
    last_arrival: float = 0.0
    cut_until: float = 0.0

    def __post_init__(self) -> None:
        self._heap: list[tuple[float, int, bytes, Deliver]] = []
        self._order = itertools.count()
        self._timer: asyncio.TimerHandle | None = None

    def admit(self, size: int, now: float) -> float | None:
        """When a datagram of `size` bytes sent at `now` arrives; None when it is lost."""
        c = self.counters
        c.packets_in += 1
        c.bytes_in += size
        if now < self.cut_until:
            c.dropped_cut += 1
            return None
        departs = now
        if self.shape.rate_bps is not None:
            departs = max(now, self.free_at) + size * 8 / self.shape.rate_bps
            if departs - now > self.shape.queue_limit_s():
                c.dropped_queue += 1
                return None
            self.free_at = departs
        if self.shape.loss and self.rng.random() < self.shape.loss:
            c.dropped_loss += 1
            return None
        arrives = departs + self.shape.delay_s + self.rng.uniform(0.0, self.shape.jitter_s)
        if not self.shape.reorder:
            arrives = max(arrives, self.last_arrival)
        self.last_arrival = arrives
        return arrives

    def push(self, data: bytes, deliver: Deliver) -> None:
        loop = asyncio.get_running_loop()
        arrives = self.admit(len(data), loop.time())
        if arrives is not None:
            heapq.heappush(self._heap, (arrives, next(self._order), data, deliver))
            self._arm(loop)

    def cut(self, until: float) -> None:
        """Nothing passes until `until`; what was in flight is lost too."""
        self.cut_until = until
        self.counters.dropped_cut += len(self._heap)
        self._heap.clear()
        self.free_at = self.last_arrival = 0.0
        self.stop()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _arm(self, loop: asyncio.AbstractEventLoop) -> None:
        if not self._heap:
            return
        first = self._heap[0][0]
        if self._timer is not None and self._timer.when() <= first:
            return
        self.stop()
        self._timer = loop.call_at(first, self._fire, loop)

    def _fire(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        now = loop.time()
        while self._heap and self._heap[0][0] <= now:
            _, _, data, deliver = heapq.heappop(self._heap)
            self.counters.packets_out += 1
            self.counters.bytes_out += len(data)
            deliver(data)
        self._arm(loop)


class Link:
    """One peer's link (both directions), its profile now, and the relays made on it."""

    def __init__(self, name: str = "good", seed: int = 0) -> None:
        first = profile(name)
        if first.cut_s:
            raise ValueError("a link starts with a profile that carries something")
        self.profile = first
        self.down = Pipe(first.down, random.Random(seed * 2))
        self.up = Pipe(first.up, random.Random(seed * 2 + 1))
        self.relays: list[Relay] = []

    def set_profile(self, name: str) -> None:
        """Shape the link from now on; an outage cuts it, then the profile before it is back."""
        new = profile(name)
        if new.cut_s:
            self.cut(new.cut_s)
            return
        self.profile = new
        self.down.shape, self.up.shape = new.down, new.up

    def cut(self, seconds: float) -> None:
        until = asyncio.get_running_loop().time() + seconds
        self.down.cut(until)
        self.up.cut(until)

    async def relay(self, server: Address | None = None) -> Relay:
        """A relay for one connection; `server` may come later (or from the server's packet)."""
        relay = Relay(self, server)
        await relay.open()
        self.relays.append(relay)
        return relay

    def counters(self) -> dict[str, dict[str, int]]:
        return {"down": asdict(self.down.counters), "up": asdict(self.up.counters)}

    def close(self) -> None:
        for relay in self.relays:
            relay.close()
        self.relays.clear()
        self.down.stop()
        self.up.stop()


class _Side(asyncio.DatagramProtocol):
    def __init__(self, received: Callable[[bytes, Address], None]) -> None:
        self.received = received

    def datagram_received(self, data: bytes, addr: Address) -> None:
        self.received(data, addr)


class Relay:
    """Two UDP sockets: the peer talks to `peer_port`, the server hears from `server_port`.

    Datagrams from the peer go up the link to `server`; from `server`, down to the peer's
    last address (given by `expect_peer`, else learnt from what the peer sends).
    """

    def __init__(self, link: Link, server: Address | None) -> None:
        self.link = link
        self.server = server
        self.peer: Address | None = None
        self._peer_side: asyncio.DatagramTransport | None = None
        self._server_side: asyncio.DatagramTransport | None = None
        self.peer_port = self.server_port = 0

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        peer_side, _ = await loop.create_datagram_endpoint(
            lambda: _Side(self._from_peer), local_addr=(PEER_IP, 0)
        )
        server_side, _ = await loop.create_datagram_endpoint(
            lambda: _Side(self._from_server), local_addr=(RELAY_IP, 0)
        )
        self._peer_side, self._server_side = peer_side, server_side
        self.peer_port = peer_side.get_extra_info("sockname")[1]
        self.server_port = server_side.get_extra_info("sockname")[1]

    def expect_peer(self, addr: Address) -> None:
        self.peer = addr

    def _from_peer(self, data: bytes, addr: Address) -> None:
        self.peer = addr
        if self.server is not None:
            self.link.up.push(data, self._to_server)

    def _from_server(self, data: bytes, addr: Address) -> None:
        if self.server is None:
            self.server = addr
        if addr == self.server and self.peer is not None:
            self.link.down.push(data, self._to_peer)

    def _to_server(self, data: bytes) -> None:
        if self._server_side is not None and self.server is not None:
            self._server_side.sendto(data, self.server)

    def _to_peer(self, data: bytes) -> None:
        if self._peer_side is not None and self.peer is not None:
            self._peer_side.sendto(data, self.peer)

    def close(self) -> None:
        for side in (self._peer_side, self._server_side):
            if side is not None:
                side.close()
        self._peer_side = self._server_side = None


def replace_shape(link: Link, **changes: Any) -> None:
    """Change one property of both directions (a test's custom link), e.g. loss=0.1."""
    link.down.shape = replace(link.down.shape, **changes)
    link.up.shape = replace(link.up.shape, **changes)
