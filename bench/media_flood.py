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
import time
from collections import Counter
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
        if "signaling.media_worker" in " ".join(child.cmdline()):
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

    def p99_ms(self, start: float, end: float) -> float:
        window = [lat for at, lat in self.acks if start <= at < end]
        return round(common.percentile(window, 99) * 1000, 1)


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
    kids: list[SabakClient] = []
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
        kids = [SabakClient(server.url, token=t) for t in quiet.student_tokens]
        for kid in kids:
            await kid.connect()
            await kid.join(quiet.lesson_id)
        chat = Honest(kids)
        chatting = asyncio.create_task(chat.run())
        t0 = time.monotonic()
        await asyncio.sleep(QUIET_S)
        before = sample(worker)
        peak, sampling = list(before), True

        async def sampler() -> None:
            while sampling:
                rss, udp = sample(worker)
                peak[0], peak[1] = max(peak[0], rss), max(peak[1], udp)
                await asyncio.sleep(0.2)

        watch = asyncio.create_task(sampler())
        t1 = time.monotonic()
        outcome = await flood(student.client, calls, seconds)
        t2 = time.monotonic()
        sampling = False
        await watch
        await asyncio.sleep(SETTLE_S)
        after = sample(worker)
        chat.stop()
        await chatting
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
            "honest_p99_ms": {"quiet": chat.p99_ms(t0 + 1, t1), "flood": chat.p99_ms(t1, t2)},
            "honest_refused": dict(chat.refused),
            "honest_messages": len(chat.acks),
        }
    finally:
        for peer in peers:
            with contextlib.suppress(Exception):
                await peer.close()
        for kid in kids:
            await kid.close()
        common.stop_server(server)
        common.remove_server_dir(server)


def lines(row: dict[str, Any]) -> list[str]:
    mb, udp = row["worker_mb"], row["worker_udp"]
    return [
        f"- {row['flood']} ({row['flood_s']} s): answers {row['answers']}",
        "- media worker RSS MB / UDP sockets — idle, before, peak during, after, lesson ended: "
        + ", ".join(f"{m} / {u}" for m, u in zip(mb, udp, strict=True)),
        f"- honest chat in another lesson, p99 ack: quiet {row['honest_p99_ms']['quiet']} ms, "
        f"during the flood {row['honest_p99_ms']['flood']} ms "
        f"({row['honest_messages']} messages, refused {row['honest_refused'] or 'none'})",
    ]
