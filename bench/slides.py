"""Slides benchmark (issue 18): what a student receives per minute in slide mode, and the time
from the teacher's page turn to every student having it, on N connected students.

Bytes: one student (a raw WebSocket that counts every frame's text) in a lesson where, in one
minute, the teacher turns a page of a 20-page deck, draws five strokes and points for five
seconds; plus the one page image a minute costs (the page shown was prefetched a minute
earlier, so each turn downloads one new image). Video mode is the same minute at a screen
share's bitrate, given on the command line (500 kbit/s: the media benchmark's publisher).

Turns: N students (WsClient, in worker processes like bench/signaling.py) have joined; the
teacher turns pages once a second; each student notes when its `board` arrived.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the repo root, not bench/, goes on the path
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import asyncio
import contextlib
import io
import os
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import aiohttp
from PIL import Image, ImageDraw, ImageFont

from bench import common as cm
from bench.signaling import Crowd, CrowdSpec
from bench.wsclient import ProtocolError, WsClient
from client.sabak_client import SabakClient

PAGES = 20
# Every student connects from 127.0.0.1: the per-address cap must hold the whole class.
SERVER_ENV = {"SABAK_SERVER_LOG_LEVEL": "info", "SABAK_SERVER_SESSIONS_PER_ADDRESS": "5000"}
STROKE = [int(500 + 40 * i) for i in range(40) for _ in (0, 1)]  # 40 points, simplified
PALETTE = ["#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#d32f2f"]


def deck_pdf(pages: int = PAGES) -> bytes:
    """A lecture-like deck: a title, five lines of text and a bar chart on each 16:9 page."""
    font, small = ImageFont.load_default(64), ImageFont.load_default(36)
    images = []
    for n in range(1, pages + 1):
        img = Image.new("RGB", (1600, 900), "white")
        draw = ImageDraw.Draw(img)
        draw.text((80, 60), f"Lesson 7 - Fractions, part {n}", fill="#111111", font=font)
        for line in range(5):
            text = f"- point {line + 1}: a/b + c/d = (ad + bc) / bd, example {n}.{line}"
            draw.text((100, 200 + 70 * line), text, fill="#333333", font=small)
        for bar in range(5):
            top = 880 - 60 * ((n + bar) % 7 + 1)
            draw.rectangle((1000 + 110 * bar, top, 1080 + 110 * bar, 880), fill=PALETTE[bar])
        images.append(img)
    out = io.BytesIO()
    images[0].save(out, "PDF", save_all=True, append_images=images[1:], resolution=100)
    return out.getvalue()


async def upload_deck(server: cm.Server, token: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/pdf"}
    async with aiohttp.ClientSession() as http:
        url = f"{server.url}/api/decks?name=Fractions.pdf"
        async with http.post(url, data=deck_pdf(), headers=headers) as resp:
            body: dict[str, Any] = await resp.json()
            assert resp.status == 201, body
            return body


async def page_bytes(server: cm.Server, deck: str, page: int, fmt: str) -> int:
    url = f"{server.url}/api/decks/{deck}/pages/{page}?w=720&f={fmt}"
    async with aiohttp.ClientSession() as http, http.get(url) as r:
        assert r.status == 200
        return len(await r.read())


# -- bytes a student receives in one minute of slide mode ----------------------------------


class CountingClient(WsClient):
    """A student that counts the text of every frame it receives (before any deflate)."""

    received = 0

    async def _on_packet(self, packet: str) -> None:
        self.received += len(packet.encode())
        await super()._on_packet(packet)


async def slide_minute(
    server: cm.Server, room: cm.Classroom, deck: dict[str, Any]
) -> dict[str, Any]:
    teacher = SabakClient(server.url, token=room.teacher_token, reconnection=False)
    await teacher.connect()
    await teacher.join(room.lesson_id)
    async with aiohttp.ClientSession() as http:
        kid = CountingClient(http, server.url, {"token": room.student_tokens[0]})
        await kid.connect()
        await kid.call("join", {"lesson_id": room.lesson_id})
        await teacher.call("board_show", {"deck": deck["deck"], "page": 1})
        await asyncio.sleep(1)
        joined = kid.received  # the join and the first page: once per lesson, not per minute
        await teacher.call("board_turn", {"page": 2})
        for k in range(5):
            stroke = {"client_id": f"s{k}", "points": STROKE, "color": "blue", "width": 40}
            await teacher.call("board_stroke", stroke)
        for k in range(100):  # five seconds of pointing, 20 moves a second
            await teacher.call("board_pointer", {"x": 100 * k, "y": 5000})
            await asyncio.sleep(0.05)
        await asyncio.sleep(1)
        socket_bytes = kid.received - joined
        counts = dict(kid.counts)
        await kid.close()
    await teacher.close()
    webp = [await page_bytes(server, deck["deck"], n, "webp") for n in range(1, PAGES + 1)]
    jpeg = [await page_bytes(server, deck["deck"], n, "jpeg") for n in range(1, PAGES + 1)]
    return {"socket_bytes": socket_bytes, "events": counts,
            "webp_720_mean": sum(webp) / len(webp), "jpeg_720_mean": sum(jpeg) / len(jpeg),
            "webp_720_max": max(webp)}  # fmt: skip


# -- page turn to every student --------------------------------------------------------------


class BoardCrowd(Crowd):
    """Crowd's students, watching `board` instead of `chat`."""

    async def _join_one(self, token: str, gate: asyncio.Semaphore) -> str:
        assert self.session is not None
        client = WsClient(self.session, self.spec.url, {"token": token},
                          compress=self.spec.deflate, watch=frozenset({"board"}),
                          notify=self.arrived)  # fmt: skip
        async with gate:
            try:
                await client.connect()
                ack = await client.call("join", {"lesson_id": self.spec.lesson_id})
            except (OSError, TimeoutError, aiohttp.ClientError, ProtocolError) as exc:
                with contextlib.suppress(Exception):
                    await client.close()
                return f"{type(exc).__name__}: {exc}"[:200]
        self.clients.append(client)
        return "" if isinstance(ack, dict) and ack.get("ok") else str(ack)[:200]

    async def collect(self, arg: dict[str, Any]) -> dict[str, Any]:
        """Each student's arrival time of each page's `board`, once the last turn arrived."""
        last, deadline = int(arg["last"]), float(arg["deadline"])
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(0.0, deadline - time.time())):
                while not all(
                    any(p and p.get("page") == last for _, _, p in c.arrivals) for c in self.clients
                ):
                    self.arrived.clear()
                    await self.arrived.wait()
        pages: dict[int, list[float]] = {}
        for c in self.clients:
            for arrived, _, payload in c.arrivals:
                pages.setdefault(int(payload["page"]), []).append(arrived)
        return {"pages": pages, "dropped": sum(c.closed_by_server for c in self.clients)}


