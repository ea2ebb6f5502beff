"""The link emulator measured with plain UDP sockets: rate, delay, loss, queue, outage, order."""

from __future__ import annotations

import asyncio
import random
import statistics
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from bench.linkemu import PROFILES, Link, Pipe, Relay, Shape, profile

pytestmark = pytest.mark.timeout(30)


@dataclass
class Sink(asyncio.DatagramProtocol):
    """The 'server': records when each datagram arrived, and from where."""

    got: list[tuple[float, bytes]] = field(default_factory=list)
    senders: set[tuple[str, int]] = field(default_factory=set)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.got.append((asyncio.get_running_loop().time(), data))
        self.senders.add(addr)


@dataclass
class Bench:
    link: Link
    relay: Relay
    sink: Sink
    sender: asyncio.DatagramTransport
    server: asyncio.DatagramTransport  # the sink's socket

    def send(self, data: bytes) -> None:
        self.sender.sendto(data, ("127.0.0.1", self.relay.peer_port))

    def send_stamped(self, i: int, size: int = 100) -> None:
        now = asyncio.get_running_loop().time()
        self.send(f"{i}:{now!r}:".encode().ljust(size, b"."))


@pytest.fixture
async def bench() -> AsyncIterator[Bench]:
    loop = asyncio.get_running_loop()
    sink_side, sink = await loop.create_datagram_endpoint(Sink, local_addr=("127.0.0.1", 0))
    sender, _ = await loop.create_datagram_endpoint(
        asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0)
    )
    link = Link("open", seed=7)
    relay = await link.relay(sink_side.get_extra_info("sockname"))
    yield Bench(link, relay, sink, sender, sink_side)
    link.close()
    sender.close()
    sink_side.close()


def delays(sink: Sink) -> list[float]:
    """One-way delay of each stamped datagram, in arrival order."""
    return [t - float(data.split(b":")[1]) for t, data in sink.got]


def numbers(sink: Sink) -> list[int]:
    return [int(data.split(b":")[0]) for _, data in sink.got]


async def test_throughput_is_the_rate_within_ten_percent(bench: Bench) -> None:
    bench.link.up.shape = Shape(rate_bps=1_000_000)
    for _ in range(75):  # 2 Mbit/s offered for 1.5 s: the link is the bottleneck
        for _ in range(5):
            bench.send(b"x" * 1000)
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.3)
    times = [t for t, _ in bench.sink.got]
    measured = (len(times) - 1) * 1000 * 8 / (times[-1] - times[0])
    assert measured == pytest.approx(1_000_000, rel=0.10)
    c = bench.link.up.counters
    assert c.dropped_queue > 0, "twice the rate offered must overflow the queue"
    assert c.packets_out == len(times) == c.packets_in - c.dropped_queue


async def test_delay_is_the_profiles_one_way_delay(bench: Bench) -> None:
    bench.link.up.shape = Shape(delay_s=0.1)
    for i in range(20):
        bench.send_stamped(i)
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.2)
    measured = delays(bench.sink)
    assert len(measured) == 20
    assert min(measured) >= 0.098
    # Never early; late only by the event loops' scheduling (more on a loaded machine).
    assert statistics.median(measured) < 0.1 + 0.025


async def test_loss_fraction_is_near_the_profiles(bench: Bench) -> None:
    bench.link.up.shape = Shape(loss=0.05)
    for i in range(2000):
        bench.send_stamped(i)
        if i % 20 == 0:
            await asyncio.sleep(0.001)
    await asyncio.sleep(0.2)
    c = bench.link.up.counters
    assert c.packets_in > 1900  # the kernel may drop a few before the relay reads them
    assert c.dropped_loss / c.packets_in == pytest.approx(0.05, abs=0.015)
    assert len(bench.sink.got) == c.packets_in - c.dropped_loss


async def test_the_queue_drops_at_the_tail_instead_of_buffering(bench: Bench) -> None:
    bench.link.up.shape = Shape(rate_bps=200_000, queue_s=0.1)
    for i in range(100):  # a burst of 100 kB into a link that holds 0.12 s (two packets)
        bench.send_stamped(i, size=1000)
    await asyncio.sleep(0.5)
    c = bench.link.up.counters
    assert c.packets_out <= 4 and c.dropped_queue == c.packets_in - c.packets_out
    assert max(delays(bench.sink)) < 0.12 + 0.04 + 0.02  # queue + one packet's time + slack
    assert numbers(bench.sink)[0] == 0, "the head of the burst gets through, the tail not"


