"""Weak links: what a student gets over each emulated link, and what it costs (issue 16).

    .venv/bin/python bench/links.py                          # good, 3g, rural, edge; 30 s each
    .venv/bin/python bench/links.py --profiles rural --seconds 20 --students 3
    .venv/bin/python bench/links.py --profiles rural --mode audio   # "sound only" by hand
    .venv/bin/python bench/links.py --timeline good:10 outage:5 good:15
    .venv/bin/python bench/links.py --side single: --side layers:SABAK_MEDIA_X=on

Each row is one run: a server started here (the in-memory store, one media worker process,
media ICE only through the relays of bench/linkroute.py), an aiortc teacher on a `good` link
sending ~500 kbit/s VP8 (a noisy 640x360 picture, bitrate pinned) and a 400 Hz tone in
48 kbit/s Opus (the issue's browser teacher: ~500 + 56 kbit/s),
and --students aiortc students on the profile (bench/linkemu.py). After --warmup s, the window
of --seconds (or the whole --timeline, its profiles applied in turn) is measured:

- per student (the mean over students, the worst for freezes), at the student
  (bench/weakclass.py): camera frames that decoded a second (mean / lowest second), freezes
  (gaps over 0.5 s between decoded frames: count / longest), audio frames received against
  those the server got from the teacher, and the bytes the link delivered, per minute;
- the server's view: the layer each student's camera feed carries over time (the feed's
  `layer` in its report, "single" today; "off" when it feeds no video), retransmitted
  packets (NACK answers), keyframes the teacher sent in the window (each one forced by a
  request), and the media worker's CPU per student in % of a core;
- the teacher's own frame rates as the server got them (a busy machine sends fewer).

--side NAME:ENV=VALUE,... runs everything once per side with those extra settings for the
server, and prints the sides next to each other: e.g. layer switching on against today's
single-layer forwarding, in one run, once a setting switches it.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the repo root, not bench/, goes on the path
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import asyncio
import contextlib
import itertools
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass
from typing import Any

import socketio
from playwright.async_api import Browser

from bench.common import cpu_seconds, machine_facts, markdown_table, write_results
from bench.linkemu import Link
from bench.linkroute import SERVER_ENV
from bench.weakclass import (
    TEACHER_BPS,
    Sample,
    Watch,
    WeakClass,
    keyframes_sent,
    layer_of,
    teacher_bitrate,
)
from bench.weakphone import Phone
from config.settings import MEMORY_STORE
from tests.browser import chromium
from tests.conftest import free_port, settings_for, start_server

PROFILES = ["good", "3g", "rural", "edge"]


@dataclass
class Row:
    """One run's figures (per student: the mean over the students, freezes the worst)."""

    side: str
    link: str
    mode: str
    layers: str = ""
    fps_mean: float = 0.0
    fps_min: float = 0.0
    freezes: int = 0
    longest_freeze_s: float = 0.0
    audio_played: float = 0.0
    kbytes_per_min: float = 0.0
    retransmits: int = 0
    keyframes: int = 0
    plis_sent: int = 0
    cpu_per_student: float = 0.0
    teacher_fps: float = 0.0
    teacher_audio_fps: float = 0.0
    seconds: float = 0.0


def layers_over_time(samples: list[Sample], pid: str, t0: float) -> str:
    """The feed's layer and from when, e.g. "single" or "high, low@12s, off@20s"."""
    runs = itertools.groupby(samples, key=lambda s: layer_of(s.feeds.get(pid, {})))
    parts = [(layer, next(group).at - t0) for layer, group in runs]
    return ", ".join(f"{layer}@{at:.0f}s" if i else layer for i, (layer, at) in enumerate(parts))


Receiver = tuple[str, Watch, Callable[[float, float], float]]  # pid, watch, audio played


async def play(links: list[Link], steps: list[tuple[str, float]]) -> None:
    for name, seconds in steps:
        for link in links:
            link.set_profile(name)
        await asyncio.sleep(seconds)


def delivered(links: list[Link]) -> int:
    """Bytes the links delivered to their students so far."""
    return sum(link.down.counters.bytes_out for link in links)


