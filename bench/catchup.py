"""Catch-up benchmark: from the end of a gap to the first byte of its audio, and its size.

    .venv/bin/python bench/catchup.py --gap 60 --opus-bitrate 32000 --repeat 20

Runs a Sabak server in this process on 127.0.0.1 (in-memory store), a lesson whose "audio"
rendition is on disk as the recorder writes it (Ogg Opus segments of 10 s at --opus-bitrate,
CBR, as a browser's voice; the last one still open), a teacher and a student over socket.io.
The student's transport dies for --gap seconds; the clock runs from its new connection's
`join` (the end of the gap) to the first byte of the catch-up audio (the join reply's
`missed`, the catch-up JSON, the clip). The clip's bytes are what the student downloads to
catch up. Then --repeat more fetches of the same catch-up (JSON and clip) for the spread.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import av

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from client.rest import RestClient, token_from_link  # noqa: E402
from client.sabak_client import SabakClient  # noqa: E402
from config import load_settings  # noqa: E402
from server.app import create_app  # noqa: E402
from server.http_limits import make_runner  # noqa: E402

SEGMENT_S = 10


def ogg_opus(seconds: float, bitrate: int) -> bytes:
    """Ogg Opus of a voice-like signal (a wobbling tone), 20 ms packets, constant bitrate."""
    out = io.BytesIO()
    with av.open(out, "w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=48_000, options={"vbr": "off"})
        stream.layout, stream.bit_rate = "mono", bitrate
        for n in range(round(seconds * 50)):
            frame = av.AudioFrame(format="s16", layout="mono", samples=960)
            wobble = 220 + 80 * math.sin(n / 7)
            samples = [int(6000 * math.sin(2 * math.pi * wobble * k / 48_000)) for k in range(960)]
            frame.planes[0].update(b"".join(s.to_bytes(2, "little", signed=True) for s in samples))
            frame.sample_rate, frame.pts = 48_000, n * 960
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


def write_rendition(folder: Path, start_ms: int, seconds: int, bitrate: int) -> None:
    """The "audio" track as docs/recording.md has it: closed segments, then an open one."""
    (folder / "audio").mkdir(parents=True)
    segment = ogg_opus(SEGMENT_S, bitrate)
    count = seconds // SEGMENT_S
    with (folder / "index.jsonl").open("w") as index:
        for n in range(count - 1):
            name = f"audio/{n:06d}.ogg"
            (folder / name).write_bytes(segment)
            line = {"track": "audio", "kind": "audio", "codec": "opus", "file": name,
                    "start": start_ms + n * SEGMENT_S * 1000,
                    "end": start_ms + (n + 1) * SEGMENT_S * 1000, "bytes": len(segment),
                    "frames": SEGMENT_S * 50, "owner": None}  # fmt: skip
            index.write(json.dumps(line) + "\n")
    name = f"audio/{count - 1:06d}.ogg"
    (folder / name).write_bytes(segment)
    opened = {"file": name, "start": start_ms + (count - 1) * SEGMENT_S * 1000}
    (folder / "audio" / "open.json").write_text(json.dumps(opened))


async def first_byte(http: aiohttp.ClientSession, base: str, url: str) -> tuple[float, int]:
    """Seconds to the clip's first byte through the catch-up JSON, and the clip's size."""
    began = time.perf_counter()
    async with http.get(base + url) as r:
        offer = await r.json()
    async with http.get(base + offer["audio_url"]) as r:
        first = await r.content.readany()
        elapsed = time.perf_counter() - began
        rest = await r.read()
    return elapsed, len(first) + len(rest)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    data = Path(tempfile.mkdtemp(prefix="sabak-catchup-"))
    env = {"SABAK_REDIS_URL": "memory://", "SABAK_SERVER_PORT": str(args.port),
           "SABAK_SERVER_DATA_DIR": str(data)}  # fmt: skip
    settings = load_settings(env=env)
    runner = make_runner(create_app(settings))
    await runner.setup()
    await aiohttp.web.TCPSite(runner, "127.0.0.1", args.port).start()
    base = settings.public_base_url
    try:
        key = (data / "admin.key").read_text().strip()
        async with RestClient(base, key) as rest:
            course = await rest.create_course("Bench")
            (student,) = await rest.add_students(course["id"], ["Aida"])
            teacher = await rest.create_teacher("Teacher", [course["id"]])
            lesson = await rest.create_lesson(course["id"], "Catch-up")
            lesson = await rest.start_lesson(lesson["id"])
        folder = settings.recording_path / lesson["id"]
        write_rendition(folder, lesson["started_ms"], args.gap + 60, args.opus_bitrate)
        teach = SabakClient(base, token=token_from_link(teacher["link"]))
        await teach.connect()
        await teach.join(lesson["id"])
        phone = SabakClient(base, token=token_from_link(student["link"]), reconnection=False)
        await phone.connect()
        await phone.join(lesson["id"])
        await asyncio.sleep(2)
        phone.stop_heartbeat()
        await phone.sio.eio.ws.close()  # the transport dies, no goodbye
        await asyncio.sleep(args.gap)
        back = SabakClient(base, token=phone.auth["token"])
        await back.connect()
        async with aiohttp.ClientSession() as http:
            began = time.perf_counter()
            missed = (await back.join())["missed"]
            join_s = time.perf_counter() - began
            fetch_s, size = await first_byte(http, base, missed["url"])
            again = [(await first_byte(http, base, missed["url"]))[0] for _ in range(args.repeat)]
        for client in (back, teach):
            await client.close()
        gap_s = (missed["to_ms"] - missed["from_ms"]) / 1000
        return {
            "gap_s": round(gap_s, 1),
            "opus_bitrate": args.opus_bitrate,
            "end_of_gap_to_first_byte_ms": round((join_s + fetch_s) * 1000),
            "join_ms": round(join_s * 1000),
            "again_cached_fetch_ms_median": round(statistics.median(again) * 1000),
            "again_cached_fetch_ms_max": round(max(again) * 1000),
            "clip_bytes": size,
            "clip_bytes_per_60_s": round(size * 60 / gap_s),
        }
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gap", type=int, default=60, help="seconds the transport is down")
    parser.add_argument("--opus-bitrate", type=int, default=32_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--port", type=int, default=18_931)
    result = asyncio.run(run(parser.parse_args()))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
