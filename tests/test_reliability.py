"""Faults: Redis going away, the server restarting, clients that drop or stop reading."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from client.rest import RestClient, token_from_link
from client.sabak_client import CallFailed, SabakClient
from store.redis_launcher import EmbeddedRedis
from tests.conftest import (
    Running,
    clean_env,
    free_port,
    make_classroom,
    sabak_serve,
    settings_for,
    start_server,
)


@pytest.fixture
async def own_redis(tmp_path: Path) -> AsyncIterator[EmbeddedRedis]:
    """A Redis this test may kill and bring back on the same port and files."""
    redis = EmbeddedRedis(tmp_path / "redis-data")
    await redis.start()
    yield redis
    await redis.stop()


async def joined(server: Running, link: str, lesson_id: str, **kw: Any) -> SabakClient:
    client = server.client(link, **kw)
    await client.connect()
    await client.join(lesson_id)
    return client


async def log_of(server: Running, lesson_id: str) -> list[dict[str, Any]]:
    async with server.rest() as rest:
        return await rest.events(lesson_id)


async def test_redis_gone_for_10_s_nothing_acknowledged_is_lost_or_doubled(
    tmp_path: Path, own_redis: EmbeddedRedis
) -> None:
    server = await start_server(settings_for(tmp_path / "var", own_redis.url, free_port()))
    try:
        room = await make_classroom(server, n_students=3)
        lesson_id = room.lesson["id"]
        kids = [await joined(server, s["link"], lesson_id) for s in room.students]
        await kids[0].chat("before", client_id="before")
        assert own_redis.pid is not None
        os.kill(own_redis.pid, signal.SIGKILL)  # Redis dies mid-lesson

        async def chat(kid: SabakClient, n: int) -> list[str]:
            acked = []
            for i in range(3):
                ack = await kid.call("chat_send", {"client_id": f"{n}-{i}", "text": "x"}, 30)
                acked.append(f"{n}-{i}")
                assert ack["ok"]
            return acked

        sending = asyncio.gather(*(chat(k, n) for n, k in enumerate(kids)))
        await asyncio.sleep(10)
        assert not sending.done(), "nothing can be acknowledged while Redis is down"
        await own_redis.start()  # back, from its append-only file
        acked = [cid for batch in await asyncio.wait_for(sending, 30) for cid in batch]
        log = await log_of(server, lesson_id)
        posted = [r["data"]["client_id"] for r in log if r["type"] == "ChatPosted"]
        assert sorted(posted) == sorted(["before", *acked]) and len(set(posted)) == 10
        assert [r["seq"] for r in log] == list(range(1, len(log) + 1))
        for kid in kids:
            await kid.close()
    finally:
        await server.runner.cleanup()


async def test_past_the_outbox_bound_writes_are_refused_clearly(
    tmp_path: Path, own_redis: EmbeddedRedis
) -> None:
    settings = settings_for(tmp_path / "var", own_redis.url, free_port(),
                            SABAK_REDIS_OUTBOX_MAX_EVENTS="3",
                            SABAK_LESSON_CHAT_RATE_MESSAGES="100")  # fmt: skip
    server = await start_server(settings)
    try:
        room = await make_classroom(server, n_students=1)
        kid = await joined(server, room.students[0]["link"], room.lesson["id"])
        assert own_redis.pid is not None
        os.kill(own_redis.pid, signal.SIGKILL)
        held = [asyncio.ensure_future(kid.call("chat_send", {"client_id": f"h{i}", "text": "x"},
                                                60)) for i in range(3)]  # fmt: skip
        await asyncio.sleep(0.5)
        with pytest.raises(CallFailed) as info:
            await kid.chat("one too many")
        assert info.value.code == "log-unavailable" and "try again" in info.value.message
        await own_redis.start()
        assert all(ack["ok"] for ack in await asyncio.gather(*held))
        await kid.close()
    finally:
        await server.runner.cleanup()


async def test_the_embedded_redis_killed_by_the_os_comes_back_from_its_aof(
    tmp_path: Path,
) -> None:
    port = free_port()
    env = clean_env(SABAK_SERVER_PORT=str(port), SABAK_SERVER_DATA_DIR=str(tmp_path / "var"))
    proc = await sabak_serve(env)
    try:
        url = f"http://127.0.0.1:{port}"
        async with RestClient(url, (tmp_path / "var" / "admin.key").read_text().strip()) as rest:
            course = await rest.create_course("Before the kill")
            redis_pid = psutil.Process(proc.pid).children()[0].pid
            os.kill(redis_pid, signal.SIGKILL)  # the OS kills Redis (say, out of memory)
            for _ in range(50):
                await asyncio.sleep(0.2)
                children = psutil.Process(proc.pid).children()
                if children and children[0].pid != redis_pid:
                    break
            await asyncio.sleep(0.5)
            courses = await rest.request("GET", "/api/courses")
        assert [c["id"] for c in courses] == [course["id"]]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 20) == 0


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
async def test_a_server_restart_mid_lesson_is_survived(
    tmp_path: Path, own_redis: EmbeddedRedis, how: signal.Signals
) -> None:
    port = free_port()
    env = clean_env(SABAK_SERVER_PORT=str(port), SABAK_SERVER_DATA_DIR=str(tmp_path / "var"),
                    SABAK_REDIS_URL=own_redis.url)  # fmt: skip
    proc = await sabak_serve(env)
    url = f"http://127.0.0.1:{port}"
    key = (tmp_path / "var" / "admin.key").read_text().strip()
    async with RestClient(url, key) as rest:
        course = await rest.create_course("Restarts")
        students = await rest.add_students(course["id"], ["Ana", "Bek"])
        teacher = await rest.create_teacher("T", [course["id"]])
        lesson = await rest.create_lesson(course["id"], "L")
        await rest.start_lesson(lesson["id"])
    people = [SabakClient(url, token=token_from_link(x["link"]))
              for x in (teacher, *students)]  # fmt: skip
    for person in people:
        await person.connect()
        await person.join(lesson["id"])
    teach, ana, bek = people
    await ana.chat("before")
    poll = await teach.call("poll_open", {"kind": "yesno", "question": "Still there?"})
    quiz = await teach.call("quiz_start", {"title": "Q", "limit_s": 300, "questions": [
        {"kind": "number", "text": "1+1", "correct": [2]}]})  # fmt: skip
    deadline = (await ana.next("quiz_started"))["deadline"]
    joins = [p.joins for p in people]
    proc.send_signal(how)
    await proc.wait()
    await asyncio.sleep(1)
    proc = await sabak_serve(env)
    try:
        after = [await p.rejoined(n, timeout=30) for p, n in zip(people, joins, strict=True)]
        snap = after[1]["snapshot"]
        assert [m["text"] for m in snap["chat"]] == ["before"]
        assert [p["poll_id"] for p in snap["polls"]] == [poll["poll_id"]]
        assert snap["quizzes"][0]["deadline"] >= deadline  # never earlier; time back for the gap
        await ana.call("poll_answer", {"poll_id": poll["poll_id"], "answer": 0})
        await bek.call("quiz_answer", {"quiz_id": quiz["quiz_id"], "position": 1, "answer": 2})
        async with RestClient(url, key) as rest:
            report = await rest.report(f"/api/lessons/{lesson['id']}/report")
        for row in report["learners"]:
            assert [s["state"] for s in row["segments"]] == ["present", "server", "present"]
            assert row["gaps"]["server"]["count"] == 1
    finally:
        for person in people:
            await person.close()
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 20)


async def test_network_drops_of_10_and_60_s_merge_into_one_learner(server: Running) -> None:
    # Both drops at once, by two students: the 10 s one costs no wall time of its own.
    drops = (10, 60)
    room = await make_classroom(server, n_students=len(drops))
    lesson_id = room.lesson["id"]

    async def drop_and_return(link: str, seconds: int) -> SabakClient:
        phone = await joined(server, link, lesson_id, reconnection=False)
        await phone.sio.eio.ws.close()
        await asyncio.sleep(seconds)
        return await joined(server, link, lesson_id)

    links = [s["link"] for s in room.students]
    backs = await asyncio.gather(*map(drop_and_return, links, drops))
    async with server.rest() as rest:
        report = await rest.report(f"/api/lessons/{lesson_id}/report")
    rows = [row for s in room.students for row in report["learners"] if row["id"] == s["id"]]
    assert len(rows) == len(report["learners"]) == len(drops)  # one learner each, no extra
    for row, seconds in zip(rows, drops, strict=True):
        assert row["gaps"]["network"]["count"] == 1
        assert seconds - 1 <= row["gaps"]["network"]["minutes"] * 60 <= seconds + 2
    for back in backs:
        await back.close()


def raw_websocket(port: int, token: str) -> socket.socket:
    """A bare WebSocket that speaks just enough engine.io to join, then never reads again."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.sendall(
        f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n".encode()
    )
    return sock


