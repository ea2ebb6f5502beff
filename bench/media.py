"""Media benchmark: server CPU per student, the largest class at full frame rate, join time.

    .venv/bin/python bench/media.py --ks 1 10 50 100 --window 10

Starts bench/media_server.py (one MediaRoom) in its own process, one publisher process
(640x360 VP8 at a fixed bitrate + Opus) and K students shared by --procs processes (aiortc
peers that count encoded frames without decoding, through the server's encoded-frame hook),
for each egress (`sender`: aiortc packetizes per student; `direct`: our RTP writer). Server
CPU is measured with psutil over the window; K=0 (publisher only) is the baseline.

    .venv/bin/python bench/media.py --workers 1 2 --lessons 2 --ks 50 100 150

compares Sabak's media workers instead: the server relays to N worker processes (server CPU
then includes them), --lessons lessons each with a publisher, the K students spread evenly.
Everything runs on 127.0.0.1 and every process is stopped by its pid at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fractions
import json
import math
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import av
import psutil
from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from patches.aiortc.ice import pin_host_addresses  # noqa: E402
from patches.aiortc.ingress import FrameSink, tap_encoded_frames  # noqa: E402
from patches.aiortc.sender import pin_vp8_bitrate  # noqa: E402

LOOPBACK = "127.0.0.1"
VIDEO_FPS = 30  # the publisher's camera
AUDIO_FPS = 50  # Opus frames of 20 ms
FULL_RATE = 0.9  # a student at >= 90 % of the publisher's frame rate is at full rate


# --- synthetic media ----------------------------------------------------------------------


class NoisyPicture(VideoStreamTrack):
    """640x360 scrolling pattern with a moving noise block, so that CBR VP8 fills its rate."""

    BOX = 64

    def __init__(self) -> None:
        super().__init__()
        self._luma = bytes((x * 3 + y * 5) % 256 for y in range(360) for x in range(640))
        self._chroma = bytes([128]) * (320 * 180)
        self._n = 0

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        self._n += 1
        shift = self._n * 1284 % len(self._luma)
        luma = bytearray(self._luma[shift:] + self._luma[:shift])
        x = int((math.sin(self._n / 20) * 0.4 + 0.5) * (640 - self.BOX))
        y = int((math.cos(self._n / 27) * 0.4 + 0.5) * (360 - self.BOX))
        noise = os.urandom(self.BOX * self.BOX)
        for row in range(self.BOX):
            start = (y + row) * 640 + x
            luma[start : start + self.BOX] = noise[row * self.BOX : (row + 1) * self.BOX]
        frame = av.VideoFrame(640, 360, "yuv420p")
        for plane, data in zip(frame.planes, (luma, self._chroma, self._chroma), strict=True):
            plane.update(bytes(data))
        frame.pts, frame.time_base = pts, time_base
        return frame


class Tone(AudioStreamTrack):
    """48 kHz mono 400 Hz sine, 20 ms frames paced in real time."""

    def __init__(self) -> None:
        super().__init__()
        self._pcm = b"".join(
            int(8000 * math.sin(2 * math.pi * i / 120)).to_bytes(2, "little", signed=True)
            for i in range(960)
        )
        self._start = 0.0
        self._n = 0

    async def recv(self) -> av.AudioFrame:
        self._start = self._start or time.monotonic()
        await asyncio.sleep(max(0.0, self._start + self._n * 0.02 - time.monotonic()))
        frame = av.AudioFrame(format="s16", layout="mono", samples=960)
        frame.planes[0].update(self._pcm)
        frame.sample_rate, frame.pts = 48000, self._n * 960
        frame.time_base = fractions.Fraction(1, 48000)
        self._n += 1
        return frame


def new_pc() -> RTCPeerConnection:
    config = RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
    return RTCPeerConnection(config)


# --- the publisher process ----------------------------------------------------------------


async def run_publisher(url: str, bitrate: int, duration: float, lesson: str) -> None:
    pin_host_addresses((LOOPBACK,))
    pin_vp8_bitrate(bitrate)
    pc = new_pc()
    kinds = {}
    for kind, track in (("mic", Tone()), ("camera", NoisyPicture())):
        sender = pc.addTrack(track)
        kinds[sender] = kind
    await pc.setLocalDescription(await pc.createOffer())
    mids = {t.mid: kinds[t.sender] for t in pc.getTransceivers()}
    body = {
        "pid": "teacher",
        "sdp": pc.localDescription.sdp,
        "allowed": ["mic", "camera"],
        "seat": "teacher",
        "lesson": lesson,
    }
    async with aiohttp.ClientSession() as http:
        answer = await post(http, f"{url}/publish", {**body, "kinds": mids})
    await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
    print("PUBLISHING", flush=True)
    await asyncio.sleep(duration)
    await pc.close()


async def post(http: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> Any:
    async with http.post(url, json=body) as response:
        response.raise_for_status()
        return await response.json()


# --- the students process -----------------------------------------------------------------


@dataclass
class BenchStudent:
    """An aiortc subscriber counting encoded frames per kind without decoding them."""

    pid: str
    lesson: str = "L0"
    lean: bool = False
    pc: RTCPeerConnection = field(default_factory=new_pc)
    frames: dict[str, int] = field(default_factory=lambda: {"audio": 0, "video": 0})
    video_bytes: int = 0
    started: float = 0.0
    first_video: float | None = None

    async def join(self, http: aiohttp.ClientSession, url: str) -> None:
        self.started = time.monotonic()
        where = {"pid": self.pid, "lesson": self.lesson}
        offer = await post(http, f"{url}/subscribe", {**where, "mode": "video"})
        await self.pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], "offer"))
        if self.lean:
            self._count_headers(offer["sdp"])
        else:
            for t in self.pc.getTransceivers():
                tap_encoded_frames(t.receiver, self._counter(t.kind), t.kind == "audio")
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        await post(http, f"{url}/answer", {**where, "sdp": self.pc.localDescription.sdp})

    def _counter(self, kind: str) -> FrameSink:
        def count(data: bytes, timestamp: int) -> None:
            self.frames[kind] += 1
            if kind == "video":
                self.video_bytes += len(data)
                if self.first_video is None:
                    self.first_video = time.monotonic()

        return count

    def _count_headers(self, offer_sdp: str) -> None:
        """Lean: count frames from the clear RTP headers of SRTP (video: marker bits) as the
        datagrams arrive, without decrypting them or running aiortc's receive path.

        ICE (consent checks are answered), DTLS and RTCP still go through aiortc; only RTP
        packets stop at the socket. The server cannot tell a lean student from a full one.
        """
        kinds = {"VP8": "video", "opus": "audio"}
        types = {
            int(m.group(1)): kinds[m.group(2)]
            for m in re.finditer(r"a=rtpmap:(\d+) (VP8|opus)/", offer_sdp)
        }
        dtls: Any = self.pc.getTransceivers()[0].receiver.transport  # max-bundle: one for all

        def count(data: bytes) -> None:
            kind = types.get(data[1] & 0x7F)
            if kind == "audio":
                self.frames["audio"] += 1
            elif kind == "video":
                self.video_bytes += len(data) - 12
                if data[1] & 0x80:  # the last packet of a frame
                    self.frames["video"] += 1
                    if self.first_video is None:
                        self.first_video = time.monotonic()

        def stop_rtp_at_the_socket(protocol: Any) -> None:
            handle = protocol.datagram_received

            def received(data: bytes, addr: Any) -> None:
                if 127 < data[0] < 192 and not 191 < data[1] < 224:  # RTP, not RTCP
                    count(data)
                else:
                    handle(data, addr)

            protocol.datagram_received = received

        setup = dtls._setup_srtp

        def setup_then_count_at_the_socket() -> None:
            setup()  # ICE is connected: its sockets are known
            for protocol in dtls.transport._connection._protocols:
                stop_rtp_at_the_socket(protocol)

        async def handle_rtp(data: bytes, arrival_time_ms: int) -> None:
            count(data)  # a packet that was queued before the sockets were patched

        dtls._setup_srtp = setup_then_count_at_the_socket
        dtls._handle_rtp_data = handle_rtp

    def snapshot(self) -> tuple[float, int, int, int]:
        return time.monotonic(), self.frames["video"], self.frames["audio"], self.video_bytes

    @property
    def join_s(self) -> float | None:
        return None if self.first_video is None else self.first_video - self.started


async def run_students(
    url: str, first: int, k: int, batch: int, late: bool, lesson: str, lean: bool
) -> None:
    """Join K students, then measure the window the orchestrator sends on stdin."""
    pin_host_addresses((LOOPBACK,))
    students = [BenchStudent(f"s{first + i}", lesson, lean) for i in range(k)]
    async with aiohttp.ClientSession() as http:
        for i in range(0, k, batch):  # DTLS handshakes are CPU heavy: join in waves
            await asyncio.gather(*(s.join(http, url) for s in students[i : i + batch]))
        await wait_for(lambda: all(s.first_video for s in students), 30)
        print("READY", flush=True)
        line = await asyncio.to_thread(sys.stdin.readline)  # "WINDOW <start> <end>"
        start, end = (float(word) for word in line.split()[1:3])
        await asyncio.sleep(max(0.0, start - time.time()))
        before = [s.snapshot() for s in students]
        await asyncio.sleep(max(0.0, end - time.time()))
        after = [s.snapshot() for s in students]
        joiner = BenchStudent(f"late{first}", lesson, lean)
        if late:
            await joiner.join(http, url)
            await wait_for(lambda: joiner.first_video is not None, 10)
    result = rates(before, after) | {"joins": [s.join_s for s in students], "late": joiner.join_s}
    print("RESULT " + json.dumps(result), flush=True)
    await asyncio.gather(*(s.pc.close() for s in [*students, joiner]))


async def wait_for(done: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:  # noqa: ASYNC110 (polls counters)
        await asyncio.sleep(0.05)


Snapshot = tuple[float, int, int, int]


def rates(before: list[Snapshot], after: list[Snapshot]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"video_fps": [], "audio_fps": [], "video_kbps": []}
    for (t0, v0, a0, b0), (t1, v1, a1, b1) in zip(before, after, strict=True):
        out["video_fps"].append((v1 - v0) / (t1 - t0))
        out["audio_fps"].append((a1 - a0) / (t1 - t0))
        out["video_kbps"].append((b1 - b0) * 8 / (t1 - t0) / 1000)
    return out


def summary(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One run's students, merged over their processes."""
    video = [x for p in parts for x in p["video_fps"]]
    joins = sorted(x if x is not None else math.inf for p in parts for x in p["joins"])
    return {
        "video_fps_min": min(video),
        "video_fps_median": statistics.median(video),
        "audio_fps_min": min(x for p in parts for x in p["audio_fps"]),
        "video_kbps_median": statistics.median(x for p in parts for x in p["video_kbps"]),
        "join_first_frame_median_s": statistics.median(joins),
        "join_first_frame_max_s": joins[-1],
        "late_joiner_first_frame_s": parts[0]["late"],
    }


