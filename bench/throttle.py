"""A slow link on loopback: a TCP proxy adding latency and a rate limit in both directions.

Chromium's network emulation (CDP) slows HTTP requests but not WebSocket frames, so a page
measured that way looks faster in the lesson than it is. This proxy sits under every byte
instead: HTTP, the socket.io WebSocket, anything over TCP. Each direction is one shared link
(all connections queue on it, as on a phone's radio): a chunk leaves when the link is free
and its bytes have been clocked out at `rate_bps`, and arrives `rtt_s / 2` later. A new
connection waits one round trip before its first byte goes through (the TCP handshake).
Bounded: at most `max_connections` at once, each direction holding at most `QUEUE` chunks.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

CHUNK = 1460  # one TCP segment's payload: the link is clocked in segments, as a real one
QUEUE = 64  # chunks in flight per connection and direction; past that, stop reading
Chunks = asyncio.Queue[tuple[float, bytes] | None]  # (arrival time, bytes); None: the end


@dataclass
class Link:
    """One direction of the link: when it is free again, shared by every connection."""

    rate_bps: float
    delay_s: float
    free_at: float = 0.0

    def schedule(self, size: int) -> float:
        """The monotonic time at which `size` bytes sent now arrive at the far end."""
        now = time.monotonic()
        self.free_at = max(now, self.free_at) + size * 8 / self.rate_bps
        return self.free_at + self.delay_s


@dataclass
class SlowLink:
    """The proxy: `await start()`, point the browser at `url`, `await close()`."""

    upstream_host: str
    upstream_port: int
    rate_bps: float = 400_000
    rtt_s: float = 0.4
    max_connections: int = 64
    up: Link = field(init=False)
    down: Link = field(init=False)
    port: int = 0
    bytes_down: int = 0
    bytes_up: int = 0

    def __post_init__(self) -> None:
        self.up = Link(self.rate_bps, self.rtt_s / 2)
        self.down = Link(self.rate_bps, self.rtt_s / 2)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(self.max_connections)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            async with self._slots:
                await self._relay(reader, writer)
        except asyncio.CancelledError:
            pass  # closed by close(): the connection ends here
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(self.rtt_s)  # the handshake's round trip
        try:
            up_reader, up_writer = await asyncio.open_connection(
                self.upstream_host, self.upstream_port
            )
        except OSError:
            return
        try:
            await asyncio.gather(
                self._pump(reader, up_writer, self.up, "up"),
                self._pump(up_reader, writer, self.down, "down"),
            )
        finally:
            up_writer.close()

    async def _pump(
        self, src: asyncio.StreamReader, dst: asyncio.StreamWriter, link: Link, way: str
    ) -> None:
        queue: Chunks = asyncio.Queue(QUEUE)
        deliver = asyncio.create_task(self._deliver(queue, dst))
        try:
            while (data := await src.read(CHUNK)) and not deliver.done():
                await queue.put((link.schedule(len(data)), data))
                if way == "down":
                    self.bytes_down += len(data)
                else:
                    self.bytes_up += len(data)
        except (ConnectionError, OSError):
            pass
        finally:
            with contextlib.suppress(asyncio.CancelledError):
                await queue.put(None)  # the end, after everything already in flight
                await deliver

    @staticmethod
    async def _deliver(
        queue: asyncio.Queue[tuple[float, bytes] | None], dst: asyncio.StreamWriter
    ) -> None:
        try:
            while (item := await queue.get()) is not None:
                arrive, data = item
                await asyncio.sleep(max(0.0, arrive - time.monotonic()))
                dst.write(data)
                await dst.drain()
            if dst.can_write_eof():
                dst.write_eof()
        except (ConnectionError, OSError):
            pass
