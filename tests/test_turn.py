"""TURN credentials: none in the waiting room, per participant and short-lived once admitted."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from client.sabak_client import SabakClient
from tests.conftest import Running, free_port, make_classroom, settings_for, start_server

pytestmark = pytest.mark.store("memory")  # not about Redis: the in-memory store

SECRET, TTL = "coturn-static-auth-secret", 900
ICE: list[dict[str, Any]] = [
    {"urls": ["stun:turn.school.example:3478"]},
    {"urls": ["turn:turn.school.example:3478?transport=udp"], "username": "sabak",
     "credential": "the-static-password"},
]  # fmt: skip


@pytest.fixture
async def turn_server(tmp_path: Path, redis_url: str) -> AsyncIterator[Running]:
    settings = settings_for(
        tmp_path / "var", redis_url, free_port(), SABAK_MEDIA_ICE_SERVERS=json.dumps(ICE),
        SABAK_MEDIA_TURN_SECRET=SECRET, SABAK_MEDIA_TURN_TTL_S=str(TTL),
    )  # fmt: skip
    running = await start_server(settings)
    try:
        yield running
    finally:
        await running.runner.cleanup()


def check_turn(ice: list[dict[str, Any]], participant_id: str) -> None:
    """The STUN entry as configured; the TURN one with this participant's own credentials."""
    assert ice[0] == {"urls": ICE[0]["urls"], "username": None, "credential": None}
    turn = ice[1]
    expiry, _, who = turn["username"].partition(":")
    assert who == participant_id
    assert abs(int(expiry) - (time.time() + TTL)) <= 5
    mac = hmac.new(SECRET.encode(), turn["username"].encode(), hashlib.sha1).digest()
    assert turn["credential"] == base64.b64encode(mac).decode()
    assert "the-static-password" not in json.dumps(ice)


async def test_a_waiting_guest_gets_no_relay_until_admitted(turn_server: Running) -> None:
    room = await make_classroom(turn_server, n_students=1, allow_guests=True)
    guest = SabakClient(turn_server.url, guest_code=room.lesson["code"], name="Visitor")
    await guest.connect()
    ack = await guest.join()
    assert ack["waiting"] and ack["ice_servers"] == []
    assert "the-static-password" not in json.dumps(ack)
    teacher = turn_server.client(room.teacher["link"])
    await teacher.connect()
    await teacher.join(room.lesson["id"])
    check_turn(teacher.welcome["ice_servers"], room.teacher["id"])
    await teacher.call("guest_admit", {"participant_id": ack["you"]["id"]})
    admitted = await guest.next("admitted")
    check_turn(admitted["ice_servers"], ack["you"]["id"])
    kid = turn_server.client(room.students[0]["link"])
    await kid.connect()
    await kid.join(room.lesson["id"])
    check_turn(kid.welcome["ice_servers"], room.students[0]["id"])
    for client in (guest, teacher, kid):
        await client.close()
