"""Guest floods against one lesson while honest students chat in another (bench/faults.py).

Two attacks on a `sabak serve` process (loopback only, bounded):
- a guest flood: a valid lesson code used by a script, first from one address, then from
  many (X-Forwarded-For through a trusted proxy, as behind nginx);
- a code-guessing flood: wrong codes from one address, with a real guest typing the right
  code from that same address in the middle of it.
For each: what was refused (by code), the server's RSS before, during and after, and the
p99 of an honest student's chat round trip in another lesson, against quiet windows
before and after (their difference shows how noisy the machine is).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import socketio

from bench.common import cpu_seconds, percentile, rss_bytes
from client.rest import RestClient, token_from_link
from client.sabak_client import SabakClient
from store.redis_launcher import EmbeddedRedis
from tests.conftest import clean_env, free_port, sabak_serve

CONCURRENCY = 50
HONEST = 3
CHAT_EVERY_S = 0.2


class Honest:
    """Students of another lesson chatting all along; round trips kept with their time."""

    def __init__(self, kids: list[SabakClient]) -> None:
        self.kids, self.stop = kids, False
        self.samples: list[tuple[float, float]] = []

    async def talk(self, kid: SabakClient, tag: str) -> None:
        i = 0
        while not self.stop:
            began = time.monotonic()
            await kid.call("chat_send", {"client_id": f"{tag}-{i}", "text": "ok"}, timeout=30)
            self.samples.append((began, (time.monotonic() - began) * 1000))
            i += 1
            await asyncio.sleep(CHAT_EVERY_S)

    def p99(self, start: float, end: float) -> float:
        return percentile([ms for t, ms in self.samples if start <= t < end], 99)


async def guest(url: str, code: str, name: str, forwarded: str | None = None) -> Any:
    """(refusal code, "waiting" or "join:<code>"; the client) for one guest connecting, joining."""
    sio = socketio.AsyncClient(reconnection=False)
    errors: list[Any] = []
    sio.on("connect_error", errors.append)
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    try:
        await sio.connect(url, auth={"guest_code": code, "name": name}, headers=headers,
                          transports=["websocket"], wait_timeout=30)  # fmt: skip
    except socketio.exceptions.ConnectionError:
        error = errors[0] if errors and isinstance(errors[0], dict) else {}
        return str(error.get("data", error).get("code")), sio
    ack = await sio.call("join", {}, timeout=30)
    return ("waiting" if ack.get("ok") else f"join:{ack['error']['code']}"), sio


def run_attack(kind: str, url: str, code: str, n: int) -> dict[str, int]:
    """In the child process: one attack; how each attempt ended, counted by code.

    At the lowest CPU priority: a real attacker runs on their own machine, so the server
    and the honest students should not lose CPU time to the attacking script itself.
    """
    os.nice(19)
    return asyncio.run(ATTACKS[kind](url, code, n))


async def settle(results: list[Any]) -> dict[str, int]:
    await asyncio.gather(*(sio.disconnect() for _, sio in results), return_exceptions=True)
    return dict(Counter(code for code, _ in results))


async def one_address(url: str, code: str, n: int) -> dict[str, int]:
    return await settle(
        await bounded([lambda i=i: guest(url, code, f"Bot {i}", "203.0.113.1") for i in range(n)])
    )


async def many_addresses(url: str, code: str, n: int) -> dict[str, int]:
    jobs = [lambda i=i: guest(url, code, f"Bot {i}", f"198.51.{i // 250}.{i % 250 + 1}")
            for i in range(n)]  # fmt: skip
    return await settle(await bounded(jobs))


async def no_credentials(url: str, code: str, n: int) -> dict[str, int]:
    """The control: as many connections with no credentials at all (refused before any
    guest code is looked at), to tell the cost of connecting from the cost of the guest path."""
    jobs = [lambda: guest_without_auth(url) for _ in range(n)]
    return await settle(await bounded(jobs))


async def guest_without_auth(url: str) -> Any:
    sio = socketio.AsyncClient(reconnection=False)
    errors: list[Any] = []
    sio.on("connect_error", errors.append)
    try:
        await sio.connect(url, auth={}, transports=["websocket"], wait_timeout=30)
    except socketio.exceptions.ConnectionError:
        error = errors[0] if errors and isinstance(errors[0], dict) else {}
        return str(error.get("data", error).get("code")), sio
    return "connected", sio


async def bounded(jobs: Sequence[Callable[..., Awaitable[Any]]]) -> list[Any]:
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(job: Callable[..., Awaitable[Any]]) -> Any:
        async with gate:
            return await job()

    return await asyncio.gather(*(one(j) for j in jobs))


async def phase(name: str, pid: int, honest: Honest, *attack: Any) -> dict[str, Any]:
    """Run one attack in a child process (so that the honest clients here are not slowed by
    the attacker's own CPU) while watching the server's RSS and the honest round trips."""
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        await loop.run_in_executor(pool, warm_up)  # the child's start is not the attack
        rss_before, cpu_before = rss_bytes(pid), cpu_seconds(pid)
        began = time.monotonic()
        peak = [rss_before]

        async def watch() -> None:
            while True:
                peak.append(rss_bytes(pid))
                await asyncio.sleep(0.1)

        watcher = asyncio.create_task(watch())
        outcome = await loop.run_in_executor(pool, run_attack, *attack)
        ended = time.monotonic()
        cpu = (cpu_seconds(pid) - cpu_before) / (ended - began)
        watcher.cancel()
    await asyncio.sleep(3)
    return {
        "attack": name, "outcome": dict(outcome), "seconds": round(ended - began, 1),
        "rss_mb": [round(x / 2**20) for x in (rss_before, max(peak), rss_bytes(pid))],
        "server_cpu": f"{cpu * 100:.0f} %", "honest_p99_ms": round(honest.p99(began, ended), 1),
    }  # fmt: skip


async def quiet_window(honest: Honest, seconds: float) -> float:
    began = time.monotonic()
    await asyncio.sleep(seconds)
    return honest.p99(began, time.monotonic())


def warm_up() -> None:
    """Nothing: the child has imported this module (and socketio) by now."""


async def setup(url: str, key: str) -> tuple[dict[str, Any], dict[str, Any], list[SabakClient]]:
    """A lesson to flood, another open to guests (for the guessing), one with honest kids."""
    async with RestClient(url, key) as rest:
        course = await rest.create_course("Floods")
        roster = await rest.add_students(course["id"], [f"S{i}" for i in range(HONEST)])
        target = await rest.start_lesson((await rest.create_lesson(course["id"], "A", True))["id"])
        fresh = await rest.start_lesson((await rest.create_lesson(course["id"], "C", True))["id"])
        other = await rest.start_lesson((await rest.create_lesson(course["id"], "B"))["id"])
    kids = [SabakClient(url, token=token_from_link(s["link"])) for s in roster]
    for kid in kids:
        await kid.connect()
        await kid.join(other["id"])
    return target, fresh, kids


async def guest_floods(guests: int = 300, guesses: int = 500) -> list[dict[str, Any]]:
    tmp = Path(tempfile.mkdtemp(prefix="sabak-floods-"))
    redis = EmbeddedRedis(tmp / "redis")
    await redis.start()
    port = free_port()
    env = clean_env(SABAK_SERVER_PORT=str(port), SABAK_SERVER_DATA_DIR=str(tmp / "var"),
                    SABAK_REDIS_URL=redis.url, SABAK_SERVER_TRUSTED_PROXIES="127.0.0.1",
                    SABAK_LESSON_CHAT_RATE_MESSAGES="1000",
                    # the honest students chat 5 times a second: above a student's budget
                    SABAK_LESSON_EVENTS_PER_MINUTE="1000")  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    proc = await sabak_serve(env)
    try:
        target, fresh, kids = await setup(url, (tmp / "var" / "admin.key").read_text().strip())
        code, fresh = target["code"], fresh["code"]
        honest = Honest(kids)
        talking = asyncio.gather(*(honest.talk(k, f"h{n}") for n, k in enumerate(kids)))
        quiet = [await quiet_window(honest, 8)]
        rows = [
            await phase(f"{guests} guests, valid code, one address", proc.pid, honest,
                        "one_address", url, code, guests),
            await phase(f"{guests} guests, valid code, {guests} addresses", proc.pid, honest,
                        "many_addresses", url, code, guests),
            await phase(f"{guesses} wrong codes from one address, the right code of another "
                        "lesson in the middle", proc.pid, honest, "guessing", url, fresh, guesses),
            await phase(f"control: {guests} connections without credentials", proc.pid,
                        honest, "no_credentials", url, code, guests),
        ]  # fmt: skip
        quiet.append(await quiet_window(honest, 8))  # the machine's own noise, after
        honest.stop = True
        await talking
        for row in rows:
            row["quiet_p99_ms"] = " / ".join(f"{q:.1f}" for q in quiet)
        for kid in kids:
            await kid.close()
        return rows
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 30)
        await redis.stop()
        shutil.rmtree(tmp, ignore_errors=True)


async def guessing(url: str, code: str, guesses: int) -> dict[str, int]:
    """Wrong codes, and halfway a person with the right code from the same address."""
    wrong = [lambda i=i: guest(url, f"W{i:07d}", "x", "203.0.113.9") for i in range(guesses)]
    flood = asyncio.ensure_future(bounded(wrong))
    await asyncio.sleep(2)
    began = time.monotonic()
    right, sio = await guest(url, code, "Real guest", "203.0.113.9")
    took = time.monotonic() - began
    results = await flood
    return await settle([*results, (f"right code: {right} in {took * 1000:.0f} ms", sio)])


ATTACKS = {
    "one_address": one_address,
    "many_addresses": many_addresses,
    "guessing": guessing,
    "no_credentials": no_credentials,
}


def table(rows: list[dict[str, Any]]) -> str:
    heads = [
        "attack",
        "outcome",
        "seconds",
        "rss_mb",
        "server_cpu",
        "honest_p99_ms",
        "quiet_p99_ms",
    ]
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    lines += ["| " + " | ".join(str(r[h]) for h in heads) + " |" for r in rows]
    return "\n".join(lines)
