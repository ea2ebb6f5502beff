"""Adaptation with real aiortc peers on loopback: a student's weak link goes to sound only.

The student's "link" is a token bucket in front of its sockets (SRTP beyond the rate is
dropped, like a full queue in a router); everything else is the real room, the real
feedback aiortc's receivers send (receiver reports, NACKs) and the real decoders.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiortc import RTCPeerConnection

from media.room import MediaRoom
from patches.aiortc.sdp import OPUS_PARAMETERS
from tests.test_sfu import CAMERA, LOOPBACK, MIC, Lesson, decoded_at_least, until


class Bucket:
    """What a narrow link lets through: `bps` of SRTP, the rest dropped (None: no limit)."""

    def __init__(self) -> None:
        self.bps: float | None = None
        self.dropped = 0
        self._tokens, self._at = 0.0, time.monotonic()

    def passes(self, size: int) -> bool:
        if self.bps is None:
            return True
        now = time.monotonic()
        burst = self.bps / 8 * 0.05  # 50 ms of queue
        self._tokens = min(burst, self._tokens + (now - self._at) * self.bps / 8)
        self._at = now
        if self._tokens < size:
            self.dropped += 1
            return False
        self._tokens -= size
        return True


def narrow(pc: RTCPeerConnection, bucket: Bucket) -> None:
    """Put the bucket in front of the connection's sockets (after its descriptions)."""
    seen = set()
    for transceiver in pc.getTransceivers():
        ice = transceiver.receiver.transport.transport._connection
        if id(ice) in seen:
            continue
        seen.add(id(ice))
        protocols: list[Any] = ice._protocols
        for protocol in protocols:
            received = protocol.datagram_received

            def limited(data: bytes, addr: Any, received: Any = received) -> None:
                rtp = 128 <= data[0] < 192 and not 192 <= data[1] <= 223  # not RTCP
                if not rtp or bucket.passes(len(data)):
                    received(data, addr)

            protocol.datagram_received = limited


async def camera_packets(pc: RTCPeerConnection) -> int:
    camera = next(t for t in pc.getTransceivers() if t.mid == CAMERA)
    stats = (await camera.receiver.getStats()).values()
    return sum(s.packetsReceived for s in stats if s.type == "inbound-rtp")


class Told:
    """What the room told about links, as (participant, sound only)."""

    def __init__(self) -> None:
        self.items: list[tuple[str, bool]] = []

    def __call__(self, pid: str, sound_only: bool) -> None:
        self.items.append((pid, sound_only))


@pytest.fixture
async def told_lesson() -> AsyncIterator[tuple[Lesson, Told]]:
    lesson, told = Lesson(), Told()
    lesson.room = MediaRoom(
        ice_host_addresses=(LOOPBACK,), ice_accept_remote_ips=(LOOPBACK,), on_link=told
    )
    yield lesson, told
    await lesson.close()


async def test_a_weak_link_goes_to_sound_only_by_itself_and_video_comes_back(
    told_lesson: tuple[Lesson, Told],
) -> None:
    lesson, told = told_lesson
    await lesson.publish("teacher")
    weak, fine = await lesson.join("weak"), await lesson.join("fine")
    await until(decoded_at_least([weak, fine], CAMERA, 20), "the camera")
    bucket = Bucket()
    assert weak.pc is not None
    narrow(weak.pc, bucket)
    bucket.bps = 90_000  # edge: the sound fits, the video does not
    narrowed = time.monotonic()
    await until(lambda: ("weak", True) in told.items, "sound only", timeout=10)
    assert time.monotonic() - narrowed < 5.0
    assert lesson.room.receiving("weak")["sound_only"]
    assert not lesson.room.receiving("fine")["sound_only"]
    audio = weak.decoded[MIC]
    await until(lambda: weak.decoded[MIC] >= audio + 100, "two seconds of sound on the weak link")
    bucket.bps = None  # the link recovers
    await until(lambda: ("weak", False) in told.items[-1:], "video back", timeout=20)
    # What the server sends arrives again (aiortc's jitter buffer then waits out the packets
    # lost for good for 512 packets, where a browser asks for a keyframe: not ours to test).
    before = await camera_packets(weak.pc)
    await asyncio.sleep(2.0)
    assert await camera_packets(weak.pc) > before + 20
    assert told.items.count(("fine", True)) == 0


async def test_opus_is_negotiated_with_in_band_fec_and_dtx(
    told_lesson: tuple[Lesson, Told],
) -> None:
    lesson = told_lesson[0]
    publisher = await lesson.publish("teacher", kinds=("mic",))
    student = await lesson.join("s", "audio")
    fmtp = ";".join(f"{k}={v}" for k, v in OPUS_PARAMETERS.items())
    for pc in (publisher.pc, student.pc):
        assert pc is not None
        sdp = pc.remoteDescription.sdp  # the server's answer, and the server's offer
        opus = next(line for line in sdp.splitlines() if "opus/48000" in line)
        pt = opus.split()[0].split(":")[1]
        assert f"a=fmtp:{pt} {fmtp}" in sdp.splitlines()
