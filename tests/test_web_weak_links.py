"""A Chromium phone on an emulated link (issue 16): its media crosses a bench/linkemu.py relay.

The page's RTCPeerConnection is wrapped by bench/linkroute.py's init script, which swaps the
server's candidate for a relay's; the server accepts ICE only from the relays' address.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Page, expect

from bench.linkemu import Link
from bench.linkroute import SERVER_ENV, LinkRoute, route_page
from tests import browser
from tests.browser import BROWSER_MARKS, CONTEXT_PERMISSIONS, chromium, record_errors
from tests.conftest import Running, free_port, make_classroom, settings_for, start_server
from tests.media_peers import AiortcTeacher

pytestmark = [pytest.mark.store("memory"), *BROWSER_MARKS, pytest.mark.timeout(120)]
redis_url = browser.redis_url

# Per mid, over the page's connections (collected by the init script): frames decoded,
# audio samples received and concealed (the browser's own count of what it played).
SPY = """
(() => {
  const Native = window.RTCPeerConnection;
  window.__pcs = [];
  window.RTCPeerConnection = class extends Native {
    constructor(...args) { super(...args); window.__pcs.push(this); }
  };
})();
"""
INBOUND = """
async () => {
  const out = {};
  for (const pc of window.__pcs) {
    if (pc.connectionState === 'closed') continue;
    (await pc.getStats()).forEach((s) => {
      if (s.type !== 'inbound-rtp' || s.mid == null) return;
      out[s.mid] = { frames: s.framesDecoded || 0, packets: s.packetsReceived || 0,
                     samples: s.totalSamplesReceived || 0, concealed: s.concealedSamples || 0 };
    });
  }
  return out;
}
"""


@pytest_asyncio.fixture(loop_scope="session")
async def relayed(tmp_path: Path, redis_url: str) -> AsyncIterator[Running]:
    settings = settings_for(
        tmp_path / "var", redis_url, free_port(), SABAK_MEDIA_WORKERS="1", **SERVER_ENV
    )
    running = await start_server(settings)
    try:
        yield running
    finally:
        await running.runner.cleanup()


async def frames_of(page: Page, mid: str) -> int:
    stats = await page.evaluate(INBOUND)
    return int(stats.get(mid, {}).get("frames", 0))


async def test_a_chromium_student_receives_through_a_good_link(relayed: Running) -> None:
    room = await make_classroom(relayed, n_students=1)
    teacher_link, phone_link = Link("good", seed=1), Link("good", seed=2)
    teacher = AiortcTeacher(relayed, room.teacher["link"], LinkRoute(teacher_link))
    try:
        await teacher.join(room.lesson["id"])
        async with chromium() as (chrome, pixel):
            context = await chrome.new_context(
                **pixel, locale="ky", permissions=CONTEXT_PERMISSIONS
            )
            await context.add_init_script(SPY)
            await route_page(context, phone_link)
            phone = record_errors(await context.new_page())
            await phone.goto(room.students[0]["link"])
            await expect(phone.locator("#lesson")).to_be_visible(timeout=15_000)
            deadline = time.monotonic() + 20
            while await frames_of(phone, "1") < 60:
                assert time.monotonic() < deadline, "no camera frames through the relay"
                await asyncio.sleep(0.2)
            down = phone_link.counters()["down"]
            assert down["packets_out"] > 60 and down["bytes_out"] > 10_000
            assert phone.errors == []  # type: ignore[attr-defined]
    finally:
        await teacher.close()
        teacher_link.close()
        phone_link.close()
