"""Guests with a lesson code: floods refused, the right code never locked out, proxies read."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import socketio

from client.sabak_client import CallFailed, SabakClient
from config import ConfigError, load_settings
from core import commands as c
from core import events as e
from core.errors import Refused
from core.lesson import Actor, Lesson
from core.report import Thresholds, lesson_report
from core.rules import Rules
from signaling.client_address import bucket, client_address, parse_networks
from signaling.throttle import WindowLimit
from tests.conftest import Running, free_port, make_classroom, settings_for, start_server

pytestmark = pytest.mark.store("memory")  # not about Redis: the in-memory store

TEACHER = Actor("t1", "teacher", "Aigul")
T0 = 1_700_000_000_000


# -- the pure parts ----------------------------------------------------------------------------


def test_ipv6_addresses_count_by_their_64_and_ipv4_by_the_address() -> None:
    assert (
        bucket("2001:db8:1:2:aaaa::1") == bucket("2001:db8:1:2:ffff:1:2:3") == "2001:db8:1:2::/64"
    )
    assert bucket("2001:db8:1:3::1") != bucket("2001:db8:1:2::1")
    assert bucket("203.0.113.7") == "203.0.113.7" != bucket("203.0.113.8")
    assert bucket("::ffff:203.0.113.7") == "203.0.113.7"  # an IPv4 client on a dual stack


@pytest.mark.parametrize(
    ("peer", "header", "expected"),
    [
        ("127.0.0.1", "203.0.113.5", "203.0.113.5"),  # nginx on the same machine
        ("127.0.0.1", "6.6.6.6, 203.0.113.5", "203.0.113.5"),  # the left one is the client's lie
        ("127.0.0.1", "203.0.113.5, 10.0.0.2", "203.0.113.5"),  # two proxies of ours
        ("127.0.0.1", None, "127.0.0.1"),
        ("127.0.0.1", "not-an-address", "127.0.0.1"),
        ("198.51.100.9", "203.0.113.5", "198.51.100.9"),  # an untrusted peer names nobody
    ],
)
def test_the_client_is_the_right_most_untrusted_hop(
    peer: str, header: str | None, expected: str
) -> None:
    trusted = parse_networks(["127.0.0.1", "10.0.0.0/8"])
    assert client_address(peer, header, trusted) == expected


def test_a_flood_of_fresh_addresses_keeps_the_window_table_bounded() -> None:
    limit = WindowLimit(2, window_s=60, max_keys=100)
    for i in range(10_000):
        limit.add(f"198.51.{i // 250}.{i % 250}", now=1.0)
    assert len(limit._hits) <= 100
    assert limit.full("198.51.39.249", 2.0) is False  # one hit, under its limit of 2
    limit.add("198.51.39.249", 2.0)
    assert limit.full("198.51.39.249", 2.0) is True


def test_a_wrong_trusted_proxy_stops_the_server_at_start_naming_the_key() -> None:
    with pytest.raises(ConfigError, match=r"server\.trusted_proxies"):
        load_settings(env={"SABAK_SERVER_TRUSTED_PROXIES": "127.0.0.1,nginx.local"})


def waiting_lesson(rules: Rules) -> tuple[Lesson, list[e.Record]]:
    lesson = Lesson("L1", "C1", rules)
    records = [*lesson.execute(TEACHER, c.StartLesson("Algebra", "t1", True), T0).records]
    records += lesson.execute(TEACHER, c.Join(), T0 + 1).records
    return lesson, records


def test_the_waiting_room_is_capped_and_the_teacher_can_close_it() -> None:
    lesson, _ = waiting_lesson(Rules(waiting_room_max=3))
    for i in range(3):
        lesson.execute(Actor(f"g{i}", "guest", "G"), c.Join(), T0 + 10)
    with pytest.raises(Refused, match="waiting room is full") as full:
        lesson.execute(Actor("g9", "guest", "G"), c.Join(), T0 + 20)
    assert full.value.code == "waiting-room-full"
    lesson.execute(TEACHER, c.AdmitGuest("g0"), T0 + 30)  # a place frees up
    lesson.execute(Actor("g9", "guest", "G"), c.Join(), T0 + 40)
    lesson.execute(TEACHER, c.SetGuestEntry(False), T0 + 50)
    lesson.execute(TEACHER, c.AdmitGuest("g1"), T0 + 60)
    with pytest.raises(Refused) as closed:
        lesson.execute(Actor("g8", "guest", "G"), c.Join(), T0 + 70)
    assert closed.value.code == "guest-entry-closed"
    with pytest.raises(Refused, match="teacher"):
        lesson.execute(Actor("g0", "guest", "G"), c.SetGuestEntry(True), T0 + 80)


def test_guests_never_admitted_are_not_rows_of_the_report() -> None:
    lesson, records = waiting_lesson(Rules())
    for i in range(30):
        records += lesson.execute(Actor(f"g{i}", "guest", f"Bot {i}"), c.Join(), T0 + 10).records
    records += lesson.execute(TEACHER, c.AdmitGuest("g0"), T0 + 20).records
    records += lesson.execute(TEACHER, c.DenyGuest("g1"), T0 + 30).records
    report = lesson_report(records, [], Thresholds(), T0 + 600_000)
    assert [row["id"] for row in report["learners"] if row["guest"]] == ["g0"]
    assert report["waiting_guests"]["count"] == 29
    assert len(report["waiting_guests"]["names"]) == 20


# -- on a live server --------------------------------------------------------------------------


async def guest_connect(
    server: Running, code: str, name: str = "Guest", forwarded: str | None = None
) -> tuple[str | None, socketio.AsyncClient]:
    """Connect as a guest: (None, client) when let in, (refusal code, client) when not."""
    sio = socketio.AsyncClient(reconnection=False)
    errors: list[Any] = []
    sio.on("connect_error", errors.append)
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    auth = {"guest_code": code, "name": name}
    try:
        await sio.connect(
            server.url, auth=auth, headers=headers, transports=["websocket"], wait_timeout=10
        )
    except socketio.exceptions.ConnectionError:
        error = errors[0] if errors and isinstance(errors[0], dict) else {}
        return str(error.get("data", error).get("code")), sio
    return None, sio


@pytest.fixture
async def tuned(
    tmp_path: Path, redis_url: str, request: pytest.FixtureRequest
) -> AsyncIterator[Running]:
    """A server with the settings a test names through `@pytest.mark.parametrize(indirect)`."""
    extra: dict[str, str] = getattr(request, "param", {})
    running = await start_server(settings_for(tmp_path / "var", redis_url, free_port(), **extra))
    try:
        yield running
    finally:
        await running.runner.cleanup()


async def test_a_guest_flood_from_one_address_is_refused_past_the_limit(server: Running) -> None:
    room = await make_classroom(server, n_students=0, allow_guests=True)
    limit = server.settings.auth.guest_entries_per_address_per_minute
    results = [await guest_connect(server, room.lesson["code"], f"Bot {i}") for i in range(50)]
    codes = [code for code, _ in results]
    assert codes[:limit] == [None] * limit
    assert codes[limit:] == ["too-many-guests"] * (50 - limit)
    await asyncio.gather(*(sio.disconnect() for _, sio in results))


async def test_the_right_code_gets_in_after_ten_wrong_ones(server: Running) -> None:
    room = await make_classroom(server, n_students=0, allow_guests=True)
    limit = server.settings.auth.guest_code_attempts_per_minute
    for i in range(limit):
        assert (await guest_connect(server, f"WRONG{i:03d}"))[0] == "unknown-code"
    began = time.monotonic()
    assert (await guest_connect(server, "WRONG999"))[0] == "too-many-attempts"
    assert time.monotonic() - began >= 1.5  # past the budget, a wrong code is slowed down
    began = time.monotonic()
    code, sio = await guest_connect(server, room.lesson["code"])
    assert code is None and time.monotonic() - began < 1.5  # and the right one is not
    await sio.disconnect()


@pytest.mark.parametrize(
    "tuned",
    [
        {
            "SABAK_SERVER_TRUSTED_PROXIES": "127.0.0.1",
            "SABAK_AUTH_GUEST_CODE_ATTEMPTS_PER_MINUTE": "3",
        }
    ],
    indirect=True,
)
async def test_behind_a_trusted_proxy_the_clients_own_address_is_throttled(
    tuned: Running,
) -> None:
    for i in range(4):
        code, _ = await guest_connect(tuned, f"WRONG{i}", forwarded="203.0.113.5")
        assert code == ("too-many-attempts" if i == 3 else "unknown-code")
    # Another client behind the same proxy has its own budget; the proxy is not blamed.
    assert (await guest_connect(tuned, "WRONGX", forwarded="203.0.113.6"))[0] == "unknown-code"
    # A client cannot escape its budget by writing its own X-Forwarded-For in front.
    spoofed = "198.51.100.1, 203.0.113.5"
    assert (await guest_connect(tuned, "WRONGY", forwarded=spoofed))[0] == "too-many-attempts"


@pytest.mark.parametrize(
    "tuned",
    [
        {
            "SABAK_SERVER_TRUSTED_PROXIES": "10.0.0.0/8",
            "SABAK_AUTH_GUEST_CODE_ATTEMPTS_PER_MINUTE": "3",
        }
    ],
    indirect=True,
)
async def test_an_untrusted_peers_forwarded_for_is_ignored(tuned: Running) -> None:
    codes = [
        (await guest_connect(tuned, f"WRONG{i}", forwarded=f"203.0.113.{i}"))[0] for i in range(4)
    ]
    assert codes == ["unknown-code"] * 3 + ["too-many-attempts"]


@pytest.mark.parametrize(
    "tuned",
    [{"SABAK_SERVER_TRUSTED_PROXIES": "::1/128,127.0.0.0/8",
      "SABAK_AUTH_GUEST_ENTRIES_PER_LESSON_PER_MINUTE": "4",
      "SABAK_LESSON_WAITING_ROOM_MAX": "3"}],
    indirect=True,
)  # fmt: skip
async def test_entries_per_lesson_and_the_waiting_room_are_capped(tuned: Running) -> None:
    room = await make_classroom(tuned, n_students=0, allow_guests=True)
    code = room.lesson["code"]
    guests = []
    for i in range(4):  # each from its own address: only the per-lesson limit applies
        refused, sio = await guest_connect(tuned, code, f"G{i}", forwarded=f"2001:db8:{i}::1")
        assert refused is None
        guests.append(sio)
    joins = [await sio.call("join", {}, timeout=5) for sio in guests]
    assert [j["ok"] for j in joins] == [True, True, True, False]
    assert joins[3]["error"]["code"] == "waiting-room-full"
    later, _ = await guest_connect(tuned, code, "G5", forwarded="2001:db8:9::1")
    assert later == "too-many-guests"
    async with tuned.rest() as rest:  # a new code: the flood's count is not the new guests'
        fresh = await rest.request("POST", f"/api/lessons/{room.lesson['id']}/rotate-code")
    refused, sio = await guest_connect(tuned, fresh["code"], "G6", forwarded="2001:db8:a::1")
    assert refused is None
    guests.append(sio)
    await asyncio.gather(*(sio.disconnect() for sio in guests))


async def test_closed_entry_and_a_rotated_code_keep_new_guests_out(server: Running) -> None:
    room = await make_classroom(server, n_students=0, allow_guests=True)
    teacher = server.client(room.teacher["link"], reconnection=False)
    await teacher.connect()
    await teacher.join(room.lesson["id"])
    assert (await teacher.call("guest_entry", {"open": False}))["open"] is False
    guest = SabakClient(server.url, guest_code=room.lesson["code"], name="Late", reconnection=False)
    await guest.connect()
    with pytest.raises(CallFailed) as closed:
        await guest.join()
    assert closed.value.code == "guest-entry-closed"
    await guest.close()
    await teacher.call("guest_entry", {"open": True})
    async with server.rest() as rest:
        rotated = await rest.request("POST", f"/api/lessons/{room.lesson['id']}/rotate-code")
    assert rotated["code"] != room.lesson["code"]
    assert (await guest_connect(server, room.lesson["code"]))[0] == "unknown-code"
    code, sio = await guest_connect(server, rotated["code"])
    assert code is None
    assert (await sio.call("join", {}, timeout=5))["waiting"] is True
    await sio.disconnect()
    await teacher.close()


@pytest.mark.store("redis")  # the server restarts: its data must outlive it
async def test_a_waiting_guest_whose_socket_is_gone_leaves_after_the_expiry(
    tmp_path: Path, redis_url: str
) -> None:
    settings = settings_for(
        tmp_path / "var", redis_url, free_port(), SABAK_AUTH_WAITING_GUEST_EXPIRY_S="1"
    )
    first = await start_server(settings)
    room = await make_classroom(first, n_students=0, allow_guests=True)
    guest = SabakClient(first.url, guest_code=room.lesson["code"], name="Ghost", reconnection=False)
    await guest.connect()
    pid = (await guest.join())["you"]["id"]
    await first.runner.cleanup()  # the server goes down; the guest never comes back
    second = await start_server(settings)
    try:
        teacher = second.client(room.teacher["link"], reconnection=False)
        await teacher.connect()
        snap = (await teacher.join(room.lesson["id"]))["snapshot"]
        assert {p["id"]: p["presence"] for p in snap["participants"]}[pid] == "waiting"
        alive = SabakClient(second.url, guest_code=room.lesson["code"], name="Here")
        await alive.connect()
        alive_id = (await alive.join())["you"]["id"]

        def last(who: str) -> str | None:
            seen = [p["presence"] for p in teacher.inbox["participant"] if p["id"] == who]
            return seen[-1] if seen else None

        for _ in range(40):
            await asyncio.sleep(0.25)
            if last(pid) not in (None, "waiting"):
                break
        assert last(pid) == "left"
        await asyncio.sleep(2)  # twice the expiry: a guest whose page is open keeps waiting
        assert last(alive_id) == "waiting"
        await alive.close()
        await teacher.close()
    finally:
        await second.runner.cleanup()
