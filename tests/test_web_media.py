"""Live media in real headless Chromium: a browser teacher publishes, a browser phone and an
aiortc student receive; a student given the floor is heard; radio mode stops the video.

ICE is pinned to 127.0.0.1 on the server (DESIGN.md §5); Chromium uses the fake camera and
microphone. The pages' RTCPeerConnections are collected by an init script (test only), so
that the test reads their getStats per m-line id (mids 0-4: teacher mic, teacher camera,
teacher screen, floor mic, floor camera).
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import BrowserContext, Page, expect

from server import appkeys as k
from tests import browser
from tests.browser import (
    ARTIFACTS,
    BROWSER_MARKS,
    CONTEXT_PERMISSIONS,
    chromium,
    record_errors,
)
from tests.conftest import (
    Classroom,
    Running,
    free_port,
    make_classroom,
    settings_for,
    start_server,
)
from tests.media_peers import LOOPBACK, AiortcStudent

pytestmark = [pytest.mark.store("memory"), *BROWSER_MARKS, pytest.mark.timeout(120)]
# The session's browser and event loop (tests/browser.py): these override conftest's here.
redis_url, server = browser.redis_url, browser.server

TEACHER_MIC, TEACHER_CAMERA, TEACHER_SCREEN, FLOOR_MIC, FLOOR_CAMERA = "0", "1", "2", "3", "4"
WAIT_S = 15.0

# Collect every RTCPeerConnection a page makes (the page itself keeps them private).
SPY_ON_CONNECTIONS = """
(() => {
  const Native = window.RTCPeerConnection;
  window.__pcs = [];
  window.RTCPeerConnection = class extends Native {
    constructor(...args) { super(...args); window.__pcs.push(this); }
  };
})();
"""
# Chrome on a phone refuses to start sound before the person has touched the page; headless
# Chromium here does not (and counts the page as activated already), so the phone's context
# plays that rule: unmuted play() is refused until a real tap (test only).
PHONE_AUTOPLAY_RULE = """
(() => {
  let tapped = false;
  addEventListener('pointerdown', (e) => { if (e.isTrusted) tapped = true; }, true);
  const play = HTMLMediaElement.prototype.play;
  HTMLMediaElement.prototype.play = function () {
    if (this.muted || tapped) return play.call(this);
    return Promise.reject(new DOMException('a tap is needed first', 'NotAllowedError'));
  };
})();
"""
# Per mid, summed over the page's open connections: packets received, video frames decoded.
INBOUND = """
async () => {
  const out = {};
  for (const pc of window.__pcs) {
    if (pc.connectionState === 'closed') continue;
    (await pc.getStats()).forEach((s) => {
      if (s.type !== 'inbound-rtp' || s.mid == null) return;
      const o = (out[s.mid] = out[s.mid] || { packets: 0, frames: 0 });
      o.packets += s.packetsReceived || 0;
      o.frames += s.framesDecoded || 0;
    });
  }
  return out;
}
"""
# The outbound camera's encoding parameters as the page set them.
CAMERA_SENDER = """
() => {
  for (const pc of window.__pcs) {
    if (pc.connectionState === 'closed') continue;
    for (const s of pc.getSenders()) {
      if (s.track && s.track.kind === 'video') {
        const settings = s.track.getSettings();
        return { ...s.getParameters().encodings[0], width: settings.width,
                 height: settings.height };
      }
    }
  }
  return null;
}
"""


@pytest_asyncio.fixture(loop_scope="session")
async def media_server(tmp_path: Path, redis_url: str) -> AsyncIterator[Running]:
    """A server whose media uses only 127.0.0.1 (both its own candidates and the remote's)."""
    settings = settings_for(
        tmp_path / "var",
        redis_url,
        free_port(),
        SABAK_MEDIA_ICE_HOST_ADDRESSES=LOOPBACK,
        SABAK_MEDIA_ICE_ACCEPT_REMOTE_IPS=LOOPBACK,
    )
    running = await start_server(settings)
    try:
        yield running
    finally:
        await running.runner.cleanup()


async def page_for(context: BrowserContext) -> Page:
    """A page that records script errors and CSP violations, with its connections spied on."""
    await context.add_init_script(SPY_ON_CONNECTIONS)
    return record_errors(await context.new_page())


async def inbound(page: Page) -> dict[str, dict[str, int]]:
    return await page.evaluate(INBOUND)  # type: ignore[no-any-return]


def count_of(stats: dict[str, dict[str, int]], mid: str, what: str) -> int:
    return stats.get(mid, {}).get(what, 0)


async def until(check: Callable[[], Any], what: str, timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.2)


async def advances(
    page: Page, mid: str, what: str, by: int, label: str, timeout: float = WAIT_S
) -> None:
    """The page's count for mid goes up by at least `by` (a new connection starts at 0)."""
    last = count_of(await inbound(page), mid, what)
    gained = 0

    async def check() -> bool:
        nonlocal last, gained
        now = count_of(await inbound(page), mid, what)
        gained += now - last if now >= last else now
        last = now
        return gained >= by

    await until(check, f"{label}: {what} on mid {mid} to advance by {by}", timeout)


async def stays(page: Page, mid: str, what: str, label: str, settle: float = 1.5) -> None:
    """After what was in flight has arrived, the page's count for mid no longer moves."""
    await asyncio.sleep(settle)
    deadline = time.monotonic() + 15  # a loaded machine may still deliver what was in flight
    while True:
        before = count_of(await inbound(page), mid, what)
        await asyncio.sleep(2.0)
        after = count_of(await inbound(page), mid, what)
        if after == before:
            return
        assert time.monotonic() < deadline, f"{label}: {what} on mid {mid} still advancing"


async def snap(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await page.evaluate("window.scrollTo(0, 0)")
    await page.screenshot(path=str(ARTIFACTS / name), full_page=True)


async def video_plays(page: Page, selector: str) -> None:
    """A <video> has a picture and its clock moves."""
    await page.wait_for_function(
        "s => { const v = document.querySelector(s); return v && v.videoWidth > 0 }",
        arg=selector,
        timeout=WAIT_S * 1000,
    )
    first = await page.eval_on_selector(selector, "v => v.currentTime")
    await page.wait_for_function(
        "([s, t]) => document.querySelector(s).currentTime > t + 0.5",
        arg=[selector, first],
        timeout=WAIT_S * 1000,
    )


async def test_live_media_between_browsers_and_aiortc(media_server: Running) -> None:
    room = await make_classroom(media_server, n_students=2)
    async with chromium() as (browser, pixel):
        desk = await browser.new_context(
            viewport={"width": 1200, "height": 900}, locale="en-US",
            permissions=CONTEXT_PERMISSIONS,
        )  # fmt: skip
        teacher = await page_for(desk)
        await teacher_publishes(teacher, room)
        phone_ctx = await browser.new_context(
            **pixel, locale="en-US", permissions=CONTEXT_PERMISSIONS
        )
        await phone_ctx.add_init_script(PHONE_AUTOPLAY_RULE)
        phone = await page_for(phone_ctx)
        py_student = AiortcStudent(media_server, room.students[1]["link"])
        try:
            await asyncio.gather(
                open_student(phone, room.students[0]["link"]),
                py_student.join(room.lesson["id"]),
            )
            await both_students_decode_the_teacher(teacher, phone, py_student)
            await sound_starts_from_a_tap(phone)
            await screen_share(teacher, phone, py_student)
            await floor_both_ways(teacher, phone, py_student, room.students[0]["id"])
            await radio_mode_stops_video_keeps_sound(teacher, phone, room.students[0]["id"])
            await media_comes_back_after_reconnects(desk, teacher, phone_ctx, phone)
            await media_comes_back_after_its_worker_dies(media_server, room, teacher, phone)
            assert not py_student.errors, py_student.errors
        finally:
            await py_student.close()
        for page in (teacher, phone):
            assert page.errors == []  # type: ignore[attr-defined]


async def teacher_publishes(teacher: Page, room: Classroom) -> None:
    await teacher.goto(room.teacher["link"])
    await teacher.locator(f"[data-lesson='{room.lesson['id']}'] button").click()
    await expect(teacher.locator("body")).to_have_attribute("data-conn", "online")
    await teacher.click("[data-publish=mic]")
    await teacher.click("[data-publish=camera]")
    state = teacher.locator("[data-publish-state]")
    await expect(state).to_have_attribute("data-publish-state", "connected", timeout=WAIT_S * 1000)
    await expect(teacher.locator("[data-publish=camera]")).to_have_attribute("aria-pressed", "true")
    await video_plays(teacher, "[data-preview]")
    # The browser caps the camera: at most 640x360 and 500 kbit/s.
    sender = await teacher.evaluate(CAMERA_SENDER)
    assert sender["maxBitrate"] == 500_000, sender
    assert sender["width"] <= 640 and sender["height"] <= 360, sender


async def open_student(page: Page, link: str) -> None:
    await page.goto(link)
    await expect(page.locator("#lesson")).to_be_visible(timeout=15_000)
    await expect(page.locator("body")).to_have_attribute("data-conn", "online")


async def both_students_decode_the_teacher(
    teacher: Page, phone: Page, py_student: AiortcStudent
) -> None:
    camera = "[data-media=teacher-video] video[data-mid='1']"
    await video_plays(phone, camera)
    await advances(phone, TEACHER_CAMERA, "frames", 10, "phone, teacher camera")
    await advances(phone, TEACHER_MIC, "packets", 25, "phone, teacher mic")
    await expect(phone.locator("[data-media=teacher-video]")).to_have_attribute(
        "data-state", "playing"
    )
    await expect(phone.locator("#media-note")).to_be_hidden()

    async def py_decoded() -> bool:
        return py_student.decoded[TEACHER_CAMERA] >= 10 and py_student.decoded[TEACHER_MIC] >= 25

    await until(py_decoded, "the aiortc student to decode the teacher's camera and mic")
    assert py_student.keyframes[TEACHER_CAMERA] >= 1
    assert not py_student.errors, py_student.errors
    await snap(teacher, "media-teacher.png")


async def sound_starts_from_a_tap(phone: Page) -> None:
    """Sound refused before any tap: the page offers "tap to hear", and the tap starts it."""
    tap = phone.locator("[data-media-tap]")
    await expect(tap).to_be_visible()
    await expect(tap).to_have_text("Tap to hear the lesson")
    await snap(phone, "media-student-tap.png")
    assert await phone.eval_on_selector("audio[data-mid='0']", "a => a.paused")
    await tap.click()
    await expect(tap).to_be_hidden()
    await phone.wait_for_function("() => !document.querySelector(\"audio[data-mid='0']\").paused")


async def screen_share(teacher: Page, phone: Page, py_student: AiortcStudent) -> None:
    await teacher.click("[data-publish=screen]")
    await expect(teacher.locator("[data-publish=screen]")).to_have_attribute("aria-pressed", "true")
    await video_plays(phone, "[data-media=teacher-screen] video")
    await expect(phone.locator("[data-media=teacher-screen]")).to_be_visible()
    before = py_student.decoded[TEACHER_SCREEN]

    async def py_sees_screen() -> bool:
        return py_student.decoded[TEACHER_SCREEN] >= before + 3

    await until(py_sees_screen, "the aiortc student to decode the screen")
    await snap(phone, "media-student.png")
    await slide_fills_the_phone(phone)
    await teacher.click("[data-publish=screen]")
    await expect(phone.locator("[data-media=teacher-screen]")).to_be_hidden(timeout=WAIT_S * 1000)


async def slide_fills_the_phone(phone: Page) -> None:
    """The screen share (often the slide) comes above the teacher's face, and fills the
    phone's screen when enlarged (issue 19)."""
    screen = phone.locator("[data-media=teacher-screen]")

    async def slide_above_face() -> bool:  # the page lays the share out once it plays
        slide = await screen.bounding_box()
        face = await phone.locator("[data-media=teacher-video]").bounding_box()
        return bool(slide and face and slide["y"] < face["y"])

    await until(slide_above_face, "the slide above the teacher's face")
    await phone.click("#enlarge")
    await expect(phone.locator("#enlarge")).to_have_attribute("aria-pressed", "true")
    big, view = await screen.bounding_box(), phone.viewport_size
    assert (
        big and view and big["width"] >= view["width"] - 1 and big["height"] >= view["height"] - 1
    )
    await snap(phone, "media-student-enlarged.png")
    await phone.click("#enlarge")
    await expect(phone.locator("#enlarge")).to_have_attribute("aria-pressed", "false")


async def floor_both_ways(
    teacher: Page, phone: Page, py_student: AiortcStudent, student_id: str
) -> None:
    row = teacher.locator(f"#roster [data-participant='{student_id}']")
    await teacher.check("#floor-camera")
    await row.locator("[data-floor=give]").click()
    # The student accepts first, and unmutes the microphone (it starts muted).
    await phone.locator("[data-floor-answer=accept]").click()
    await expect(phone.locator("#floor-bar")).to_be_visible()
    await expect(row.locator("[data-floor=take]")).to_be_visible()
    await phone.locator("#floor-mute[aria-pressed=true]").click()
    await expect(phone.locator("#floor-mute")).to_have_attribute("aria-pressed", "false")
    # The student's microphone and camera reach the teacher's page and the aiortc student.
    await advances(teacher, FLOOR_MIC, "packets", 25, "teacher, floor mic")
    await advances(teacher, FLOOR_CAMERA, "frames", 10, "teacher, floor camera")
    await expect(teacher.locator("[data-floor-box]")).to_be_visible()
    mic_before = py_student.decoded[FLOOR_MIC]

    async def py_hears_floor() -> bool:
        return py_student.decoded[FLOOR_MIC] >= mic_before + 25

    await until(py_hears_floor, "the aiortc student to decode the floor's microphone")
    # Meanwhile the student with the floor still gets the teacher.
    await advances(phone, TEACHER_CAMERA, "frames", 5, "phone with the floor, teacher camera")
    await snap(teacher, "media-teacher-floor.png")
    await snap(phone, "media-student-floor.png")

    await row.locator("[data-floor=take]").click()
    await expect(phone.locator("#floor-bar")).to_have_count(0)
    await stays(teacher, FLOOR_MIC, "packets", "teacher after the floor was taken back")
    await expect(teacher.locator("[data-floor-box]")).to_be_hidden()
    assert not py_student.errors, py_student.errors


async def radio_mode_stops_video_keeps_sound(teacher: Page, phone: Page, student_id: str) -> None:
    connections = await phone.evaluate("window.__pcs.length")
    await phone.locator("label", has_text="Sound only").click()
    await expect(phone.locator("body")).to_have_attribute("data-receive", "audio")
    await stays(phone, TEACHER_CAMERA, "frames", "phone in radio mode")
    await advances(phone, TEACHER_MIC, "packets", 25, "phone in radio mode, teacher mic")
    await expect(phone.locator("#media-note")).to_be_visible()
    # The teacher sees what each participant receives (polled every few seconds).
    tag = teacher.locator(f"#roster [data-participant='{student_id}'] [data-receiving]")
    await expect(tag).to_have_attribute("data-receiving", "audio", timeout=WAIT_S * 1000)
    await snap(phone, "media-student-radio.png")
    # Back to video: the picture comes back without a new connection.
    await phone.locator("label", has_text="Video").click()
    await advances(phone, TEACHER_CAMERA, "frames", 10, "phone back to video")
    assert await phone.evaluate("window.__pcs.length") == connections


async def media_comes_back_after_reconnects(
    desk: BrowserContext, teacher: Page, phone_ctx: BrowserContext, phone: Page
) -> None:
    """The server drops a participant's media with its socket; the pages set it up again."""
    for who, context, page in (("teacher", desk, teacher), ("phone", phone_ctx, phone)):
        await context.set_offline(True)
        await expect(page.locator("body")).to_have_attribute("data-conn", "reconnecting")
        await asyncio.sleep(1)
        await context.set_offline(False)
        await expect(page.locator("body")).to_have_attribute(
            "data-conn", "online", timeout=WAIT_S * 1000
        )
        await advances(phone, TEACHER_CAMERA, "frames", 10, f"phone after the {who} came back")
    await expect(teacher.locator("[data-publish-state]")).to_have_attribute(
        "data-publish-state", "connected"
    )


async def media_comes_back_after_its_worker_dies(
    server: Running, room: Classroom, teacher: Page, phone: Page
) -> None:
    """The lesson's media worker is killed: the pages are told, publish and subscribe anew."""
    media = server.app[k.MEDIA]
    assert media is not None
    worker = media.workers.pinned(room.lesson["id"])
    assert worker is not None and worker.pid is not None
    old_pid = worker.pid
    await snap(phone, "media-student-before-worker-restart.png")
    os.kill(old_pid, signal.SIGKILL)
    await advances(phone, TEACHER_CAMERA, "frames", 10, "phone after the media worker died")
    await advances(phone, TEACHER_MIC, "packets", 25, "phone after the media worker died")
    # The person sees the picture again (not the "will appear here" placeholder).
    await video_plays(phone, "[data-media=teacher-video] video[data-mid='1']")
    await expect(phone.locator("[data-media=teacher-video]")).to_have_attribute(
        "data-state", "playing", timeout=WAIT_S * 1000
    )
    await snap(phone, "media-student-after-worker-restart.png")
    await expect(teacher.locator("[data-publish-state]")).to_have_attribute(
        "data-publish-state", "connected"
    )
    again = media.workers.pinned(room.lesson["id"])
    assert again is not None and again.pid not in (None, old_pid)