# --- the orchestrator ---------------------------------------------------------------------


@contextmanager
def process(*args: str) -> Iterator[subprocess.Popen[str]]:
    """A child Python process that prints lines and may read some; stopped by its pid."""
    child = subprocess.Popen(
        [sys.executable, *args], stdout=subprocess.PIPE, stdin=subprocess.PIPE, text=True, cwd=REPO
    )
    try:
        yield child
    finally:
        child.terminate()
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def expect(child: subprocess.Popen[str], prefix: str) -> str:
    """The rest of the first line starting with prefix (the child stops by itself on errors)."""
    assert child.stdout is not None
    for line in child.stdout:
        if line.startswith(prefix):
            return line[len(prefix) :].strip()
    raise RuntimeError(f"a child process ended before printing {prefix!r}")


def cpu_seconds(*pids: int) -> float:
    return sum(sum(psutil.Process(pid).cpu_times()[:2]) for pid in pids)


def busy_seconds() -> float:
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


@dataclass
class Meter:
    """CPU of the server (with its media workers), of the harness and of the whole box, and
    the publisher's frames (of the first lesson)."""

    server: int
    workers: tuple[int, ...]
    harness: tuple[int, ...]
    url: str
    marks: list[dict[str, float]] = field(default_factory=list)

    def mark(self) -> None:
        stats = json_get(f"{self.url}/stats?lesson=L0")
        self.marks.append(
            {
                "time": time.monotonic(),
                "server": cpu_seconds(self.server, *self.workers),
                "server_sys": sum(
                    psutil.Process(p).cpu_times().system for p in (self.server, *self.workers)
                ),
                **{f"worker{i}": cpu_seconds(pid) for i, pid in enumerate(self.workers)},
                "harness": cpu_seconds(*self.harness),
                "box": busy_seconds(),
                "frames": stats["slots"]["teacher-camera"]["frames_in"],
                "keyframes": stats["slots"]["teacher-camera"]["keyframes_in"],
                "plis": stats["slots"]["teacher-camera"]["keyframe_requests"].get("pli", 0),
                "retransmits": stats["slots"]["teacher-camera"]["retransmits"],
            }
        )

    def result(self) -> dict[str, Any]:
        first, last = self.marks
        d = {key: last[key] - first[key] for key in first}
        return {
            "server_cpu_pct": 100 * d["server"] / d["time"],
            "server_sys_pct": 100 * d["server_sys"] / d["time"],
            "worker_cpu_pct": [100 * d[f"worker{i}"] / d["time"] for i in range(len(self.workers))],
            "harness_cpu_pct": 100 * d["harness"] / d["time"],
            "others_cpu_pct": 100 * (d["box"] - d["server"] - d["harness"]) / d["time"],
            "box_busy_pct": 100 * d["box"] / d["time"] / psutil.cpu_count(),
            "publisher_fps": d["frames"] / d["time"],
            # loss recovery during the window: students' PLIs, keyframes, NACKed packets
            "plis": d["plis"],
            "keyframes": d["keyframes"],
            "retransmits": d["retransmits"],
        }