def ws_frame(text: str) -> bytes:
    data = text.encode()
    mask = b"\x01\x02\x03\x04"
    header = bytes([0x81, 0x80 | 126]) + len(data).to_bytes(2, "big") if len(data) > 125 else (
        bytes([0x81, 0x80 | len(data)]))  # fmt: skip
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))


async def test_a_client_that_stops_reading_is_cut_off_and_others_are_not_held_up(
    tmp_path: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("server.app.MAX_QUEUED_PACKETS", 50)
    settings = settings_for(tmp_path / "var", redis_url, free_port(),
                            SABAK_LESSON_CHAT_RATE_MESSAGES="1000",
                            SABAK_LESSON_CHAT_MAX_CHARS="16000",
                            SABAK_LESSON_CHAT_HISTORY_REPLAY="5")  # fmt: skip
    server = await start_server(settings)
    try:
        room = await make_classroom(server, n_students=2)
        lesson_id = room.lesson["id"]
        teacher = await joined(server, room.teacher["link"], lesson_id)
        reader = await joined(server, room.students[0]["link"], lesson_id)
        token = token_from_link(room.students[1]["link"])
        slow = raw_websocket(settings.server.port, token)
        await asyncio.sleep(0.3)
        slow.sendall(ws_frame("40" + json.dumps({"token": token})))
        await asyncio.sleep(0.3)
        slow.sendall(ws_frame("420" + json.dumps(["join", {"lesson_id": lesson_id}])))
        await asyncio.sleep(0.5)
        for i in range(600):
            await teacher.call("chat_send", {"client_id": f"m{i}", "text": f"{i} " + "x" * 15000})
        texts = [(await reader.next("chat", timeout=30))["text"] for _ in range(600)]
        assert [t.split()[0] for t in texts] == [str(i) for i in range(600)]  # all, in order
        slow_id = room.students[1]["id"]
        gone = await teacher.wait_for(
            "participant", lambda p: p["id"] == slow_id and p["presence"] == "away", timeout=10
        )
        assert gone["presence"] == "away"
        again = await joined(server, room.students[1]["link"], lesson_id)  # resumes
        assert again.welcome["snapshot"]["you"]["presence"] == "present"
        slow.close()
        for c in (teacher, reader, again):
            await c.close()
    finally:
        await server.runner.cleanup()


async def test_a_chat_flood_is_rate_limited_and_others_still_get_through(
    server: Running,
) -> None:
    room = await make_classroom(server, n_students=2)
    lesson_id = room.lesson["id"]
    flooder = await joined(server, room.students[0]["link"], lesson_id)
    calm = await joined(server, room.students[1]["link"], lesson_id)
    codes: list[str] = []

    async def flood() -> None:
        for i in range(200):  # 100 a second for 2 s
            ack = await flooder.sio.call("chat_send", {"client_id": f"f{i}", "text": "spam"})
            codes.append("ok" if ack["ok"] else ack["error"]["code"])
            await asyncio.sleep(0.01)

    started = time.monotonic()
    flooding = asyncio.ensure_future(flood())
    for i in range(3):
        await calm.chat(f"calm {i}")
        await asyncio.sleep(0.5)
    await flooding
    windows = 1 + int((time.monotonic() - started) // 5)  # 5 messages per 5 s window
    assert 5 <= codes.count("ok") <= 5 * windows
    assert codes.count("ok") + codes.count("rate-limited") == 200
    texts = [m["text"] for m in calm.inbox["chat"]]
    assert [t for t in texts if t.startswith("calm")] == ["calm 0", "calm 1", "calm 2"]
    await flooder.close()
    flooder = await joined(server, room.students[0]["link"], lesson_id)  # reconnecting...
    refused = await flooder.sio.call("chat_send", {"client_id": "again", "text": "spam"})
    if time.monotonic() - started < 5:
        assert refused["error"]["code"] == "rate-limited"  # ...does not reset the limit
    for c in (flooder, calm):
        await c.close()
