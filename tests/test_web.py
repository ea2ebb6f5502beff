"""The web client in real headless Chromium: a teacher page and two phones on a real server."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.async_api import BrowserContext, Dialog, Page, expect

from client.rest import token_from_link
from client.sabak_client import SabakClient
from tests import browser
from tests.browser import (
    ARTIFACTS,
    BROWSER_MARKS,
    CONTEXT_PERMISSIONS,
    chromium,
    record_errors,
)
from tests.conftest import Classroom, Running, make_classroom

pytestmark = [pytest.mark.store("memory"), *BROWSER_MARKS, pytest.mark.timeout(180)]
# The session's browser and event loop (tests/browser.py): these override conftest's here.
redis_url, server = browser.redis_url, browser.server

CATALOGUES = Path(__file__).resolve().parent.parent / "client" / "web" / "i18n"
XSS = "<img src=x onerror=alert(1)>"
OFFLINE_S = 20
BUDGET_BYTES = 80_000


def catalogue(lang: str) -> dict[str, str]:
    data: dict[str, str] = json.loads((CATALOGUES / f"{lang}.json").read_text(encoding="utf-8"))
    return data


EN, KY = catalogue("en"), catalogue("ky")


async def new_page(context: BrowserContext, dialogs: list[str]) -> Page:
    """A page that fails loudly on script errors and records every dialog it opens."""
    page = record_errors(await context.new_page())

    async def answer(dialog: Dialog) -> None:
        dialogs.append(f"{dialog.type}: {dialog.message}")
        await dialog.accept()

    page.on("dialog", answer)
    return page


async def phone(ctx_args: dict[str, Any], browser: Any, width: int | None = None) -> BrowserContext:
    args = {**ctx_args, "locale": "en-US", "permissions": CONTEXT_PERMISSIONS}
    if width:
        args["viewport"] = {"width": width, "height": 780}
    return await browser.new_context(**args)  # type: ignore[no-any-return]


async def open_student(page: Page, link: str) -> None:
    await page.goto(link)
    await expect(page.locator("#lesson")).to_be_visible(timeout=15_000)
    await expect(page.locator("body")).to_have_attribute("data-conn", "online")


async def events_of(server: Running, lesson_id: str) -> list[dict[str, Any]]:
    async with server.rest() as rest:
        return await rest.events(lesson_id)


async def wait_for(predicate: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.2)


async def loaded_picture(page: Page, selector: str) -> None:
    """Wait until an <img> (a blob URL of an SVG fetched with the Bearer key) has loaded."""
    await page.wait_for_function(
        "s => document.querySelector(s).naturalWidth > 0", arg=selector, timeout=10_000
    )


async def snap(page: Page, name: str) -> None:
    """A full-page screenshot in test-artifacts/ (scrolled to the top: sticky parts stay put)."""
    ARTIFACTS.mkdir(exist_ok=True)
    await page.evaluate("window.scrollTo(0, 0)")
    await page.screenshot(path=str(ARTIFACTS / name), full_page=True)


async def test_a_lesson_with_a_teacher_page_and_two_phones(server: Running) -> None:
    room = await make_classroom(server, n_students=3, allow_guests=True, start=False)
    lesson_id = room.lesson["id"]
    dialogs: list[str] = []
    async with chromium() as (browser, pixel):
        desk = await browser.new_context(viewport={"width": 1200, "height": 900}, locale="en-US")
        teacher = await new_page(desk, dialogs)
        await start_from_teacher_page(teacher, room)
        a_ctx, b_ctx = await phone(pixel, browser, width=360), await phone(pixel, browser)
        a, b = await new_page(a_ctx, dialogs), await new_page(b_ctx, dialogs)
        await asyncio.gather(
            open_student(a, room.students[0]["link"]), open_student(b, room.students[1]["link"])
        )
        await chat_shows_markup_as_text(a, b, teacher)
        await hand_reaches_the_teacher(b, teacher)
        await attendance_check(teacher, a, b)
        await guest_is_admitted(server, room, teacher)
        await teacher_puts_a_learner_on_a_phone(teacher, a, room)

        # B loses the network for 20 s and writes meanwhile; A and the teacher go on.
        await b_ctx.set_offline(True)
        offline_at = time.monotonic()
        await expect(b.locator("#banner")).to_be_visible()
        await b.fill("#chat-text", "written while offline")
        await b.click("#send")
        await expect(b.locator("#chat-list .pending")).to_have_count(1)
        await radio_mode(a)
        await snap(a, "student-360.png")
        await snap(teacher, "teacher.png")
        await teacher.set_viewport_size({"width": 360, "height": 780})
        await snap(teacher, "teacher-360.png")
        await snap(b, "student-offline.png")
        await switch_to_kyrgyz(a)
        await snap(a, "student-ky-360.png")
        await asyncio.sleep(max(0.0, OFFLINE_S - (time.monotonic() - offline_at)))
        await b_ctx.set_offline(False)

        arrived = teacher.locator("#chat-list li", has_text="written while offline")
        await expect(arrived).to_have_count(1, timeout=15_000)
        await expect(b.locator("#chat-list .pending")).to_have_count(0)
        await expect(b.locator("#banner")).to_be_hidden()
        posted = [
            e for e in await events_of(server, lesson_id)
            if e["type"] == "ChatPosted" and e["data"]["text"] == "written while offline"
        ]  # fmt: skip
        assert len(posted) == 1
        async with server.rest() as rest:
            report = await rest.report(f"/api/lessons/{lesson_id}/report")
        rows = {r["id"]: r for r in report["learners"]}
        assert rows[room.students[1]["id"]]["gaps"]["network"]["count"] == 1
        assert rows[room.students[0]["id"]]["gaps"]["network"]["count"] == 0

        await organizer_pages(browser, server, room)
        for page in (teacher, a, b):
            assert page.errors == []  # type: ignore[attr-defined]
        assert not [d for d in dialogs if d.startswith("alert")], dialogs


async def start_from_teacher_page(teacher: Page, room: Classroom) -> None:
    await teacher.goto(room.teacher["link"])
    row = teacher.locator(f"[data-lesson='{room.lesson['id']}']")
    await row.get_by_role("button", name=EN["teach.start"]).click()
    await expect(teacher.locator("#live")).to_be_visible()
    await expect(teacher.locator("body")).to_have_attribute("data-conn", "online")
    await loaded_picture(teacher, "#qr")


async def chat_shows_markup_as_text(a: Page, b: Page, teacher: Page) -> None:
    await a.fill("#chat-text", XSS)
    await a.click("#send")
    for page in (a, b, teacher):
        message = page.locator("#chat-list li.msg p", has_text=XSS)
        await expect(message).to_have_count(1)
        assert await page.locator("#chat-list img").count() == 0


async def hand_reaches_the_teacher(b: Page, teacher: Page) -> None:
    await b.click("#hand")
    await expect(b.locator("#hand")).to_have_attribute("data-raised", "yes")
    await expect(teacher.locator("#hands-list li", has_text="Student 1")).to_have_count(1)


async def attendance_check(teacher: Page, a: Page, b: Page) -> None:
    await teacher.click("#check-start")
    for page in (a, b):
        await expect(page.locator("#check")).to_be_visible()
        await page.locator("#check-buttons button").click()
        await expect(page.locator("#check")).to_be_hidden()
    await expect(teacher.locator("#check-tally")).to_have_text(EN["teach.tally"].format(a=2, e=2))
    await a.locator("#record summary").click()
    await expect(a.locator("#record-body .result.answered")).to_have_count(1)


async def guest_is_admitted(server: Running, room: Classroom, teacher: Page) -> None:
    guest = SabakClient(server.url, guest_code=room.lesson["code"], name="Guest <b>Ali</b>")
    await guest.connect()
    try:
        assert (await guest.join())["waiting"] is True
        waiting = teacher.locator("#waiting-list li", has_text="Guest <b>Ali</b>")
        await waiting.get_by_role("button", name=EN["teach.admit"]).click()
        admitted = await guest.next("admitted", timeout=10)
        assert admitted["you"]["presence"] == "present"
    finally:
        await guest.close()


async def teacher_puts_a_learner_on_a_phone(teacher: Page, a: Page, room: Classroom) -> None:
    row = teacher.locator(f"[data-participant='{room.students[0]['id']}']")
    await row.locator("details.menu summary").click()  # the rarer actions are in its menu
    await row.get_by_role("button", name=EN["teach.attach"]).click()
    await teacher.select_option("#attach-student", room.students[2]["id"])
    await teacher.click("#attach-add")
    await expect(a.locator("#learner-list li")).to_have_count(2)
    await expect(a.locator("#as-row")).to_be_visible()


async def radio_mode(a: Page) -> None:
    await a.locator("label", has_text=EN["receive.audio"]).click()
    await expect(a.locator("body")).to_have_attribute("data-receive", "audio")
    await expect(a.locator("#media-note")).to_have_text(EN["media.audio"])
    assert await a.evaluate("localStorage.getItem('sabak.receive')") == "audio"


async def switch_to_kyrgyz(a: Page) -> None:
    await a.select_option("#lang", "ky")
    await expect(a.locator("html")).to_have_attribute("lang", "ky")
    await expect(a.locator("#hand")).to_have_text(KY["hand.raise"])
    await expect(a.locator("#send")).to_have_text(KY["chat.send"])
    await expect(a.locator("#media-note")).to_have_text(KY["media.audio"])
    assert KY["hand.raise"] != EN["hand.raise"]


async def organizer_pages(browser: Any, server: Running, room: Classroom) -> None:
    context = await browser.new_context(viewport={"width": 1200, "height": 900}, locale="ru-RU")
    page = await context.new_page()
    await page.goto(f"{server.url}/organize")
    await page.fill("#admin-key", server.admin_key)
    await page.click("#login button[type=submit]")
    await page.locator("#course-list button").first.click()
    await expect(page.locator("#roster-table tbody tr")).to_have_count(3)
    await page.click("[data-sub=lessons]")
    await page.locator(f"[data-lesson='{room.lesson['id']}'] button").first.click()
    student_b = page.locator(f"#report-table [data-learner='{room.students[1]['id']}']")
    await expect(student_b.locator("[data-network-gaps]")).to_have_attribute(
        "data-network-gaps", "1"
    )
    await loaded_picture(page, "#timeline")
    await snap(page, "organizer.png")
    await page.set_viewport_size({"width": 360, "height": 780})
    await snap(page, "organizer-360.png")
    await context.close()


class Transfers:
    """Bytes a page received over the network (headers and compressed bodies), per URL."""

    def __init__(self) -> None:
        self.urls: dict[str, str] = {}
        self.sizes: dict[str, float] = {}
        self.websockets: list[str] = []

    async def watch(self, context: BrowserContext, page: Page) -> None:
        cdp = await context.new_cdp_session(page)
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.loadingFinished", self._finished)
        cdp.on("Network.webSocketCreated", lambda e: self.websockets.append(e["url"]))
        await cdp.send("Network.enable")
        await cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})

    def _sent(self, event: dict[str, Any]) -> None:
        self.urls[event["requestId"]] = event["request"]["url"]

    def _finished(self, event: dict[str, Any]) -> None:
        self.sizes[event["requestId"]] = event["encodedDataLength"]

    @property
    def total(self) -> int:
        return int(sum(self.sizes.values()))

    def listing(self) -> str:
        rows = [f"{int(self.sizes.get(r, 0)):>7} {url}" for r, url in self.urls.items()]
        return "\n".join([f"{self.total} bytes in {len(rows)} requests", *rows])


async def test_the_student_page_weighs_at_most_80_kb_compressed(server: Running) -> None:
    room = await make_classroom(server, n_students=1)
    async with chromium() as (browser, pixel):
        context = await browser.new_context(**pixel, permissions=CONTEXT_PERMISSIONS)
        page = await context.new_page()
        transfers = Transfers()
        await transfers.watch(context, page)
        await open_student(page, room.students[0]["link"])
        await page.wait_for_load_state("networkidle")
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "student-page-weight.txt").write_text(transfers.listing() + "\n")
        print(transfers.listing())
        own = urlsplit(server.url).netloc
        assert {urlsplit(u).netloc for u in transfers.urls.values()} == {own}
        assert transfers.total <= BUDGET_BYTES, transfers.listing()
        # The CSP lets the WebSocket through: socket.io did not fall back to long-polling.
        assert [urlsplit(u).path for u in transfers.websockets] == ["/socket.io/"]
        assert not [u for u in transfers.urls.values() if "transport=polling" in u]


async def test_a_shared_phone_answers_the_check_for_each_learner(server: Running) -> None:
    room = await make_classroom(server, n_students=2)
    teacher = SabakClient(server.url, token=token_from_link(room.teacher["link"]))
    await teacher.connect()
    await teacher.join(room.lesson["id"])
    try:
        async with chromium() as (browser, pixel):
            page = await new_page(await phone(pixel, browser, width=360), [])
            await open_student(page, room.students[0]["link"])
            await page.locator("#learners summary").click()
            await page.fill("#add-link", room.students[1]["link"])
            await page.click("#add-form button[type=submit]")
            await expect(page.locator("#learner-list li")).to_have_count(2)
            await teacher.call("check_start", {"window_s": 30})
            buttons = page.locator("#check-buttons button")
            await expect(buttons).to_have_count(2)
            await snap(page, "student-shared-phone.png")
            await buttons.first.click()
            await expect(buttons).to_have_count(1)
            await buttons.first.click()
            await expect(page.locator("#check")).to_be_hidden()
            tally = await teacher.wait_for("check_tally", lambda x: x["answered"] == 2, 10)
            assert tally["expected"] == 2
            assert page.errors == []  # type: ignore[attr-defined]
    finally:
        await teacher.close()
