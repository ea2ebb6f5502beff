"""Polls and quizzes on a real server with real Redis and several clients."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
from typing import Any

import pytest

from client.sabak_client import CallFailed, SabakClient
from tests.conftest import Running, make_classroom

pytestmark = pytest.mark.store("memory")  # not about Redis: the in-memory store


async def room_with(server: Running, n: int) -> tuple[str, SabakClient, list[SabakClient]]:
    room = await make_classroom(server, n_students=n)
    lesson_id = room.lesson["id"]
    teacher = server.client(room.teacher["link"])
    await teacher.connect()
    await teacher.join(lesson_id)
    kids = []
    for s in room.students:
        kid = server.client(s["link"])
        await kid.connect()
        await kid.join(lesson_id)
        kids.append(kid)
    return lesson_id, teacher, kids


async def log_of(server: Running, lesson_id: str) -> list[dict[str, Any]]:
    async with server.rest() as rest:
        return await rest.events(lesson_id)


async def test_a_poll_from_open_to_published_results(server: Running) -> None:
    lesson_id, teacher, kids = await room_with(server, 3)
    ack = await teacher.call(
        "poll_open", {"kind": "single", "question": "Best fruit?", "options": ["apple", "plum"]}
    )
    opened = await kids[0].next("poll_opened")
    assert opened["options"] == ["apple", "plum"] and opened["poll_id"] == ack["poll_id"]
    for kid, choice in zip(kids, (0, 1, 1), strict=True):
        await kid.call("poll_answer", {"poll_id": ack["poll_id"], "answer": choice})
    tally = await teacher.wait_for("poll_tally", lambda t: t["answered"] == 3)
    assert tally["counts"] == [1, 2]
    assert kids[1].inbox["poll_results"] == []  # not before the teacher publishes
    await teacher.call("poll_publish", {"poll_id": ack["poll_id"], "with_names": True})
    results = await kids[1].next("poll_results")
    assert results["counts"] == [1, 2] and len(results["names"]) == 3
    with pytest.raises(CallFailed) as info:
        await kids[0].call("poll_answer", {"poll_id": ack["poll_id"], "answer": 0})
    assert info.value.code == "poll-closed"
    async with server.rest() as rest:
        report = await rest.report(f"/api/lessons/{lesson_id}/report")
    assert [r["poll_answers"] for r in report["learners"]] == [1, 1, 1]


async def test_an_anonymous_poll_leaves_no_learner_in_the_log(server: Running) -> None:
    lesson_id, teacher, kids = await room_with(server, 2)
    poll = await teacher.call(
        "poll_open", {"kind": "yesno", "question": "Was it clear?", "anonymous": True}
    )
    for kid in kids:
        await kid.call("poll_answer", {"poll_id": poll["poll_id"], "answer": 0})
    with pytest.raises(CallFailed) as info:
        await kids[0].call("poll_answer", {"poll_id": poll["poll_id"], "answer": 1})
    assert info.value.code == "already-answered"
    ids = [k.welcome["snapshot"]["you"]["id"] for k in kids]
    await teacher.call("poll_close", {"poll_id": poll["poll_id"]})
    ballots = [r for r in await log_of(server, lesson_id) if r["actor"] == "anonymous"]
    assert [(b["type"], b["data"]["answers"]) for b in ballots] == [("PollBallotsCounted", [0, 0])]
    assert not any(pid in repr(b) for b in ballots for pid in ids)


async def test_the_teachers_log_cannot_tell_who_cast_an_anonymous_ballot(
    server: Running,
) -> None:
    """Nothing between opening and closing, no tag `var/secret.key` could recompute."""
    lesson_id, teacher, kids = await room_with(server, 3)
    poll = await teacher.call(
        "poll_open", {"kind": "single", "question": "Secret?", "options": ["a", "b", "c"],
                      "anonymous": True},
    )  # fmt: skip
    for kid, choice in zip(kids, (2, 0, 1), strict=True):
        await kid.call("hand_raise", {})  # the voter's own events, right before the ballot
        assert await kid.call("poll_answer", {"poll_id": poll["poll_id"], "answer": choice})
    opened_at = len(await log_of(server, lesson_id))
    await teacher.call("poll_close", {"poll_id": poll["poll_id"]})
    log = await log_of(server, lesson_id)
    assert all(r["type"] == "HandRaised" for r in log[opened_at - 3 : opened_at])
    counted, closed = log[opened_at:]
    assert (counted["type"], closed["type"]) == ("PollBallotsCounted", "PollClosed")
    assert counted["data"] == {"poll_id": 1, "answers": [0, 1, 2]}  # sorted, not cast order
    assert counted["ts"] == closed["ts"] and counted["actor"] == "anonymous"
    secret = (server.settings.data_path / "secret.key").read_text().strip().encode()
    text = repr(log)
    for kid in kids:
        pid = kid.welcome["snapshot"]["you"]["id"]
        subject = f"tag:ballot/{lesson_id}/1/{pid}".encode()
        old_tag = base64.urlsafe_b64encode(hmac.new(secret, subject, hashlib.sha256).digest())
        assert old_tag.decode().rstrip("=")[:22] not in text


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"poll_id": 1, "answer": 5}, "invalid-answer"),
        ({"poll_id": 99, "answer": 0}, "unknown-poll"),
        ({"poll_id": "1", "answer": 0}, "invalid-payload"),
        ({"poll_id": 1}, "invalid-payload"),
        ({"poll_id": 1, "answer": 0, "voter_tag": "forged"}, "invalid-payload"),
    ],
)
async def test_bad_poll_answers(server: Running, payload: dict[str, Any], code: str) -> None:
    lesson_id, teacher, kids = await room_with(server, 1)
    await teacher.call("poll_open", {"kind": "single", "question": "Q", "options": ["a", "b"]})
    before = await log_of(server, lesson_id)
    ack = await kids[0].sio.call("poll_answer", payload)
    assert ack["error"]["code"] == code
    assert await log_of(server, lesson_id) == before
    forbidden = await teacher.sio.call("poll_answer", {"poll_id": 1, "answer": 0})
    assert forbidden["error"]["code"] == "forbidden"


QUIZ = {
    "title": "Warm-up",
    "mode": "whole",
    "limit_s": 5,
    "questions": [
        {"kind": "single", "text": "2+2?", "options": ["3", "4", "5"], "correct": [1]},
        {"kind": "number", "text": "7*6?", "correct": [42], "points": 2},
    ],
}


async def test_a_quiz_deadline_from_both_sides(server: Running) -> None:
    _lesson_id, teacher, kids = await room_with(server, 2)
    ack = await teacher.call("quiz_start", QUIZ)
    started = await kids[0].next("quiz_started")
    deadline = started["deadline"] / 1000
    mine = await kids[0].call("quiz_next", {"quiz_id": ack["quiz_id"]})
    assert len(mine["questions"]) == 2 and "correct" not in mine["questions"][0]
    number_at = next(q["position"] for q in mine["questions"] if q["kind"] == "number")
    await asyncio.sleep(max(0.0, deadline - time.time() - 0.4))
    await kids[0].call("quiz_answer", {"quiz_id": 1, "position": number_at, "answer": 42})
    await asyncio.sleep(max(0.0, deadline - time.time() + 0.4))
    with pytest.raises(CallFailed) as info:
        await kids[1].call("quiz_answer", {"quiz_id": 1, "position": 1, "answer": 0})
    assert info.value.code == "quiz-time-over"
    await teacher.call("quiz_publish", {"quiz_id": 1})
    await kids[0].next("quiz_published")
    assert (await kids[0].call("quiz_result", {"quiz_id": 1}))["score"] == 2
    results = await teacher.call("quiz_result", {"quiz_id": 1})
    assert {q["id"]: q["correct"] for q in results["questions"]} == {"q1": 0, "q2": 1}


async def test_a_student_who_reconnects_mid_quiz_gets_back_only_unseen_time(
    server: Running,
) -> None:
    room = await make_classroom(server, n_students=1)
    lesson_id, link = room.lesson["id"], room.students[0]["link"]
    teacher = server.client(room.teacher["link"])
    await teacher.connect()
    await teacher.join(lesson_id)
    kid = server.client(link, reconnection=False)
    await kid.connect()
    await kid.join(lesson_id)
    quiz = await teacher.call("quiz_start", QUIZ | {"limit_s": 30})
    await kid.sio.eio.ws.close()  # the phone drops before it fetched the questions
    await asyncio.sleep(2)
    back = server.client(link, reconnection=False)
    await back.connect()
    await back.join(lesson_id)
    extended = await back.next("quiz_extended")
    assert 1800 <= extended["extra_ms"] <= 3500
    log = await log_of(server, lesson_id)
    why = next(r for r in log if r["type"] == "QuizTimeExtended")["data"]
    assert why["reason"] == "network" and why["gap_ms"] >= why["extra_ms"]
    await back.call("quiz_next", {"quiz_id": quiz["quiz_id"]})  # the questions are seen now
    await back.sio.eio.ws.close()  # a drop now would be time to look the answers up
    await asyncio.sleep(1.5)
    again = server.client(link)
    await again.connect()
    await again.join(lesson_id)
    with pytest.raises(TimeoutError):
        await again.next("quiz_extended", timeout=1)
    log = await log_of(server, lesson_id)
    assert sum(1 for r in log if r["type"] == "QuizTimeExtended") == 1
    await again.close()
    await teacher.close()
