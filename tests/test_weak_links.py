"""Students on emulated weak links (issue 16): aiortc peers through bench/linkemu.py relays.

The server accepts ICE only from the relays' address (bench/linkroute.py), so every packet
of every peer here crossed its link. The issue's targets that need layers and adaptation are
written against that behaviour and marked xfail(strict) until the branches that build it land
(and so is the outage target, which today's retransmissions defeat). A student is measured at
the student (bench/weakclass.py); frame rates against what the teacher sent, since a busy
machine's teacher sends fewer than 30 a second.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import cast

import aioice
import aioice.ice
import pytest
from aioice import stun

from bench.linkemu import Link, Shape
from bench.linkroute import SERVER_ENV, LinkRoute
from bench.weakclass import TEACHER_BPS, WeakClass, keyframes_sent, spatial_of, teacher_bitrate
from media.connections import Connections
from tests.conftest import Running, free_port, make_classroom, settings_for, start_server
from tests.media_peers import AiortcStudent, AiortcTeacher

pytestmark = [pytest.mark.store("memory"), pytest.mark.timeout(120)]
Starts = Callable[..., Awaitable[WeakClass]]
GOOD_STUDENTS = 10


@pytest.fixture
async def relayed(tmp_path: Path, redis_url: str) -> AsyncIterator[Running]:
    """A server that takes media only through link emulators (one media worker)."""
    settings = settings_for(
        tmp_path / "var", redis_url, free_port(), SABAK_MEDIA_WORKERS="1", **SERVER_ENV
    )
    running = await start_server(settings)
    try:
        yield running
    finally:
        await running.runner.cleanup()


class StunAnswerer(asyncio.DatagramProtocol):
    """The far end of a consent check: answers each binding request, signed with KEY."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        request = stun.parse_message(data)
        response = stun.Message(
            stun.Method.BINDING, stun.Class.RESPONSE, transaction_id=request.transaction_id
        )
        response.attributes["XOR-MAPPED-ADDRESS"] = addr
        response.add_message_integrity(KEY)
        response.add_fingerprint()
        self.transport.sendto(bytes(response), addr)


KEY = b"remote-password"


async def test_a_consent_check_waits_for_a_long_round_trip() -> None:
    """aioice gives a consent check (RFC 7675) one try of 0.5 s: over an EDGE link's 0.8 s
    round trip every check failed, and after six (~30 s) the server closed a working
    connection. The server's connections let the answer take up to 3.5 s."""
    loop = asyncio.get_running_loop()
    far, _ = await loop.create_datagram_endpoint(StunAnswerer, local_addr=("127.0.0.1", 0))
    link = Link("open")
    link.up.shape = link.down.shape = Shape(delay_s=0.4)
    relay = await link.relay(far.get_extra_info("sockname"))
    Connections(ice_host_addresses=("127.0.0.1",))  # the media worker's ICE, as configured
    protocol = aioice.ice.StunProtocol(aioice.Connection(ice_controlling=True))
    near, _ = await loop.create_datagram_endpoint(lambda: protocol, local_addr=("127.0.0.1", 0))
    try:
        check = stun.Message(stun.Method.BINDING, stun.Class.REQUEST)
        started = time.monotonic()
        # exactly as aioice's Connection.query_consent sends it
        await protocol.request(
            check, ("127.0.0.1", relay.peer_port), integrity_key=KEY, retransmissions=0
        )
        assert 0.8 <= time.monotonic() - started < 3.5
    finally:
        near.close()
        far.close()
        link.close()


async def test_an_aiortc_student_receives_through_a_good_link(relayed: Running) -> None:
    room = await make_classroom(relayed, n_students=1)
    teacher_link, student_link = Link("good", seed=1), Link("good", seed=2)
    teacher = AiortcTeacher(relayed, room.teacher["link"], LinkRoute(teacher_link))
    student = AiortcStudent(relayed, room.students[0]["link"], LinkRoute(student_link))
    try:
        await teacher.join(room.lesson["id"])
        await student.join(room.lesson["id"])
        await student.camera_frames(60, "camera through the relay")
        assert not student.errors
        down = student_link.counters()["down"]
        assert down["packets_out"] > 60 and down["bytes_out"] > 10_000
        assert teacher_link.counters()["up"]["packets_out"] > 60
    finally:
        await student.close()
        await teacher.close()
        teacher_link.close()
        student_link.close()


@pytest.fixture
async def lesson_on(relayed: Running) -> AsyncIterator[Starts]:
    """Start a lesson: a student per profile given; closed after the test."""
    made: list[WeakClass] = []

    async def start(*profiles: str, teacher: str = "good") -> WeakClass:
        weak = WeakClass(relayed, list(profiles), teacher_profile=teacher)
        made.append(weak)
        await weak.start()
        return weak

    with teacher_bitrate(TEACHER_BPS):
        try:
            yield start
        finally:
            for weak in made:
                await weak.close()


