"""The board in real headless Chromium (issue 18): the teacher uploads a PDF, shows page 2
and draws a stroke with the mouse; a phone at 360 px in Kyrgyz shows page 2 and the stroke
(pixels on its canvas), and so does a late joiner; a phone in sound-only mode gets the board
too. Screenshots go to test-artifacts/board-*.png."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from playwright.async_api import BrowserContext, Page, expect

from client.rest import token_from_link
from client.sabak_client import SabakClient
from tests import browser, pdf_files
from tests.browser import ARTIFACTS, BROWSER_MARKS, CONTEXT_PERMISSIONS, chromium, record_errors
from tests.conftest import Running, make_classroom
from tests.test_web_phone import KY

pytestmark = [pytest.mark.store("memory"), *BROWSER_MARKS, pytest.mark.timeout(240)]
redis_url, server = browser.redis_url, browser.server

# Red pixels on a board's canvas: the stroke the teacher drew in red.
RED_PIXELS = """(canvas) => {
  const d = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let red = 0;
  for (let i = 0; i < d.length; i += 4) {
    if (d[i] > 150 && d[i + 1] < 90 && d[i + 2] < 90 && d[i + 3] > 200) red++;
  }
  return red;
}"""


async def phone(browser: Any, pixel: dict[str, Any]) -> BrowserContext:
    args = {**pixel, "viewport": {"width": 360, "height": 740}, "locale": "ky-KG"}
    return await browser.new_context(**args, permissions=CONTEXT_PERMISSIONS)  # type: ignore[no-any-return]


async def open_student(context: BrowserContext, link: str) -> Page:
    page = record_errors(await context.new_page())
    await page.goto(link)
    await expect(page.locator("#lesson")).to_be_visible(timeout=15_000)
    return page


async def open_teacher(browser: Any, server: Running, link: str, lesson_id: str) -> Page:
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="en")
    page = record_errors(await context.new_page())
    await page.goto(link)
    await page.locator(f"[data-lesson='{lesson_id}'] button").click()
    await expect(page.locator("#live")).to_be_visible()
    await expect(page.locator("body")).to_have_attribute("data-conn", "online")
    return page


async def draw_line(page: Page) -> None:
    """A red diagonal with the mouse across the teacher's board."""
    await page.locator("[data-color=red]").click()
    box = await page.locator("#board .board-ink").bounding_box()
    assert box is not None
    x0, y0 = box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.2
    await page.mouse.move(x0, y0)
    await page.mouse.down()
    for i in range(1, 31):
        await page.mouse.move(x0 + i * box["width"] * 0.02, y0 + i * box["height"] * 0.02)
    await page.mouse.up()


async def red_on(page: Page, at_least: int = 300, timeout_s: float = 10) -> int:
    """The red pixels on the page's board, once there are `at_least` (or when time is up)."""
    canvas = page.locator("#board .board-ink")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        red = int(await canvas.evaluate(RED_PIXELS))
        if red >= at_least or loop.time() > deadline:
            return red
        await asyncio.sleep(0.2)


async def shows_the_stroke_on_page_2(page: Page, total: int) -> None:
    caption = KY["board.page"].replace("{n}", "2").replace("{total}", str(total))
    await expect(page.locator("#board .board-caption")).to_have_text(caption, timeout=10_000)
    assert await red_on(page) >= 300


async def shows_deck_page_2(page: Page) -> None:
    """The slide's image is page 2 of the deck, loaded (a picture 360 px wide or more)."""
    img = page.locator("#board .board-img")
    await expect(img).to_have_attribute("src", re.compile(r"/pages/2\?w=(720|1440)&f=webp$"))
    loaded = "(img) => img.complete && img.naturalWidth"
    assert await img.evaluate(loaded) >= 720


async def organizer_sees_the_deck(browser: Any, server: Running, lesson_id: str) -> None:
    """The lesson's report on an organizer's phone, in Kyrgyz, names the deck and its pages."""
    context = await browser.new_context(viewport={"width": 360, "height": 780}, locale="ky-KG")
    page = record_errors(await context.new_page())
    await page.goto(f"{server.url}/organize")
    await page.fill("#admin-key", server.admin_key)
    await page.click("#login button[type=submit]")
    await page.locator("#course-list button").first.click()
    await page.click("[data-sub=lessons]")
    row = page.locator(f"[data-lesson='{lesson_id}']")
    await row.get_by_role("button", name=KY["org.report"], exact=True).click()
    deck = KY["org.deck"].replace("{title}", "Fractions").replace("{pages}", "1, 2")
    await expect(page.locator("#report-decks")).to_have_text(
        KY["org.decks"].replace("{list}", deck)
    )
    await page.locator("#report-decks").scroll_into_view_if_needed()
    await page.screenshot(path=str(ARTIFACTS / "board-organizer-ky-360.png"))
    assert page.errors == []  # type: ignore[attr-defined]


