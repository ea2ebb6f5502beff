"""A phone on a link too weak for video, in real headless Chromium (issue 16).

The phone's media crosses a bench/linkemu.py relay (Chromium's own network emulation does
not touch WebRTC); the teacher is an aiortc peer on a good link. The phone starts on `good`;
on `edge` the server stops the phone's video by itself and the page says so in Kyrgyz with a
button to try video again; once the link is `3g`, the button brings the picture back.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aiortc import RTCSessionDescription
from playwright.async_api import expect

from bench.linkemu import Link
from bench.linkroute import LinkRoute, route_page
from bench.weakclass import TEACHER_BPS, teacher_bitrate
from tests import browser
from tests.browser import ARTIFACTS, BROWSER_MARKS, CONTEXT_PERMISSIONS, chromium, record_errors
from tests.conftest import Running, make_classroom
from tests.media_peers import AiortcTeacher, new_pc
from tests.test_sfu import MovingPicture, Tone
from tests.test_web_media import (
    PHONE_AUTOPLAY_RULE,
    SPY_ON_CONNECTIONS,
    open_student,
    video_plays,
)
from tests.test_web_weak_links import relayed

pytestmark = [pytest.mark.store("memory"), *BROWSER_MARKS, pytest.mark.timeout(120)]
redis_url = browser.redis_url
__all__ = ["relayed"]  # the fixture, imported for this module's tests

ROOT = Path(__file__).resolve().parent.parent
KY = json.loads((ROOT / "client/web/i18n/ky.json").read_text())


class CameraTeacher(AiortcTeacher):
    """aiortc's teacher with a moving 640x360 picture: about a real camera's bitrate."""

    async def publish(self) -> None:
        self.pc = new_pc()
        self.pc.addTrack(Tone())
        self.pc.addTrack(MovingPicture())
        await self.pc.setLocalDescription(await self.pc.createOffer())
        kinds = {str(t.mid): "mic" if t.kind == "audio" else "camera"
                 for t in self.pc.getTransceivers()}  # fmt: skip
        routed = await self.route.connection()
        offer = {"sdp": routed.local(self.pc.localDescription.sdp), "track_kinds": kinds}
        answer = await self.client.call("media_publish", offer)
        sdp = routed.remote(answer["sdp"])
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp, "answer"))


async def test_a_weak_link_is_told_and_video_can_be_tried_again(relayed: Running) -> None:
    room = await make_classroom(relayed, n_students=1)
    teacher_link, phone_link = Link("good", seed=1), Link("good", seed=2)
    teacher = CameraTeacher(relayed, room.teacher["link"], LinkRoute(teacher_link))
    # A camera's ~500 kbit/s, which fits 3g (aiortc's encoder would follow REMB up to 1.5 Mbit/s)
    pinned = teacher_bitrate(TEACHER_BPS)
    pinned.__enter__()
    await teacher.join(room.lesson["id"])
    async with chromium() as (browser_, pixel):
        context = await browser_.new_context(
            **{**pixel, "viewport": {"width": 360, "height": 780}},
            locale="ky-KG",
            permissions=CONTEXT_PERMISSIONS,
        )
        await context.add_init_script(SPY_ON_CONNECTIONS)
        await context.add_init_script(PHONE_AUTOPLAY_RULE)
        await route_page(context, phone_link)
        phone = record_errors(await context.new_page())
        try:
            await open_student(phone, room.students[0]["link"])
            await video_plays(phone, "[data-media=teacher-video] video[data-mid='1']")
            notice = phone.locator("#weak-link")
            await expect(notice).to_be_hidden()
            phone_link.set_profile("edge")
            # within 5 s is issue 16's target (a strict xfail in test_weak_links); here the
            # page's notice is checked, with room for a loaded machine
            await expect(notice).to_be_visible(timeout=20_000)
            await expect(notice.locator("p")).to_have_text(KY["media.weak"])
            await expect(phone.locator("#retry-video")).to_have_text(KY["media.retry_video"])
            await expect(phone.locator("input[name=receive][value=video]")).to_be_checked()
            await expect(phone.locator("#data-used")).to_contain_text("МБ")
            ARTIFACTS.mkdir(exist_ok=True)
            await phone.evaluate("window.scrollTo(0, 0)")
            await phone.screenshot(path=str(ARTIFACTS / "weak-link-ky-360.png"), full_page=True)
            # Not checked here: the video coming back on 3g after "try video again". On this
            # machine it does not come back reliably (the server judges the 3g link weak
            # again, or the video waits for its keyframe): issue 16's strict xfail
            # test_weak_links::test_edge_falls_back_to_sound_and_video_returns_on_3g holds it.
            assert phone.errors == []  # type: ignore[attr-defined]
        finally:
            await teacher.close()
            teacher_link.close()
            phone_link.close()
            pinned.__exit__(None, None, None)
