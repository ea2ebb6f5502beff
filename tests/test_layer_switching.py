"""Switching a subscriber between the teacher's two camera qualities, with real aiortc peers.

The teacher publishes the camera twice (640x360 and a 320x180 copy, as the page does); a
student switched high -> low -> high decodes every frame, sees the picture size change, and
gets one RTP stream with no jump in sequence numbers or timestamps. A student spamming
keyframe requests forces at most its budget on the teacher's encoder.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import av
import pytest
from aiortc import RTCRtpReceiver, RTCSessionDescription

from media.keyframes import EXTRA_PER_MINUTE
from media.layers import Layer
from media.room import MediaRoom
from patches.aiortc.ingress import send_pli, tap_encoded_frames
from tests.test_sfu import (
    CAMERA,
    LOOPBACK,
    MovingPicture,
    Tone,
    new_pc,
    until,
)

pytestmark = pytest.mark.timeout(90)
SMALL = (320, 180)


class SmallPicture(MovingPicture):
    """The camera's low copy: the same moving picture at 320x180."""

    async def recv(self) -> av.VideoFrame:
        frame = await super().recv()
        small = frame.reformat(width=SMALL[0], height=SMALL[1])
        small.pts, small.time_base = frame.pts, frame.time_base
        return small


class Viewer:
    """An aiortc student that records each decoded picture's size and each RTP step."""

    def __init__(self, room: MediaRoom, pid: str) -> None:
        self.room, self.pid, self.pc = room, pid, new_pc()
        self.sizes: list[tuple[int, int]] = []
        self.errors = 0
        self.steps: list[int] = []  # RTP timestamp steps between frames
        self.receiver: RTCRtpReceiver | None = None
        self._last: int | None = None
        self._codec: Any = av.CodecContext.create("libvpx", "r")

    async def join(self) -> None:
        offer = await self.room.subscribe(self.pid, "video")
        assert offer is not None
        await self.pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
        for t in self.pc.getTransceivers():
            if t.mid == CAMERA:
                self.receiver = t.receiver
                tap_encoded_frames(t.receiver, self._frame, per_packet=False)
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        await self.room.subscriber_answer(self.pid, self.pc.localDescription.sdp)

    def _frame(self, data: bytes, timestamp: int) -> None:
        if self._last is not None:
            self.steps.append((timestamp - self._last) & 0xFFFFFFFF)
        self._last = timestamp
        try:
            pictures = self._codec.decode(av.Packet(data))
        except av.FFmpegError:
            self.errors += 1
            return
        self.sizes += [(p.width, p.height) for p in pictures]

    def count(self, size: tuple[int, int]) -> int:
        return sum(s == size for s in self.sizes)

    async def packets_lost(self) -> int:
        assert self.receiver is not None
        stats = await self.receiver.getStats()
        return sum(s.packetsLost for s in stats.values() if s.type == "inbound-rtp")


@pytest.fixture
async def room() -> AsyncIterator[MediaRoom]:
    room = MediaRoom(ice_host_addresses=(LOOPBACK,), ice_accept_remote_ips=(LOOPBACK,))
    pcs: list[Any] = []
    room.test_pcs = pcs  # type: ignore[attr-defined]
    yield room
    await room.close()
    for pc in pcs:
        await pc.close()


async def publish_two_qualities(room: MediaRoom) -> None:
    pc = new_pc()
    room.test_pcs.append(pc)  # type: ignore[attr-defined]
    kinds = {"mic": Tone(), "camera": MovingPicture(), "camera-low": SmallPicture()}
    senders = {kind: pc.addTrack(track) for kind, track in kinds.items()}
    await pc.setLocalDescription(await pc.createOffer())
    mids = {
        str(t.mid): k for k, s in senders.items() for t in pc.getTransceivers() if t.sender is s
    }
    answer = await room.publish("teacher", pc.localDescription.sdp, {"mic", "camera"},
                                seat="teacher", track_kinds=mids)  # fmt: skip
    await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))


async def viewer(room: MediaRoom, pid: str) -> Viewer:
    student = Viewer(room, pid)
    room.test_pcs.append(student.pc)  # type: ignore[attr-defined]
    await student.join()
    return student


async def test_a_student_switched_high_low_high_decodes_one_continuous_stream(
    room: MediaRoom,
) -> None:
    await publish_two_qualities(room)
    student = await viewer(room, "s1")
    room.choose_layer("s1", "teacher-camera", Layer("high"))  # by hand from now on
    high, low = (640, 360), SMALL
    await until(lambda: student.count(high) >= 20, "the high quality", timeout=15)
    room.choose_layer("s1", "teacher-camera", Layer("low"))
    await until(lambda: student.count(low) >= 20, "the switch to the low quality", timeout=15)
    room.choose_layer("s1", "teacher-camera", Layer("high"))
    before = student.count(high)
    await until(lambda: student.count(high) >= before + 20, "the switch back", timeout=30)

    sizes = [size for i, size in enumerate(student.sizes) if i == 0 or size != student.sizes[i - 1]]
    # The first picture is the first keyframe of either quality (the low one may come first).
    assert sizes in ([high, low, high], [low, high, low, high]), sizes
    assert student.errors == 0
    assert max(student.steps) < 90000 // 2, "no timestamp jump (nor a step back, 2**32)"
    assert min(student.steps) > 0
    assert await student.packets_lost() <= 2, "sequence numbers continue across switches"
    camera = room.receiving("s1")["tracks"]["teacher-camera"]
    assert camera["layer"] == camera["target"] == "high-t2"
    assert camera["switches"] == len(sizes) - 1
    assert camera["bytes"] > camera["packets"] * 12  # counted on the wire, headers and all
    rates = room.stats()["slots"]["teacher-camera"]["bitrates"]
    # aiortc's encoders aim at the same bitrate whatever the size: only both are measured.
    assert rates.keys() == {"high-t2", "low-t2"} and min(rates.values()) > 0, rates


async def test_a_student_asking_for_keyframes_nonstop_forces_few(room: MediaRoom) -> None:
    await publish_two_qualities(room)
    calm = await viewer(room, "calm")
    # Pictures of either size: a room that adapts may give the calm student the small one.
    await until(lambda: len(calm.sizes) >= 10, "the lesson to run")
    spammer = await viewer(room, "spammer")
    await until(lambda: len(spammer.sizes) >= 1, "the spammer's first picture")
    camera = room.stats()["slots"]["teacher-camera"]
    forced_before = camera["plis_sent"]
    assert spammer.receiver is not None
    spam_s = 6.0
    deadline, sent = time.monotonic() + spam_s, 0
    while time.monotonic() < deadline:  # 20 a second, as a broken decoder might
        sent += await send_pli(spammer.receiver)
        await asyncio.sleep(0.05)
    camera = room.stats()["slots"]["teacher-camera"]
    report = room.receiving("spammer")["tracks"]["teacher-camera"]
    assert report["plis"] >= 0.8 * sent >= 20, "the requests reached the server"
    extra_allowed = 1 + int(spam_s * EXTRA_PER_MINUTE / 60)  # one at once, then 3 a minute
    assert camera["plis_sent"] - forced_before <= extra_allowed
    frames = len(calm.sizes)
    await until(lambda: len(calm.sizes) >= frames + 30, "the calm student's picture")
    assert calm.errors == 0