async def settle(seconds: float) -> tuple[float, float]:
    t0 = time.monotonic()
    await asyncio.sleep(seconds)
    return t0, time.monotonic()


async def test_good_gets_the_high_layer_at_about_30_fps(lesson_on: Starts) -> None:
    weak = await lesson_on("good")
    pupil = weak.pupils[0]
    await settle(4)  # connected, first keyframe
    t0, t1 = await settle(6)
    video_sent, _ = weak.sent_fps(t0, t1)
    mean, _ = pupil.watch.fps(t0, t1)
    # ~30 fps: all the teacher sent (fewer than 30 on a machine too busy to encode them all)
    assert mean >= 0.9 * video_sent and video_sent >= 5, (mean, video_sent)
    assert weak.teacher is not None
    teacher_froze = weak.teacher.taken.freezes(t0 - 1, t1 - 1)  # ~ a frame's way to the student
    assert len(pupil.watch.freezes(t0, t1)) <= len(teacher_froze), pupil.watch.freezes(t0, t1)
    layers = {spatial_of(s.feeds[pupil.pid]) for s in weak.samples_in(t0, t1)}
    assert layers <= {"high", "single"}, layers
    assert pupil.watch.audio_played(t0, t1) >= 0.98


OUTAGE = (
    "issue 16: after an outage the server answers the student's NACKs with seconds-old "
    "packets (a flood the link drops) and asks the teacher for no keyframe"
)
LAYERS = "issue 16: needs layers and per-student adaptation (branches i16-layers, i16-adapt)"


@pytest.mark.xfail(strict=True, reason=OUTAGE)
async def test_after_an_outage_the_picture_is_back_within_2_s(lesson_on: Starts) -> None:
    weak = await lesson_on("good")
    pupil = weak.pupils[0]
    await settle(5)
    assert pupil.watch.video_times(time.monotonic() - 1, time.monotonic()), "no video before"
    pupil.link.set_profile("outage")
    await asyncio.sleep(5.0)
    back = time.monotonic()
    await asyncio.sleep(3.0)
    key = pupil.watch.first_keyframe_after(back)
    late = None if key is None else round(key - back, 2)
    assert key is not None and key - back <= 2.0, f"first keyframe {late} s after the outage"
    assert pupil.watch.fps(key, key + 1)[0] >= 10, "the picture moves again"


@pytest.mark.xfail(strict=True, reason=LAYERS)
async def test_rural_gets_the_low_layer_without_freezes_and_keeps_the_sound(
    lesson_on: Starts,
) -> None:
    weak = await lesson_on("rural")
    pupil = weak.pupils[0]
    await settle(5)
    t0, t1 = await settle(10)
    layers = {spatial_of(s.feeds[pupil.pid]) for s in weak.samples_in(t0, t1)}
    assert layers == {"low"}, layers
    assert max(pupil.watch.freezes(t0, t1), default=0) <= 1.0, pupil.watch.freezes(t0, t1)
    assert pupil.watch.audio_played(t0, t1) >= 0.98


@pytest.mark.xfail(strict=True, reason=LAYERS)
async def test_edge_falls_back_to_sound_and_video_returns_on_3g(lesson_on: Starts) -> None:
    weak = await lesson_on("edge")
    pupil = weak.pupils[0]
    start = time.monotonic()
    await settle(6)
    by_5_s = {spatial_of(s.feeds[pupil.pid]) for s in weak.samples_in(start + 5, start + 6)}
    assert by_5_s == {"off"}, f"the server stops the video by itself within 5 s: {by_5_s}"
    assert weak.samples[-1].feeds[pupil.pid]["mode"] == "video", "the student's own choice stays"
    t0, t1 = await settle(10)
    assert {spatial_of(s.feeds[pupil.pid]) for s in weak.samples_in(t0, t1)} == {"off"}
    assert pupil.watch.audio_played(t0, t1) >= 0.95
    pupil.link.set_profile("3g")
    back = time.monotonic()
    deadline = back + 20
    while not pupil.watch.video_times(back + 1, time.monotonic()):
        assert time.monotonic() < deadline, "video back within 20 s on 3g"
        await asyncio.sleep(0.5)


@pytest.mark.xfail(strict=True, reason=LAYERS)
async def test_one_student_on_edge_costs_the_others_nothing(lesson_on: Starts) -> None:
    weak = await lesson_on(*["good"] * GOOD_STUDENTS, "edge")
    await settle(6)
    t0, t1 = await settle(20)
    video_sent, _ = weak.sent_fps(t0, t1)
    first, last = weak.between(t0, t1)
    forced = keyframes_sent(last.camera) - keyframes_sent(first.camera)
    assert forced <= 3 * (last.at - first.at) / 60 + 1, f"{forced} keyframes in 20 s"
    for pupil in weak.pupils[:GOOD_STUDENTS]:
        mean, _ = pupil.watch.fps(t0, t1)
        assert mean >= 0.9 * video_sent, (mean, video_sent)
        assert pupil.watch.freezes(t0, t1) == []