async def test_an_outage_passes_nothing_then_the_link_is_back(bench: Bench) -> None:
    bench.link.up.shape = Shape(delay_s=0.05)
    bench.send_stamped(0)  # in flight when the link goes: lost with it
    bench.link.cut(0.4)
    for i in range(1, 10):
        bench.send_stamped(i)
        await asyncio.sleep(0.03)
    await asyncio.sleep(0.2)
    assert bench.sink.got == []
    assert bench.link.up.counters.dropped_cut == 10
    await asyncio.sleep(0.1)
    bench.send_stamped(10)
    await asyncio.sleep(0.1)
    assert numbers(bench.sink) == [10]


async def test_the_outage_profile_cuts_for_five_seconds_and_keeps_the_profile_before() -> None:
    link = Link("rural")
    now = asyncio.get_running_loop().time()
    link.set_profile("outage")
    assert link.profile.name == "rural"
    assert link.down.shape == PROFILES["rural"].down
    assert link.down.cut_until == pytest.approx(now + 5.0, abs=0.1)
    assert link.up.admit(100, now + 4.9) is None
    assert link.up.admit(100, now + 5.1) is not None


async def test_jitter_keeps_the_order_unless_the_shape_reorders(bench: Bench) -> None:
    bench.link.up.shape = Shape(delay_s=0.02, jitter_s=0.04)
    for i in range(100):
        bench.send_stamped(i)
        await asyncio.sleep(0.002)
    await asyncio.sleep(0.2)
    assert numbers(bench.sink) == list(range(100))
    assert max(delays(bench.sink)) - min(delays(bench.sink)) > 0.02
    bench.sink.got.clear()
    bench.link.up.shape = Shape(delay_s=0.02, jitter_s=0.04, reorder=True)
    for i in range(100):
        bench.send_stamped(i)
        await asyncio.sleep(0.002)
    await asyncio.sleep(0.2)
    assert sorted(numbers(bench.sink)) == list(range(100))
    assert numbers(bench.sink) != list(range(100))


async def test_the_servers_answers_go_down_to_the_peer_and_only_the_servers(
    bench: Bench,
) -> None:
    loop = asyncio.get_running_loop()
    peer_side, peer = await loop.create_datagram_endpoint(Sink, local_addr=("127.0.0.1", 0))
    bench.link.down.shape = Shape(delay_s=0.05)
    peer_side.sendto(b"hello", ("127.0.0.1", bench.relay.peer_port))
    await asyncio.sleep(0.05)
    assert bench.sink.senders == {("127.0.0.2", bench.relay.server_port)}
    bench.sender.sendto(b"spoof", ("127.0.0.2", bench.relay.server_port))
    bench.server.sendto(b"answer", ("127.0.0.2", bench.relay.server_port))
    await asyncio.sleep(0.02)
    assert peer.got == [], "still on its way down"
    await asyncio.sleep(0.08)
    assert [data for _, data in peer.got] == [b"answer"]
    assert bench.link.down.counters.packets_out == 1
    peer_side.close()


def test_a_seed_makes_a_run_reproducible() -> None:
    def run(seed: int) -> list[float | None]:
        pipe = Pipe(PROFILES["rural"].down, random.Random(seed))
        return [pipe.admit(1200, i * 0.01) for i in range(500)]

    assert run(3) == run(3)
    assert run(3) != run(4)


def test_the_profiles_are_the_issues() -> None:
    rates = {n: (p.down.rate_bps, p.up.rate_bps, p.down.delay_s, p.down.loss)
             for n, p in PROFILES.items()}  # fmt: skip
    assert rates["good"] == (1_500_000, 1_500_000, 0.040, 0.0)
    assert rates["3g"] == (750_000, 750_000, 0.150, 0.01)
    assert rates["rural"] == (300_000, 150_000, 0.250, 0.03)
    assert PROFILES["rural"].down.jitter_s > 0
    assert rates["edge"] == (100_000, 100_000, 0.400, 0.05)
    assert PROFILES["outage"].cut_s == 5.0
    with pytest.raises(ValueError, match="no link profile"):
        profile("dialup")
