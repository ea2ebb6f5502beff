"""Integration: a teacher and students in a live lesson on a real server and a real Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from client.sabak_client import CallFailed, SabakClient
from tests.conftest import Classroom, Running, make_classroom
from tests.protocol_shapes import inbox_problems

pytestmark = pytest.mark.store("memory")  # not about Redis: the in-memory store


@pytest.fixture
async def people(server: Running, classroom: Classroom) -> AsyncIterator[list[SabakClient]]:
    links = [classroom.teacher["link"]] + [s["link"] for s in classroom.students]
    clients = [server.client(link) for link in links]
    for client in clients:
        await client.connect()
        await client.join(classroom.lesson["id"])
    yield clients
    for client in clients:
        await client.close()


async def test_roster_for_teacher_and_count_for_students(
    people: list[SabakClient], classroom: Classroom
) -> None:
    teacher, ana, _bek, cem = people
    roster = cem.welcome["snapshot"]
    assert "participants" not in roster and roster["present_count"] == 4
    assert roster["present_learners"] == 3  # what a student's page shows: not the teacher
    joined = [p["id"] for p in teacher.inbox["participant"]]
    assert joined == [s["id"] for s in classroom.students]
    count = await ana.wait_for("count", lambda d: d["present"] == 4, timeout=3)
    assert count == {"present": 4, "learners": 3}


async def test_chat_reaches_everyone_once_and_private_only_the_teacher(
    people: list[SabakClient],
) -> None:
    teacher, ana, bek, _ = people
    ack = await ana.chat("Salam!")
    assert ack["message_id"] == 1
    for c in people:
        msg = await c.next("chat")
        assert msg["text"] == "Salam!" and msg["author_name"] == "Student 0"
    await bek.chat("I have a question", to="teacher")
    assert (await teacher.next("chat"))["to"] == "teacher"
    assert (await bek.next("chat"))["text"] == "I have a question"
    await asyncio.sleep(0.2)
    assert ana.inbox["chat"] == []


async def test_the_teacher_answers_a_private_question_privately(
    people: list[SabakClient],
) -> None:
    teacher, ana, bek, cem = people
    bek_id = bek.welcome["snapshot"]["you"]["id"]
    await bek.chat("May I leave early?", to="teacher")
    question = await teacher.next("chat")
    await teacher.chat("Yes, at ten.", reply_to=question["author_id"])
    answer = await bek.wait_for("chat", lambda m: m["text"] == "Yes, at ten.")
    assert answer["to"] == "participant" and answer["recipient_id"] == bek_id
    assert (await teacher.wait_for("chat", lambda m: m["to"] == "participant"))["id"] == 2
    await asyncio.sleep(0.2)
    assert ana.inbox["chat"] == [] and cem.inbox["chat"] == []
    with pytest.raises(CallFailed) as info:  # a student cannot write to one other student
        await ana.chat("psst", reply_to=bek_id)
    assert info.value.code == "bad-recipient"


async def test_retry_with_same_client_id_is_stored_once(
    server: Running, people: list[SabakClient], classroom: Classroom
) -> None:
    _, ana, _, _ = people
    first = await ana.chat("once", client_id="m-42")
    again = await ana.chat("once", client_id="m-42")
    assert again["message_id"] == first["message_id"] and again["duplicate"]
    async with server.rest() as rest:
        log = await rest.events(classroom.lesson["id"])
    assert [r["data"]["client_id"] for r in log if r["type"] == "ChatPosted"] == ["m-42"]


async def test_hands_queue_in_order_and_teacher_lowers(people: list[SabakClient]) -> None:
    teacher, ana, bek, cem = people
    for student in (bek, cem, ana):
        await student.raise_hand()
    queue = await teacher.wait_for("hands", lambda d: len(d["queue"]) == 3)
    assert [h["name"] for h in queue["queue"]] == ["Student 1", "Student 2", "Student 0"]
    await teacher.lower_hand(queue["queue"][0]["id"])
    assert (await bek.wait_for("hand", lambda d: not d["raised"]))["position"] is None
    with pytest.raises(CallFailed) as info:
        await ana.lower_hand(queue["queue"][1]["id"])
    assert info.value.code == "forbidden"


@pytest.mark.parametrize(
    ("event", "payload", "code"),
    [
        ("chat_delete", {"message_id": 1}, "forbidden"),
        ("chat_lock", {"locked": True}, "forbidden"),
        ("participant_remove", {"participant_id": "x"}, "forbidden"),
        ("lesson_end", {}, "forbidden"),
        ("chat_send", {"text": "no id"}, "invalid-payload"),
        ("chat_send", {"client_id": "a", "text": 5}, "invalid-payload"),
        ("chat_send", {"client_id": "a", "text": "x", "role": "teacher"}, "invalid-payload"),
        ("chat_send", ["not", "an", "object"], "invalid-payload"),
        ("chat_send", {"client_id": "a", "text": "x" * 1001}, "message-too-long"),
        ("hand_lower", {"participant_id": 7}, "invalid-payload"),
        ("make_me_teacher", {}, "unknown-event"),
    ],
)
async def test_wrong_role_and_malformed_events_are_refused_and_change_nothing(
    server: Running,
    people: list[SabakClient],
    classroom: Classroom,
    event: str,
    payload: object,
    code: str,
) -> None:
    _, ana, _, _ = people
    async with server.rest() as rest:
        before = await rest.events(classroom.lesson["id"])
    ack = await ana.sio.call(event, payload, timeout=5)
    assert ack["ok"] is False and ack["error"]["code"] == code and ack["error"]["message"]
    async with server.rest() as rest:
        assert await rest.events(classroom.lesson["id"]) == before


async def test_teacher_moderates_chat(people: list[SabakClient]) -> None:
    teacher, ana, bek, _ = people
    msg_id = (await ana.chat("spam"))["message_id"]
    await teacher.call("chat_delete", {"message_id": msg_id})
    assert await bek.wait_for("chat_deleted", lambda d: d["id"] == msg_id)
    await teacher.call(
        "chat_mute", {"participant_id": ana.welcome["snapshot"]["you"]["id"], "muted": True}
    )
    with pytest.raises(CallFailed) as info:
        await ana.chat("more spam")
    assert info.value.code == "chat-muted"
    await teacher.call("chat_lock", {"locked": True})
    with pytest.raises(CallFailed) as info:
        await bek.chat("hello?")
    assert info.value.code == "chat-locked"


async def test_removed_student_is_disconnected_and_cannot_return(
    server: Running, people: list[SabakClient], classroom: Classroom
) -> None:
    teacher, ana, _, _ = people
    ana_id = ana.welcome["snapshot"]["you"]["id"]
    await teacher.call("participant_remove", {"participant_id": ana_id})
    assert (await ana.next("removed"))["reason"] == "removed"
    again = server.client(classroom.students[0]["link"], reconnection=False)
    await again.connect()
    with pytest.raises(CallFailed) as info:
        await again.join(classroom.lesson["id"])
    assert info.value.code == "removed"
    await again.close()


async def test_ending_the_lesson_disconnects_everyone_with_a_reason(
    server: Running, people: list[SabakClient], classroom: Classroom
) -> None:
    teacher, ana, _, _ = people
    await teacher.call("lesson_end")
    assert await ana.next("lesson_ended") == {"reason": "ended-by-teacher"}
    await asyncio.sleep(0.3)
    assert not ana.sio.connected


async def test_chat_history_is_replayed_to_a_newcomer(
    server: Running, people: list[SabakClient], classroom: Classroom
) -> None:
    _, ana, _, _ = people
    await ana.chat("first")
    await ana.chat("second")
    extra = await _add_student(server, classroom)
    late = server.client(extra["link"])
    await late.connect()
    welcome = await late.join(classroom.lesson["id"])
    assert [m["text"] for m in welcome["snapshot"]["chat"]] == ["first", "second"]
    await late.close()


async def _add_student(server: Running, classroom: Classroom) -> dict[str, str]:
    async with server.rest() as rest:
        return (await rest.add_students(classroom.course_id, ["Late Student"]))[0]


async def test_a_second_device_replaces_the_first(
    server: Running, people: list[SabakClient], classroom: Classroom
) -> None:
    _, ana, _, _ = people
    phone = server.client(classroom.students[0]["link"])
    await phone.connect()
    await phone.join(classroom.lesson["id"])
    assert (await ana.next("replaced"))["reason"] == "joined-elsewhere"
    assert inbox_problems(ana) == [] and inbox_problems(phone) == []
    await phone.close()


async def test_guest_waits_for_admission(server: Running) -> None:
    from tests.conftest import make_classroom

    room = await make_classroom(server, n_students=0, allow_guests=True)
    teacher = server.client(room.teacher["link"])
    await teacher.connect()
    await teacher.join(room.lesson["id"])
    guest = SabakClient(server.url, guest_code=room.lesson["code"], name="Visitor")
    await guest.connect()
    ack = await guest.join()
    assert ack["waiting"] is True
    with pytest.raises(CallFailed) as info:
        await guest.chat("let me in")
    assert info.value.code == "not-joined"
    waiting = await teacher.wait_for("participant", lambda p: p["presence"] == "waiting")
    await teacher.call("guest_admit", {"participant_id": waiting["id"]})
    admitted = await guest.next("admitted")
    assert admitted["you"]["presence"] == "present"
    await guest.chat("thank you")
    assert (await teacher.wait_for("chat", lambda m: True))["author_name"] == "Visitor"
    assert inbox_problems(guest) == [] and inbox_problems(teacher) == []
    await guest.close()
    await teacher.close()


async def test_a_students_link_joins_the_newest_live_lesson_without_naming_it(
    server: Running,
) -> None:
    """On a slow link asking /api/me before joining costs seconds: the phone joins at once
    with its personal link, and the server picks the lesson /api/me would list first."""
    room = await make_classroom(server, n_students=1, start=False)
    kid = server.client(room.students[0]["link"], reconnection=False)
    await kid.connect()
    with pytest.raises(CallFailed) as info:
        await kid.join()
    assert info.value.code == "no-live-lesson"
    async with server.rest() as rest:
        await rest.start_lesson(room.lesson["id"])
        newer = await rest.create_lesson(room.course_id, "Decimals", False)
        await rest.start_lesson(newer["id"])
    ack = await kid.join()
    assert ack["snapshot"]["lesson"]["id"] == newer["id"]
    assert ack["snapshot"]["you"]["id"] == room.students[0]["id"]
    await kid.close()
    teacher = server.client(room.teacher["link"], reconnection=False)
    await teacher.connect()
    with pytest.raises(CallFailed) as info:
        await teacher.join()  # a teacher names the lesson: they may teach several
    assert info.value.code == "invalid-payload"
    await teacher.close()