def figures(
    weak: WeakClass, receivers: list[Receiver], row: Row, t0: float, t1: float, got: int
) -> Row:
    """The window's figures of a group of receivers into `row`; `got`: bytes delivered."""
    first, last = weak.between(t0, t1)
    span = t1 - t0
    per = []
    for pid, watch, played in receivers:
        fps_mean, fps_min = watch.fps(t0, t1)
        freezes = watch.freezes(t0, t1) if row.mode.startswith("video") else []
        retx = last.feeds[pid].get("retransmits") or 0
        retx -= first.feeds[pid].get("retransmits") or 0
        per.append((fps_mean, fps_min, freezes, played(t0, t1), retx))
    row.layers = layers_over_time(weak.samples_in(t0, t1), receivers[0][0], t0)
    row.fps_mean = round(statistics.mean(r[0] for r in per), 1)
    row.fps_min = min(r[1] for r in per)
    row.freezes = max(len(r[2]) for r in per)
    row.longest_freeze_s = round(max(max(r[2], default=0.0) for r in per), 1)
    row.audio_played = round(statistics.mean(r[3] for r in per), 3)
    row.kbytes_per_min = round(got / len(per) / 1000 * 60 / span, 0)
    row.retransmits = round(statistics.mean(r[4] for r in per))
    row.keyframes = keyframes_sent(last.camera) - keyframes_sent(first.camera)
    row.plis_sent = last.camera["plis_sent"] - first.camera["plis_sent"]
    row.teacher_fps, row.teacher_audio_fps = (round(f, 1) for f in weak.sent_fps(t0, t1))
    row.seconds = round(span, 1)
    return row


async def open_phones(
    weak: WeakClass, browser: Browser | None, pixel: dict[str, Any], profile: str, seed: int
) -> list[Phone]:
    phones = []
    for i, entry in enumerate(weak.spare):
        link = Link(profile, seed=seed * 1000 + 500 + i)
        assert browser is not None
        phones.append(await Phone.open(browser, pixel, link, entry["link"], entry["id"]))
    weak.also_sampled = [phone.pid for phone in phones]
    return phones


async def one_run(
    side: str, env: dict[str, str], steps: list[tuple[str, float]], args: argparse.Namespace
) -> list[Row]:
    data = Path(tempfile.mkdtemp(prefix="sabak-links-"))
    settings = settings_for(
        data / "var", MEMORY_STORE, free_port(), SABAK_MEDIA_WORKERS="1", **SERVER_ENV | env
    )
    server = await start_server(settings)
    profile = steps[0][0]
    weak = WeakClass(
        server, [profile] * args.students, mode=args.mode, seed=args.seed, spare=args.chromium
    )
    phones: list[Phone] = []
    try:
        async with maybe_chromium(args.chromium) as (browser, pixel):
            await weak.start()
            phones = await open_phones(weak, browser, pixel, profile, args.seed)
            return await measure(weak, phones, side, steps, args)
    finally:
        for phone in phones:
            await phone.close()
            phone.link.close()
        await weak.close()
        await server.runner.cleanup()


async def measure(
    weak: WeakClass,
    phones: list[Phone],
    side: str,
    steps: list[tuple[str, float]],
    args: argparse.Namespace,
) -> list[Row]:
    await asyncio.sleep(args.warmup)
    groups = [[p.link for p in weak.pupils], [p.link for p in phones]]
    pid, t0 = weak.worker_pid(), time.monotonic()
    cpu0, bytes0 = cpu_seconds(pid), [delivered(links) for links in groups]
    await play(groups[0] + groups[1], steps)
    t1 = time.monotonic()
    cpu = cpu_seconds(pid) - cpu0
    got = [delivered(g) - b for g, b in zip(groups, bytes0, strict=True)]
    await asyncio.sleep(0.6)  # one more sample of the server after the window
    link = " → ".join(f"{n} {s:.0f}s" for n, s in steps) if len(steps) > 1 else steps[0][0]
    cpu_share = round(cpu / (t1 - t0) / (len(weak.pupils) + len(phones)) * 100, 2)
    rows = []
    if weak.pupils:
        aiortc: list[Receiver] = [(p.pid, p.watch, p.watch.audio_played) for p in weak.pupils]
        row = Row(side, link, args.mode, cpu_per_student=cpu_share)
        rows.append(figures(weak, aiortc, row, t0, t1, got[0]))
    if phones:
        browsers: list[Receiver] = [(p.pid, p.watch, p.audio_played) for p in phones]
        row = Row(side, link, f"{args.mode} (Chromium)", cpu_per_student=cpu_share)
        rows.append(figures(weak, browsers, row, t0, t1, got[1]))
    return rows


