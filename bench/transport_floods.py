"""Transport floods for bench/faults.py: what one hostile client does to the server.

Each flood runs against its own `sabak serve` (default settings) while honest students of
another lesson chat: it reports what was refused or closed, the server's RSS before, during
(the peak) and after, and the p99 of the honest students' chat acks (quiet, then under the
flood). Loopback only, every flood bounded in time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import aiohttp

from bench.common import (
    Server,
    make_classroom,
    percentile,
    remove_server_dir,
    rss_bytes,
    start_server,
    stop_server,
)
from client.sabak_client import SabakClient

WS_PATH = "/socket.io/?EIO=4&transport=websocket"
POLL_PATH = "/socket.io/?EIO=4&transport=polling"
MB = 1024 * 1024
FRAME = b"\0" * 60_000  # just under the 64 kB message limit (aiohttp closes on more)
Flood = Callable[[str, list[str]], Coroutine[Any, Any, str]]


class Honest:
    """Students of another lesson chatting once a second each, timing every ack."""

    def __init__(self, server: Server, students: int = 4) -> None:
        self.server, self.students = server, students
        self.samples: list[tuple[float, float]] = []  # (sent at, ack latency in ms)
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._clients: list[SabakClient] = []

    async def start(self) -> None:
        room = await make_classroom(self.server, self.students)
        for token in room.student_tokens:
            kid = SabakClient(self.server.url, token=token)
            await kid.connect(["websocket"])
            await kid.join(room.lesson_id)
            self._clients.append(kid)
        self._tasks = [asyncio.create_task(self._chat(k, n)) for n, k in enumerate(self._clients)]

    async def _chat(self, kid: SabakClient, n: int) -> None:
        i = 0
        while not self._stop.is_set():
            sent = time.monotonic()
            with contextlib.suppress(Exception):
                await kid.call("chat_send", {"client_id": f"h{n}-{i}", "text": "ok"}, timeout=30)
                self.samples.append((sent, (time.monotonic() - sent) * 1000))
            i += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), 1.1)

    def p50_p99(self, start: float, end: float) -> str:
        window = [ms for at, ms in self.samples if start <= at < end]
        return f"{percentile(window, 50):.0f}/{percentile(window, 99):.0f}"

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for kid in self._clients:
            await kid.close()


async def engineio_open(http: aiohttp.ClientSession, url: str) -> aiohttp.ClientWebSocketResponse:
    ws = await http.ws_connect(url.replace("http", "ws") + WS_PATH, compress=0)
    await ws.receive_str()
    return ws


async def until_closed(ws: aiohttp.ClientWebSocketResponse, seconds: float) -> float | None:
    """Seconds until the server closed it (pings answered, as an attacker would), or None."""
    start = time.monotonic()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            while True:
                msg = await ws.receive()
                if msg.type is aiohttp.WSMsgType.TEXT and msg.data == "2":
                    with contextlib.suppress(Exception):
                        await ws.send_str("3")
                elif msg.type is not aiohttp.WSMsgType.TEXT:
                    return time.monotonic() - start
    return None


# -- the floods ----------------------------------------------------------------------------


async def attachment_flood(url: str, tokens: list[str], seconds: float = 10) -> str:
    """Students announce 9,999,999,999 attachments and stream 60 kB binary frames; each
    connects again as soon as it is closed, for `seconds`."""
    tries: list[float | None] = []
    written = [0]

    async def once(http: aiohttp.ClientSession, token: str) -> float | None:
        ws = await engineio_open(http, url)
        await ws.send_str("40" + json.dumps({"token": token}))
        await ws.receive_str()
        start = time.monotonic()
        await ws.send_str("45" + "9" * 10 + '-["chat_send",{"_placeholder":true,"num":0}]')
        with contextlib.suppress(ConnectionError, RuntimeError):
            while time.monotonic() - start < 3 and ws.exception() is None:
                await ws.send_bytes(FRAME)
                written[0] += len(FRAME)
                await asyncio.sleep(0)
        closed = await until_closed(ws, max(0.1, 3 - (time.monotonic() - start)))
        await ws.close()
        return None if closed is None else time.monotonic() - start

    async def attacker(token: str) -> None:
        end = time.monotonic() + seconds
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < end:
                tries.append(await once(http, token))

    await asyncio.gather(*(attacker(t) for t in tokens))
    shut = [t for t in tries if t is not None]
    slowest = f"{max(shut):.2f} s" if shut else "-"
    return (
        f"{len(shut)}/{len(tries)} connections closed (slowest {slowest} after the "
        f"announcement); {written[0] / MB:.0f} MB written by the attackers"
    )


async def idle_sessions(url: str, tokens: list[str], sessions: int = 1500) -> str:
    """Engine.IO sessions opened from one address that never send the socket.io CONNECT."""
    hold_s = 15.0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        opened = await asyncio.gather(
            *(engineio_open(http, url) for _ in range(sessions)), return_exceptions=True
        )
        held = [ws for ws in opened if isinstance(ws, aiohttp.ClientWebSocketResponse)]
        closed = await asyncio.gather(*(until_closed(ws, hold_s) for ws in held))
        for ws in held:
            await ws.close()
    shut = [t for t in closed if t is not None]
    latest = f"{max(shut):.1f} s" if shut else "-"
    return (
        f"{sessions - len(held)} refused at the handshake; of {len(held)} opened, "
        f"{len(shut)} closed within {hold_s:.0f} s (the last after {latest})"
    )


async def slowloris(url: str, tokens: list[str], connections: int = 300) -> str:
    """Connections that send one header line every 2 s and never finish the request."""
    hold_s = 30.0
    port = int(url.rsplit(":", 1)[1])

    async def one() -> float | None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        start = time.monotonic()
        try:
            while time.monotonic() - start < hold_s:
                writer.write(b"X-Slow: y\r\n")
                await writer.drain()
                with contextlib.suppress(TimeoutError):
                    if await asyncio.wait_for(reader.read(1024), 2) == b"":
                        return time.monotonic() - start
        except ConnectionError:
            return time.monotonic() - start
        finally:
            writer.close()
        return None

    closed = await asyncio.gather(*(one() for _ in range(connections)))
    shut = [t for t in closed if t is not None]
    latest = f"{max(shut):.1f} s" if shut else "-"
    return f"{len(shut)}/{connections} closed within {hold_s:.0f} s (the last after {latest})"


async def oversized_posts(url: str, tokens: list[str], posts: int = 100) -> str:
    """Polling POSTs announcing a 10 MB body (engine.io's limit is 64 kB), sending 1 kB."""
    port = int(url.rsplit(":", 1)[1])

    async def one(http: aiohttp.ClientSession) -> float | None:
        async with http.get(url + POLL_PATH) as resp:
            if resp.status != 200:
                return None
            sid = json.loads((await resp.text())[1:])["sid"]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        head = f"POST {POLL_PATH}&sid={sid} HTTP/1.1\r\nHost: x\r\n"
        writer.write(f"{head}Content-Length: 10000000\r\n\r\n".encode() + b"4" * 1024)
        start = time.monotonic()
        try:
            line = await asyncio.wait_for(reader.readline(), 10)
        except (TimeoutError, ConnectionError):
            line = b""
        writer.close()
        return time.monotonic() - start if b" 413 " in line else None

    async with aiohttp.ClientSession() as http:
        answers = await asyncio.gather(*(one(http) for _ in range(posts)))
    refused = [t for t in answers if t is not None]
    slowest = f"{max(refused) * 1000:.0f} ms" if refused else "-"
    return f"{len(refused)}/{posts} answered 413 within 10 s (slowest {slowest})"


FLOODS: dict[str, Flood] = {
    "attachments: 3 students announce 9,999,999,999 attachments and stream 60 kB frames, "
    "reconnecting, for 10 s": attachment_flood,
    "1,500 Engine.IO sessions from one address at once, never connecting, pings answered": (
        idle_sessions
    ),
    "slowloris: 300 connections, one header line every 2 s, for 30 s": slowloris,
    "100 polling POSTs announcing 10 MB, sending 1 kB": oversized_posts,
}


def attack(name: str, url: str, tokens: list[str]) -> str:
    """Run one flood in this (separate) process: its CPU is not the honest students'."""
    return asyncio.run(FLOODS[name](url, tokens))


# -- the drill -------------------------------------------------------------------------------


async def drill(name: str, source: Path | None) -> dict[str, Any]:
    """One flood on a fresh server, with honest chatter and RSS sampled throughout."""
    server = await start_server({}, source)
    honest = Honest(server)
    peak = [0]

    async def sample() -> None:
        while True:
            peak[0] = max(peak[0], rss_bytes(server.pid))
            await asyncio.sleep(0.1)

    try:
        await honest.start()
        await asyncio.sleep(6)
        tokens = (await make_classroom(server, 3)).student_tokens
        before = rss_bytes(server.pid)
        sampler = asyncio.create_task(sample())
        quiet_end = time.monotonic()
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            loop = asyncio.get_running_loop()
            outcome = await loop.run_in_executor(pool, attack, name, server.url, tokens)
        flood_end = time.monotonic()
        sampler.cancel()
        await asyncio.sleep(3)
        after = rss_bytes(server.pid)
        await honest.stop()
        tracebacks = sum("Traceback" in line for line in server.log_problems())
        return {
            "attack": name,
            "outcome": outcome,
            "rss": f"{before / MB:.0f} / {peak[0] / MB:.0f} / {after / MB:.0f} MB",
            "chat": f"{honest.p50_p99(0, quiet_end)} / {honest.p50_p99(quiet_end, flood_end)} ms",
            "tracebacks": tracebacks,
        }
    finally:
        stop_server(server)
        remove_server_dir(server)


HEADS = ["attack", "outcome", "rss", "chat", "tracebacks"]
TITLES = [
    "attack",
    "refused / closed",
    "server RSS before / peak / after",
    "honest chat ack p50/p99: quiet / under attack",
    "tracebacks logged",
]
