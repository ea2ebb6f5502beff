"""The teacher page closes guest entry and gives the lesson a new code, on a 360 px phone."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests import browser
from tests.browser import ARTIFACTS, BROWSER_MARKS, chromium
from tests.conftest import Running, make_classroom
from tests.test_web import KY, events_of, loaded_picture, new_page, snap, wait_for

pytestmark = [pytest.mark.store("memory"), *BROWSER_MARKS, pytest.mark.timeout(120)]
# The session's browser and event loop (tests/browser.py): these override conftest's here.
redis_url, server = browser.redis_url, browser.server


async def test_the_teacher_closes_guest_entry_and_rotates_the_code(server: Running) -> None:
    room = await make_classroom(server, n_students=1, allow_guests=True)
    lesson_id, old_code = room.lesson["id"], room.lesson["code"]
    dialogs: list[str] = []
    async with chromium() as (browser, _):
        context = await browser.new_context(viewport={"width": 360, "height": 780}, locale="ky")
        teacher = await new_page(context, dialogs)
        await teacher.goto(room.teacher["link"])
        await teacher.select_option("#lang", "ky")
        await teacher.locator(f"[data-lesson='{lesson_id}'] button").first.click()
        await expect(teacher.locator("body")).to_have_attribute("data-conn", "online")
        await loaded_picture(teacher, "#qr")
        toggle = teacher.locator("#guests-open")
        await expect(toggle).to_be_checked()
        await toggle.uncheck()

        async def closed() -> bool:
            kinds = [r["type"] for r in await events_of(server, lesson_id)]
            return "GuestEntryChanged" in kinds

        await wait_for(closed)
        await expect(teacher.locator("#rotate-code")).to_have_text(KY["teach.rotate_code"])
        await teacher.click("#rotate-code")
        await expect(teacher.locator("#qr-code")).not_to_have_text(old_code)
        assert dialogs == [f"confirm: {KY['teach.confirm_rotate']}"]
        await snap(teacher, "teacher-guests-ky-360.png")
        card = ARTIFACTS / "teacher-guests-card-ky-360.png"
        await teacher.locator("#qr-card").screenshot(path=str(card))
    async with server.rest() as rest:
        info = await rest.request("GET", f"/api/lessons/{lesson_id}")
    assert info["code"] != old_code
