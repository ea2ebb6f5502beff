"""Accessibility in Chromium with axe-core: no critical or serious violation on any page, in
any state a teacher, a student or an organizer sees (axe comes with the dev dependency
@axe-core/playwright in client/package.json; it is injected by the test, never served)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from playwright.async_api import Browser, Page, expect

from tests import browser
from tests.browser import (
    BROWSER_MARKS,
    CONTEXT_PERMISSIONS,
    chromium,
    record_errors,
)
from tests.conftest import Running, make_classroom

F = TypeVar("F", bound=Callable[..., Any])
ROOT = Path(__file__).resolve().parent.parent
AXE = ROOT / "client/node_modules/axe-core/axe.min.js"
IN_BROWSER = [
    pytest.mark.store("memory"),
    *BROWSER_MARKS,
    pytest.mark.timeout(240),
    pytest.mark.skipif(not AXE.exists(), reason="npm ci in client/ installs axe-core"),
]
# The session's browser and event loop (tests/browser.py): these override conftest's here.
redis_url, server = browser.redis_url, browser.server
BAD = ("critical", "serious")


def apply(marks: list[Any]) -> Callable[[F], F]:
    """These marks on one test (the module also holds a plain test of the contrast formula)."""

    def mark(test: F) -> F:
        for m in marks:
            test = m(test)
        return test

    return mark


async def violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's critical and serious violations of the page as it is now."""
    if not await page.evaluate("() => typeof window.axe === 'object'"):
        # Evaluated over the DevTools protocol, as @axe-core/playwright does: the page's CSP
        # (no inline or eval'd script) does not apply, and nothing is added to the page.
        await page.evaluate(await asyncio.to_thread(AXE.read_text, "utf-8"))
    result = await page.evaluate(
        "() => axe.run(document, {resultTypes: ['violations']})"
        ".then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)})))"
    )
    return [v for v in result if v["impact"] in BAD]


class Audit:
    """The violations found per state, checked all at once at the end (one run, every page)."""

    def __init__(self) -> None:
        self.found: dict[str, list[dict[str, Any]]] = {}

    async def check(self, page: Page, state: str) -> None:
        self.found[state] = await violations(page)

    def report(self) -> str:
        return json.dumps({s: v for s, v in self.found.items() if v}, indent=1, ensure_ascii=False)


async def context(browser: Browser, width: int = 360) -> Page:
    ctx = await browser.new_context(
        viewport={"width": width, "height": 800},
        locale="ky-KG",
        permissions=CONTEXT_PERMISSIONS,
    )
    page = record_errors(await ctx.new_page())
    page.on("dialog", lambda dialog: dialog.accept())
    return page


@apply(IN_BROWSER)
async def test_no_critical_or_serious_violations_on_any_page(server: Running) -> None:
    room = await make_classroom(server, n_students=2, allow_guests=True, start=False)
    audit = Audit()
    async with chromium() as (browser, _):
        teacher = await context(browser, 1200)
        await teacher.goto(room.teacher["link"])
        await expect(teacher.locator("#home")).to_be_visible()
        await audit.check(teacher, "teacher: lessons")
        await teacher.locator(f"[data-lesson='{room.lesson['id']}'] button").click()
        await expect(teacher.locator("body")).to_have_attribute("data-conn", "online")
        student = await context(browser)
        await student.goto(room.students[0]["link"])
        await expect(student.locator("#lesson")).to_be_visible(timeout=15_000)
        await expect(teacher.locator("#roster tbody tr")).to_have_count(2)
        await both(audit, teacher, student, "joined")
        await teacher.click("#check-start")
        await expect(student.locator("#check")).to_be_visible()
        await both(audit, teacher, student, "check open")
        await student.locator("#check-buttons button").click()
        await open_poll(teacher)
        await expect(student.locator("#polls button.choice").first).to_be_visible()
        await both(audit, teacher, student, "poll")
        await start_quiz(teacher)
        await expect(student.locator("#quizzes [data-quiz]")).to_have_count(1)
        await both(audit, teacher, student, "quiz")
        await teacher.click("#end")
        await expect(teacher.locator("#ended-summary")).not_to_have_text("", timeout=10_000)
        await both(audit, teacher, student, "ended")
        guest = await context(browser)
        await guest.goto(f"{server.url}/join")
        await audit.check(guest, "student: guest entry")
        await organizer_states(await context(browser, 1200), server, audit)
    assert not any(audit.found.values()), audit.report()


