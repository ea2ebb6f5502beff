"""What layer switching adds to the server's CPU per student: today's forwarding and the
layered one, side by side in one run, on the same frames.

    .venv/bin/python bench/layers.py --students 100 --seconds 10

One teacher sends the camera at 640x360 ~500 kbit/s and its 320x180 copy at ~150 kbit/s
(VP8, three temporal layers, 30 fps) and Opus at 50 packets a second. For each student the
server runs, per frame of each source, exactly the per-student code of one forwarding:

- `single`: one quality, the picture id written once per frame for everyone (the code
  before layers): per packet the RTP header and the shared payload;
- `layers`: both qualities reach every feed (media/feed.py, the real Feed and Slot): the
  layer choice, the feed's own timeline, its own VP8 descriptors, the RTP header, and the
  students are switched between layers every 2 s (a third high, a third low, a third thinned
  to 7.5 fps).

What is the same in both and left out: SRTP protection (C) and the UDP send, about 26 µs a
packet (docs/benchmarks.md), which the writer does after this code. The figure is CPU time
(time.process_time) per student per second of lesson, as a share of one core.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from media.feed import Feed, FeedTrack  # noqa: E402
from media.layers import Layer  # noqa: E402
from media.rtp import Temporal, vp8_chunks, vp8_descriptor  # noqa: E402
from media.slot import SLOTS, Frame, Slot  # noqa: E402
from patches.aiortc.writer import rtp_header  # noqa: E402

FPS, AUDIO_PPS = 30, 50
RATES = {"high": 500_000, "low": 150_000}
TIDS = (0, 2, 1, 2)  # L1T3: the TID of each frame in turn
LAYERS = (Layer("high"), Layer("low"), Layer("low", 0))


class HeaderWriter:
    """The per-packet work of patches/aiortc/writer.py before SRTP: header, head, payload."""

    def __init__(self) -> None:
        self.seq, self.packets, self.bytes_sent = 0, 0, 0

    def write(
        self,
        payloads: list[bytes],
        timestamp: int,
        ntp: int,
        limit: int,
        heads: tuple[bytes, bytes] = (b"", b""),
    ) -> bool:
        last = len(payloads) - 1
        for i, payload in enumerate(payloads):
            plain = (rtp_header(i == last, 96, self.seq, timestamp, 1234, b"") + heads[i > 0]) + (
                payload
            )
            self.seq = (self.seq + 1) & 0xFFFF
            self.bytes_sent += len(plain)
        self.packets += len(payloads)
        return True

    def congested(self, limit: int) -> bool:
        return False


def video_frames(slot: Slot, seconds: float) -> list[Frame]:
    """Both qualities' frames in arrival order, their sizes from the rates (keyframe 1/s)."""
    frames = []
    for n in range(int(seconds * FPS)):
        for spatial, rate in RATES.items():
            key = n % FPS == 0
            size = rate // 8 // FPS * (8 if key else 1)
            temporal = Temporal(0 if key else TIDS[n % 4], n % 4 == 1)
            source = slot.sources[spatial]  # type: ignore[index]
            chunks = vp8_chunks(os.urandom(size))
            frames.append(Frame(n * 3000, key, chunks, None, 0, source, temporal, n / FPS))
    return frames


def feeds(slot: Slot, students: int) -> list[Feed]:
    out = []
    for i in range(students):
        feed = Feed(slot, None, FeedTrack(slot.spec.media), f"s{i}")  # type: ignore[arg-type]
        feed.writer = HeaderWriter()  # type: ignore[assignment]
        feed.started = feed.wanted = True
        feed.waiting_key = False
        slot.feeds.add(feed)
        out.append(feed)
    return out


def single(frames: list[Frame], students: int) -> float:
    """Today: one quality; the descriptor is in the shared payloads, written once per frame."""
    high = [f for f in frames if f.source.spatial == "high"]
    shared = [
        [vp8_descriptor(n & 0x7FFF, i == 0, None, 0) + c for i, c in enumerate(f.payloads)]
        for n, f in enumerate(high)
    ]
    writers = [HeaderWriter() for _ in range(students)]
    start = time.process_time()
    for frame, payloads in zip(high, shared, strict=True):
        for writer in writers:
            writer.write(payloads, frame.timestamp, 0, 0)
    return time.process_time() - start


def layered(frames: list[Frame], slot: Slot, students: int) -> float:
    """Layers: every frame of both qualities to every feed; layers change every 2 s."""
    all_feeds = feeds(slot, students)
    start = time.process_time()
    for n, frame in enumerate(frames):
        if n % (2 * FPS * len(RATES)) == 0:
            for i, feed in enumerate(all_feeds):
                feed.selector.target = LAYERS[(i + n) % len(LAYERS)]
        for feed in all_feeds:
            feed.push(frame)
    return time.process_time() - start


def audio(slot: Slot, students: int, seconds: float, layers: bool) -> float:
    """Opus: per packet the header (and in `layers` the feed's selector and timeline)."""
    source = slot.sources["high"]
    packets = [
        Frame(n * 960, True, [os.urandom(80)], None, 0, source, None, n / AUDIO_PPS)
        for n in range(int(seconds * AUDIO_PPS))
    ]
    if layers:
        all_feeds = feeds(slot, students)
        start = time.process_time()
        for packet in packets:
            for feed in all_feeds:
                feed.push(packet)
        return time.process_time() - start
    writers = [HeaderWriter() for _ in range(students)]
    start = time.process_time()
    for packet in packets:
        for writer in writers:
            writer.write(packet.payloads, packet.timestamp, 0, 0)
    return time.process_time() - start


def run(students: int, seconds: float) -> dict[str, Any]:
    random.seed(1)
    camera, mic = (Slot(spec, "direct") for spec in (SLOTS[1], SLOTS[0]))
    for source in camera.sources.values():
        source.receiver = object()  # type: ignore[assignment]  # live: both qualities sent
    frames = video_frames(camera, seconds)
    per = students * seconds / 100  # CPU s per student-second -> % of a core
    today = (single(frames, students) + audio(mic, students, seconds, False)) / per
    new = (layered(frames, camera, students) + audio(Slot(SLOTS[0], "direct"), students,
                                                     seconds, True)) / per  # fmt: skip
    return {"single_pct": today, "layers_pct": new, "added_pct": new - today}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print("| run | single layer, % of a core per student | layers | added |")
    print("|---|---|---|---|")
    for i in range(args.runs):
        r = run(args.students, args.seconds)
        print(
            f"| {i + 1} | {r['single_pct']:.4f} % | {r['layers_pct']:.4f} % | "
            f"**+{r['added_pct']:.4f} %** |"
        )


if __name__ == "__main__":
    main()
