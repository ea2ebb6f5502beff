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
import itertools
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass

from bench.common import cpu_seconds, machine_facts, markdown_table, write_results
from bench.linkroute import SERVER_ENV
from bench.weakclass import (
    TEACHER_BPS,
    Sample,
    WeakClass,
    keyframes_sent,
    layer_of,
    teacher_bitrate,
)
from config.settings import MEMORY_STORE
from tests.conftest import free_port, settings_for, start_server

PROFILES = ["good", "3g", "rural", "edge"]


@dataclass
class Row:
    """One run's figures (per student: the mean over the students, freezes the worst)."""

    side: str
    link: str
    mode: str
    layers: str
    fps_mean: float
    fps_min: float
    freezes: int
    longest_freeze_s: float
    audio_played: float
    kbytes_per_min: float
    retransmits: int
    keyframes: int
    plis_sent: int
    cpu_per_student: float
    teacher_fps: float
    teacher_audio_fps: float
    seconds: float


def layers_over_time(samples: list[Sample], pid: str, t0: float) -> str:
    """The feed's layer and from when, e.g. "single" or "high, low@12s, off@20s"."""
    runs = itertools.groupby(samples, key=lambda s: layer_of(s.feeds.get(pid, {})))
    parts = [(layer, next(group).at - t0) for layer, group in runs]
    return ", ".join(f"{layer}@{at:.0f}s" if i else layer for i, (layer, at) in enumerate(parts))


async def play(weak: WeakClass, steps: list[tuple[str, float]]) -> None:
    for name, seconds in steps:
        for pupil in weak.pupils:
            pupil.link.set_profile(name)
        await asyncio.sleep(seconds)


def delivered(weak: WeakClass) -> int:
    """Bytes the students' links delivered to them so far."""
    return sum(p.link.down.counters.bytes_out for p in weak.pupils)


def figures(
    weak: WeakClass, side: str, link: str, mode: str, t0: float, t1: float, got: int
) -> Row:
    """The window's figures; `got`: bytes delivered during it."""
    first, last = weak.between(t0, t1)
    video_sent, audio_sent = weak.sent_fps(t0, t1)
    span = t1 - t0
    per = []
    for p in weak.pupils:
        fps_mean, fps_min = p.watch.fps(t0, t1)
        freezes = p.watch.freezes(t0, t1) if mode == "video" else []
        retx = last.feeds[p.pid].get("retransmits") or 0
        retx -= first.feeds[p.pid].get("retransmits") or 0
        per.append((fps_mean, fps_min, freezes, p.watch.audio_played(t0, t1, audio_sent), retx))
    return Row(
        side=side,
        link=link,
        mode=mode,
        layers=layers_over_time(weak.samples_in(t0, t1), weak.pupils[0].pid, t0),
        fps_mean=round(statistics.mean(r[0] for r in per), 1),
        fps_min=min(r[1] for r in per),
        freezes=max(len(r[2]) for r in per),
        longest_freeze_s=round(max((max(r[2], default=0.0) for r in per), default=0.0), 1),
        audio_played=round(statistics.mean(r[3] for r in per), 3),
        kbytes_per_min=round(got / len(per) / 1000 * 60 / span, 0),
        retransmits=round(statistics.mean(r[4] for r in per)),
        keyframes=keyframes_sent(last.camera) - keyframes_sent(first.camera),
        plis_sent=last.camera["plis_sent"] - first.camera["plis_sent"],
        cpu_per_student=0.0,
        teacher_fps=round(video_sent, 1),
        teacher_audio_fps=round(audio_sent, 1),
        seconds=round(span, 1),
    )


async def one_run(
    side: str, env: dict[str, str], steps: list[tuple[str, float]], args: argparse.Namespace
) -> Row:
    data = Path(tempfile.mkdtemp(prefix="sabak-links-"))
    settings = settings_for(
        data / "var", MEMORY_STORE, free_port(), SABAK_MEDIA_WORKERS="1", **SERVER_ENV | env
    )
    server = await start_server(settings)
    weak = WeakClass(server, [steps[0][0]] * args.students, mode=args.mode, seed=args.seed)
    try:
        await weak.start()
        await asyncio.sleep(args.warmup)
        pid, t0 = weak.worker_pid(), time.monotonic()
        cpu0, bytes0 = cpu_seconds(pid), delivered(weak)
        await play(weak, steps)
        t1 = time.monotonic()
        cpu, got = cpu_seconds(pid) - cpu0, delivered(weak) - bytes0
        await asyncio.sleep(0.6)  # one more sample of the server after the window
        link = " → ".join(f"{n} {s:.0f}s" for n, s in steps) if len(steps) > 1 else steps[0][0]
        row = figures(weak, side, link, args.mode, t0, t1, got)
        row.cpu_per_student = round(cpu / (t1 - t0) / args.students * 100, 2)
        return row
    finally:
        await weak.close()
        await server.runner.cleanup()


def table(rows: list[Row]) -> str:
    headers = [
        "side", "link", "receives", "layer over time", "video fps mean / min",
        "freezes (count / longest)", "audio played", "KB per minute", "retransmitted packets",
        "keyframes from the teacher", "worker CPU per student", "teacher fps video / audio",
    ]  # fmt: skip
    return markdown_table(headers, [
        [r.side, r.link, r.mode, r.layers, f"{r.fps_mean:g} / {r.fps_min:g}",
         f"{r.freezes} / {r.longest_freeze_s:g} s", f"{r.audio_played:.1%}",
         f"{r.kbytes_per_min:.0f}", r.retransmits, r.keyframes, f"{r.cpu_per_student:.2f} %",
         f"{r.teacher_fps:g} / {r.teacher_audio_fps:g}"]
        for r in rows
    ])  # fmt: skip


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
                rows.append(await one_run(side, env, steps, args))
                print(table(rows[-1:]).splitlines()[-1], flush=True)
    print(f"\n{args.students} student(s) a run, {args.warmup:g} s warm-up, mode {args.mode}")
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
    parser.add_argument("--side", action="append", default=[], help="NAME:ENV=VALUE,...")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--teacher-bps", type=int, default=TEACHER_BPS)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
