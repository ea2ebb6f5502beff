"""The student page's first paint and first round trips on a slow link (issue 19, item 4):
the first screen is drawn without the style sheet, and the phone connects and joins the
lesson while its modules are still on their way. Screenshot: test-artifacts/first-paint-ky.png.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest
from playwright.async_api import Route, WebSocket, expect

from client.rest import token_from_link
from client.sabak_client import SabakClient
from tests import browser
from tests.browser import ARTIFACTS, BROWSER_MARKS, CONTEXT_PERMISSIONS, chromium, record_errors
from tests.conftest import Running, make_classroom

pytestmark = [pytest.mark.store("memory"), *BROWSER_MARKS, pytest.mark.timeout(120)]
# The session's browser and event loop (tests/browser.py): these override conftest's here.
redis_url, server = browser.redis_url, browser.server

KY = json.loads(
    (Path(__file__).resolve().parent.parent / "client/web/i18n/ky.json").read_text("utf-8")
)


class Held:
    """Requests for matching URLs, held unanswered until `let_go()` (a link that is slow)."""

    def __init__(self) -> None:
        self.routes: list[Route] = []
        self.released = asyncio.Event()

    async def hold(self, route: Route) -> None:
        self.routes.append(route)
        await self.released.wait()
        await route.continue_()

    def let_go(self) -> None:
        self.released.set()


async def test_the_phone_paints_and_joins_before_its_style_sheet_and_modules_arrive(
    server: Running,
) -> None:
    """With the style sheet and the page's main module held back, the first screen is drawn
    in Kyrgyz with its own style, and the phone's WebSocket has joined the lesson already
    (the join's ack is in); once they arrive the lesson shows at once."""
    room = await make_classroom(server, n_students=1)
    async with chromium() as (chrome, pixel):
        args = {**pixel, "viewport": {"width": 360, "height": 740}, "locale": "ky"}
        context = await chrome.new_context(**args, permissions=CONTEXT_PERMISSIONS)
        page = record_errors(await context.new_page())
        held = Held()
        await page.route("**/css/app.css", held.hold)
        await page.route("**/js/student.js", held.hold)
        sockets: list[WebSocket] = []
        joined = asyncio.Event()

        def opened(ws: WebSocket) -> None:
            sockets.append(ws)
            ws.on("framereceived", lambda f: joined.set() if '430[{"ok":true' in str(f) else None)

        page.on("websocket", opened)
        await page.goto(room.students[0]["link"], wait_until="commit")
        await expect(page.locator("#entry-message")).to_have_text(KY["conn.opening"])
        await page.wait_for_function(
            "() => performance.getEntriesByName('first-contentful-paint').length > 0"
        )
        # Drawn with the page's own first-paint rules: the header is the sticky white bar.
        header = await page.evaluate(
            "() => { const s = getComputedStyle(document.querySelector('header.top'));"
            " return [s.position, s.backgroundColor]; }"
        )
        assert header == ["sticky", "rgb(255, 255, 255)"]
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "first-paint-ky.png"))
        # Meanwhile the phone has connected and joined: the join's ack came back.
        await asyncio.wait_for(joined.wait(), 30)
        assert held.routes, "the style sheet and student.js are still held"
        assert [urlsplit_path(ws.url) for ws in sockets] == ["/socket.io/"]
        assert await page.locator("#lesson").is_hidden()
        held.let_go()
        await expect(page.locator("#lesson")).to_be_visible(timeout=15_000)
        await expect(page.locator("body")).to_have_attribute("data-conn", "online")
        assert len(sockets) == 1, "the page went on with the WebSocket it opened first"
        assert page.errors == []  # type: ignore[attr-defined]
        await context.close()


async def test_the_lesson_shows_before_polls_and_the_check_load_and_they_hear_what_came_first(
    server: Running,
) -> None:
    """With the classwork's modules (polls, quizzes, the check, the "new" chip) held back, the
    lesson shows; a poll and a check opened meanwhile (and the one opened before the phone
    came) are shown once those modules arrive: what the connection heard is replayed."""
    room = await make_classroom(server, n_students=1)
    teacher = await joined(server, room.teacher["link"], room.lesson["id"])
    try:
        await teacher.call("poll_open", {"kind": "yesno", "question": "Before?"})
        async with chromium() as (chrome, pixel):
            args = {**pixel, "viewport": {"width": 360, "height": 740}, "locale": "ky"}
            context = await chrome.new_context(**args, permissions=CONTEXT_PERMISSIONS)
            page = record_errors(await context.new_page())
            held = Held()
            await page.route(LATE_MODULES, held.hold)
            await page.goto(room.students[0]["link"], wait_until="commit")
            await expect(page.locator("#lesson")).to_be_visible(timeout=15_000)
            await expect(page.locator("body")).to_have_attribute("data-conn", "online")
            await teacher.call("poll_open", {"kind": "yesno", "question": "Meanwhile?"})
            await teacher.call("check_start", {"window_s": 60})
            await expect(page.locator("#count")).to_have_text(
                KY["lesson.present"].replace("{n}", "1")
            )
            assert held.routes, "the classwork's modules are still held"
            assert await page.locator("#polls [data-poll]").count() == 0
            assert await page.locator("#check").is_hidden()
            held.let_go()
            polls = page.locator("#polls [data-poll]")
            await expect(polls).to_have_count(2)
            await expect(polls.filter(has_text="Meanwhile?")).to_have_count(1)
            await expect(page.locator("#check")).to_be_visible()
            await page.locator("#check-buttons button").first.click()
            await expect(page.locator("#check")).to_be_hidden()
            assert page.errors == []  # type: ignore[attr-defined]
            await context.close()
    finally:
        await teacher.close(goodbye=False)


LATE_MODULES = re.compile(r".*/js/(polls|quiz|attention|student_checks)\.js$")


async def joined(server: Running, link: str, lesson_id: str) -> SabakClient:
    client = SabakClient(server.url, token=token_from_link(link))
    await client.connect()
    await client.join(lesson_id)
    return client


def urlsplit_path(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1].split("?", 1)[0]