@contextlib.asynccontextmanager
async def maybe_chromium(
    phones: int,
) -> AsyncIterator[tuple[Browser | None, dict[str, Any]]]:
    if not phones:
        yield None, {}
        return
    async with chromium() as (browser, pixel):
        yield browser, pixel


async def run_with_retry(
    side: str, env: dict[str, str], steps: list[tuple[str, float]], args: argparse.Namespace
) -> list[Row]:
    """One run; once more if the lesson could not start (a busy machine times out a join)."""
    try:
        return await one_run(side, env, steps, args)
    except (TimeoutError, socketio.exceptions.TimeoutError) as exc:
        print(f"the run did not start ({exc!r}): once more", flush=True)
        return await one_run(side, env, steps, args)


def table(rows: list[Row]) -> str:
    headers = [
        "side", "link", "receives", "layer over time", "video fps mean / min (of sent)",
        "freezes (count / longest)", "audio played", "KB per minute", "retransmitted packets",
        "keyframes from the teacher", "worker CPU per student", "teacher fps video / audio",
    ]  # fmt: skip
    return markdown_table(headers, [
        [r.side, r.link, r.mode, r.layers, f"{r.fps_mean:g} / {r.fps_min:g} ({share(r)})",
         f"{r.freezes} / {r.longest_freeze_s:g} s", f"{r.audio_played:.1%}",
         f"{r.kbytes_per_min:.0f}", r.retransmits, r.keyframes, f"{r.cpu_per_student:.2f} %",
         f"{r.teacher_fps:g} / {r.teacher_audio_fps:g}"]
        for r in rows
    ])  # fmt: skip


def share(row: Row) -> str:
    """Decoded frames against those the teacher sent: a busy machine's teacher sends fewer."""
    return f"{row.fps_mean / row.teacher_fps:.0%}" if row.teacher_fps else "-"


def parse_side(text: str) -> tuple[str, dict[str, str]]:
    name, _, settings = text.partition(":")
    env = dict(item.split("=", 1) for item in settings.split(",") if item)
    return name or "now", env


def parse_steps(args: argparse.Namespace) -> list[list[tuple[str, float]]]:
    if args.timeline:
        steps = [(t.split(":")[0], float(t.split(":")[1])) for t in args.timeline]
        return [steps]
    return [[(name, args.seconds)] for name in args.profiles]


async def main_async(args: argparse.Namespace) -> None:
    sides = [parse_side(s) for s in args.side] or [("now", {})]
    rows: list[Row] = []
    with teacher_bitrate(args.teacher_bps):
        for steps in parse_steps(args):
            for side, env in sides:
                new = await run_with_retry(side, env, steps, args)
                rows += new
                print("\n".join(table(new).splitlines()[2:]), flush=True)
    print(
        f"\n{args.students} aiortc student(s) and {args.chromium} Chromium phone(s) a run, "
        f"{args.warmup:g} s warm-up, mode {args.mode}"
    )
    print(table(rows))
    path = write_results("links", {"machine": machine_facts(), "args": vars(args),
                                   "rows": [asdict(r) for r in rows]})  # fmt: skip
    print(f"written to {path}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--profiles", nargs="+", default=PROFILES)
    parser.add_argument("--timeline", nargs="+", help="profile:seconds ..., one run")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument("--students", type=int, default=1)
    parser.add_argument("--mode", choices=["video", "audio"], default="video")
    parser.add_argument("--chromium", type=int, default=0, help="Chromium phones a run, too")
    parser.add_argument("--side", action="append", default=[], help="NAME:ENV=VALUE,...")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--teacher-bps", type=int, default=TEACHER_BPS)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
