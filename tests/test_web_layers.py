"""Layers in real headless Chromium: the teacher's page sends its camera in two qualities and
temporal layers; a phone switched between them mid-stream keeps playing.

The switch is made through the media worker's `choose_layer` operation (what the per-student
adaptation calls); the phone's getStats shows the picture size change and frames decoded.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from media.rooms import MediaRooms
from server import appkeys as k
from tests import browser
from tests.browser import BROWSER_MARKS, CONTEXT_PERMISSIONS, chromium
from tests.conftest import Classroom, Running, make_classroom
from tests.test_web_media import (
    media_server,
    open_student,
    page_for,
    teacher_publishes,
    video_plays,
)

pytestmark = [pytest.mark.store("memory"), *BROWSER_MARKS, pytest.mark.timeout(180)]
redis_url, server = browser.redis_url, browser.server
__all__ = ["media_server", "redis_url", "server"]

CAMERA_STATS = """
async () => {
  for (const pc of window.__pcs) {
    if (pc.connectionState === 'closed') continue;
    for (const s of (await pc.getStats()).values()) {
      if (s.type === 'inbound-rtp' && s.mid === '1') {
        return { frames: s.framesDecoded || 0, width: s.frameWidth || 0 };
      }
    }
  }
  return { frames: 0, width: 0 };
}
"""
PHASE_S = 4.0
SENT = """
async () => {
  const out = [];
  for (const pc of window.__pcs) {
    if (pc.connectionState === 'closed') continue;
    for (const s of (await pc.getStats()).values()) {
      if (s.type === 'outbound-rtp' && s.kind === 'video') {
        out.push([s.mid, s.frameWidth, s.framesPerSecond, s.scalabilityMode,
                  s.qualityLimitationReason, s.encoderImplementation]);
      }
    }
  }
  return out;
}
"""
SWITCH_WAIT_S = 30.0  # a switch may wait for the student's next keyframe token (20 s)


async def worker_call(server: Running, room: Classroom, op: str, args: dict[str, Any]) -> Any:
    media = server.app[k.MEDIA]
    assert isinstance(media, MediaRooms)
    worker = media.workers.pinned(room.lesson["id"])
    assert worker is not None
    return await worker.call(room.lesson["id"], op, args)


class Watch:
    """Samples the phone's camera stats every 100 ms: width, longest time without a frame."""

    def __init__(self) -> None:
        self.width = 0
        self.longest_still = 0.0
        self.frames = 0

    async def run(self, page: Any, seconds: float) -> None:
        last_frames, last_new = -1, time.monotonic()
        deadline = last_new + seconds
        while time.monotonic() < deadline:
            stats = await page.evaluate(CAMERA_STATS)
            now = time.monotonic()
            if stats["frames"] != last_frames:
                last_frames, last_new = stats["frames"], now
            self.longest_still = max(self.longest_still, now - last_new)
            self.width, self.frames = stats["width"], stats["frames"]
            await asyncio.sleep(0.1)


async def switch(server: Running, room: Classroom, page: Any, spatial: str, temporal: int) -> None:
    """Choose a layer for the phone, wait until it is forwarded, and a second more."""
    pid = room.students[0]["id"]
    args = {"pid": pid, "slot": "teacher-camera", "spatial": spatial, "temporal": temporal}
    await worker_call(server, room, "choose_layer", args)
    deadline = time.monotonic() + SWITCH_WAIT_S
    while True:
        receiving = await worker_call(server, room, "receiving", {"pids": [pid]})
        if receiving[pid]["tracks"]["teacher-camera"]["layer"] == f"{spatial}-t{temporal}":
            break
        assert time.monotonic() < deadline, f"no switch to {spatial}-t{temporal}"
        await asyncio.sleep(0.2)
    await asyncio.sleep(1.0)


async def fps(watch: Watch) -> float:
    before = watch.frames
    await asyncio.sleep(PHASE_S)
    return (watch.frames - before) / PHASE_S


async def test_a_phone_switched_between_layers_keeps_playing(media_server: Running) -> None:
    room = await make_classroom(media_server, n_students=1)
    async with chromium() as (browser_, pixel):
        desk = await browser_.new_context(
            viewport={"width": 1200, "height": 900}, locale="en-US",
            permissions=CONTEXT_PERMISSIONS,
        )  # fmt: skip
        teacher = await page_for(desk)
        await teacher_publishes(teacher, room)
        phone_ctx = await browser_.new_context(
            **pixel, locale="en-US", permissions=CONTEXT_PERMISSIONS
        )
        phone = await page_for(phone_ctx)
        await open_student(phone, room.students[0]["link"])
        await video_plays(phone, "[data-media=teacher-video] video[data-mid='1']")

        stats = await worker_call(media_server, room, "stats", {})
        camera = stats["slots"]["teacher-camera"]
        assert camera["layers"]["low"]["live"], "the page sends the low copy"
        assert {"high-t0", "high-t1", "low-t0"} <= set(camera["bitrates"]), (
            "Chromium sends VP8 temporal layers (L1T3)",
            camera["bitrates"],
        )
        print("layer bitrates (bit/s):", camera["bitrates"])  # the figures in the docs

        watch = Watch()
        watching = asyncio.create_task(watch.run(phone, 170))
        try:
            await switch(media_server, room, phone, "high", 2)
            high = watch.width
            await switch(media_server, room, phone, "low", 2)
            low = watch.width
            full_fps = await fps(watch)
            await switch(media_server, room, phone, "low", 0)
            thin_fps = await fps(watch)
            await switch(media_server, room, phone, "high", 2)
            high_again = watch.width
        finally:
            watching.cancel()
        # Chromium scales its encoders down when the machine is busy (two encodes here, and
        # both pages): the high quality may be as small as the low one, never smaller.
        assert 0 < low <= min(high, high_again), (high, low, high_again)
        assert watch.longest_still < 1.0, f"a freeze of {watch.longest_still:.1f} s"
        # TID 0 is every fourth frame (L1T3): 7.5 fps of 30, or of what a busy encoder makes.
        assert 0.15 <= thin_fps / full_fps <= 0.4, (thin_fps, full_fps)
        print("teacher sends:", await teacher.evaluate(SENT))
        print("widths high, low, high:", high, low, high_again, "fps T2, T0:", full_fps, thin_fps)
        for page in (teacher, phone):
            assert page.errors == []  # type: ignore[attr-defined]
