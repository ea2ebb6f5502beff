"""A phone in the background in real Chromium: it reports listening, and a check sounds a cue."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from client.rest import token_from_link
from client.sabak_client import SabakClient
from tests import browser
from tests.browser import ARTIFACTS, BROWSER_MARKS, CONTEXT_PERMISSIONS, chromium, record_errors
from tests.conftest import Running, free_port, make_classroom, settings_for, start_server
from tests.test_web import loaded_picture

KY = json.loads((Path(__file__).parent.parent / "client/web/i18n/ky.json").read_text("utf-8"))

pytestmark = [pytest.mark.store("memory"), *BROWSER_MARKS, pytest.mark.timeout(120)]
# The session's browser and event loop (tests/browser.py): these override conftest's here.
redis_url, server = browser.redis_url, browser.server

# Every tone the page starts is recorded with the page's visibility at that moment.
TONES = """
window.__tones = [];
const start = OscillatorNode.prototype.start;
OscillatorNode.prototype.start = function (...args) {
  window.__tones.push(document.visibilityState);
  return start.apply(this, args);
};
"""
# The lesson's sound: a live audio track playing in an <audio> element, as in sound-only mode.
PLAY_SOUND = """async () => {
  const ctx = new AudioContext();
  const tone = ctx.createOscillator();
  const out = ctx.createMediaStreamDestination();
  tone.connect(out);
  const el = document.createElement('audio');
  el.srcObject = out.stream;
  document.body.append(el);
  await el.play();
  return !el.paused;
}"""
# What the browser does when the phone is locked: the page is hidden.
HIDE = """() => {
  Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'hidden'});
  Object.defineProperty(document, 'hidden', {configurable: true, get: () => true});
  document.dispatchEvent(new Event('visibilitychange'));
}"""


async def visibility_events(server: Running, lesson_id: str) -> list[dict[str, Any]]:
    async with server.rest() as rest:
        log = await rest.events(lesson_id)
    return [r["data"] for r in log if r["type"] == "VisibilityChanged"]


async def test_a_locked_phone_playing_the_lesson_reports_listening_and_a_check_sounds(
    server: Running,
) -> None:
    room = await make_classroom(server, n_students=1)
    lesson_id = room.lesson["id"]
    teacher = SabakClient(server.url, token=token_from_link(room.teacher["link"]))
    await teacher.connect()
    await teacher.join(lesson_id)
    try:
        async with chromium() as (browser, pixel):
            phone = {**pixel, "viewport": {"width": 360, "height": 780}}
            context = await browser.new_context(
                **phone, locale="ky-KG", permissions=CONTEXT_PERMISSIONS
            )
            await context.add_init_script(TONES)
            page = record_errors(await context.new_page())
            await page.goto(room.students[0]["link"])
            await expect(page.locator("#lesson")).to_be_visible(timeout=15_000)
            await expect(page.locator("body")).to_have_attribute("data-conn", "online")
            await page.locator("header").first.click()  # a tap: the browser lets sound start
            first = await teacher.call("check_start", {"window_s": 10})
            await expect(page.locator("#check")).to_be_visible()
            await teacher.call("check_close", {"check_id": first["check_id"]})
            assert await page.evaluate("window.__tones") == []  # in front: no cue
            assert await page.evaluate(PLAY_SOUND)
            await page.evaluate(HIDE)
            deadline = time.monotonic() + 10
            while not await visibility_events(server, lesson_id):
                assert time.monotonic() < deadline, "the page did not report going hidden"
                await asyncio.sleep(0.2)
            changed = await visibility_events(server, lesson_id)
            assert changed[0]["visible"] is False and changed[0]["listening"] is True
            await teacher.call("check_start", {"window_s": 10})
            # a function, not an expression: Playwright evals expressions, which the CSP forbids
            await page.wait_for_function("() => window.__tones.length >= 2", timeout=5_000)
            assert set(await page.evaluate("window.__tones")) == {"hidden"}
            ARTIFACTS.mkdir(exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / "student-check-hidden-ky.png"))
            assert page.errors == []  # type: ignore[attr-defined]
            async with server.rest() as rest:
                await rest.end_lesson(lesson_id)
            await organizer_report(browser, server, room.course_id, lesson_id)
    finally:
        await teacher.close()


async def organizer_report(browser: Any, server: Running, course_id: str, lesson_id: str) -> None:
    """The organizer's report on a phone, in Kyrgyz: listening has its own column."""
    context = await browser.new_context(viewport={"width": 360, "height": 780}, locale="ky-KG")
    page = record_errors(await context.new_page())
    await page.goto(f"{server.url}/organize")
    await page.fill("#admin-key", server.admin_key)
    await page.click("#login button[type=submit]")
    await page.locator("#course-list button").first.click()
    await page.click("[data-sub=lessons]")
    row = page.locator(f"[data-lesson='{lesson_id}']")
    await row.get_by_role("button", name=KY["org.report"], exact=True).click()
    await expect(page.locator("#report-table")).to_contain_text(KY["org.col_listening"])
    await loaded_picture(page, "#timeline")
    await page.evaluate("window.scrollTo(0, 0)")
    await page.screenshot(path=str(ARTIFACTS / "organizer-listening-ky-360.png"), full_page=True)
    assert page.errors == []  # type: ignore[attr-defined]
    await context.close()


async def test_a_phone_brings_back_a_learner_the_teacher_attached_after_a_drop_past_the_grace(
    tmp_path: Path, redis_url: str
) -> None:
    settings = settings_for(tmp_path / "var", redis_url, free_port(), SABAK_AUTH_RESUME_GRACE_S="4")
    server = await start_server(settings)
    room = await make_classroom(server, n_students=2)
    lesson_id, (ana, bek) = room.lesson["id"], room.students
    teacher = SabakClient(server.url, token=token_from_link(room.teacher["link"]))
    await teacher.connect()
    await teacher.join(lesson_id)
    try:
        async with chromium() as (browser, pixel):
            context = await browser.new_context(**pixel, permissions=CONTEXT_PERMISSIONS)
            page = record_errors(await context.new_page())
            await page.goto(ana["link"])
            await expect(page.locator("body")).to_have_attribute("data-conn", "online")
            attach = {"participant_id": ana["id"], "student_id": bek["id"]}
            await teacher.call("learner_attach", attach)
            await expect(page.locator("#learner-list li")).to_have_count(2)
            await asyncio.sleep(5)  # longer on the phone than the grace
            await page.evaluate("window.dispatchEvent(new Event('offline'))")  # a drop
            deadline = time.monotonic() + 15
            while await joins_of(server, lesson_id, bek["id"]) < 2:
                assert time.monotonic() < deadline, "the attached learner was not brought back"
                await asyncio.sleep(0.3)
            await expect(page.locator("#learner-list li")).to_have_count(2)
            assert page.errors == []  # type: ignore[attr-defined]
    finally:
        await teacher.close()
        await server.runner.cleanup()


async def joins_of(server: Running, lesson_id: str, pid: str) -> int:
    async with server.rest() as rest:
        log = await rest.events(lesson_id)
    joined = [r for r in log if r["type"] == "ParticipantJoined"]
    return sum(1 for r in joined if r["data"]["participant_id"] == pid)
