"""The teacher's and the organizer's pages in Chromium, in Kyrgyz: the roster at a glance, a
private reply, the lesson's end, and reports in the organizer's time zone that open in Excel."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import openpyxl
import pytest
from playwright.async_api import Browser, Page, expect

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
from tests.conftest import Running

pytestmark = [pytest.mark.store("memory"), *BROWSER_MARKS, pytest.mark.timeout(180)]
# The session's browser and event loop (tests/browser.py): these override conftest's here.
redis_url, server = browser.redis_url, browser.server
KY = json.loads(
    (Path(__file__).resolve().parent.parent / "client/web/i18n/ky.json").read_text("utf-8")
)
# Given out of order; Kyrgyz order puts Ө after О and Ү after У (code points: after Я).
NAMES = ["Үмүт", "Яна", "Өмүр", "Омор"]


async def kyrgyz_class(server: Running) -> dict[str, Any]:
    async with server.rest() as rest:
        course = await rest.create_course("7А класс")
        students = await rest.add_students(course["id"], NAMES)
        teacher = await rest.create_teacher("Айгүл эже", [course["id"]])
        lesson = await rest.create_lesson(course["id"], "Бөлчөктөр", True)
    by_name = {s["name"]: s for s in students}
    return {"course": course, "teacher": teacher, "lesson": lesson, "students": by_name}


async def workbook(path: Path) -> Any:
    data = await asyncio.to_thread(path.read_bytes)
    return openpyxl.load_workbook(io.BytesIO(data))


async def snap(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await page.evaluate("window.scrollTo(0, 0)")
    await page.screenshot(path=str(ARTIFACTS / name), full_page=True)


async def teacher_page(browser: Browser, room: dict[str, Any], width: int) -> Page:
    context = await browser.new_context(
        viewport={"width": width, "height": 800},
        locale="ky-KG",
        timezone_id="Asia/Bishkek",
        permissions=CONTEXT_PERMISSIONS,
        accept_downloads=True,
    )
    page = record_errors(await context.new_page())
    page.on("dialog", lambda dialog: dialog.accept())
    await page.goto(room["teacher"]["link"])
    await page.select_option("#lang", "ky")
    await page.locator(f"[data-lesson='{room['lesson']['id']}'] button").click()
    await expect(page.locator("body")).to_have_attribute("data-conn", "online")
    return page


async def test_the_teacher_sees_everyone_replies_privately_and_gets_the_attendance(
    server: Running,
) -> None:
    room = await kyrgyz_class(server)
    lesson_id, ids = room["lesson"]["id"], {n: s["id"] for n, s in room["students"].items()}
    async with chromium() as (browser, _):
        page = await teacher_page(browser, room, 360)
        # Омор's phone, with Өмүр added on it; Яна raises her hand; Үмүт never comes.
        omor = server.client(room["students"]["Омор"]["link"])
        yana = server.client(room["students"]["Яна"]["link"])
        guest = SabakClient(server.url, guest_code=room["lesson"]["code"], name="Конок")
        for who in (omor, yana):
            await who.connect()
            await who.join(lesson_id)
        await omor.add_learner(token_from_link(room["students"]["Өмүр"]["link"]))
        await yana.raise_hand()
        await guest.connect()
        await guest.join()
        try:
            wide = await page.evaluate("() => document.documentElement.scrollWidth")
            assert wide <= 360, wide  # nothing wider than the phone
            await roster_at_a_glance(page, ids)
            await camera_first_and_waiting_count(page)
            await private_reply(page, omor, yana)
            await snap(page, "teacher-desk-ky-360.png")
            await page.screenshot(path=str(ARTIFACTS / "teacher-top-ky-360.png"))
            await page.set_viewport_size({"width": 1200, "height": 900})
            await snap(page, "teacher-desk-ky.png")
            await lesson_end_shows_attendance(page)
        finally:
            for who in (omor, yana, guest):
                await who.close()
        assert page.errors == []  # type: ignore[attr-defined]


async def roster_at_a_glance(page: Page, ids: dict[str, str]) -> None:
    rows = page.locator("#roster tbody tr")
    await expect(rows).to_have_count(4)  # the absent learner too; no teacher, no guest waiting
    order = ["Яна", "Омор", "Өмүр", "Үмүт"]  # the hand first, then here, then not here
    await expect(rows.first).to_have_attribute("data-participant", ids[order[0]])
    got = [await rows.nth(i).get_attribute("data-participant") for i in range(4)]
    assert got == [ids[n] for n in order]
    absent = page.locator(f"#roster tr[data-participant='{ids['Үмүт']}']")
    await expect(absent).to_have_attribute("data-presence", "absent")
    await expect(absent.locator(".presence")).to_have_text(KY["presence.absent"])
    shared = page.locator(f"#roster tr[data-participant='{ids['Өмүр']}'] [data-device]")
    await expect(shared).to_have_text(KY["teach.on_phone"].format(name="Омор"))
    # One line a learner on a 360 px phone: the actions sit behind one button.
    await page.locator("#roster-card").screenshot(path=str(ARTIFACTS / "teacher-roster-ky-360.png"))
    for i in range(4):
        box = await rows.nth(i).bounding_box()
        assert box and box["height"] <= 64, (i, box)  # once 3-4 lines of buttons
    scroller = page.locator("#roster-card .scroll")
    sizes = await scroller.evaluate("el => [el.scrollWidth, el.clientWidth]")
    assert sizes[0] <= sizes[1], sizes  # the whole row is on the screen, no sideways scroll
    menu = page.locator(f"#roster tr[data-participant='{ids['Омор']}'] details.menu")
    await menu.locator("summary").click()
    items = menu.locator(".menu-items button")
    await expect(items).to_have_count(3)
    await expect(items.last).to_have_text(KY["teach.remove"])
    await menu.locator("summary").click()
    await expect(items.first).to_be_hidden()


async def camera_first_and_waiting_count(page: Page) -> None:
    media = await page.locator("#teacher-media").bounding_box()
    poll = await page.locator("#poll-card").bounding_box()
    roster = await page.locator("#roster-card").bounding_box()
    assert media and poll and roster
    assert media["y"] < roster["y"] < poll["y"] and media["y"] < 600, (media, poll)
    pill = page.locator("#waiting-count")
    await expect(pill).to_be_visible()
    await expect(pill).to_have_text(KY["teach.waiting_n"].format(n=1))


async def private_reply(page: Page, omor: SabakClient, yana: SabakClient) -> None:
    await omor.chat("Эртерээк кетсем болобу?", to="teacher")
    question = page.locator("#chat-list li", has_text="Эртерээк кетсем болобу?")
    await question.locator("[data-reply]").click()
    await expect(page.locator("#reply-to")).to_be_visible()
    await expect(page.locator("#reply-to-text")).to_have_text(
        KY["chat.reply_to"].format(name="Омор")
    )
    await page.fill("#chat-text", "Ооба, саат 10до.")
    await page.click("#chat-form button[type=submit]")
    answer = await omor.wait_for("chat", lambda m: m["text"] == "Ооба, саат 10до.", timeout=10)
    assert answer["to"] == "participant"
    await expect(page.locator("#reply-to")).to_be_hidden()
    mine = page.locator("#chat-list li", has_text="Ооба, саат 10до.")
    await expect(mine.locator("[data-private-to]")).to_have_text(
        KY["chat.private_to"].format(name="Омор")
    )
    assert not [m for m in yana.inbox["chat"] if m["text"] == "Ооба, саат 10до."]


async def lesson_end_shows_attendance(page: Page) -> None:
    await page.click("#end")
    ended = page.locator("#ended")
    await expect(ended).to_be_visible()
    await expect(page.locator("#ended-summary")).to_have_text(
        KY["teach.ended_came"].format(n=3, all=4), timeout=10_000
    )
    await expect(page.locator("#notice")).to_be_hidden()  # an end is not an error
    await expect(page.locator("#ended-absent")).to_have_text(
        KY["teach.ended_absent"].format(names="Үмүт")
    )
    replay = page.locator("#ended-replay")  # the lesson's replay, with the same personal link
    await expect(replay).to_have_text(KY["org.replay"])
    href = await replay.get_attribute("href") or ""
    assert href.startswith("/replay?lesson=") and href.endswith(urlsplit(page.url).fragment)
    await page.set_viewport_size({"width": 360, "height": 800})
    await snap(page, "teacher-ended-ky-360.png")
    async with page.expect_download() as info:
        await page.click("#ended-xlsx")
    download = await info.value
    assert download.suggested_filename.endswith(".xlsx")
    book = await workbook(await download.path())
    sheet = book.active
    assert sheet is not None and sheet.cell(1, 5).value == "Аты"
    names = [sheet.cell(r, 5).value for r in range(2, sheet.max_row + 1)]
    assert names[:4] == ["Омор", "Өмүр", "Үмүт", "Яна"]  # Kyrgyz order in the spreadsheet


async def test_the_organizer_reads_the_report_in_kyrgyz_time_and_order(server: Running) -> None:
    room = await kyrgyz_class(server)
    lesson_id = room["lesson"]["id"]
    async with server.rest() as rest:
        await rest.start_lesson(lesson_id)
        await asyncio.sleep(2)  # Омор comes late and Өмүр leaves early: bars to see
        omor = await joined_client(server, room["students"]["Омор"]["link"], lesson_id)
        await omor.add_learner(token_from_link(room["students"]["Өмүр"]["link"]))
        await asyncio.sleep(2)
        await omor.call("leave", {"learner": room["students"]["Өмүр"]["id"]})
        await asyncio.sleep(2)
        await omor.close()
        await rest.end_lesson(lesson_id)
    async with chromium() as (browser, _):
        context = await browser.new_context(
            viewport={"width": 1200, "height": 900},
            locale="ky-KG",
            timezone_id="Asia/Bishkek",
            accept_downloads=True,
        )
        page = record_errors(await context.new_page())
        asked: list[str] = []
        page.on("request", lambda r: asked.append(r.url))
        await page.goto(f"{server.url}/organize")
        await page.select_option("#lang", "ky")
        await signs_in_after_a_wrong_key(page, server.admin_key)
        await page.locator("#course-list button", has_text="7А класс").click()
        names = page.locator("#roster-table tbody tr td:first-child")
        await expect(names).to_have_text(["Омор", "Өмүр", "Үмүт", "Яна"])
        await page.click("[data-sub=lessons]")
        await page.locator(f"[data-lesson='{lesson_id}'] button").first.click()
        await page.wait_for_function(
            "() => document.querySelector('#timeline').naturalWidth > 0", timeout=10_000
        )
        timeline = next(u for u in asked if "/timeline.svg" in u)
        assert "tz=Asia%2FBishkek" in timeline and "lang=ky" in timeline
        report = await page.locator("#report").bounding_box()
        assert report and report["width"] > 1000  # the page's width, not a column of it
        await expect(page.locator("#report-table tbody tr td:first-child")).to_have_text(
            ["Омор", "Өмүр", "Үмүт", "Яна"]
        )
        await snap(page, "organizer-report-ky.png")
        await page.locator("#report").screenshot(path=str(ARTIFACTS / "report-card-ky.png"))
        await downloads_open_in_excel(page)
        await page.set_viewport_size({"width": 360, "height": 800})
        await snap(page, "organizer-report-ky-360.png")
        await success_is_not_an_error(page)
        assert page.errors == []  # type: ignore[attr-defined]
        await context.close()
    async with server.rest() as rest:
        svg = await rest.text(f"/api/lessons/{lesson_id}/timeline.svg?lang=ky&tz=Asia/Bishkek")
    assert "(Asia/Bishkek, UTC+06:00)" in svg and " мүн" in svg and ">күттү</text>" in svg


async def joined_client(server: Running, link: str, lesson_id: str) -> SabakClient:
    client = server.client(link)
    await client.connect()
    await client.join(lesson_id)
    return client


async def signs_in_after_a_wrong_key(page: Page, key: str) -> None:
    notice = page.locator("#notice")
    await page.fill("#admin-key", "not-the-key")
    await page.click("#login button[type=submit]")
    await expect(notice).to_have_text(KY["org.bad_key"])
    await expect(notice).to_have_attribute("data-kind", "error")
    await page.fill("#admin-key", key)
    await page.click("#login button[type=submit]")
    await expect(page.locator("#org")).to_be_visible()
    await expect(notice).to_be_hidden()  # the old error went with the right key


async def downloads_open_in_excel(page: Page) -> None:
    async with page.expect_download() as info:
        await page.click("#report-excel-csv")
    data = await (await info.value).path()
    text = await asyncio.to_thread(data.read_bytes)
    assert text.startswith(b"\xef\xbb\xbf")  # a BOM: Excel reads UTF-8
    header = text.decode("utf-8-sig").splitlines()[0]
    assert header.startswith("Сабактын коду;Сабак;")  # the Kyrgyz headers, split on ';'
    async with page.expect_download() as info:
        await page.click("#report-xlsx")
    book = await workbook(await (await info.value).path())
    assert book.active is not None and book.active.cell(1, 5).value == "Аты"
    async with page.expect_download() as info:
        await page.click("#report-csv")
    plain = await asyncio.to_thread((await (await info.value).path()).read_text)
    assert plain.startswith("lesson_id,lesson_title,")  # for programs, unchanged


async def success_is_not_an_error(page: Page) -> None:
    await page.click("[data-sub=roster]")
    await page.fill("#roster-csv", "Ңурай")
    await page.click("#roster-form button[type=submit]")
    await page.click("#roster-confirm")
    notice = page.locator("#notice")
    await expect(notice).to_have_text(KY["org.imported"].format(n=1))
    await expect(notice).to_have_attribute("data-kind", "ok")
    colour = await notice.evaluate("el => getComputedStyle(el).color")
    assert colour != "rgb(179, 38, 30)", colour  # not the error red
    await page.locator("#notice").screenshot(path=str(ARTIFACTS / "organizer-success-ky.png"))
    names = page.locator("#roster-table tbody tr td:first-child")
    await expect(names).to_have_text(["Ңурай", "Омор", "Өмүр", "Үмүт", "Яна"])