async def test_the_teacher_uploads_a_pdf_draws_on_page_2_and_phones_see_it(
    server: Running,
) -> None:
    room = await make_classroom(server, n_students=2)
    async with chromium() as (browser, pixel):
        teacher = await open_teacher(browser, server, room.teacher["link"], room.lesson["id"])
        kid = await open_student(await phone(browser, pixel), room.students[0]["link"])
        upload = {"name": "Fractions.pdf", "mimeType": "application/pdf",
                  "buffer": pdf_files.deck(pages=3, size=(960, 540))}  # fmt: skip
        await teacher.locator("#deck-file").set_input_files(upload)  # type: ignore[arg-type]
        await expect(kid.locator("#board")).to_be_visible(timeout=30_000)
        await teacher.locator("#board-next").click()
        await expect(teacher.locator("#board .board-caption")).to_have_text("Page 2 of 3")
        await draw_line(teacher)
        await shows_the_stroke_on_page_2(kid, 3)
        await shows_deck_page_2(kid)
        assert await red_on(teacher) >= 300
        ARTIFACTS.mkdir(exist_ok=True)
        await kid.screenshot(path=str(ARTIFACTS / "board-phone.png"))
        late = await open_student(await phone(browser, pixel), room.students[1]["link"])
        await shows_the_stroke_on_page_2(late, 3)
        await shows_deck_page_2(late)
        await late.screenshot(path=str(ARTIFACTS / "board-late-joiner.png"))
        await teacher.screenshot(path=str(ARTIFACTS / "board-teacher.png"))
        for page in (teacher, kid, late):
            assert page.errors == []  # type: ignore[attr-defined]
        await organizer_sees_the_deck(browser, server, room.lesson["id"])
    async with server.rest() as rest:
        log = await rest.events(room.lesson["id"])
    strokes = [r for r in log if r["type"] == "StrokeAdded"]
    assert len(strokes) == 1 and strokes[0]["data"]["color"] == "red"
    assert 2 <= len(strokes[0]["data"]["points"]) // 2 < 31  # simplified before sending


async def test_a_blank_board_reaches_a_phone_in_sound_only_mode(server: Running) -> None:
    room = await make_classroom(server, n_students=1)
    async with chromium() as (browser, pixel):
        teacher = await open_teacher(browser, server, room.teacher["link"], room.lesson["id"])
        kid = await open_student(await phone(browser, pixel), room.students[0]["link"])
        await kid.locator("#receive input[value=audio]").check(force=True)
        await teacher.locator("#board-blank").click()
        await teacher.locator("#board-next").click()
        await draw_line(teacher)
        await shows_the_stroke_on_page_2(kid, 20)
        await expect(kid.locator("#board .board-img")).to_be_hidden()


async def test_a_student_with_the_floor_draws_when_the_teacher_allows(server: Running) -> None:
    room = await make_classroom(server, n_students=1)
    kid_id = room.students[0]["id"]
    teacher = SabakClient(server.url, token=token_from_link(room.teacher["link"]))
    await teacher.connect()
    await teacher.join(room.lesson["id"])
    try:
        async with chromium() as (browser, pixel):
            kid = await open_student(await phone(browser, pixel), room.students[0]["link"])
            await teacher.call("board_show", {"deck": None})
            await expect(kid.locator("#board")).to_be_visible(timeout=10_000)
            draw = kid.get_by_label(KY["board.draw"])
            await teacher.call("floor_give", {"participant_id": kid_id})
            await kid.locator("[data-floor-answer=accept]").click()
            await teacher.wait_for("floor", lambda d: d["given"], timeout=10)
            await expect(draw).to_be_hidden()  # the floor alone does not let them draw
            await teacher.call("board_floor_draw", {"allowed": True})
            await draw.check()
            box = await kid.locator("#board .board-ink").bounding_box()
            assert box is not None
            await kid.mouse.move(box["x"] + 40, box["y"] + 40)
            await kid.mouse.down()
            for i in range(1, 21):
                await kid.mouse.move(box["x"] + 40 + 10 * i, box["y"] + 40 + 5 * i)
            await kid.mouse.up()
            got = await teacher.wait_for("stroke", lambda d: d["author_id"] == kid_id, timeout=10)
            assert got["color"] == "blue" and got["board"] == "blank:1"
            await teacher.call("board_floor_draw", {"allowed": False})
            await expect(draw).to_be_hidden()
            assert kid.errors == []  # type: ignore[attr-defined]
    finally:
        await teacher.close()


TOUCH_LINE = """(canvas) => {
  const r = canvas.getBoundingClientRect();
  const at = (i) => ({ pointerId: 7, pointerType: 'touch', isPrimary: true, bubbles: true,
    clientX: r.left + r.width * (0.2 + 0.02 * i), clientY: r.top + r.height * 0.5 });
  canvas.dispatchEvent(new PointerEvent('pointerdown', at(0)));
  for (let i = 1; i <= 30; i++) canvas.dispatchEvent(new PointerEvent('pointermove', at(i)));
  canvas.dispatchEvent(new PointerEvent('pointerup', at(30)));
}"""


async def test_the_teachers_board_on_a_phone_in_kyrgyz_draws_with_a_finger(
    server: Running,
) -> None:
    room = await make_classroom(server, n_students=1)
    async with chromium() as (browser, pixel):
        context = await phone(browser, pixel)
        teacher = record_errors(await context.new_page())
        await teacher.goto(room.teacher["link"])
        await teacher.locator(f"[data-lesson='{room.lesson['id']}'] button").click()
        await expect(teacher.locator("#live")).to_be_visible()
        await teacher.locator("#board-blank").click()
        await expect(teacher.locator("#board-tools")).to_be_visible()
        await teacher.locator("[data-color=red]").click()
        await teacher.locator("#board .board-ink").evaluate(TOUCH_LINE)
        assert await red_on(teacher) >= 300
        async with server.rest() as rest:
            for _ in range(50):
                log = await rest.events(room.lesson["id"])
                if any(r["type"] == "StrokeAdded" for r in log):
                    break
                await asyncio.sleep(0.1)
        assert [r["type"] for r in log].count("StrokeAdded") == 1
        await teacher.locator("#board-card").screenshot(
            path=str(ARTIFACTS / "board-teacher-phone.png")
        )
        assert teacher.errors == []  # type: ignore[attr-defined]
