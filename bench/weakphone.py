"""A Chromium phone on an emulated link, and what the browser's own getStats say.

The phone (Pixel 7, 360 px, Kyrgyz) opens the student page through bench/linkroute.py's init
script, so its media crosses its `Link`. Every POLL_S its inbound-rtp stats are read:
- video: framesDecoded; each newly decoded frame is put in a `Watch` at the poll that saw it,
  so fps and freezes have bench/weakclass.py's definitions (to within POLL_S). Chromium
  decodes only what it can (it waits for a keyframe after a loss), so its freezes are real;
- audio: totalSamplesReceived and concealedSamples; played = 1 - concealed / received
  (concealed: what the browser had to make up; a sample recovered by Opus FEC is played).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from playwright.async_api import Browser, BrowserContext, Page

from bench.linkemu import Link
from bench.linkroute import route_page
from bench.weakclass import CAMERA, MIC, Watch
from tests.browser import CONTEXT_PERMISSIONS

POLL_S = 0.1
SPY = """
(() => {
  const Native = window.RTCPeerConnection;
  window.__pcs = [];
  window.RTCPeerConnection = class extends Native {
    constructor(...args) { super(...args); window.__pcs.push(this); }
  };
})();
"""
STATS = """
async ([camera, mic]) => {
  const out = { frames: 0, samples: 0, concealed: 0 };
  for (const pc of window.__pcs) {
    if (pc.connectionState === 'closed') continue;
    (await pc.getStats()).forEach((s) => {
      if (s.type !== 'inbound-rtp') return;
      if (s.mid === camera) out.frames += s.framesDecoded || 0;
      if (s.mid === mic) {
        out.samples += s.totalSamplesReceived || 0;
        out.concealed += s.concealedSamples || 0;
      }
    });
  }
  return out;
}
"""


class Phone:
    """A phone page on its link, polled for its stats until closed."""

    def __init__(self, context: BrowserContext, page: Page, link: Link, pid: str) -> None:
        self.context, self.page, self.link, self.pid = context, page, link, pid
        self.watch = Watch()
        self.audio: list[tuple[float, int, int]] = []  # (when, samples, concealed)
        self._frames = 0
        self._poller: asyncio.Task[None] | None = None

    @classmethod
    async def open(
        cls, browser: Browser, pixel: dict[str, Any], link: Link, url: str, pid: str
    ) -> Phone:
        context = await browser.new_context(**pixel, locale="ky", permissions=CONTEXT_PERMISSIONS)
        await context.add_init_script(SPY)
        await route_page(context, link)
        page = await context.new_page()
        await page.goto(url)
        phone = cls(context, page, link, pid)
        phone._poller = asyncio.create_task(phone._poll())
        return phone

    async def _poll(self) -> None:
        while True:
            with contextlib.suppress(Exception):  # a page between connections: next time
                self._seen(await self.page.evaluate(STATS, [CAMERA, MIC]))
            await asyncio.sleep(POLL_S)

    def _seen(self, stats: dict[str, int]) -> None:
        now = time.monotonic()
        frames = stats["frames"]
        new = frames - self._frames if frames >= self._frames else frames  # a new connection
        self.watch.video.extend([(now, False)] * new)
        self._frames = frames
        self.audio.append((now, stats["samples"], stats["concealed"]))

    def audio_played(self, t0: float, t1: float) -> float:
        inside = [a for a in self.audio if t0 <= a[0] <= t1]
        if len(inside) < 2:
            return 0.0
        received = inside[-1][1] - inside[0][1]
        concealed = inside[-1][2] - inside[0][2]
        return max(0.0, 1 - concealed / received) if received > 0 else 0.0

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
        await self.context.close()
