"""Media subscribe flood: one student's script sends hundreds of overlapping media_subscribe.

A step of bench/faults.py (`--only media-flood`). One `sabak serve` with one media worker; lesson
A has a teacher publishing (aiortc) and the attacking student; lesson B has honest students
chatting every 1.1 s, whose ack latency is the figure that must not move. Reports what was
refused, and the worker's RSS and UDP sockets before, during (peak), after the flood and
after lesson A ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import time
from collections import Counter
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import psutil

from bench import common
from client.rest import RestClient
from client.sabak_client import CallFailed, SabakClient
from tests.media_peers import LOOPBACK, AiortcStudent, AiortcTeacher, At

QUIET_S = 8.0
SETTLE_S = 3.0
MB = 1024 * 1024


def media_worker(server: common.Server) -> psutil.Process:
    for child in psutil.Process(server.pid).children():
        if "media.worker" in " ".join(child.cmdline()):
            return child
    raise RuntimeError("the server has no media worker")


def sample(worker: psutil.Process) -> tuple[float, int]:
    """The worker's RSS in MB and its UDP sockets (0, 0 once it is gone)."""
    with contextlib.suppress(psutil.Error):
        return worker.memory_info().rss / MB, len(worker.net_connections(kind="udp"))
    return 0.0, 0


class Honest:
    """Students of another lesson chatting within the rate limit; ack latency per message."""

    def __init__(self, kids: list[SabakClient]) -> None:
        self.kids = kids
        self.acks: list[tuple[float, float]] = []  # (sent at, seconds to the ack)
        self.refused: Counter[str] = Counter()
        self._stop = False

    async def run(self) -> None:
        await asyncio.gather(*(self._talk(n, kid) for n, kid in enumerate(self.kids)))

    async def _talk(self, n: int, kid: SabakClient) -> None:
        i = 0
        while not self._stop:
            sent = time.monotonic()
            try:
                await kid.call("chat_send", {"client_id": f"h{n}-{i}", "text": "hi"}, timeout=30)
                self.acks.append((sent, time.monotonic() - sent))
            except CallFailed as refused:
                self.refused[refused.code] += 1
            i += 1
            await asyncio.sleep(1.1)

    def stop(self) -> None:
        self._stop = True


def honest_main(url: str, lesson_id: str, tokens: list[str], pipe: Connection) -> None:
    """In a process of its own, so that the flood's client side cannot slow its event loop:
    chat until told to stop, then send back (acks, refusals). CLOCK_MONOTONIC is system-wide.
    """

    async def chat() -> None:
        kids = [SabakClient(url, token=t) for t in tokens]
        for kid in kids:
            await kid.connect()
            await kid.join(lesson_id)
        honest = Honest(kids)
        talking = asyncio.create_task(honest.run())
        pipe.send("chatting")
        await asyncio.get_running_loop().run_in_executor(None, pipe.recv)
        honest.stop()
        await talking
        for kid in kids:
            await kid.close()
        pipe.send((honest.acks, dict(honest.refused)))

    asyncio.run(chat())


def latency_ms(acks: list[tuple[float, float]], start: float, end: float) -> list[float]:
    """p50 and p99 of the acks of messages sent between start and end."""
    window = [lat for at, lat in acks if start <= at < end]
    return [round(common.percentile(window, q) * 1000, 1) for q in (50, 99)]


async def flood(attacker: SabakClient, calls: int, seconds: float) -> Counter[str]:
    """Waves of `calls` overlapping media_subscribe for `seconds`; what each answer was."""
    outcome: Counter[str] = Counter()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        outcome["waves"] += 1
        answers = await asyncio.gather(
            *(attacker.call("media_subscribe", {"mode": "video"}, timeout=60)
              for _ in range(calls)),
            return_exceptions=True,
        )  # fmt: skip
        for a in answers:
            outcome[
                "answered" if isinstance(a, dict) else getattr(a, "code", type(a).__name__)
            ] += 1
    return outcome


