"""Hostile transports (issue 12): binary floods, idle and excess sessions, big polling
bodies, slow headers, malformed packets and non-ASCII tokens never hurt the server."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from client.rest import RestClient, token_from_link
from patches.engineio.gate import Gate
from patches.engineio.inbound import frame_problem, message_problem
from tests.conftest import (
    Classroom,
    Running,
    clean_env,
    free_port,
    sabak_serve,
    settings_for,
    start_server,
)
from tests.test_security import refused_connect

pytestmark = pytest.mark.store("memory")  # not about Redis: the in-memory store

WS_PATH = "/socket.io/?EIO=4&transport=websocket"
POLL_PATH = "/socket.io/?EIO=4&transport=polling"


async def engineio_socket(
    http: aiohttp.ClientSession, url: str, auth: dict[str, Any] | None = None
) -> aiohttp.ClientWebSocketResponse:
    """A WebSocket with engine.io open; with `auth`, connected to socket.io as well."""
    ws = await http.ws_connect(url.replace("http", "ws") + WS_PATH)
    assert (await ws.receive_str()).startswith("0")
    if auth is not None:
        await ws.send_str("40" + json.dumps(auth))
        assert (await ws.receive_str()).startswith("40")
    return ws


async def closed_within(ws: aiohttp.ClientWebSocketResponse, seconds: float) -> bool:
    """True if the server closed the socket in time; engine.io pings are answered."""
    try:
        async with asyncio.timeout(seconds):
            while True:
                msg = await ws.receive()
                if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                    return True
                if msg.type is aiohttp.WSMsgType.ERROR:
                    return True
                if msg.type is aiohttp.WSMsgType.TEXT and msg.data == "2":
                    await ws.send_str("3")
    except TimeoutError:
        return False


def vm_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.fixture
async def served(tmp_path: Path, redis_url: str) -> AsyncIterator[tuple[int, str, str]]:
    """`sabak serve` in its own process (its memory is measured): pid, url, a student token."""
    port = free_port()
    env = clean_env(
        SABAK_REDIS_URL=redis_url,
        SABAK_SERVER_PORT=str(port),
        SABAK_SERVER_DATA_DIR=str(tmp_path / "var"),
    )
    proc = await sabak_serve(env)
    url = f"http://127.0.0.1:{port}"
    key = (tmp_path / "var" / "admin.key").read_text().strip()
    async with RestClient(url, key) as rest:
        course = await rest.create_course("Flood")
        students = await rest.add_students(course["id"], ["A", "B", "C"])
    try:
        yield proc.pid, url, token_from_link(students[0]["link"])
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 30)


async def attachment_flood(url: str, token: str, seconds: float) -> tuple[float, int]:
    """Announce 9,999,999,999 attachments, then stream binary frames until closed.

    Each frame is 60 kB, just under the 64 kB message limit (aiohttp closes the socket with
    1009 on a bigger one).

    Returns when the server closed it (seconds after the announcement) and the bytes sent.
    """
    async with aiohttp.ClientSession() as http:
        ws = await engineio_socket(http, url, {"token": token})
        frame, sent = b"\x00" * 60_000, 0
        start = time.monotonic()
        await ws.send_str("45" + "9" * 10 + '-["chat_send",{"_placeholder":true,"num":0}]')
        try:
            while time.monotonic() - start < seconds and not ws.closed:
                await ws.send_bytes(frame)
                sent += len(frame)
                if ws.exception() is not None:
                    break
                await asyncio.sleep(0)
        except (ConnectionError, RuntimeError):
            pass
        closed = await closed_within(ws, max(0.1, seconds - (time.monotonic() - start)))
        took = time.monotonic() - start
        await ws.close()
        return (took if closed else float("inf")), sent


async def test_an_attachment_flood_is_closed_at_once_and_memory_stays_flat(
    served: tuple[int, str, str],
) -> None:
    pid, url, token = served
    before = vm_rss_kb(pid)
    results = await asyncio.gather(*(attachment_flood(url, token, 3.0) for _ in range(3)))
    after = vm_rss_kb(pid)
    assert all(took < 1.0 for took, _ in results), results
    assert after - before < 5 * 1024, f"RSS grew from {before} to {after} kB"
    async with RestClient(url, "") as rest:
        assert (await rest.request("GET", "/healthz"))["ok"]


@pytest.mark.parametrize(
    "frame",
    [
        '42["chat_send", {"client_id": ',  # invalid JSON
        "42" + "[" * 20_000 + "]" * 20_000,  # nested past the JSON decoder's recursion limit
        "4" + "9" * 20,  # unknown socket.io packet type
        "451-" + json.dumps(["chat_send", {"_placeholder": True, "num": 0}]),  # binary event
        "421-" + json.dumps(["chat_send", {}]),  # an attachment count on a plain event
        "x",  # not an engine.io packet
        "",  # empty
        b"\x00\x01",  # a binary frame
    ],
    ids=["invalid-json", "nested", "unknown-type", "binary-event", "count", "x", "empty", "bin"],
)
async def test_a_malformed_packet_closes_the_connection_with_one_log_line(
    server: Running, classroom: Classroom, frame: str | bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with aiohttp.ClientSession() as http:
        token = token_from_link(classroom.students[0]["link"])
        ws = await engineio_socket(http, server.url, {"token": token})
        caplog.clear()
        await (ws.send_bytes(frame) if isinstance(frame, bytes) else ws.send_str(frame))
        assert await closed_within(ws, 2.0)
    await asyncio.sleep(0.1)
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.exc_info for r in loud] == [None], [r.getMessage()[:200] for r in loud]
    assert "closed" in loud[0].getMessage()
    assert not any("Traceback" in r.getMessage() for r in caplog.records)


async def test_a_token_with_non_ascii_characters_is_refused_cleanly(
    server: Running, caplog: pytest.LogCaptureFixture
) -> None:
    token = "s1.ёжик.ключ"
    assert await refused_connect(server, {"token": token}) == "bad-token"
    async with aiohttp.ClientSession() as http:
        headers = {"Authorization": f"Bearer {token}"}
        async with http.get(server.url + "/api/courses", headers=headers) as resp:
            assert resp.status == 401
            assert (await resp.json())["error"]["code"] == "bad-token"
    # bytes that are not UTF-8 at all, straight on the wire
    reader, writer = await asyncio.open_connection("127.0.0.1", server.settings.server.port)
    writer.write(b"GET /api/courses HTTP/1.1\r\nHost: x\r\nConnection: close\r\n")
    writer.write(b"Authorization: Bearer s1.\xff\xfe.\xc3\r\n\r\n")
    status = await asyncio.wait_for(reader.readline(), 5)
    writer.close()
    assert status.split()[1] in (b"400", b"401"), status
    assert not [r for r in caplog.records if r.exc_info is not None]


@pytest.fixture
async def strict(tmp_path: Path, redis_url: str) -> AsyncIterator[Running]:
    """A server with short limits: connect within 1 s, 3 sessions per address, 1 s idle."""
    settings = settings_for(
        tmp_path / "var",
        redis_url,
        free_port(),
        SABAK_SERVER_CONNECT_TIMEOUT_S="1",
        SABAK_SERVER_SESSIONS_PER_ADDRESS="3",
        SABAK_SERVER_HTTP_IDLE_TIMEOUT_S="1",
    )
    running = await start_server(settings)
    try:
        yield running
    finally:
        await running.runner.cleanup()


async def test_a_session_that_never_connects_to_socketio_is_closed(strict: Running) -> None:
    async with aiohttp.ClientSession() as http:
        ws = await engineio_socket(http, strict.url)  # never sends its credentials
        started = time.monotonic()
        assert await closed_within(ws, 5.0)
        assert time.monotonic() - started < 3.0  # the timeout, and the watch's period


async def test_sessions_past_the_per_address_cap_are_refused(strict: Running) -> None:
    async with aiohttp.ClientSession() as http:
        held = [await engineio_socket(http, strict.url) for _ in range(3)]
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await engineio_socket(http, strict.url)
        assert refused.value.status == 401
        async with http.get(strict.url + POLL_PATH) as resp:
            assert resp.status == 401
            assert (await resp.json())["code"] == "too-many-connections"
        await held[0].close()
        await asyncio.sleep(0.2)
        again = await engineio_socket(http, strict.url)  # a closed session frees its place
        for ws in (*held[1:], again):
            await ws.close()


async def test_an_oversized_polling_post_gets_413_at_once(strict: Running) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(strict.url + POLL_PATH) as resp:
            sid = json.loads((await resp.text())[1:])["sid"]
        started = time.monotonic()
        url = f"{strict.url}{POLL_PATH}&sid={sid}"
        async with asyncio.timeout(5):
            async with http.post(url, data="4" + "x" * 100_000) as resp:
                assert resp.status == 413
                assert (await resp.json())["error"]["code"] == "body-too-large"
        assert time.monotonic() - started < 1.0


async def test_a_connection_sending_its_headers_slowly_is_closed(strict: Running) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", strict.settings.server.port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    started, closed = time.monotonic(), False
    for n in range(50):  # one header line every 0.2 s: a complete request never comes
        writer.write(f"X-Slow-{n}: y\r\n".encode())
        try:
            await writer.drain()
            if await asyncio.wait_for(reader.read(1024), 0.2) == b"":
                closed = True
                break
        except TimeoutError:
            continue
        except ConnectionError:
            closed = True
            break
    writer.close()
    assert closed and time.monotonic() - started < 3.0


@pytest.mark.parametrize(
    "body",
    ["x", "4" + '2["chat_send", {', "4" + "51-[]", "b!!!notbase64", "\x1e", "42[\x1e" * 50],
    ids=["engineio-garbage", "invalid-json", "binary-event", "bad-base64", "empty", "fifty"],
)
async def test_a_malformed_polling_body_gets_400_and_one_log_line(
    server: Running, classroom: Classroom, body: str, caplog: pytest.LogCaptureFixture
) -> None:
    token = token_from_link(classroom.students[0]["link"])
    async with aiohttp.ClientSession() as http:
        async with http.get(server.url + POLL_PATH) as resp:
            url = f"{server.url}{POLL_PATH}&sid={json.loads((await resp.text())[1:])['sid']}"
        async with http.post(url, data="40" + json.dumps({"token": token})) as resp:
            assert resp.status == 200
        async with http.get(url) as resp:
            assert (await resp.text()).startswith("40")
        caplog.clear()
        async with http.post(url, data=body) as resp:
            assert resp.status == 400
        loud = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert [r.exc_info for r in loud] == [None], [r.getMessage()[:200] for r in loud]
        assert "closed" in loud[0].getMessage()
        async with http.get(url) as resp:  # the session is gone
            assert resp.status == 400


@pytest.mark.parametrize(
    ("data", "refused"),
    [
        ('2["chat_send",{"text":"a-b"}]', False),
        ('212["chat_send",{}]', False),  # an ack id, no dash after the digits
        ('0{"token":"s1.a-b.c"}', False),
        ("/ns,2[]", False),
        ('51-["chat_send",{"_placeholder":true,"num":0}]', True),
        ("6" + "9" * 10 + "-[]", True),
        ('21-["chat_send",{}]', True),  # python-socketio reads the count for any type
        (b"\x00", True),
    ],
)
def test_which_socketio_packets_are_refused(data: str | bytes, refused: bool) -> None:
    assert (message_problem(data) is not None) is refused


@pytest.mark.parametrize(
    ("frame", "refused"),
    [("2", False), ("3probe", False), ("42[]", False), ("", True), ("x", True), (b"4", True)],
)
def test_which_engineio_frames_are_refused(frame: str | bytes, refused: bool) -> None:
    assert (frame_problem(frame) is not None) is refused


def test_the_gate_counts_per_address_and_hands_back_the_overdue() -> None:
    gate = Gate(per_address=2, connect_timeout_s=10)
    assert gate.admit("a", "1.1.1.1", 0) and gate.admit("b", "1.1.1.1", 1)
    assert not gate.admit("c", "1.1.1.1", 2)
    assert gate.admit("d", "2.2.2.2", 2)
    gate.connected("a")
    assert gate.overdue(11.5) == ["b"]
    gate.closed("b")
    assert gate.admit("e", "1.1.1.1", 12)
    gate.keep_only({"a", "d"})  # e closed without telling
    assert dict(gate.per) == {"1.1.1.1": 1, "2.2.2.2": 1}
    assert gate.worth_logging("1.1.1.1", 0) and not gate.worth_logging("1.1.1.1", 59)
    assert gate.worth_logging("1.1.1.1", 61)


async def test_behind_a_trusted_proxy_sessions_count_per_client(
    tmp_path: Path, redis_url: str
) -> None:
    """nginx on 127.0.0.1: each client's own address (X-Forwarded-For) has its own cap."""
    settings = settings_for(
        tmp_path / "var", redis_url, free_port(),
        SABAK_SERVER_SESSIONS_PER_ADDRESS="2", SABAK_SERVER_TRUSTED_PROXIES="127.0.0.1",
    )  # fmt: skip
    running = await start_server(settings)
    url = running.url.replace("http", "ws") + WS_PATH

    async def via_proxy(http: aiohttp.ClientSession, client: str) -> Any:
        return await http.ws_connect(url, headers={"X-Forwarded-For": client})

    try:
        async with aiohttp.ClientSession() as http:
            held = [await via_proxy(http, "203.0.113.5") for _ in range(2)]
            with pytest.raises(aiohttp.WSServerHandshakeError):
                await via_proxy(http, "203.0.113.5")
            other = await via_proxy(http, "203.0.113.6")  # another phone: its own cap
            for ws in (*held, other):
                await ws.close()
    finally:
        await running.runner.cleanup()