def json_get(url: str) -> Any:
    import urllib.request

    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def run_quietly(egress: str, k: int, args: argparse.Namespace) -> dict[str, Any]:
    """Run once the box is quiet; again if other processes got busy during the window."""
    for _ in range(args.attempts - 1):
        wait_until_quiet(args.others_max)
        result = run_once(egress, k, args)
        if result["others_cpu_pct"] <= args.others_max:
            return result
        print(f"# retrying: other processes used {result['others_cpu_pct']:.0f} %", file=sys.stderr)
    wait_until_quiet(args.others_max)
    return run_once(egress, k, args)


def wait_until_quiet(limit: float, patience: float = 120) -> None:
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        if psutil.cpu_percent(interval=2) * psutil.cpu_count() <= limit:
            return


def server_args(setup: str) -> list[str]:
    """`direct`/`sender`: one room in the server process; `workers=N`: N media workers."""
    if setup.startswith("workers="):
        return ["--workers", setup.removeprefix("workers=")]
    return ["--egress", setup]


def run_once(setup: str, k: int, args: argparse.Namespace) -> dict[str, Any]:
    limit = str(args.window + args.warmup + 120)
    lessons = [f"L{i}" for i in range(args.lessons)]
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(
            process("bench/media_server.py", *server_args(setup), "--duration", limit)
        )
        url = f"http://{LOOPBACK}:{expect(server, 'LISTENING')}"
        publisher_args = ["--role", "publisher", "--url", url, "--duration", limit,
                          "--bitrate", str(args.bitrate)]  # fmt: skip
        publishers = [
            stack.enter_context(process(__file__, *publisher_args, "--lesson", lesson))
            for lesson in lessons
        ]
        for publisher in publishers:
            expect(publisher, "PUBLISHING")
        groups = [
            stack.enter_context(process(__file__, *student_args(url, lesson, first, group, args)))
            for lesson, first, group in shares(k, args)
        ]
        for group in groups:
            expect(group, "READY")
        workers = tuple(json_get(f"{url}/workers")["pids"])
        harness = (*(p.pid for p in publishers), *(g.pid for g in groups))
        meter = Meter(server.pid, workers, harness, url)
        measure(meter, groups, args)
        parts = [json.loads(expect(group, "RESULT")) for group in groups]
    return meter.result() | (summary(parts) if parts else {})


