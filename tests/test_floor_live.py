"""The floor asks first, on a real server and a real Redis: offer, answer, log, refusals."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from client.sabak_client import CallFailed, SabakClient
from tests.conftest import Classroom, Running

pytestmark = pytest.mark.store("memory")  # not about Redis: the in-memory store

BOGUS_SDP = "v=0\r\n"


@pytest.fixture
async def people(server: Running, classroom: Classroom) -> AsyncIterator[list[SabakClient]]:
    links = [classroom.teacher["link"]] + [s["link"] for s in classroom.students[:2]]
    clients = [server.client(link) for link in links]
    for client in clients:
        await client.connect()
        await client.join(classroom.lesson["id"])
    yield clients
    for client in clients:
        await client.close()


async def floor_log(server: Running, classroom: Classroom) -> list[tuple[str, str, str]]:
    async with server.rest() as rest:
        log = await rest.events(classroom.lesson["id"])
    return [
        (r["type"], r["actor"], r["data"]["participant_id"])
        for r in log
        if r["type"].startswith("Floor")
    ]


async def test_the_student_publishes_nothing_until_they_accept(
    server: Running, people: list[SabakClient], classroom: Classroom
) -> None:
    teacher, ana, bek = people
    ana_id, teacher_id = classroom.students[0]["id"], classroom.teacher["id"]
    await teacher.call("floor_give", {"participant_id": ana_id, "camera": False})
    offered = await ana.wait_for("floor", lambda d: d["participant_id"] == ana_id)
    assert offered == {"participant_id": ana_id, "camera": False, "given": False,
                       "state": "offered"}  # fmt: skip
    assert (await teacher.next("floor"))["state"] == "offered"
    with pytest.raises(CallFailed) as info:
        await ana.call("media_publish", {"sdp": BOGUS_SDP})
    assert info.value.code == "not-allowed"
    with pytest.raises(CallFailed) as info:
        await bek.answer_floor(True)  # not offered to Bek
    assert info.value.code == "no-floor-offer"
    await ana.answer_floor(True)
    given = await teacher.wait_for("floor", lambda d: d["state"] != "offered")
    assert given == {"participant_id": ana_id, "camera": False, "given": True, "state": "given"}
    assert await floor_log(server, classroom) == [
        ("FloorOffered", teacher_id, ana_id),
        ("FloorGiven", ana_id, ana_id),
    ]


async def test_declining_ends_the_offer(
    server: Running, people: list[SabakClient], classroom: Classroom
) -> None:
    teacher, ana, _ = people
    ana_id = classroom.students[0]["id"]
    await teacher.call("floor_give", {"participant_id": ana_id, "camera": True})
    await ana.wait_for("floor", lambda d: d["state"] == "offered")
    await ana.answer_floor(False)
    declined = await teacher.wait_for("floor", lambda d: d["state"] == "declined")
    assert declined["given"] is False
    with pytest.raises(CallFailed) as info:
        await ana.answer_floor(True)
    assert info.value.code == "no-floor-offer"
    with pytest.raises(CallFailed) as info:
        await ana.call("floor_answer", {"accept": "yes"})
    assert info.value.code == "invalid-payload"
    assert [t for t, _, _ in await floor_log(server, classroom)] == [
        "FloorOffered",
        "FloorDeclined",
    ]
