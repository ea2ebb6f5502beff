"""Media under hostile use: overlapping requests, a crowded room, a hung worker, named addresses.

Real worker processes, real aiortc peers on 127.0.0.1, the real Redis of the test suite; the
worker's UDP sockets are counted by the kernel (psutil reads /proc).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import psutil
import pytest
from aiortc.mediastreams import VideoStreamTrack

from client.sabak_client import CallFailed
from media.connections import REMOTE_CANDIDATES
from media.ice_policy import RemoteAddresses
from media.room import MediaRoom
from media.rooms import IN_FLIGHT
from tests.conftest import Running, free_port, make_classroom, settings_for, start_server
from tests.media_peers import LOOPBACK, AiortcStudent, AiortcTeacher, new_pc
from tests.test_media_workers import class_with_media, frames_flow, media_of, until

pytestmark = [pytest.mark.store("memory"), pytest.mark.timeout(120)]

FLOOD = 50


def udp_sockets(pid: int) -> int:
    return len(psutil.Process(pid).net_connections(kind="udp"))


@pytest.fixture
async def one_worker(tmp_path: Path, redis_url: str) -> AsyncIterator[Running]:
    settings = settings_for(tmp_path / "var", redis_url, free_port(), SABAK_MEDIA_WORKERS="1")
    running = await start_server(settings)
    try:
        yield running
    finally:
        await running.runner.cleanup()


async def test_overlapping_subscribes_leave_one_connection(one_worker: Running) -> None:
    media = media_of(one_worker)
    await media.start()
    pid = media.workers.workers[0].pid
    assert pid is not None
    baseline = udp_sockets(pid)
    room, teacher, student = await class_with_media(one_worker)
    try:
        await frames_flow(student, "before the flood")
        settled = udp_sockets(pid)  # the teacher's connection and the student's
        assert settled > baseline
        calls = [student.client.call("media_subscribe", {"mode": "video"}, timeout=60)
                 for _ in range(FLOOD)]  # fmt: skip
        answers = await asyncio.gather(*calls, return_exceptions=True)
        refused = {a.code for a in answers if isinstance(a, CallFailed)}
        answered = sum(isinstance(a, dict) for a in answers)
        assert answered >= 1 and refused <= {"superseded", "media-busy"}, answers
        assert "media-busy" in refused, "the server relayed every one of the flood"
        await asyncio.sleep(1)  # what a superseded request was still doing is over
        assert udp_sockets(pid) == settled, "a superseded connection kept its sockets"
        stats = await media.room(room.lesson["id"]).stats()
        assert stats["peers"] == 2
        await student.subscribe()  # the page's own request still works afterwards
        await frames_flow(student, "after the flood")
        async with one_worker.rest() as rest:
            await rest.end_lesson(room.lesson["id"])
        await until(lambda: udp_sockets(pid) == baseline, "the lesson's sockets to close")
    finally:
        await student.close()
        await teacher.close()


async def test_a_candidate_flood_is_refused_before_the_worker(one_worker: Running) -> None:
    _, teacher, student = await class_with_media(one_worker)
    try:
        await student.client.call("media_subscribe", {"mode": "video"})  # never answered
        line = f"candidate:1 1 udp 2130706431 {LOOPBACK} 9 typ host"
        ice = {"direction": "subscribe", "candidate": {"candidate": line, "sdpMid": "0"}}
        calls = [student.client.call("media_ice", ice, timeout=30) for _ in range(FLOOD * 4)]
        answers = await asyncio.gather(*calls, return_exceptions=True)
        codes = Counter(a.code if isinstance(a, CallFailed) else repr(a) for a in answers)
        # each one let through waits for the description that never comes
        assert set(codes) == {"media-busy", "no-description"}, codes
        assert codes["no-description"] <= IN_FLIGHT["candidates"], codes
    finally:
        await student.close()
        await teacher.close()


async def test_a_full_lesson_refuses_another_connection(tmp_path: Path, redis_url: str) -> None:
    settings = settings_for(
        tmp_path / "var", redis_url, free_port(), SABAK_MEDIA_MAX_PEERS_PER_LESSON="2"
    )
    server = await start_server(settings)
    room = await make_classroom(server, n_students=2)
    teacher = AiortcTeacher(server, room.teacher["link"])
    await teacher.join(room.lesson["id"])
    student = AiortcStudent(server, room.students[0]["link"])
    await student.join(room.lesson["id"])  # two connections: the cap
    second = AiortcStudent(server, room.students[1]["link"])
    try:
        with pytest.raises(CallFailed) as refused:
            await second.join(room.lesson["id"])
        assert refused.value.code == "media-full"
        await teacher.publish()  # a connection that replaces one still fits
        await student.subscribe()
        await frames_flow(student, "after the refusal")
        await teacher.client.call("media_unpublish")
        await second.subscribe()  # the room is full of students again
        await teacher.publish()  # a full room never silences the teacher
        await frames_flow(second, "the teacher in a full room")
    finally:
        await second.close()
        await student.close()
        await teacher.close()
        await server.runner.cleanup()


async def test_a_hung_worker_is_killed_and_replaced(tmp_path: Path, redis_url: str) -> None:
    ping, timeout = 0.3, 1.0
    settings = settings_for(
        tmp_path / "var", redis_url, free_port(), SABAK_MEDIA_WORKERS="1",
        SABAK_MEDIA_WORKER_PING_S=str(ping), SABAK_MEDIA_WORKER_PING_TIMEOUT_S=str(timeout),
    )  # fmt: skip
    server = await start_server(settings)
    media = media_of(server)
    room, teacher, student = await class_with_media(server)
    worker = media.workers.pinned(room.lesson["id"])
    assert worker is not None and worker.pid is not None
    hung = worker.pid
    try:
        await frames_flow(student, "before the hang")
        os.kill(hung, signal.SIGSTOP)  # alive, but its event loop answers nothing
        stopped = time.monotonic()
        for client in (teacher.client, student.client):
            await client.wait_for("media_restart", lambda _: True, timeout=10)
        noticed = time.monotonic() - stopped
        assert noticed < ping + timeout + 1.0, f"the hang was noticed after {noticed:.1f} s"
        assert not psutil.pid_exists(hung), "the hung worker was not killed"
        await teacher.publish()
        await student.subscribe()
        await frames_flow(student, "after the hung worker was replaced")
        assert worker.pid not in (None, hung)
    finally:
        if psutil.pid_exists(hung):
            os.kill(hung, signal.SIGKILL)
        await student.close()
        await teacher.close()
        await server.runner.cleanup()


@pytest.mark.parametrize(("accept", "checked"), [((), False), ((LOOPBACK,), True)])
async def test_stun_checks_go_only_to_allowed_addresses(
    accept: tuple[str, ...], checked: bool
) -> None:
    """A candidate naming a loopback port gets no STUN check unless the settings list it."""
    received = await stun_trap(accept, others=0)
    if checked:  # the control: the same trap does catch checks the settings allow
        assert received and all(is_stun_binding(d) for d in received), received
    else:
        assert received == [], "the server sent STUN checks to a loopback port"


async def test_trickled_candidates_past_the_bound_get_no_checks() -> None:
    received = await stun_trap((LOOPBACK,), others=REMOTE_CANDIDATES)
    assert received == [], "the server checked a candidate past the bound"


async def stun_trap(accept: tuple[str, ...], others: int) -> list[bytes]:
    """What a UDP socket named by a publisher's trickled candidate receives from the server.

    `others` candidates (unused loopback ports, lower priority) are trickled before it.
    """
    trap = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    trap.bind((LOOPBACK, 0))
    trap.setblocking(False)
    room = MediaRoom(ice_host_addresses=(LOOPBACK,), ice_accept_remote_ips=accept)
    pc = new_pc()
    try:
        pc.addTrack(VideoStreamTrack())
        await pc.setLocalDescription(await pc.createOffer())
        lines = pc.localDescription.sdp.splitlines()  # its own candidates would connect it
        skip = ("a=candidate:", "a=end-of")
        offer = "\r\n".join(x for x in lines if not x.startswith(skip)) + "\r\n"
        await room.publish("teacher", offer, {"camera"}, seat="teacher")
        port = trap.getsockname()[1]
        named = [f"candidate:{n} 1 udp 1000 {LOOPBACK} {port + 1 + n} typ host"
                 for n in range(others)]  # fmt: skip
        named.append(f"candidate:9 1 udp 2130706431 {LOOPBACK} {port} typ host")
        for line in named:
            await room.add_ice_candidate("teacher", "publish", {"candidate": line, "sdpMid": "0"})
        return await datagrams(trap, within=3.0)
    finally:
        await room.close()
        await pc.close()
        trap.close()


async def datagrams(sock: socket.socket, within: float) -> list[bytes]:
    loop, got = asyncio.get_running_loop(), []
    deadline = time.monotonic() + within
    while (left := deadline - time.monotonic()) > 0:
        with contextlib.suppress(TimeoutError):
            got.append(await asyncio.wait_for(loop.sock_recv(sock, 2048), left))
    return got


def is_stun_binding(data: bytes) -> bool:
    # RFC 5389: message type 0x0001 (Binding request) and the magic cookie
    return len(data) >= 20 and data[:2] == b"\x00\x01" and data[4:8] == b"\x21\x12\xa4\x42"


@pytest.mark.parametrize(
    ("host", "usable"),
    [
        ("192.168.1.20", True), ("10.4.0.7", True), ("172.16.9.1", True),  # school LANs
        ("100.64.3.2", True), ("203.0.113.9", True), ("2001:db8::7", True), ("fd00::5", True),
        ("127.0.0.1", False), ("127.0.0.2", False), ("::1", False), ("::ffff:127.0.0.1", False),
        ("0.0.0.0", False), ("0.1.2.3", False), ("::", False), ("169.254.169.254", False),
        ("fe80::1%eth0", False), ("224.0.0.251", False), ("ff02::1", False),
        ("255.255.255.255", False), ("240.0.0.1", False), ("d3adb33f.local", False),
    ],
)  # fmt: skip
def test_which_addresses_may_get_checks_by_default(host: str, usable: bool) -> None:
    assert RemoteAddresses().allows(host) is usable
    assert RemoteAddresses(["10.4.0.7"]).allows(host) is (host == "10.4.0.7")
