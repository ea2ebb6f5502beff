"""Recording a lesson's media in its worker: the files, their times, failures and recovery.

A real aiortc teacher publishes through a real server with real worker processes; the
recording is read back with PyAV (docs/recording.md has the format).
"""

from __future__ import annotations

import asyncio
import errno
import itertools
import json
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import av
import pytest

from media.rooms import MediaRooms
from patches.aiortc.ice import pin_host_addresses
from server import appkeys as k
from tests.conftest import Classroom, Running, free_port, make_classroom, settings_for, start_server
from tests.media_peers import LOOPBACK, AiortcStudent, AiortcTeacher

pytestmark = [pytest.mark.store("memory"), pytest.mark.timeout(180)]

CAMERA = "1"


async def serve(root: Path, redis_url: str, recordings: Path | None = None) -> Running:
    settings = settings_for(
        root / "var", redis_url, free_port(), SABAK_MEDIA_WORKERS="1",
        SABAK_RECORDING_DIR=str(recordings or root / "recordings"),
        SABAK_RECORDING_SEGMENT_S="4", SABAK_RECORDING_RETRY_S="1",
    )  # fmt: skip
    return await start_server(settings)


@pytest.fixture
async def server(tmp_path: Path, redis_url: str) -> AsyncIterator[Running]:
    running = await serve(tmp_path, redis_url)
    try:
        yield running
    finally:
        await running.runner.cleanup()


