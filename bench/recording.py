"""Recording benchmark: the CPU a recorded lesson costs on top of forwarding, and disk per hour.

    .venv/bin/python bench/recording.py --rounds 3 --window 20

Starts bench/media_server.py (one MediaRoom in its own process, direct egress) and one
publisher (640x360 VP8 at --bitrate, Opus at --opus-bitrate as a browser's voice; aiortc's own
default is 96 kbit/s), then alternates windows without and with recording (the server's
/record: media/recorder.py), measuring the server process's CPU with psutil, and the writer
thread's own. The disk figures come from the index.jsonl of what was written. Everything
runs on 127.0.0.1; every process is stopped by its pid at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.media import LOOPBACK, cpu_seconds, expect, json_get, process  # noqa: E402


def post(url: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def thread_seconds(pid: int, ids: set[int]) -> float:
    return sum(t.user_time + t.system_time for t in psutil.Process(pid).threads() if t.id in ids)


def window(pid: int, seconds: float, threads: set[int] = frozenset()) -> tuple[float, float]:  # type: ignore[assignment]
    """The server's CPU and that of some of its threads over a window, in % of one core."""
    t0, c0, w0 = time.monotonic(), cpu_seconds(pid), thread_seconds(pid, threads)
    time.sleep(seconds)
    t1, c1, w1 = time.monotonic(), cpu_seconds(pid), thread_seconds(pid, threads)
    return 100 * (c1 - c0) / (t1 - t0), 100 * (w1 - w0) / (t1 - t0)


def disk(folders: list[Path]) -> dict[str, dict[str, float]]:
    """Per track: bytes written, seconds covered, and what that makes in an hour."""
    out: dict[str, dict[str, float]] = {}
    for folder in folders:
        for line in (folder / "index.jsonl").read_text().splitlines():
            seg = json.loads(line)
            track = out.setdefault(seg["track"], {"bytes": 0, "seconds": 0.0, "segments": 0})
            track["bytes"] += seg["bytes"]
            track["seconds"] += (seg["end"] - seg["start"]) / 1000
            track["segments"] += 1
    for track in out.values():
        track["mb_per_hour"] = track["bytes"] / track["seconds"] * 3600 / 1e6
        track["kbit_s"] = track["bytes"] * 8 / track["seconds"] / 1000
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="sabak-bench-rec-"))
    limit = str(args.rounds * (2 * args.window + 10) + 60)
    offs, ons, writers, folders = [], [], [], []
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(
            process("bench/media_server.py", "--egress", "direct", "--duration", limit)
        )
        url = f"http://{LOOPBACK}:{expect(server, 'LISTENING')}"
        publisher = stack.enter_context(
            process(__file__, "--role", "publisher", "--url", url, "--duration", limit,
                    "--bitrate", str(args.bitrate), "--opus-bitrate", str(args.opus_bitrate))
        )  # fmt: skip
        expect(publisher, "PUBLISHING")
        time.sleep(args.warmup)
        for r in range(args.rounds):
            offs.append(window(server.pid, args.window)[0])
            before = {t.id for t in psutil.Process(server.pid).threads()}
            folders.append(root / f"round{r}")
            post(f"{url}/record", {"folder": str(folders[-1]), "segment_s": args.segment_s})
            time.sleep(2)  # the first segments open
            writer = {t.id for t in psutil.Process(server.pid).threads()} - before
            on, thread = window(server.pid, args.window, writer)
            ons.append(on)
            writers.append(thread)
            post(f"{url}/stop_recording", {})
        stats = json_get(f"{url}/stats")
    return {
        "forwarding_cpu_pct": statistics.median(offs),
        "recording_cpu_pct": statistics.median(ons),
        "added_cpu_pct": statistics.median(on - off for on, off in zip(ons, offs, strict=True)),
        "writer_thread_cpu_pct": statistics.median(writers),
        "rounds": {"off": offs, "on": ons, "writer": writers},
        "disk": disk(folders),
        "camera_kbit_s_in": None,
        "dropped": stats.get("recording"),
        "folder": str(root),
    }


def report(result: dict[str, Any], args: argparse.Namespace) -> str:
    d = result["disk"]
    audio = d.get("audio", {})
    lines = [
        f"{psutil.cpu_count()} cores; VP8 640x360 at {args.bitrate // 1000} kbit/s + Opus at "
        f"{args.opus_bitrate // 1000} kbit/s; {args.rounds} rounds of {args.window:g} s off/on",
        "",
        "| server CPU, forwarding only | with recording | added by recording "
        "| of which the writer thread |",
        "|---|---|---|---|",
        f"| {result['forwarding_cpu_pct']:.1f} % | {result['recording_cpu_pct']:.1f} % | "
        f"{result['added_cpu_pct']:.2f} % | {result['writer_thread_cpu_pct']:.2f} % |",
        "",
        "| track | kbit/s on disk | MB per hour | segments |",
        "|---|---|---|---|",
    ]
    for name, t in sorted(d.items()):
        lines.append(
            f"| {name} | {t['kbit_s']:.1f} | {t['mb_per_hour']:.1f} | {t['segments']:.0f} |"
        )
    if audio:
        lines += ["", f"Audio rendition per 45-minute lesson: {audio['mb_per_hour'] * 0.75:.1f} MB"]
    return "\n".join(lines)


async def publish(url: str, bitrate: int, opus_bitrate: int, duration: float) -> None:
    import aiortc.codecs.opus

    from bench.media import run_publisher

    encoder = aiortc.codecs.opus.OpusEncoder
    made = encoder.__init__

    def at_bitrate(self: Any) -> None:  # a browser's voice, not aiortc's 96 kbit/s default
        made(self)
        self.codec.bit_rate = opus_bitrate
        self.codec.options = {"vbr": "off"}  # its average, whatever the test tone

    encoder.__init__ = at_bitrate  # type: ignore[method-assign]
    await run_publisher(url, bitrate, duration, "L0")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--window", type=float, default=20.0, help="each measuring window, s")
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--segment-s", type=float, default=10.0)
    parser.add_argument("--bitrate", type=int, default=500_000, help="publisher VP8 bit/s")
    parser.add_argument("--opus-bitrate", type=int, default=32_000, help="publisher Opus bit/s")
    parser.add_argument("--json", help="also write the raw results here")
    parser.add_argument("--role", choices=("publisher",), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--duration", type=float, default=300, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "publisher":
        asyncio.run(publish(args.url, args.bitrate, args.opus_bitrate, args.duration))
        return
    result = run(args)
    print(report(result, args))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
