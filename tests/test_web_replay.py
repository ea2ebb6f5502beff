"""Replay and catch-up in real Chromium at 360 px: the sound plays, moments come in step, gaps jump,
the board (deck page and strokes) is drawn as it was at the sound's time.

The recordings are real Opus made by tests/recording_files.py in the recorder's layout.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import BrowserContext, Page, expect

from client.rest import token_from_link
from client.sabak_client import SabakClient
from server.appkeys import RECORDINGS
from tests import browser, pdf_files
from tests.browser import ARTIFACTS, BROWSER_MARKS, chromium, record_errors
from tests.conftest import Running, make_classroom
from tests.recording_files import RecordingWriter
from tests.test_decks import teacher_token, upload
from tests.test_web import BUDGET_BYTES, Transfers
from tests.test_web_board import red_on, shows_deck_page_2

pytestmark = [pytest.mark.store("memory"), *BROWSER_MARKS, pytest.mark.timeout(240)]
server = browser.server

I18N = Path(__file__).resolve().parent.parent / "client" / "web" / "i18n"
KY = {
    **json.loads((I18N / "ky.json").read_text("utf-8")),
    **json.loads((I18N / "replay.ky.json").read_text("utf-8")),
}


async def phone(browser_: Any, pixel: dict[str, Any]) -> BrowserContext:
    args = {**pixel, "viewport": {"width": 360, "height": 740}, "locale": "ky"}
    return await browser_.new_context(**args)  # type: ignore[no-any-return]


async def snap(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"replay-{name}.png"), full_page=True)


async def sound_at(page: Page, selector: str, seconds: float, timeout: float = 15) -> None:
    """Wait until a media element has played past `seconds` (the page's CSP forbids eval)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        at = await page.eval_on_selector(selector, "a => a.currentTime")
        if at > seconds:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{selector} stayed at {at} s")


async def joined(server: Running, link: str, lesson_id: str) -> SabakClient:
    client = SabakClient(server.url, token=token_from_link(link))
    await client.connect()
    await client.join(lesson_id)
    return client


async def lesson_with_a_gap(server: Running) -> tuple[Any, dict[str, int]]:
    """A short lesson: chat, a poll, the student leaves and comes back, more chat; recorded."""
    room = await make_classroom(server, n_students=1)
    lesson_id = room.lesson["id"]
    w = RecordingWriter(server.app[RECORDINGS].root, lesson_id)
    start = room.lesson["started_ms"]
    for n in range(3):
        w.audio(start + n * 10_000, 10)
    w.video("teacher-camera", start, 10)
    teacher = await joined(server, room.teacher["link"], lesson_id)
    student = await joined(server, room.students[0]["link"], lesson_id)
    await asyncio.sleep(1.5)
    await teacher.chat("first words")
    await student.leave()
    await asyncio.sleep(2.5)
    await student.close()
    student = await joined(server, room.students[0]["link"], lesson_id)
    await asyncio.sleep(1.5)
    await teacher.chat("after the gap")
    await teacher.call("lesson_end")
    for client in (teacher, student):
        await client.close()
    return room, {"start": start}


async def test_the_replay_plays_moments_come_in_step_and_my_gaps_jump(server: Running) -> None:
    room, times = await lesson_with_a_gap(server)
    token = token_from_link(room.students[0]["link"])
    async with chromium() as (browser_, pixel):
        context = await phone(browser_, pixel)
        page = record_errors(await context.new_page())
        transfers = Transfers()
        await transfers.watch(context, page)
        await page.goto(f"{server.url}/replay?lesson={room.lesson['id']}#{token}")
        await expect(page.locator("#player")).to_be_visible(timeout=15_000)
        await page.wait_for_load_state("networkidle")
        media = [r for r, u in transfers.urls.items() if "/api/recordings/" in u]
        before_media = transfers.total - sum(int(transfers.sizes.get(r, 0)) for r in media)
        print(f"replay page before media: {before_media} bytes")
        assert before_media <= BUDGET_BYTES, transfers.listing()
        await expect(page.locator("#title")).to_have_text("Fractions")
        later = page.locator("#moments li", has_text="after the gap")
        await expect(later).to_be_hidden()  # its moment has not come yet
        await page.locator("#speed label", has_text="1.5×").click()  # a tap: media may play
        await page.evaluate("() => document.getElementById('sound').play()")
        await sound_at(page, "#sound", 1)
        state = await page.evaluate(
            "() => { const a = document.getElementById('sound');"
            " return [a.playbackRate, a.preservesPitch, a.paused]; }"
        )
        assert state == [1.5, True, False]
        gap = page.locator("#gaps button").first
        await expect(gap).to_be_visible()
        gap_from = int(await gap.get_attribute("data-from") or 0)
        await gap.click()
        at = await page.evaluate("() => document.getElementById('sound').currentTime")
        assert abs(at - (gap_from - times["start"]) / 1000) < 0.5
        await expect(later).to_be_visible(timeout=10_000)  # the sound reached it
        await page.evaluate("() => { document.getElementById('sound').currentTime = 0; }")
        await expect(later).to_be_hidden()  # seeking back: not yet said
        await page.evaluate("() => { document.getElementById('sound').currentTime = 9; }")
        await expect(later).to_be_visible()
        await expect(page.locator("#gaps-card h2")).to_have_text(KY["replay.gaps"])
        await page.evaluate("() => { document.getElementById('sound').currentTime = 2; }")
        await page.locator("#video").click()  # video on request: the camera at that moment
        await sound_at(page, "#screen video", 0.5)
        width = await page.eval_on_selector("#screen video", "v => v.videoWidth")
        assert width == 160
        await snap(page, "ky-360")
        assert page.errors == []  # type: ignore[attr-defined]


async def test_a_phone_back_after_a_drop_is_offered_its_gap_and_plays_it_at_1_5x(
    server: Running,
) -> None:
    room = await make_classroom(server, n_students=1)
    lesson_id = room.lesson["id"]
    w = RecordingWriter(server.app[RECORDINGS].root, lesson_id)
    start = room.lesson["started_ms"]
    for n in range(3):
        w.audio(start + n * 10_000, 10)
    w.open_audio(start + 30_000, 30)
    teacher = await joined(server, room.teacher["link"], lesson_id)
    try:
        async with chromium() as (browser_, pixel):
            context = await phone(browser_, pixel)
            page = record_errors(await context.new_page())
            await page.goto(room.students[0]["link"])
            await expect(page.locator("body")).to_have_attribute(
                "data-conn", "online", timeout=15_000
            )
            await context.set_offline(True)
            await asyncio.sleep(1)
            await teacher.chat("said while you were away")
            await asyncio.sleep(11)
            began = time.monotonic()
            await context.set_offline(False)
            card = page.locator("#catch-up")
            await expect(card).to_be_visible(timeout=30_000)
            print(f"catch-up card {time.monotonic() - began:.2f} s after coming back online")
            await expect(card).to_contain_text("said while you were away")
            await expect(card).to_contain_text(KY["catchup.heading"])
            await card.locator("button.primary").click()
            await sound_at(page, "#catch-up audio", 0.5)
            rate = await page.evaluate(
                "() => { const a = document.querySelector('#catch-up audio');"
                " return [a.playbackRate, a.preservesPitch]; }"
            )
            assert rate == [1.5, True]
            await card.scroll_into_view_if_needed()
            await snap(page, "catch-up-ky-360")
            await teacher.call("recording_start", {})
            await teacher.call("lesson_end")
            link = page.locator("#replay-link")  # a recorded lesson: its replay, same link
            await expect(link).to_have_text(KY["end.replay"])
            token = room.students[0]["link"].split("#", 1)[1]
            assert await link.get_attribute("href") == f"/replay?lesson={lesson_id}#{token}"
            assert page.errors == []  # type: ignore[attr-defined]
    finally:
        await teacher.close()


async def test_the_organizer_opens_a_replay_from_the_lesson_list(server: Running) -> None:
    room, _ = await lesson_with_a_gap(server)
    async with chromium() as (browser_, pixel):
        page = record_errors(await (await phone(browser_, pixel)).new_page())
        await page.goto(f"{server.url}/organize")
        await page.fill("#admin-key", server.admin_key)
        await page.click("#login button[type=submit]")
        await page.locator("#course-list button").first.click()
        await page.click("[data-sub=lessons]")
        link = page.locator(f"[data-lesson='{room.lesson['id']}'] a.replay-link")
        await expect(link).to_have_text(KY["org.replay"])
        await snap(page, "organizer-lessons-ky-360")
        await link.click()  # the same tab: it holds the admin key
        await expect(page.locator("#player")).to_be_visible(timeout=15_000)
        await expect(page.locator("#gaps-card")).to_be_hidden()  # nobody's gaps: an organizer
        await expect(page.locator("#moments li", has_text="first words")).to_be_attached()
        await page.go_back()  # the organizer deletes the recording; the lesson stays
        page.on("dialog", lambda dialog: dialog.accept())
        await page.locator("#course-list button").first.click()
        await page.click("[data-sub=lessons]")
        row = page.locator(f"[data-lesson='{room.lesson['id']}']")
        await row.get_by_role("button", name=KY["org.delete_recording"]).click()
        await expect(page.locator("#notice")).to_have_text(KY["org.recording_deleted"])
        assert not (server.app[RECORDINGS].root / room.lesson["id"]).exists()
        await expect(row).to_be_visible()
        assert page.errors == []  # type: ignore[attr-defined]


async def test_the_replay_shows_the_deck_page_and_its_strokes_as_they_were_then(
    server: Running,
) -> None:
    """A lesson showed page 2 of a deck, then a red stroke: the replay draws them in step."""
    room = await make_classroom(server, n_students=1)
    lesson_id, start = room.lesson["id"], room.lesson["started_ms"]
    w = RecordingWriter(server.app[RECORDINGS].root, lesson_id)
    for n in range(3):
        w.audio(start + n * 10_000, 10)
    status, deck = await upload(server, pdf_files.deck(pages=3), key=teacher_token(room),
                                course=room.course_id, name="Fractions.pdf")  # fmt: skip
    assert status == 201, deck
    teacher = await joined(server, room.teacher["link"], lesson_id)
    await asyncio.sleep(1)
    await teacher.call("board_show", {"deck": deck["deck"], "page": 2})
    await asyncio.sleep(1.5)
    line = [2000 + 100 * i for i in range(40)]  # a diagonal: x and y alike
    await teacher.call("board_stroke", {"client_id": "s1", "points": line, "color": "red",
                                        "width": 80})  # fmt: skip
    await asyncio.sleep(1)
    await teacher.call("lesson_end")
    await teacher.close()
    token = token_from_link(room.students[0]["link"])
    async with aiohttp.ClientSession() as http:
        url = f"{server.url}/api/lessons/{lesson_id}/recording"
        async with http.get(url, headers={"Authorization": f"Bearer {token}"}) as r:
            board = (await r.json())["board"]
    shown_t, stroke_t = (m["t"] for m in board)  # a board moment, then a stroke moment
    assert [m["type"] for m in board] == ["board", "stroke"]
    origin = start  # the sound's first sample
    async with chromium() as (browser_, pixel):
        page = record_errors(await (await phone(browser_, pixel)).new_page())
        await page.goto(f"{server.url}/replay?lesson={lesson_id}#{token}")
        await expect(page.locator("#player")).to_be_visible(timeout=15_000)

        async def seek(lesson_ms: int) -> None:
            seconds = (lesson_ms - origin) / 1000
            await page.evaluate(
                f"() => {{ document.getElementById('sound').currentTime = {seconds}; }}"
            )

        await expect(page.locator("#board")).to_be_hidden()  # at 0:00 no board was shown yet
        await seek(stroke_t + 500)
        await expect(page.locator("#board")).to_be_visible(timeout=10_000)
        await shows_deck_page_2(page)
        assert await red_on(page) >= 300  # the stroke's pixels
        caption = KY["board.page"].replace("{n}", "2").replace("{total}", "3")
        await expect(page.locator("#board .board-caption")).to_have_text(caption)
        await page.locator("#board").scroll_into_view_if_needed()
        await snap(page, "board-ky-360")
        await seek((shown_t + stroke_t) // 2)  # back before the stroke: the page without it
        await expect(page.locator("#board")).to_be_visible()
        assert await red_on(page, at_least=1, timeout_s=1) == 0
        await seek(stroke_t + 500)  # forward again: drawn again
        assert await red_on(page) >= 300
        await seek(shown_t - 300)
        await expect(page.locator("#board")).to_be_hidden()
        assert page.errors == []  # type: ignore[attr-defined]