async def both(audit: Audit, teacher: Page, student: Page, state: str) -> None:
    await audit.check(teacher, f"teacher: {state}")
    await audit.check(student, f"student: {state}")


async def organizer_states(page: Page, server: Running, audit: Audit) -> None:
    await page.goto(f"{server.url}/organize")
    await audit.check(page, "organizer: sign in")
    # axe does not measure a field's border (WCAG 1.4.11, non-text contrast): at least 3:1.
    border, ground = await page.locator("#admin-key").evaluate(
        "el => [getComputedStyle(el).borderTopColor, getComputedStyle(el).backgroundColor]"
    )
    assert contrast(border, ground) >= 3, (border, ground)
    await page.fill("#admin-key", server.admin_key)
    await page.click("#login button[type=submit]")
    await page.locator("#course-list button").first.click()
    await expect(page.locator("#roster-table tbody tr")).to_have_count(2)
    await audit.check(page, "organizer: roster")
    await page.click("[data-sub=lessons]")
    await audit.check(page, "organizer: lessons")
    await page.click("[data-sub=matrix]")
    await audit.check(page, "organizer: matrix")
    await page.click("[data-tab=teachers]")
    await expect(page.locator("#teacher-table tbody tr")).to_have_count(1)
    await audit.check(page, "organizer: teachers")
    await page.click("[data-tab=courses]")
    await page.click("[data-sub=lessons]")
    await page.locator("#lesson-table tbody tr button").first.click()
    await page.wait_for_function(
        "() => document.querySelector('#timeline').naturalWidth > 0", timeout=10_000
    )
    await audit.check(page, "organizer: report")
    await page.set_viewport_size({"width": 360, "height": 800})
    await audit.check(page, "organizer: report at 360 px")
    await page.context.close()


async def open_poll(teacher: Page) -> None:
    await teacher.select_option("#poll-kind", "single")
    await teacher.fill("#poll-question", "Кайсы жемиш жакшы?")
    await teacher.fill("#poll-options", "Алма\nАлмурут")
    await teacher.click("#poll-open")


async def start_quiz(teacher: Page) -> None:
    await teacher.fill("#quiz-title", "Бөлчөктөр")
    await teacher.fill("#quiz-limit", "120")
    editor = teacher.locator("#quiz-questions [data-question='1']")
    await editor.locator(".q-kind").select_option("single")
    await editor.locator(".q-text").fill("1/2 + 1/4 = ?")
    rows = editor.locator(".option-row")
    for i, option in enumerate(["3/4", "2/6"]):
        await rows.nth(i).locator(".q-option").fill(option)
    await rows.nth(0).locator(".q-correct").check()
    await teacher.click("#quiz-start")


@apply(IN_BROWSER)
async def test_the_audit_finds_what_it_looks_for(server: Running) -> None:
    """The check above can fail: an unlabelled field and a scrolling box out of keyboard
    reach, as the organizer page had them, are found."""
    async with chromium() as (browser, _):
        page = await context(browser)
        await page.goto(f"{server.url}/organize")
        await expect(page.locator("#login")).to_be_visible()
        await page.evaluate(
            """() => {
              const box = document.createElement('div');
              Object.assign(box.style, {overflow: 'auto', width: '100px', height: '40px'});
              const wide = document.createElement('p');
              wide.style.whiteSpace = 'nowrap';
              wide.textContent = 'a row of a wide table '.repeat(20);
              box.append(wide);
              const input = document.createElement('input');
              input.readOnly = true;
              input.value = 'https://example/join#token';
              document.querySelector('main').append(input, box);
            }"""
        )
        found = {v["id"] for v in await violations(page)}
        assert {"label", "scrollable-region-focusable"} <= found, found
        await page.context.close()


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two CSS rgb() colours."""

    def luminance(colour: str) -> float:
        channels = [int(x) / 255 for x in colour[colour.index("(") + 1 : -1].split(",")[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_contrast() -> None:
    assert round(contrast("rgb(216, 222, 228)", "rgb(255, 255, 255)"), 2) == 1.36  # the old one
    assert round(contrast("rgb(0, 0, 0)", "rgb(255, 255, 255)"), 1) == 21.0
