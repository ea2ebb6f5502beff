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
from tests.conftest import (
    Classroom,
    Running,
    clean_env,
    free_port,
    sabak_serve,
    settings_for,
    start_server,
)
from tests.test_security import joined, refused_connect

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
                if ws._reader.exception() is not None:  # type: ignore[attr-defined]
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