async def run(calls: int, seconds: float, honest: int, source: Path | None) -> dict[str, Any]:
    env = {"SABAK_MEDIA_WORKERS": "1", "SABAK_MEDIA_ICE_HOST_ADDRESSES": LOOPBACK,
           "SABAK_MEDIA_ICE_ACCEPT_REMOTE_IPS": LOOPBACK}  # fmt: skip
    server = await common.start_server(env, source)
    at = At(server.url)
    peers: list[AiortcTeacher | AiortcStudent] = []
    chatter: multiprocessing.process.BaseProcess | None = None
    try:
        worker = media_worker(server)
        idle = sample(worker)
        attacked = await common.make_classroom(server, 1)
        quiet = await common.make_classroom(server, honest)
        teacher = AiortcTeacher(at, f"#{attacked.teacher_token}")
        student = AiortcStudent(at, f"#{attacked.student_tokens[0]}")
        peers = [teacher, student]
        await teacher.join(attacked.lesson_id)
        await student.join(attacked.lesson_id)
        await student.camera_frames(30, "the attacked lesson's video")
        pipe, theirs = multiprocessing.get_context("spawn").Pipe()
        args = (server.url, quiet.lesson_id, quiet.student_tokens, theirs)
        chatter = multiprocessing.get_context("spawn").Process(target=honest_main, args=args)
        chatter.start()
        await asyncio.get_running_loop().run_in_executor(None, pipe.recv)
        pids = {"server": server.pid, "worker": worker.pid, "attacker (this process)": os.getpid()}
        meter = common.CpuMeter(pids)
        meter.start()
        t0 = time.monotonic()
        await asyncio.sleep(QUIET_S)
        quiet_cpu = meter.stop()
        before = sample(worker)
        server_mb = [common.rss_bytes(server.pid) / MB] * 2
        peak, sampling = list(before), True

        async def sampler() -> None:
            while sampling:
                rss, udp = sample(worker)
                peak[0], peak[1] = max(peak[0], rss), max(peak[1], udp)
                server_mb[1] = max(server_mb[1], common.rss_bytes(server.pid) / MB)
                await asyncio.sleep(0.2)

        watch = asyncio.create_task(sampler())
        meter.start()
        t1 = time.monotonic()
        outcome = await flood(student.client, calls, seconds)
        t2 = time.monotonic()
        flood_cpu = meter.stop()
        sampling = False
        await watch
        await asyncio.sleep(SETTLE_S)
        after = sample(worker)
        server_mb.append(common.rss_bytes(server.pid) / MB)
        pipe.send("stop")
        acks, refused = await asyncio.get_running_loop().run_in_executor(None, pipe.recv)
        chatter.join()
        async with RestClient(server.url, server.admin_key()) as rest:
            await rest.end_lesson(attacked.lesson_id)
        await asyncio.sleep(SETTLE_S)
        ended = sample(worker)
        return {
            "flood": f"{outcome.pop('waves')} waves of {calls} overlapping media_subscribe "
            "from one student",
            "answers": dict(outcome),
            "flood_s": round(t2 - t1, 1),
            "worker_mb": [round(x, 1) for x in (idle[0], before[0], peak[0], after[0], ended[0])],
            "worker_udp": [idle[1], before[1], peak[1], after[1], ended[1]],
            "worker_alive": worker.is_running(),
            "server_mb": [round(x, 1) for x in server_mb],  # before, peak during, after
            "honest_ms": {"quiet": latency_ms(acks, t0 + 1, t1), "flood": latency_ms(acks, t1, t2)},
            "honest_refused": refused,
            "cpu_cores": {  # CPU seconds per second: the server and the worker, quiet / flood
                who: [round(quiet_cpu[who] / (t1 - t0), 2), round(flood_cpu[who] / (t2 - t1), 2)]
                for who in pids
            },
            "honest_messages": len(acks),
        }
    finally:
        for peer in peers:
            with contextlib.suppress(Exception):
                await peer.close()
        if chatter is not None and chatter.is_alive():
            chatter.terminate()  # the run failed half-way: it still waits to be told to stop
        common.stop_server(server)
        common.remove_server_dir(server)


def lines(row: dict[str, Any]) -> list[str]:
    mb, udp = row["worker_mb"], row["worker_udp"]
    return [
        f"- {row['flood']} ({row['flood_s']} s): answers {row['answers']}",
        "- media worker RSS MB / UDP sockets — idle, before, peak during, after, lesson ended: "
        + ", ".join(f"{m} / {u}" for m, u in zip(mb, udp, strict=True)),
        "- server RSS MB before, peak during, after: " + ", ".join(map(str, row["server_mb"])),
        "- honest chat in another lesson, ack p50 / p99: quiet {} / {} ms, during the flood "
        "{} / {} ms ".format(*row["honest_ms"]["quiet"], *row["honest_ms"]["flood"])
        + f"({row['honest_messages']} messages, refused {row['honest_refused'] or 'none'})",
        "- CPU cores used, quiet / flood: "
        + ", ".join(f"{who} {q} / {f}" for who, (q, f) in row["cpu_cores"].items()),
    ]
