"""Hostile input, wrong roles and forged tokens: refused before any change, and audited."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp
import pytest
import socketio

from client.rest import RestError, token_from_link
from client.sabak_client import CallFailed, SabakClient
from lessons.tokens import Claims, Signer
from signaling.protocol import INBOUND
from tests.conftest import Classroom, Running, make_classroom

pytestmark = pytest.mark.store("memory")  # not about Redis: the in-memory store

TEACHER_ONLY = sorted(name for name, ev in INBOUND.items() if ev.teacher_only)


async def joined(server: Running, link: str, lesson_id: str | None = None) -> SabakClient:
    client = server.client(link, reconnection=False)
    await client.connect()
    await client.join(lesson_id)
    return client


async def refused_connect(server: Running, auth: dict[str, Any]) -> str:
    """The error code the server gave for a refused connection."""
    sio = socketio.AsyncClient(reconnection=False)
    errors: list[Any] = []
    sio.on("connect_error", errors.append)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await sio.connect(server.url, auth=auth, transports=["websocket"], wait_timeout=5)
    await sio.disconnect()
    error = errors[0] if errors and isinstance(errors[0], dict) else {}
    return str(error.get("data", error).get("code"))


async def test_a_student_sending_every_teacher_event_is_refused_and_audited(
    server: Running, classroom: Classroom
) -> None:
    lesson_id = classroom.lesson["id"]
    kid = await joined(server, classroom.students[0]["link"], lesson_id)
    async with server.rest() as rest:
        before = await rest.events(lesson_id)
    for event in TEACHER_ONLY:
        ack = await kid.sio.call(event, {}, timeout=5)
        assert ack["error"]["code"] == "forbidden", event
    async with server.rest() as rest:
        assert await rest.events(lesson_id) == before
        await asyncio.sleep(0.3)
        audit = await rest.request("GET", "/api/audit?count=1000")
    mine = [a for a in audit if a.get("actor") == classroom.students[0]["id"]]
    assert sorted(a["event"] for a in mine) == TEACHER_ONLY
    assert all(a["code"] == "forbidden" and a["role"] == "student" for a in mine)
    await kid.close()


async def test_ids_of_another_lesson_are_refused(server: Running, classroom: Classroom) -> None:
    other = await make_classroom(server, n_students=1)
    kid = server.client(classroom.students[0]["link"], reconnection=False)
    await kid.connect()
    with pytest.raises(CallFailed) as info:
        await kid.join(other.lesson["id"])
    assert info.value.code == "wrong-lesson"
    await kid.close()
    teacher = await joined(server, classroom.teacher["link"], classroom.lesson["id"])
    stranger = await joined(server, other.students[0]["link"], other.lesson["id"])
    with pytest.raises(CallFailed) as info:
        await teacher.call("participant_remove", {"participant_id": other.students[0]["id"]})
    assert info.value.code == "unknown-participant"
    async with server.rest(token_from_link(classroom.teacher["link"])) as rest:
        with pytest.raises(RestError) as rest_info:
            await rest.end_lesson(other.lesson["id"])
    assert rest_info.value.code == "forbidden"
    for c in (teacher, stranger):
        await c.close()


async def test_a_guest_cannot_skip_the_waiting_room(server: Running) -> None:
    room = await make_classroom(server, n_students=0, allow_guests=True)
    guest = SabakClient(server.url, guest_code=room.lesson["code"], name="Sneaky")
    await guest.connect()
    assert (await guest.join())["waiting"]
    for event, payload in [("chat_send", {"client_id": "a", "text": "hi"}),
                           ("hand_raise", {}), ("check_answer", {"check_id": 1}),
                           ("poll_answer", {"poll_id": 1, "answer": 0})]:  # fmt: skip
        ack = await guest.sio.call(event, payload, timeout=5)
        assert ack["error"]["code"] == "not-joined", event
    resume = guest.welcome["resume"]
    await guest.close()
    other = await make_classroom(server, n_students=0, allow_guests=True)
    again = SabakClient(server.url, token=resume, reconnection=False)
    await again.connect()
    with pytest.raises(CallFailed) as info:
        await again.join(other.lesson["id"])
    assert info.value.code == "wrong-lesson"
    await again.close()


async def test_forged_expired_and_revoked_tokens_are_refused(
    server: Running, classroom: Classroom
) -> None:
    token = token_from_link(classroom.students[0]["link"])
    secret = (server.settings.data_path / "secret.key").read_text().strip().encode()
    claims = Claims("student", classroom.students[0]["id"], classroom.course_id, 1, 0)
    head, body, mac = token.split(".")
    cases = {
        "tampered": f"{head}.{body[:-2]}{'A' if body[-2] != 'A' else 'B'}{body[-1]}.{mac}",
        "other key": Signer(b"not the server's key").sign(claims),
        "expired": Signer(secret).sign(claims),
        "garbage": "not-a-token",
    }
    for name, bad in cases.items():
        message = await refused_connect(server, {"token": bad})
        expected = "token-expired" if name == "expired" else "bad-token"
        assert expected in message, (name, message)
    async with server.rest() as rest:
        await rest.request("POST", f"/api/students/{classroom.students[0]['id']}/rotate-link")
    assert "link-revoked" in await refused_connect(server, {"token": token})
    async with server.rest() as rest:
        await asyncio.sleep(0.3)
        audit = await rest.request("GET", "/api/audit")
        counts = await rest.request("GET", "/api/audit/counts")
    # A signed token (expired, revoked) is someone: stored. Garbage anyone can send: counted.
    assert {"token-expired", "link-revoked"} <= {a["code"] for a in audit}
    assert "bad-token" not in {a["code"] for a in audit}
    assert sum(c["count"] for c in counts if c["code"] == "bad-token") == 3


async def test_a_websocket_from_a_foreign_origin_is_refused(server: Running) -> None:
    url = server.url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await http.ws_connect(url, headers={"Origin": "http://evil.example"})
        ws = await http.ws_connect(url, headers={"Origin": server.url})
        assert (await ws.receive()).data.startswith("0")
        await ws.close()


async def raw_socket(server: Running, token: str) -> aiohttp.ClientWebSocketResponse:
    http = aiohttp.ClientSession()
    url = server.url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
    ws = await http.ws_connect(url)
    ws._sabak_http = http  # type: ignore[attr-defined]
    await ws.receive()  # engine.io open
    await ws.send_str("40" + json.dumps({"token": token}))
    await ws.receive()  # socket.io connect
    return ws


@pytest.mark.parametrize(
    "frame",
    [
        "42" + json.dumps(["chat_send", {"client_id": "a", "text": "x" * 70_000}]),  # oversized
        '42["chat_send", {"client_id": ',  # invalid JSON
        "42" + "[" * 20_000 + "]" * 20_000,  # deeply nested, under the size limit
        "451-" + json.dumps(["chat_send", {"_placeholder": True, "num": 0}]),  # binary attached
        "4" + "9" * 20,  # unknown packet type
    ],
    ids=["oversized", "invalid-json", "nested", "binary", "unknown-packet"],
)
async def test_hostile_frames_never_hurt_the_server_or_other_lessons(
    server: Running, classroom: Classroom, frame: str
) -> None:
    other = await make_classroom(server, n_students=1)
    bystander = await joined(server, other.students[0]["link"], other.lesson["id"])
    ws = await raw_socket(server, token_from_link(classroom.students[0]["link"]))
    await ws.send_str(frame)
    if frame.startswith("451-"):
        await ws.send_bytes(b"\x00" * 100)
    await asyncio.sleep(0.5)
    await ws.close()
    await ws._sabak_http.close()  # type: ignore[attr-defined]
    assert (await bystander.chat("still here"))["message_id"] == 1
    async with server.rest() as rest:
        assert (await rest.request("GET", "/healthz"))["ok"]
    await bystander.close()


async def test_binary_where_text_is_expected_closes_the_connection(
    server: Running, classroom: Classroom
) -> None:
    """Sabak accepts no binary data: a binary event (with its attachment) is a protocol
    violation, never buffered; the connection is closed (docs/reliability.md)."""
    kid = await joined(server, classroom.students[0]["link"], classroom.lesson["id"])
    await kid.sio.emit("chat_send", {"client_id": "b", "text": b"\x00\x01"})
    for _ in range(40):
        if not kid.sio.connected:
            break
        await asyncio.sleep(0.05)
    assert not kid.sio.connected
    async with server.rest() as rest:
        log = await rest.events(classroom.lesson["id"])
    assert not [r for r in log if r["type"] == "ChatPosted"]
    await kid.close()


@pytest.mark.parametrize(
    ("body", "headers", "code", "status"),
    [
        ("{not json", {"Content-Type": "application/json"}, "invalid-json", 400),
        ("[" * 100_000, {"Content-Type": "application/json"}, "invalid-json", 400),
        (json.dumps({"title": 5}), {"Content-Type": "application/json"}, "invalid-payload", 400),
        (json.dumps({"title": "x", "admin": True}), {}, "invalid-payload", 400),
        ("x" * 2_000_000, {"Content-Type": "application/json"}, "body-too-large", 413),
    ],
)
async def test_hostile_http_bodies(
    server: Running, body: str, headers: dict[str, str], code: str, status: int
) -> None:
    async with aiohttp.ClientSession() as http:
        auth = {"Authorization": f"Bearer {server.admin_key}", **headers}
        async with http.post(server.url + "/api/courses", data=body, headers=auth) as resp:
            assert resp.status == status
            assert (await resp.json())["error"]["code"] == code


async def test_rest_without_or_with_a_wrong_key(server: Running) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(server.url + "/api/courses") as resp:
            assert resp.status == 401
        headers = {"Authorization": "Bearer " + "x" * 43}
        async with http.get(server.url + "/api/courses", headers=headers) as resp:
            assert resp.status == 401


async def test_timing_of_a_check_is_the_servers(server: Running, classroom: Classroom) -> None:
    """A client cannot send its own time or deadline: there is no such field to send."""
    kid = await joined(server, classroom.students[0]["link"], classroom.lesson["id"])
    ack = await kid.sio.call("check_answer", {"check_id": 1, "ts": time.time()}, timeout=5)
    assert ack["error"]["code"] == "invalid-payload"
    await kid.close()