def student_args(
    url: str, lesson: str, first: int, group: range, args: argparse.Namespace
) -> list[str]:
    late = ["--late"] if first == 0 else []
    lean = ["--lean"] if args.lean else []
    return ["--role", "students", "--url", url, "--first", str(first), "--k", str(len(group)),
            "--batch", str(args.batch), "--lesson", lesson, *late, *lean]  # fmt: skip


def shares(k: int, args: argparse.Namespace) -> list[tuple[str, int, range]]:
    """The students of each students process: (its lesson, index of its first, its students).

    Students are spread evenly over the lessons, and each lesson's over its processes.
    """
    out = []
    per_lesson = max(1, args.procs // args.lessons)
    lesson_bounds = [k * i // args.lessons for i in range(args.lessons + 1)]
    for i in range(args.lessons):
        lo, hi = lesson_bounds[i], lesson_bounds[i + 1]
        procs = max(1, min(per_lesson, hi - lo))
        bounds = [lo + (hi - lo) * j // procs for j in range(procs + 1)]
        out += [(f"L{i}", bounds[j], range(bounds[j], bounds[j + 1])) for j in range(procs)]
    return [share for share in out if len(share[2])]


def measure(meter: Meter, groups: list[subprocess.Popen[str]], args: argparse.Namespace) -> None:
    start = time.time() + args.warmup
    end = start + args.window
    for group in groups:
        assert group.stdin is not None
        group.stdin.write(f"WINDOW {start} {end}\n")
        group.stdin.flush()
    for moment in (start, end):
        time.sleep(max(0.0, moment - time.time()))
        meter.mark()


def table(setup: str, runs: dict[int, dict[str, Any]], lessons: int) -> str:
    base = runs[0]["server_cpu_pct"]
    title = f"{setup.replace('=', ' = ')}" if setup.startswith("workers") else f"egress `{setup}`"
    lines = [
        f"### {title}, {lessons} lesson(s) (publishers alone: server {base:.1f} % of one core)",
        "",
        "| K | server CPU % (kernel) | per worker % | per student % | video fps min / median | "
        "audio fps min | kbit/s per student | join→first frame median / max s | late joiner s | "
        "harness CPU % | other processes CPU % | box busy % | PLIs / keyframes / resent |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for k, r in sorted(runs.items()):
        if k == 0:
            continue
        lines.append(
            f"| {k} | {r['server_cpu_pct']:.1f} ({r['server_sys_pct']:.1f}) | "
            f"{' + '.join(f'{w:.0f}' for w in r['worker_cpu_pct']) or '—'} | "
            f"{(r['server_cpu_pct'] - base) / k:.3f} | "
            f"{r['video_fps_min']:.1f} / {r['video_fps_median']:.1f} | "
            f"{r['audio_fps_min']:.1f} | {r['video_kbps_median']:.0f} | "
            f"{r['join_first_frame_median_s']:.2f} / {r['join_first_frame_max_s']:.2f} | "
            f"{_seconds(r['late_joiner_first_frame_s'])} | {r['harness_cpu_pct']:.0f} | "
            f"{r['others_cpu_pct']:.0f} | {r['box_busy_pct']:.0f} | "
            f"{r['plis']} / {r['keyframes']} / {r['retransmits']} |"
        )
    full = [k for k, r in runs.items() if k and full_rate(r)]
    lines += ["", f"Largest K at full frame rate: {max(full) if full else 'none'}"]
    return "\n".join(lines)


def _seconds(value: float | None) -> str:
    return "none" if value is None else f"{value:.2f}"


def full_rate(run: dict[str, Any]) -> bool:
    video_ok = run["video_fps_min"] >= FULL_RATE * VIDEO_FPS
    return bool(video_ok and run["audio_fps_min"] >= FULL_RATE * AUDIO_FPS)


def orchestrate(args: argparse.Namespace) -> None:
    setups = [f"workers={w}" for w in args.workers] if args.workers else args.egress
    results: dict[str, dict[int, dict[str, Any]]] = {setup: {} for setup in setups}
    for k in sorted({0, *args.ks}):
        for setup in setups:  # side by side: every setup sees the same box
            results[setup][k] = run_quietly(setup, k, args)
            print(f"# {setup} K={k}: {json.dumps(results[setup][k])}", file=sys.stderr)
    print(
        f"\n{psutil.cpu_count()} cores; VP8 640x360 at {args.bitrate // 1000} kbit/s + Opus; "
        f"window {args.window:g} s\n"
    )
    for setup, runs in results.items():
        print(table(setup, runs, args.lessons) + "\n")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ks", type=int, nargs="+", default=[1, 10, 50, 100])
    parser.add_argument("--window", type=float, default=10.0, help="measuring window, s")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument(
        "--egress", nargs="+", default=["sender", "direct"], choices=("sender", "direct")
    )
    parser.add_argument(
        "--workers",
        type=int,
        nargs="*",
        default=[],
        help="compare Sabak's media workers (e.g. 1 2) instead of egresses in one process",
    )
    parser.add_argument("--lessons", type=int, default=1, help="lessons (one publisher each)")
    parser.add_argument(
        "--lean",
        action="store_true",
        help="students count frames from RTP headers without decrypting (a cheaper harness)",
    )
    parser.add_argument("--bitrate", type=int, default=500_000, help="publisher VP8 bit/s")
    parser.add_argument("--batch", type=int, default=10, help="students joining at once")
    parser.add_argument("--procs", type=int, default=2, help="processes the students share")
    parser.add_argument("--json", help="also write the raw results here")
    parser.add_argument(
        "--attempts", type=int, default=2, help="runs of a point while other processes are busy"
    )
    parser.add_argument(
        "--others-max",
        type=float,
        default=30,
        help="%% of one core other processes may use during a window",
    )
    parser.add_argument("--role", choices=("publisher", "students"), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--k", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--first", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--late", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--lesson", default="L0", help=argparse.SUPPRESS)
    parser.add_argument("--duration", type=float, default=300, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "publisher":
        asyncio.run(
            asyncio.wait_for(
                run_publisher(args.url, args.bitrate, args.duration, args.lesson),
                args.duration + 30,
            )
        )
    elif args.role == "students":
        students = run_students(
            args.url, args.first, args.k, args.batch, args.late, args.lesson, args.lean
        )
        asyncio.run(asyncio.wait_for(students, 300))
    else:
        orchestrate(args)


if __name__ == "__main__":
    main()
