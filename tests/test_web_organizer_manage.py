"""The organizer page corrects and erases: new links, erasing a student, in Kyrgyz on a phone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.async_api import Dialog, expect

from client.rest import token_from_link
from tests import browser
from tests.browser import ARTIFACTS, BROWSER_MARKS, chromium, record_errors
from tests.conftest import Running, make_classroom
from tests.test_datarights import status_of
from tests.test_web import open_student

pytestmark = [pytest.mark.store("memory"), *BROWSER_MARKS, pytest.mark.timeout(180)]
# The session's browser and event loop (tests/browser.py): these override conftest's here.
redis_url, server = browser.redis_url, browser.server

KY = json.loads(
    (Path(__file__).resolve().parent.parent / "client/web/i18n/ky.json").read_text("utf-8")
)


async def test_the_organizer_page_renews_a_teacher_link_and_erases_a_student(
    server: Running,
) -> None:
    room = await make_classroom(server, n_students=3)
    old_teacher = token_from_link(room.teacher["link"])
    async with chromium() as (browser, phone):
        size = {"viewport": {"width": 360, "height": 780}, "locale": "ky-KG"}
        context = await browser.new_context(**{**phone, **size})
        page = record_errors(await context.new_page())
        page.on("dialog", _accept)
        await page.goto(f"{server.url}/organize")
        await page.fill("#admin-key", server.admin_key)
        await page.click("#login button[type=submit]")
        await page.locator("#course-list button").first.click()
        rows = page.locator("#roster-table tbody tr")
        await expect(rows).to_have_count(3)
        await rows.first.get_by_role("button", name=KY["org.erase"]).click()
        await expect(rows).to_have_count(2)
        await expect(page.locator("#notice")).to_contain_text("erased-")
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "organizer-manage-360-ky.png"), full_page=True)
        await page.click("[data-tab=teachers]")
        teacher = page.locator(f"[data-teacher='{room.teacher['id']}']")
        await teacher.get_by_role("button", name=KY["org.new_link"]).click()
        await expect(page.locator("#notice")).to_contain_text(room.teacher["name"])
        await page.screenshot(path=str(ARTIFACTS / "organizer-teachers-360-ky.png"), full_page=True)
        assert page.errors == []  # type: ignore[attr-defined]
        await context.close()
    assert await status_of(server, "GET", "/api/courses", old_teacher) == 401
    erased = f"/api/students/{room.students[0]['id']}/rotate-link"
    assert await status_of(server, "POST", erased) == 404


async def _accept(dialog: Dialog) -> None:
    await dialog.accept()  # the confirmations of erasing and new links


async def test_a_phone_whose_link_is_revoked_says_so_and_stays_out(server: Running) -> None:
    room = await make_classroom(server, n_students=1)
    async with chromium() as (browser, phone):
        size = {"viewport": {"width": 360, "height": 780}, "locale": "ky-KG"}
        context = await browser.new_context(**{**phone, **size})
        page = record_errors(await context.new_page())
        await open_student(page, room.students[0]["link"])
        rotate = f"/api/students/{room.students[0]['id']}/rotate-link"
        assert await status_of(server, "POST", rotate) == 200
        await expect(page.locator("#entry-message")).to_have_text(KY["end.revoked"])
        await page.wait_for_timeout(1500)  # no reconnecting with the old link behind our back
        await expect(page.locator("#entry-message")).to_have_text(KY["end.revoked"])
        await page.screenshot(path=str(ARTIFACTS / "student-revoked-360-ky.png"))
        assert page.errors == []  # type: ignore[attr-defined]
        await context.close()
