"""A phone on a link too weak for video, in real headless Chromium (issue 16).

The phone's WebRTC packets are lost by Chromium's own network emulation (CDP
`Network.emulateNetworkConditions` with `packetLoss`); the teacher is an aiortc peer. The
server stops the phone's video by itself, the page says so in Kyrgyz with a button to try
video again, and once the link is good again the button brings the picture back.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import CDPSession, expect

from tests import browser
from tests.browser import ARTIFACTS, BROWSER_MARKS, CONTEXT_PERMISSIONS, chromium, record_errors
from tests.conftest import Running, make_classroom
from tests.media_peers import AiortcTeacher
from tests.test_web_media import (
    PHONE_AUTOPLAY_RULE,
    SPY_ON_CONNECTIONS,
    TEACHER_CAMERA,
    WAIT_S,
    advances,
    media_server,
    open_student,
    video_plays,
)

pytestmark = [pytest.mark.store("memory"), *BROWSER_MARKS, pytest.mark.timeout(120)]
redis_url, server = browser.redis_url, browser.server
__all__ = ["media_server"]  # the fixture, imported for this module's tests

ROOT = Path(__file__).resolve().parent.parent
KY = json.loads((ROOT / "client/web/i18n/ky.json").read_text())


async def lossy(cdp: CDPSession, percent: float) -> None:
    """Lose this share of the page's WebRTC packets (0: none)."""
    conditions: dict[str, Any] = {
        "offline": False,
        "latency": 0,
        "downloadThroughput": -1,
        "uploadThroughput": -1,
        "packetLoss": percent,
    }
    await cdp.send("Network.emulateNetworkConditions", conditions)


async def test_a_weak_link_is_told_and_video_can_be_tried_again(media_server: Running) -> None:
    room = await make_classroom(media_server, n_students=1)
    teacher = AiortcTeacher(media_server, room.teacher["link"])
    await teacher.join(room.lesson["id"])
    async with chromium() as (browser_, pixel):
        context = await browser_.new_context(
            **{**pixel, "viewport": {"width": 360, "height": 780}},
            locale="ky-KG",
            permissions=CONTEXT_PERMISSIONS,
        )
        await context.add_init_script(SPY_ON_CONNECTIONS)
        await context.add_init_script(PHONE_AUTOPLAY_RULE)
        phone = record_errors(await context.new_page())
        try:
            await open_student(phone, room.students[0]["link"])
            await video_plays(phone, "[data-media=teacher-video] video[data-mid='1']")
            notice = phone.locator("#weak-link")
            await expect(notice).to_be_hidden()
            cdp = await context.new_cdp_session(phone)
            await cdp.send("Network.enable")
            await lossy(cdp, 40)
            await expect(notice).to_be_visible(timeout=WAIT_S * 1000)
            await expect(notice.locator("p")).to_have_text(KY["media.weak"])
            await expect(phone.locator("#retry-video")).to_have_text(KY["media.retry_video"])
            await expect(phone.locator("input[name=receive][value=video]")).to_be_checked()
            await expect(phone.locator("#data-used")).to_contain_text("МБ")
            ARTIFACTS.mkdir(exist_ok=True)
            await phone.evaluate("window.scrollTo(0, 0)")
            await phone.screenshot(path=str(ARTIFACTS / "weak-link-ky-360.png"), full_page=True)
            await lossy(cdp, 0)
            await phone.click("#retry-video")
            await expect(notice).to_be_hidden()
            await advances(phone, TEACHER_CAMERA, "frames", 15, "video tried again")
            await expect(notice).to_be_hidden()
            assert phone.errors == []  # type: ignore[attr-defined]
        finally:
            await teacher.close()
