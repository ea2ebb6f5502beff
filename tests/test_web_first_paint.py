"""The student page's first paint and first round trips on a slow link (issue 19, item 4):
the first screen is drawn without the style sheet, and the phone connects and joins the
lesson while its modules are still on their way. Screenshot: test-artifacts/first-paint-ky.png.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from playwright.async_api import Route, WebSocket, expect

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


def urlsplit_path(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1].split("?", 1)[0]
