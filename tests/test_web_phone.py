"""The student page as a phone at 360 px uses it (issue 19, items 1-5), in Kyrgyz and Russian:
what arrives out of sight, the connection state in sight, numbers kept true, the small things.
Screenshots go to test-artifacts/phone-*.png."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import BrowserContext, Page, expect

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
from tests.conftest import Running, make_classroom

pytestmark = [pytest.mark.store("memory"), *BROWSER_MARKS, pytest.mark.timeout(240)]
# The session's browser and event loop (tests/browser.py): these override conftest's here.
redis_url, server = browser.redis_url, browser.server

CATALOGUES = Path(__file__).resolve().parent.parent / "client" / "web" / "i18n"
KY, RU = (json.loads((CATALOGUES / f"{x}.json").read_text(encoding="utf-8")) for x in ("ky", "ru"))
QUIZ = {
    "title": "Бөлчөктөр",
    "mode": "per_question",
    "questions": [
        {"kind": "single", "text": "1/2 + 1/2?", "options": ["1", "2"], "correct": [0],
         "limit_s": 120},
        {"kind": "single", "text": "1/4 + 1/4?", "options": ["1/2", "1/8"], "correct": [0],
         "limit_s": 120},
    ],
}  # fmt: skip


ANSWERS = {"1/2 + 1/2?": ("1", "2"), "1/4 + 1/4?": ("1/2", "1/8")}  # (right, wrong)


async def phone(browser: Any, pixel: dict[str, Any], locale: str) -> BrowserContext:
    args = {**pixel, "viewport": {"width": 360, "height": 740}, "locale": locale}
    return await browser.new_context(**args, permissions=CONTEXT_PERMISSIONS)  # type: ignore[no-any-return]


async def open_student(context: BrowserContext, link: str) -> Page:
    page = record_errors(await context.new_page())
    await page.goto(link)
    await expect(page.locator("#lesson")).to_be_visible(timeout=15_000)
    await expect(page.locator("body")).to_have_attribute("data-conn", "online")
    return page


async def snap(page: Page, name: str, css: bool = False) -> None:
    """A screenshot; `css`: at one pixel per CSS pixel (small, for docs/img)."""
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(
        path=str(ARTIFACTS / f"phone-{name}.png"), scale="css" if css else "device"
    )


async def joined(server: Running, link: str, lesson_id: str) -> SabakClient:
    client = SabakClient(server.url, token=token_from_link(link))
    await client.connect()
    await client.join(lesson_id)
    return client


async def test_a_phone_in_kyrgyz_sees_what_arrives_and_numbers_that_stay_true(
    server: Running,
) -> None:
    room = await make_classroom(server, n_students=2)
    teacher = await joined(server, room.teacher["link"], room.lesson["id"])
    other = await joined(server, room.students[1]["link"], room.lesson["id"])
    try:
        async with chromium() as (browser, pixel):
            context = await phone(browser, pixel, "ky")
            page = await open_student(context, room.students[0]["link"])
            await count_without_the_teacher(page)
            await hand_numbers_move_up(page, other, teacher, room.students[0]["id"])
            await new_chat_below_is_shown(page, teacher)
            await a_poll_comes_into_view(page, teacher)
            await offline_stays_in_sight(page, context)
            await the_ended_screen_counts_nobody(page, teacher)
            assert page.errors == []  # type: ignore[attr-defined]
    finally:
        await other.close()
        await teacher.close(goodbye=False)


async def count_without_the_teacher(page: Page) -> None:
    # The teacher and two students are in: "in lesson" counts the learners, not the teacher.
    await expect(page.locator("#count")).to_have_text(KY["lesson.present"].replace("{n}", "2"))
    await expect(page.locator("#media-note")).to_have_text(KY["media.connecting"])
    assert await page.locator("h1").count() == 1
    await snap(page, "ky-joined")


async def hand_numbers_move_up(
    page: Page, other: SabakClient, teacher: SabakClient, me: str
) -> None:
    await other.raise_hand()
    hand = page.locator("#hand")
    await hand.click()
    await expect(hand).to_have_text(KY["hand.lower"].replace("{n}", "2"))
    await other.lower_hand()  # the hand before mine goes down: I am first now
    await expect(hand).to_have_text(KY["hand.lower"].replace("{n}", "1"))
    await teacher.lower_hand(me)
    await expect(page.locator("#notice")).to_have_text(KY["hand.lowered"])
    await expect(hand).to_have_text(KY["hand.raise"])
    await snap(page, "ky-hand-lowered")


async def new_chat_below_is_shown(page: Page, teacher: SabakClient) -> None:
    await page.evaluate("() => window.scrollTo(0, 0)")
    chip = page.locator("#new-below")
    for i in range(12):
        await teacher.chat(f"Кабар {i}: бөлчөктөрдү кайталайбыз")
    await expect(page.locator("#chat-list li", has_text="Кабар 11")).to_have_count(1)
    await expect(chip).to_be_visible()
    await expect(chip).to_contain_text(KY["new.below"].split(":")[0])
    await snap(page, "ky-new-below")
    await chip.click()
    await expect(chip).to_be_hidden()
    last = await page.locator("#chat-list li").last.bounding_box()
    dock = await page.locator("#dock").bounding_box()
    assert last and dock and last["y"] + last["height"] <= dock["y"] + 2


async def a_poll_comes_into_view(page: Page, teacher: SabakClient) -> None:
    await page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
    await teacher.call("poll_open", {"kind": "yesno", "question": "Түшүндүңүзбү?",
                                     "anonymous": False})  # fmt: skip
    card = page.locator("#polls [data-poll]")
    await expect(card).to_be_visible()
    await expect(card).to_be_in_viewport()
    await snap(page, "ky-poll", css=True)


async def offline_stays_in_sight(page: Page, context: BrowserContext) -> None:
    await page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
    await context.set_offline(True)
    try:
        banner = page.locator("#banner")
        await expect(banner).to_be_visible(timeout=10_000)
        await expect(banner).to_be_in_viewport()  # sticky: not scrolled away
        frozen = page.locator("#teacher-video .stage-conn")
        await expect(frozen).to_have_text(KY["conn.frozen"])
        await page.evaluate("() => window.scrollTo(0, 0)")
        await expect(frozen).to_be_visible()
        await snap(page, "ky-offline")
    finally:
        await context.set_offline(False)
    await expect(page.locator("body")).to_have_attribute("data-conn", "online", timeout=30_000)
    await expect(page.locator("#teacher-video .stage-conn")).to_be_hidden()


async def the_ended_screen_counts_nobody(page: Page, teacher: SabakClient) -> None:
    await teacher.call("lesson_end")
    await expect(page.locator("#entry-message")).to_have_text(KY["end.lesson_ended"])
    await expect(page.locator("#count")).to_be_hidden()


async def test_a_phone_in_russian_retries_a_code_has_big_targets_and_sees_its_marks(
    server: Running,
) -> None:
    room = await make_classroom(server, n_students=2, allow_guests=True)
    teacher = await joined(server, room.teacher["link"], room.lesson["id"])
    try:
        async with chromium() as (browser, pixel):
            guest = record_errors(await (await phone(browser, pixel, "ru")).new_page())
            await a_mistyped_code_can_be_typed_again(guest, server.url, room.lesson["code"])
            context = await phone(browser, pixel, "ru")
            page = await open_student(context, room.students[0]["link"])
            never = await open_student(await phone(browser, pixel, "ru"), room.students[1]["link"])
            await every_target_is_big_enough(page)
            await quiz_marks_after_publishing(page, never, teacher)
            assert page.errors == [] and never.errors == []  # type: ignore[attr-defined]
    finally:
        await teacher.close(goodbye=False)


async def a_mistyped_code_can_be_typed_again(page: Page, url: str, code: str) -> None:
    await page.goto(f"{url}/join")
    await page.fill("#guest-code", "WRONG1")
    await page.fill("#guest-name", "Мээрим")
    await page.click("#guest-form button[type=submit]")
    await expect(page.locator("#entry-message")).not_to_have_text(RU["conn.connecting"])
    await expect(page.locator("#guest-form")).to_be_visible()
    await snap(page, "ru-wrong-code")
    await page.fill("#guest-code", code)
    await page.click("#guest-form button[type=submit]")
    await expect(page.locator("#waiting")).to_be_visible(timeout=10_000)


async def every_target_is_big_enough(page: Page) -> None:
    small = await page.evaluate(
        """() => [...document.querySelectorAll(
                 'button, select, input:not([type=radio]), summary, .segmented label')]
           .filter((el) => el.offsetParent !== null)
           .map((el) => [el.id || el.textContent.trim().slice(0, 20),
                         el.getBoundingClientRect().height])
           .filter(([, h]) => h < 44)"""
    )
    assert small == []


async def quiz_marks_after_publishing(page: Page, never: Page, teacher: SabakClient) -> None:
    quiz_id = (await teacher.call("quiz_start", QUIZ))["quiz_id"]
    card = page.locator("#quizzes [data-quiz]")
    await expect(card).to_be_in_viewport()
    texts = []
    for right in (True, False):  # the first question (in this phone's order) right, then wrong
        await card.locator("[data-next]").click()
        text = await card.locator("[data-text]").inner_text()
        texts.append(text)
        options = ANSWERS[text]
        await card.get_by_role("button", name=options[0 if right else 1], exact=True).click()
        await expect(card.locator("[data-status=sent]")).to_be_visible()
    await teacher.call("quiz_publish", {"quiz_id": quiz_id})
    await expect(card.locator("[data-mark]")).to_have_count(2)
    await expect(card.locator("[data-mark=right]")).to_contain_text(texts[0])
    await expect(card.locator("[data-mark=wrong]")).to_contain_text(texts[1])
    await expect(card.locator("[data-mark=wrong]")).to_contain_text(RU["quiz.mark_wrong"])
    await snap(page, "ru-quiz-marks")
    gone = never.locator("#quizzes [data-not-taken]")
    await expect(gone).to_have_text(RU["quiz.not_taken"])
    await expect(never.locator("#quizzes [data-score]")).to_have_count(0)