def crowd_main(pipe: Connection, spec: CrowdSpec) -> None:
    asyncio.run(cm.serve_commands(pipe, BoardCrowd(spec).handlers()))


async def turns(server: cm.Server, room: cm.Classroom, deck: str, opts: Options) -> dict[str, Any]:
    procs = max(1, min(opts.procs, len(room.student_tokens)))
    specs = [CrowdSpec(server.url, room.lesson_id, tokens, True, 50 // procs, None)
             for tokens in cm.split(room.student_tokens, procs)]  # fmt: skip
    workers = cm.Workers(crowd_main, specs)
    teacher = SabakClient(server.url, token=room.teacher_token, reconnection=False)
    try:
        await workers.ask("ping", None, 60)
        joined = await workers.ask("join", 300.0, 330)
        refused = [r for w in joined for r in w["refused"]]
        await teacher.connect()
        await teacher.join(room.lesson_id)
        await teacher.call("board_show", {"deck": deck, "page": 1})
        await asyncio.sleep(2)
        meter = cm.CpuMeter({"server": server.pid})
        meter.start()
        sent: dict[int, float] = {}
        for page in range(2, 2 + opts.turns):
            sent[page] = time.time()
            await teacher.call("board_turn", {"page": page})
            await asyncio.sleep(opts.every)
        last = 1 + opts.turns
        replies = await workers.ask("collect", {"last": last, "deadline": time.time() + 30}, 60)
        cpu = meter.stop()
    finally:
        with contextlib.suppress(Exception):
            await teacher.close()
        with contextlib.suppress(Exception):
            await workers.ask("close", 30.0, 40)
        workers.stop()
    delays = [(t - sent[page]) * 1000 for r in replies for page, times in r["pages"].items()
              if page in sent for t in times]  # fmt: skip
    expected = len(room.student_tokens) * opts.turns
    q = {f"p{p}_ms": round(cm.percentile(delays, p), 1) for p in (50, 95, 99)}
    return {"n": len(room.student_tokens), "turns": opts.turns, "refused": refused[:5],
            "received": len(delays), "expected": expected, **q,
            "max_ms": round(max(delays, default=float("nan")), 1),
            "server_cpu_s": cpu.get("server"),
            "dropped": sum(r["dropped"] for r in replies)}  # fmt: skip


@dataclass
class Options:
    n: int = 1000
    turns: int = 10
    every: float = 1.0
    procs: int = 1
    video_kbps: float = 500.0


async def run(opts: Options) -> dict[str, Any]:
    server = await cm.start_server(SERVER_ENV)
    try:
        room = await cm.make_classroom(server, opts.n)
        started = time.monotonic()
        deck = await upload_deck(server, room.teacher_token)
        render_s = time.monotonic() - started
        minute = await slide_minute(server, room, deck)
        turned = await turns(server, room, deck["deck"], opts)
    finally:
        cm.stop_server(server)
        cm.remove_server_dir(server)
    slide = minute["socket_bytes"] + minute["webp_720_mean"]
    video = opts.video_kbps * 1000 / 8 * 60
    return {"benchmark": "slides", "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "machine": cm.machine_facts(), "git": cm.git_state(), "options": vars(opts),
            "deck_render_s": round(render_s, 2), "minute": minute,
            "slide_bytes_per_minute": round(slide), "video_bytes_per_minute": round(video),
            "video_over_slides": round(video / slide, 1), "turns": turned}  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1000, help="connected students (default 1000)")
    p.add_argument("--turns", type=int, default=10, help="page turns to time (default 10)")
    p.add_argument("--every", type=float, default=1.0, help="seconds between turns")
    p.add_argument("--procs", type=int, default=1, help="student worker processes")
    p.add_argument("--video-kbps", type=float, default=500.0, help="video mode's bitrate")
    opts = Options(**vars(p.parse_args(argv)))
    try:
        report = asyncio.run(run(opts))
    finally:
        cm.stop_all_servers()
    m, t = report["minute"], report["turns"]
    print(cm.markdown_table(
        ["slide mode, per minute", "of which socket.io", "page image (WebP 720, mean)",
         "JPEG fallback (mean)", f"video at {opts.video_kbps:g} kbit/s", "video / slides"],
        [[report["slide_bytes_per_minute"], m["socket_bytes"], round(m["webp_720_mean"]),
          round(m["jpeg_720_mean"]), report["video_bytes_per_minute"],
          report["video_over_slides"]]]))  # fmt: skip
    print()
    print(cm.markdown_table(
        ["N", "turns", "received / expected", "p50 ms", "p95 ms", "p99 ms", "max ms",
         "server CPU s", "render 20 pages s"],
        [[t["n"], t["turns"], f"{t['received']} / {t['expected']}", t["p50_ms"], t["p95_ms"],
          t["p99_ms"], t["max_ms"], t["server_cpu_s"], report["deck_render_s"]]]))  # fmt: skip
    print(f"results: {cm.write_results('slides', report)}")
    print(f"pid {os.getpid()} done", file=sys.stderr)


if __name__ == "__main__":
    main()