async def until(check: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


def index(folder: Path) -> list[dict[str, Any]]:
    path = folder / "index.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def media_of(server: Running) -> MediaRooms:
    media = server.app[k.MEDIA]
    assert media is not None
    return media


async def logged(server: Running, lesson_id: str) -> list[tuple[str, dict[str, Any]]]:
    records = await server.app[k.EVENTLOG].read(lesson_id)
    return [
        (type(r.event).__name__, vars(r.event))
        for r in records
        if type(r.event).__name__.startswith("Recording")
    ]


def camera_segments(folder: Path) -> list[dict[str, Any]]:
    return [line for line in index(folder) if line["track"] == "teacher-camera"]


async def recording_now(server: Running, teacher: AiortcTeacher, lesson_id: str) -> Path:
    """Start recording, then publish: the folder the lesson's media is written to."""
    assert (await teacher.client.call("recording_start", {}))["ok"]
    await teacher.client.wait_for("recording", lambda m: m["state"] == "on")
    await until(lambda: lesson_id in media_of(server).recording, "the worker records")
    await teacher.publish()
    return Path(server.settings.recording_path) / lesson_id


async def start(server: Running) -> tuple[Classroom, AiortcTeacher]:
    room = await make_classroom(server, n_students=1)
    teacher = AiortcTeacher(server, room.teacher["link"])
    pin_host_addresses((LOOPBACK,))
    await teacher.client.connect()
    await teacher.client.join(room.lesson["id"])
    return room, teacher


async def rendition_is_live(folder: Path) -> None:
    """The audio being written is readable up to about a second ago (docs/recording.md)."""
    live = json.loads((folder / "audio" / "open.json").read_text())
    path = folder / live["file"]
    size = path.stat().st_size
    await asyncio.sleep(1.5)
    assert path.stat().st_size > size, "flushed at least every second"
    _, seconds = decode(path)
    behind_ms = time.time() * 1000 - (live["start"] + seconds * 1000)
    assert -20 <= behind_ms < 1500, behind_ms  # (-20: whole milliseconds on both sides)


def decode(path: Path) -> tuple[int, float]:
    """Frames (video) or seconds (audio) decoded from one segment file, with PyAV."""
    with av.open(str(path)) as container:
        stream = container.streams[0]
        if stream.type == "video":
            return sum(1 for _ in container.decode(video=0)), 0.0
        samples = sum(f.samples for f in container.decode(audio=0))
        return 0, samples / 48000


async def test_a_recorded_lesson_decodes_with_its_frames_and_times(server: Running) -> None:
    room, teacher = await start(server)
    lesson_id = room.lesson["id"]
    folder = Path(server.settings.recording_path) / lesson_id
    ack = await teacher.client.call("recording_start", {})
    assert ack["ok"]
    state = await teacher.client.wait_for("recording", lambda m: m["state"] == "on")
    assert state["since"] is not None
    await until(lambda: lesson_id in media_of(server).recording, "the worker records")
    await teacher.publish()
    # aiortc's test tracks: `_start` is the wall time of their first frame, `_timestamp` the
    # last frame's (video 90 kHz, audio 8 kHz).
    tracks: dict[str, Any] = {s.track.kind: s.track for s in teacher.pc.getSenders() if s.track}
    await asyncio.sleep(10)
    await rendition_is_live(folder)
    await asyncio.sleep(8)
    sent_frames = tracks["video"]._timestamp // 3000 + 1
    sent_audio_s = tracks["audio"]._timestamp / 8000 + 0.02
    video_start = tracks["video"]._start * 1000
    audio_start = tracks["audio"]._start * 1000
    await teacher.client.call("recording_stop", {})
    await teacher.client.wait_for("recording", lambda m: m["state"] == "off")
    await until(lambda: lesson_id not in media_of(server).recording, "recording stopped")
    await until(lambda: not (folder / "audio" / "open.json").exists(), "the rendition closed")
    await teacher.close()
    lines = index(folder)
    by_track: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        by_track.setdefault(line["track"], []).append(line)
    assert set(by_track) == {"teacher-mic", "teacher-camera", "audio"}, by_track.keys()
    frames = sum(decode(folder / seg["file"])[0] for seg in by_track["teacher-camera"])
    arrived = (await media_of(server).room(lesson_id).stats())["slots"]["teacher-camera"]
    # Within 3 % of those sent; what the transport lost on a busy box is in the message.
    assert abs(frames - sent_frames) <= 0.03 * sent_frames, (frames, sent_frames, arrived)
    mic_s = sum(decode(folder / seg["file"])[1] for seg in by_track["teacher-mic"])
    assert abs(mic_s - sent_audio_s) <= 0.3, (mic_s, sent_audio_s)
    rendition_s = sum(decode(folder / seg["file"])[1] for seg in by_track["audio"])
    assert abs(rendition_s - sent_audio_s) <= 0.3, (rendition_s, sent_audio_s)
    # Segments: about segment_s each, numbered from 0, spans on the lesson clock in order.
    for segs in by_track.values():
        assert [s["file"].rsplit("/", 1)[1].split(".")[0] for s in segs] == [
            f"{n:06d}" for n in range(len(segs))
        ]
        for a, b in itertools.pairwise(segs):
            # In order. Each is placed by its least delayed frame: an aiortc sender that falls
            # a second behind at its start (this box is busy) shifts a segment, never more.
            assert a["start"] < b["start"] and a["end"] <= b["start"] + 1000, json.dumps(segs)
        for seg in segs:
            assert seg["bytes"] == (folder / seg["file"]).stat().st_size, seg
    assert len(by_track["teacher-camera"]) >= 4
    # A/V offset: each track's first frame on the lesson clock against its capture time.
    video_offset = by_track["teacher-camera"][0]["start"] - video_start
    audio_offset = by_track["teacher-mic"][0]["start"] - audio_start
    assert abs(video_offset - audio_offset) < 100, (video_offset, audio_offset)
    assert abs(by_track["audio"][0]["start"] - by_track["teacher-mic"][0]["start"]) < 30
    # The rendition's size is its Opus bitrate plus Ogg's few bytes a page.
    opus_bytes = rendition_bytes = 0
    for seg in by_track["audio"]:
        rendition_bytes += seg["bytes"]
        with av.open(str(folder / seg["file"])) as container:
            opus_bytes += sum(p.size for p in container.demux(audio=0) if p.size)
    seconds = sum(s["end"] - s["start"] for s in by_track["audio"]) / 1000
    assert opus_bytes < rendition_bytes < opus_bytes * 1.1 + 400 * len(by_track["audio"])
    print(f"rendition {rendition_bytes} B for {seconds:.1f} s: "
          f"{rendition_bytes * 8 / seconds / 1000:.1f} kbit/s; video {frames}/{sent_frames} "
          f"frames; audio {mic_s:.2f}/{sent_audio_s:.2f} s; offsets video {video_offset:.0f} "
          f"ms, audio {audio_offset:.0f} ms")  # fmt: skip


async def test_a_killed_worker_loses_one_segment_and_the_recording_goes_on(
    server: Running,
) -> None:
    room, teacher = await start(server)
    lesson_id = room.lesson["id"]
    folder = await recording_now(server, teacher, lesson_id)
    await until(lambda: len(camera_segments(folder)) >= 2, "two camera segments", 30)
    worker = media_of(server).workers.pinned(lesson_id)
    assert worker is not None and worker.pid is not None
    os.kill(worker.pid, signal.SIGKILL)
    killed_at = time.time() * 1000
    before = camera_segments(folder)
    failed = await teacher.client.wait_for("recording", lambda m: m["state"] == "failed", 30)
    assert failed["reason"] == "worker-lost"
    resumed = await teacher.client.wait_for("recording", lambda m: m["state"] == "on", 30)
    assert resumed["since"] >= failed["since"]
    await teacher.client.wait_for("media_restart", lambda _: True, 10)
    await teacher.publish()  # as the pages do after media_restart
    await until(
        lambda: any(s["start"] > killed_at for s in camera_segments(folder)),
        "a camera segment written after the restart",
        30,
    )
    await teacher.close()
    for segment in before:  # what was indexed before the kill is whole and plays
        frames, _ = decode(folder / segment["file"])
        assert frames == segment["frames"], segment
    after = [s for s in camera_segments(folder) if s["start"] > killed_at]
    assert decode(folder / after[0]["file"])[0] == after[0]["frames"]
    numbers = [int(s["file"].split("/")[1].split(".")[0]) for s in camera_segments(folder)]
    assert numbers == sorted(set(numbers)), "a restarted recorder numbers on, never over"
    kinds = [(name, data.get("reason"), data.get("resumed")) for name, data in await logged(
        server, lesson_id
    )]  # fmt: skip
    assert kinds == [
        ("RecordingStarted", None, False),
        ("RecordingFailed", "worker-lost", None),
        ("RecordingStarted", None, True),
    ]


def fill(path: Path) -> None:
    """Write until the filesystem is full."""
    with open(path, "wb") as filler:
        try:
            while True:
                filler.write(b"\0" * 65536)
                filler.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MB tmpfs of its own, to fill up (mounted as root, unmounted after the test)."""
    if os.geteuid() != 0:
        pytest.skip("a tiny tmpfs for a full disk needs root to mount")
    tiny = tmp_path / "tiny"
    tiny.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(tiny)], check=True)
    try:
        yield tiny
    finally:
        subprocess.run(["umount", "-l", str(tiny)], check=False)


async def test_a_full_disk_stops_recording_with_a_notice_and_the_lesson_goes_on(
    tmp_path: Path, redis_url: str, tiny_disk: Path
) -> None:
    server = await serve(tmp_path, redis_url, recordings=tiny_disk)
    try:
        room, teacher = await start(server)
        lesson_id = room.lesson["id"]
        folder = await recording_now(server, teacher, lesson_id)
        student = AiortcStudent(server, room.students[0]["link"])
        await student.join(lesson_id)
        await until(lambda: len(camera_segments(folder)) >= 1, "a camera segment", 30)
        fill(tiny_disk / "filler")
        failed = await teacher.client.wait_for("recording", lambda m: m["state"] == "failed", 20)
        assert failed["reason"] == "disk-full"
        # The lesson goes on: media flows, chat is stored.
        await student.camera_frames(30, "media after the disk filled")
        assert (await student.client.chat("still here"))["ok"]
        assert ("RecordingFailed", {"reason": "disk-full"}) in await logged(server, lesson_id)
        count = len(camera_segments(folder))
        (tiny_disk / "filler").unlink()
        resumed = await teacher.client.wait_for("recording", lambda m: m["state"] == "on", 20)
        assert resumed["since"] > failed["since"]
        await until(lambda: len(camera_segments(folder)) > count, "a segment after the space", 30)
        await student.close()
        await teacher.close()
    finally:
        await server.runner.cleanup()


@pytest.mark.store("redis")
async def test_a_restarted_server_records_a_recorded_lesson_again(
    tmp_path: Path, redis_url: str
) -> None:
    first = await serve(tmp_path, redis_url)
    try:
        room, teacher = await start(first)
        lesson_id = room.lesson["id"]
        folder = await recording_now(first, teacher, lesson_id)
        await until(lambda: len(camera_segments(folder)) >= 1, "a camera segment", 30)
        await teacher.pc.close()
    finally:
        await first.runner.cleanup()  # the server goes, its workers with it
    restarted_at = time.time() * 1000
    second = await serve(tmp_path, redis_url)  # the same data, log and recordings
    try:
        teacher = AiortcTeacher(second, room.teacher["link"])
        pin_host_addresses((LOOPBACK,))
        await teacher.client.connect()
        welcome = await teacher.client.join(lesson_id)
        assert welcome["snapshot"]["recording"]["state"] == "on"
        await until(lambda: lesson_id in media_of(second).recording, "recording again", 20)
        await teacher.publish()
        await until(
            lambda: any(s["start"] > restarted_at for s in camera_segments(folder)),
            "a camera segment after the restart",
            30,
        )
        await teacher.close()
    finally:
        await second.runner.cleanup()
