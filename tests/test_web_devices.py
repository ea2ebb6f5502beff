"""Devices in real headless Chromium: the floor asks the student first, and every way a page
stops being in a lesson stops every camera, microphone and screen track at once.

An init script (test only) keeps a reference to every track getUserMedia and getDisplayMedia
hand out, so the test reads their readyState; the pages themselves keep them private.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from server import appkeys as k
from tests import browser
from tests.browser import ARTIFACTS, BROWSER_MARKS, CONTEXT_PERMISSIONS, chromium
from tests.conftest import Classroom, Running, make_classroom
from tests.test_web import KY, new_page, snap
from tests.test_web_media import SPY_ON_CONNECTIONS, media_server, open_student  # noqa: F401

pytestmark = [pytest.mark.store("memory"), *BROWSER_MARKS, pytest.mark.timeout(180)]
# The session's browser and event loop (tests/browser.py): these override conftest's here.
redis_url, server = browser.redis_url, browser.server

KEEP_TRACKS = """
(() => {
  window.__tracks = [];
  const devices = navigator.mediaDevices;
  if (!devices) return;
  for (const name of ['getUserMedia', 'getDisplayMedia']) {
    const native = devices[name].bind(devices);
    devices[name] = async (...args) => {
      const stream = await native(...args);
      window.__tracks.push(...stream.getTracks());
      return stream;
    };
  }
})();
"""
LIVE_KINDS = "() => window.__tracks.filter((t) => t.readyState === 'live').map((t) => t.kind)"
ALL_ENDED = "() => window.__tracks.every((t) => t.readyState === 'ended')"
SENDING = "() => window.__pcs.some((pc) => pc.getSenders().some((s) => s.track))"
MIC_MUTED = (
    "() => window.__tracks.some((t) => t.kind === 'audio' && t.readyState === 'live' && !t.enabled)"
)
AT_ONCE_MS = 3000  # before the fix the tracks stayed live until the server's disconnect, or ever


async def device(browser: Browser, pixel: dict[str, Any], dialogs: list[str]) -> Page:
    """A 360 px phone (or teacher's small screen) in Kyrgyz whose tracks the test can see."""
    context: BrowserContext = await browser.new_context(
        **{**pixel, "viewport": {"width": 360, "height": 780}},
        locale="ky-KG",
        permissions=CONTEXT_PERMISSIONS,
    )
    await context.add_init_script(KEEP_TRACKS)
    await context.add_init_script(SPY_ON_CONNECTIONS)
    return await new_page(context, dialogs)


async def open_teacher(teacher: Page, room: Classroom) -> None:
    await teacher.goto(room.teacher["link"])
    await teacher.locator(f"[data-lesson='{room.lesson['id']}'] button").click()
    await expect(teacher.locator("body")).to_have_attribute("data-conn", "online")


async def teacher_publishes_everything(teacher: Page) -> None:
    for kind in ("mic", "camera", "screen"):
        await teacher.click(f"[data-publish={kind}]")
        button = teacher.locator(f"[data-publish={kind}]")
        await expect(button).to_have_attribute("aria-pressed", "true")
    await expect(teacher.locator("[data-publish-state]")).to_have_attribute(
        "data-publish-state", "connected", timeout=15_000
    )
    assert sorted(await teacher.evaluate(LIVE_KINDS)) == ["audio", "video", "video"]


async def floor_accepted(teacher: Page, phone: Page, student_id: str, camera: bool) -> None:
    """The teacher offers the floor, the student accepts: their devices are live."""
    row = teacher.locator(f"#roster [data-participant='{student_id}']")
    await teacher.set_checked("#floor-camera", camera)
    await row.locator("[data-floor=give]").click()
    await phone.locator("[data-floor-answer=accept]").click()
    await expect(phone.locator("#floor-bar")).to_be_visible()
    expected = ["audio", "video"] if camera else ["audio"]
    await phone.wait_for_function(f"() => ({LIVE_KINDS})().length === {len(expected)}")
    assert sorted(await phone.evaluate(LIVE_KINDS)) == expected
    await expect(row.locator("[data-floor=take]")).to_be_visible()


async def snap_teacher(teacher: Page, name: str) -> None:
    """The teacher's roster and media card (the whole page is too long to look at)."""
    ARTIFACTS.mkdir(exist_ok=True)
    for part, selector in (("roster", "#roster"), ("card", "[data-media=teacher-publish]")):
        await teacher.locator(selector).screenshot(path=str(ARTIFACTS / f"{name}-{part}.png"))


async def all_stopped(page: Page, way: str) -> None:
    """Every track the page ever captured has ended, promptly."""
    try:
        await page.wait_for_function(ALL_ENDED, timeout=AT_ONCE_MS)
    except Exception:
        live = await page.evaluate(LIVE_KINDS)
        raise AssertionError(f"{way}: still capturing {live}") from None
    assert await page.evaluate("window.__tracks.length") > 0, way
    assert page.errors == [], (way, page.errors)  # type: ignore[attr-defined]


async def test_the_floor_asks_the_student_first(media_server: Running) -> None:  # noqa: F811
    room = await make_classroom(media_server, n_students=1)
    student_id = room.students[0]["id"]
    dialogs: list[str] = []
    async with chromium() as (browser, pixel):
        teacher = await device(browser, pixel, dialogs)
        await open_teacher(teacher, room)
        phone = await device(browser, pixel, dialogs)
        await open_student(phone, room.students[0]["link"])
        row = teacher.locator(f"#roster [data-participant='{student_id}']")
        box = teacher.locator("[data-floor-box]")

        # Offered: the phone asks, captures nothing, sends nothing; the teacher waits.
        await teacher.check("#floor-camera")
        await row.locator("[data-floor=give]").click()
        prompt = phone.locator("#floor-prompt")
        await expect(prompt).to_be_visible()
        await expect(prompt).to_contain_text(KY["media.floor_offer_camera"])
        await expect(box).to_have_attribute("data-floor-state", "offered")
        await expect(box).to_contain_text(KY["teach.floor_offered"].replace("{name}", "Student 0"))
        await expect(row.locator("[data-floor-tag=offered]")).to_be_visible()
        await expect(row.locator("[data-floor=withdraw]")).to_be_visible()
        await snap(phone, "floor-prompt-ky.png")
        await snap_teacher(teacher, "floor-teacher-waiting-ky")
        assert await phone.evaluate("window.__tracks.length") == 0
        assert not await phone.evaluate(SENDING)

        # Declined: the offer is over, the teacher sees it and can offer again.
        await phone.locator("[data-floor-answer=decline]").click()
        await expect(prompt).to_have_count(0)
        await expect(box).to_have_attribute("data-floor-state", "declined")
        await expect(box).to_contain_text(KY["teach.floor_declined"].replace("{name}", "Student 0"))
        await expect(row.locator("[data-floor=give]")).to_be_visible()
        await snap_teacher(teacher, "floor-teacher-declined-ky")
        assert await phone.evaluate("window.__tracks.length") == 0
        assert not await phone.evaluate(SENDING)

        # Accepted: the microphone exists but stays muted until the student unmutes it.
        await floor_accepted(teacher, phone, student_id, camera=True)
        await expect(box).to_have_attribute("data-floor-state", "given")
        assert await phone.evaluate(MIC_MUTED)
        mute = phone.locator("#floor-mute")
        await expect(mute).to_have_attribute("aria-pressed", "true")
        await expect(phone.locator("#floor-bar")).to_contain_text(KY["media.floor_muted_camera"])
        await snap(phone, "floor-accepted-muted-ky.png")
        await mute.click()
        await expect(mute).to_have_attribute("aria-pressed", "false")
        assert not await phone.evaluate(MIC_MUTED)
        for page in (teacher, phone):
            assert page.errors == []  # type: ignore[attr-defined]


async def test_every_way_out_of_a_lesson_stops_every_track(
    media_server: Running,  # noqa: F811
) -> None:
    room = await make_classroom(media_server, n_students=6)
    ids = [s["id"] for s in room.students]
    links = [s["link"] for s in room.students]
    dialogs: list[str] = []
    async with chromium() as (browser, pixel):
        teacher = await device(browser, pixel, dialogs)
        await open_teacher(teacher, room)
        row = teacher.locator

        # Removed by the teacher while holding the floor.
        phone = await device(browser, pixel, dialogs)
        await open_student(phone, links[0])
        await floor_accepted(teacher, phone, ids[0], camera=True)
        await row(f"#roster [data-participant='{ids[0]}'] details.menu summary").click()
        await row(f"#roster [data-participant='{ids[0]}'] .menu-items button.danger").click()
        await all_stopped(phone, "removed")

        # Opened elsewhere: the older page is replaced.
        phone = await device(browser, pixel, dialogs)
        await open_student(phone, links[1])
        await floor_accepted(teacher, phone, ids[1], camera=False)
        elsewhere = await device(browser, pixel, dialogs)
        await open_student(elsewhere, links[1])
        await all_stopped(phone, "replaced")
        await row(f"#roster [data-participant='{ids[1]}'] [data-floor=take]").click()
        await all_stopped(elsewhere, "floor taken back")

        # Hidden for good: kept in the back/forward cache, or frozen by the phone.
        hide = "window.dispatchEvent(new PageTransitionEvent('pagehide', {persisted: true}))"
        for pid, link, way, script in (
            (ids[2], links[2], "pagehide", hide),
            (ids[3], links[3], "freeze", "document.dispatchEvent(new Event('freeze'))"),
        ):
            phone = await device(browser, pixel, dialogs)
            await open_student(phone, link)
            await floor_accepted(teacher, phone, pid, camera=True)
            await phone.evaluate(script)
            await all_stopped(phone, way)

        # The connection given up: the server drops it for good.
        phone = await device(browser, pixel, dialogs)
        await open_student(phone, links[4])
        await floor_accepted(teacher, phone, ids[4], camera=True)
        namespace = media_server.app[k.NAMESPACE]
        sid = next(s for s, x in namespace.sessions.items() if ids[4] in x.learners)
        await namespace.disconnect(sid)
        await all_stopped(phone, "connection given up")

        # The teacher leaves the lesson (back to the list), then comes back.
        await teacher_publishes_everything(teacher)
        await teacher.click("#back")
        await all_stopped(teacher, "teacher left")
        await teacher.locator(f"[data-lesson='{room.lesson['id']}'] button").click()
        await expect(teacher.locator("body")).to_have_attribute("data-conn", "online")

        # The teacher opens the lesson elsewhere: the older page is replaced.
        await teacher_publishes_everything(teacher)
        elsewhere = await device(browser, pixel, dialogs)
        await open_teacher(elsewhere, room)
        await all_stopped(teacher, "teacher opened elsewhere")
        teacher = elsewhere

        # The lesson ended by the teacher: the teacher's and the floor's devices stop.
        phone = await device(browser, pixel, dialogs)
        await open_student(phone, links[5])
        await teacher_publishes_everything(teacher)
        await floor_accepted(teacher, phone, ids[5], camera=True)
        await teacher.click("#end")
        await all_stopped(teacher, "lesson ended (teacher)")
        await all_stopped(phone, "lesson ended (student)")
        assert not [d for d in dialogs if not d.startswith("confirm")], dialogs
