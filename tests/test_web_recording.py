"""The recording on the pages, in real headless Chromium: the teacher's button, the pill every
student sees (a late joiner too), the note in the offer of the floor, the failure notice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from core import commands as c
from core.lesson import SYSTEM
from server import appkeys as k
from tests import browser
from tests.browser import ARTIFACTS, BROWSER_MARKS, CONTEXT_PERMISSIONS, chromium, record_errors
from tests.conftest import Running, make_classroom

pytestmark = [pytest.mark.store("memory"), *BROWSER_MARKS, pytest.mark.timeout(120)]
redis_url, server = browser.redis_url, browser.server

CATALOGUES = Path(__file__).resolve().parent.parent / "client" / "web" / "i18n"
KY = json.loads((CATALOGUES / "ky.json").read_text(encoding="utf-8"))


async def open_student(page: Page, link: str) -> None:
    await page.goto(link)
    await expect(page.locator("#lesson")).to_be_visible(timeout=15_000)
    await expect(page.locator("body")).to_have_attribute("data-conn", "online")


async def test_every_page_shows_the_recording_plainly(server: Running) -> None:
    room = await make_classroom(server, n_students=2, start=False)
    lesson_id = room.lesson["id"]
    async with chromium() as (browser_, pixel):
        desk = await browser_.new_context(viewport={"width": 1200, "height": 900}, locale="ky-KG")
        teacher = record_errors(await desk.new_page())
        await teacher.goto(room.teacher["link"])
        row = teacher.locator(f"[data-lesson='{lesson_id}']")
        await row.get_by_role("button", name=KY["teach.start"]).click()
        await expect(teacher.locator("#live")).to_be_visible()
        await expect(teacher.locator("#rec")).to_be_hidden()
        phone = await browser_.new_context(
            **{**pixel, "viewport": {"width": 360, "height": 780}},
            locale="ky-KG", permissions=CONTEXT_PERMISSIONS,
        )  # fmt: skip
        a = record_errors(await phone.new_page())
        await open_student(a, room.students[0]["link"])
        await expect(a.locator("#rec")).to_be_hidden()

        await teacher.locator("#rec-toggle").click()
        await expect(teacher.locator("#rec-toggle")).to_have_text(KY["recording.stop"])
        await expect(teacher.locator("#rec")).to_have_text(KY["recording.on"])
        await expect(a.locator("#rec")).to_have_text(KY["recording.on"])
        ARTIFACTS.mkdir(exist_ok=True)
        await a.screenshot(path=str(ARTIFACTS / "student-recording-ky-360.png"))

        # A late joiner sees it from the snapshot, and the offer of the floor says it.
        b = record_errors(await phone.new_page())
        await open_student(b, room.students[1]["link"])
        await expect(b.locator("#rec")).to_be_visible()
        student = teacher.locator(f"#roster [data-participant='{room.students[1]['id']}']")
        await student.locator("[data-floor=give]").click()
        note = b.locator("#floor-prompt .rec-note")
        await expect(note).to_have_text(KY["recording.floor_note"])
        await b.screenshot(path=str(ARTIFACTS / "student-floor-recording-ky-360.png"))
        await b.locator("[data-floor-answer=decline]").click()

        # A failure: a notice to the teacher, the pill says it is paused; the lesson goes on.
        await server.app[k.LIVE].run(lesson_id, SYSTEM, c.FailRecording("disk-full"))
        await expect(teacher.locator("#notice")).to_have_text(KY["recording.failed_disk_full"])
        await expect(a.locator("#rec")).to_have_text(KY["recording.paused"])
        await teacher.screenshot(path=str(ARTIFACTS / "teacher-recording-failed-ky.png"))
        await server.app[k.LIVE].run(lesson_id, SYSTEM, c.StartRecording(resumed=True))
        await expect(a.locator("#rec")).to_have_text(KY["recording.on"])

        await teacher.locator("#rec-toggle").click()
        await expect(a.locator("#rec")).to_be_hidden()
        await expect(b.locator("#rec")).to_be_hidden()
        await expect(teacher.locator("#rec-toggle")).to_have_text(KY["recording.start"])
