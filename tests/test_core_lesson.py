"""Table-driven tests of the pure lesson core: commands, refusals, replay."""

from __future__ import annotations

import contextlib
import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import commands as c
from core import events as e
from core.errors import Refused
from core.lesson import Actor, Lesson
from core.rules import Rules
from core.views import outgoing, snapshot

TEACHER = Actor("t1", "teacher", "Aigul")
ANA = Actor("s1", "student", "Ana")
BEK = Actor("s2", "student", "Bek")
GUEST = Actor("g1", "guest", "Guest")
T0 = 1_700_000_000_000


def live(allow_guests: bool = True, rules: Rules | None = None) -> Lesson:
    lesson = Lesson("L1", "C1", rules or Rules(chat_rate_messages=3, chat_rate_window_ms=1000))
    lesson.execute(TEACHER, c.StartLesson("Algebra", "t1", allow_guests), T0)
    for who in (TEACHER, ANA, BEK):
        lesson.execute(who, c.Join(), T0 + 10)
    return lesson


def state(lesson: Lesson) -> dict[str, Any]:
    return {k: copy.deepcopy(v) for k, v in vars(lesson).items() if k != "rules"}


REFUSALS: list[tuple[str, Actor, c.Command, str]] = [
    ("student ends lesson", ANA, c.EndLesson(), "forbidden"),
    ("student deletes chat", ANA, c.DeleteChat(1), "forbidden"),
    ("student locks chat", ANA, c.LockChat(True), "forbidden"),
    ("student mutes", ANA, c.MuteChat("s2", True), "forbidden"),
    ("student removes", ANA, c.RemoveParticipant("s2"), "forbidden"),
    ("student lowers other hand", ANA, c.LowerHand("s2"), "forbidden"),
    ("student admits guest", ANA, c.AdmitGuest("g1"), "forbidden"),
    ("guest chats while waiting", GUEST, c.SendChat("x", "hi"), "not-joined"),
    ("empty chat", ANA, c.SendChat("x", "   "), "empty-message"),
    ("long chat", ANA, c.SendChat("x", "a" * 1001), "message-too-long"),
    ("teacher private to teacher", TEACHER, c.SendChat("x", "hi", "teacher"), "bad-recipient"),
    ("student writes to one", ANA, c.SendChat("x", "hi", "participant", "s2"), "bad-recipient"),
    ("reply to nobody", TEACHER, c.SendChat("x", "hi", "participant"), "bad-recipient"),
    (
        "reply to unknown",
        TEACHER,
        c.SendChat("x", "hi", "participant", "zz"),
        "unknown-participant",
    ),
    ("reply to teacher", TEACHER, c.SendChat("x", "hi", "participant", "t1"), "bad-recipient"),
    ("reply to waiting", TEACHER, c.SendChat("x", "hi", "participant", "g1"), "bad-recipient"),
    ("recipient to all", TEACHER, c.SendChat("x", "hi", "all", "s1"), "bad-recipient"),
    ("delete unknown message", TEACHER, c.DeleteChat(99), "unknown-message"),
    ("mute unknown", TEACHER, c.MuteChat("nobody", True), "unknown-participant"),
    ("remove teacher", TEACHER, c.RemoveParticipant("t1"), "forbidden"),
    ("admit non-waiting", TEACHER, c.AdmitGuest("s1"), "not-waiting"),
    ("teacher raises hand", TEACHER, c.RaiseHand(), "forbidden"),
    ("start twice", TEACHER, c.StartLesson("x", "t1", False), "lesson-already-started"),
]


@pytest.mark.parametrize(
    ("name", "actor", "command", "code"), REFUSALS, ids=[r[0] for r in REFUSALS]
)
def test_refused_commands_change_nothing(
    name: str, actor: Actor, command: c.Command, code: str
) -> None:
    lesson = live()
    lesson.execute(GUEST, c.Join(), T0 + 20)
    before = state(lesson)
    with pytest.raises(Refused) as info:
        lesson.execute(actor, command, T0 + 30)
    assert info.value.code == code
    assert state(lesson) == before


def test_not_started_and_ended_lessons_refuse_joins() -> None:
    lesson = Lesson("L1", "C1", Rules())
    with pytest.raises(Refused, match="not started") as info:
        lesson.execute(ANA, c.Join(), T0)
    assert info.value.code == "lesson-not-started"
    lesson = live()
    lesson.execute(TEACHER, c.EndLesson(), T0 + 100)
    with pytest.raises(Refused) as info:
        lesson.execute(ANA, c.Join(), T0 + 200)
    assert info.value.code == "lesson-ended"


def test_end_lesson_makes_everyone_leave_then_ends() -> None:
    lesson = live()
    out = lesson.execute(TEACHER, c.EndLesson("done"), T0 + 100)
    kinds = [type(r.event).__name__ for r in out.records]
    assert kinds == ["ParticipantLeft"] * 3 + ["LessonEnded"]
    assert all(p.presence == "left" for p in lesson.participants.values())
    assert [r.seq for r in out.records] == [5, 6, 7, 8]


def test_chat_is_idempotent_per_author_and_client_id() -> None:
    lesson = live()
    first = lesson.execute(ANA, c.SendChat("m-1", "salam"), T0 + 100)
    again = lesson.execute(ANA, c.SendChat("m-1", "salam"), T0 + 200)
    other = lesson.execute(BEK, c.SendChat("m-1", "salam"), T0 + 300)
    assert len(first.records) == 1 and again.records == ()
    assert again.result["duplicate"] and again.result["message_id"] == 1
    assert other.result["message_id"] == 2


@pytest.mark.parametrize(
    ("gaps_ms", "refused_at"),
    [([0, 10, 20, 30], 3), ([0, 10, 20, 1500], None), ([0, 600, 1200, 1300], None)],
)
def test_chat_rate_window(gaps_ms: list[int], refused_at: int | None) -> None:
    lesson = live()
    for i, gap in enumerate(gaps_ms):
        if i == refused_at:
            with pytest.raises(Refused) as info:
                lesson.execute(ANA, c.SendChat(f"m{i}", "hi"), T0 + 1000 + gap)
            assert info.value.code == "rate-limited"
        else:
            lesson.execute(ANA, c.SendChat(f"m{i}", "hi"), T0 + 1000 + gap)


def test_rate_limit_survives_leaving_and_rejoining() -> None:
    lesson = live()
    for i in range(3):
        lesson.execute(ANA, c.SendChat(f"m{i}", "hi"), T0 + 1000 + i)
    lesson.execute(ANA, c.Leave(), T0 + 1005)
    lesson.execute(ANA, c.Join(), T0 + 1006)
    with pytest.raises(Refused, match="too fast"):
        lesson.execute(ANA, c.SendChat("m9", "hi"), T0 + 1007)


def test_lock_mute_and_private_messages() -> None:
    lesson = live()
    lesson.execute(TEACHER, c.LockChat(True), T0 + 100)
    with pytest.raises(Refused, match="locked"):
        lesson.execute(ANA, c.SendChat("a", "hi"), T0 + 200)
    lesson.execute(ANA, c.SendChat("b", "question", "teacher"), T0 + 300)
    lesson.execute(TEACHER, c.SendChat("c", "answer"), T0 + 400)
    lesson.execute(TEACHER, c.MuteChat("s1", True), T0 + 500)
    with pytest.raises(Refused) as info:
        lesson.execute(ANA, c.SendChat("d", "again", "teacher"), T0 + 600)
    assert info.value.code == "chat-muted"
    assert [m["text"] for m in snapshot(lesson, "s2")["chat"]] == ["answer"]
    assert [m["text"] for m in snapshot(lesson, "s1")["chat"]] == ["question", "answer"]
    assert [m["text"] for m in snapshot(lesson, "t1")["chat"]] == ["question", "answer"]


def test_the_teacher_replies_privately_to_one_learner() -> None:
    lesson = live()
    lesson.execute(ANA, c.SendChat("q", "may I leave early?", "teacher"), T0 + 100)
    done = lesson.execute(TEACHER, c.SendChat("r", "yes, at 10", "participant", "s1"), T0 + 200)
    (posted,) = [r.event for r in done.records]
    assert isinstance(posted, e.ChatPosted) and posted.recipient_id == "s1"
    reply = ["may I leave early?", "yes, at 10"]
    assert [m["text"] for m in snapshot(lesson, "s1")["chat"]] == reply
    assert [m["text"] for m in snapshot(lesson, "t1")["chat"]] == reply
    assert snapshot(lesson, "s2")["chat"] == []
    assert snapshot(lesson, "s1")["chat"][1]["recipient_id"] == "s1"
    (record,) = done.records
    assert sorted(o.audience for o in outgoing(lesson, record)) == ["s1", "teachers"]


def test_a_learner_on_a_shared_phone_names_the_phone() -> None:
    lesson = live()
    cem = Actor("s3", "student", "Cem")
    lesson.execute(cem, c.Join(device="s1"), T0 + 100)
    assert lesson.participants["s3"].view()["device"] == "s1"
    assert lesson.participants["s1"].view()["device"] is None
    lesson.execute(cem, c.Leave(), T0 + 200)
    lesson.execute(cem, c.Join(device="s3"), T0 + 300)  # back on their own phone
    assert lesson.participants["s3"].view()["device"] is None


def test_deleted_messages_are_not_replayed() -> None:
    lesson = live()
    lesson.execute(ANA, c.SendChat("a", "oops"), T0 + 100)
    lesson.execute(TEACHER, c.DeleteChat(1), T0 + 200)
    assert snapshot(lesson, "s2")["chat"] == []
    assert lesson.execute(TEACHER, c.DeleteChat(1), T0 + 300).records == ()


def test_hand_queue_in_order_and_lowering() -> None:
    lesson = live()
    assert lesson.execute(BEK, c.RaiseHand(), T0 + 100).result == {"position": 1}
    assert lesson.execute(ANA, c.RaiseHand(), T0 + 200).result == {"position": 2}
    assert lesson.execute(ANA, c.RaiseHand(), T0 + 300).records == ()
    assert [h["id"] for h in snapshot(lesson, "t1")["hands"]] == ["s2", "s1"]
    lesson.execute(TEACHER, c.LowerHand("s2"), T0 + 400)
    assert snapshot(lesson, "s1")["you"]["hand_position"] == 1
    lesson.execute(ANA, c.LowerHand(), T0 + 500)
    assert lesson.hands == []
    assert "hands" not in snapshot(lesson, "s1")


def hand_messages(lesson: Lesson, records: tuple[e.Record, ...]) -> dict[str, Any]:
    return {o.audience: o.body() for r in records for o in outgoing(lesson, r) if o.name == "hand"}


@pytest.mark.parametrize(
    ("who", "command"),
    [(TEACHER, c.LowerHand("s1")), (ANA, c.LowerHand()), (ANA, c.Leave())],
    ids=["teacher-lowers", "own-lowering", "leaving"],
)
def test_a_hand_gone_tells_every_later_hand_its_new_place(who: Actor, command: Any) -> None:
    lesson = live()
    lesson.execute(GUEST, c.Join(), T0 + 20)
    lesson.execute(TEACHER, c.AdmitGuest("g1"), T0 + 30)
    for i, learner in enumerate((ANA, BEK, GUEST)):
        lesson.execute(learner, c.RaiseHand(), T0 + 100 + i)
    sent = hand_messages(lesson, lesson.execute(who, command, T0 + 200).records)
    assert sent["s2"] == {"participant_id": "s2", "raised": True, "position": 1}
    assert sent["g1"] == {"participant_id": "g1", "raised": True, "position": 2}
    assert sent.get("s1", {"raised": False})["raised"] is False


def test_the_count_tells_students_the_learners_without_the_teacher() -> None:
    lesson = live()
    out = lesson.execute(GUEST, c.Join(), T0 + 20).records
    lesson.execute(TEACHER, c.AdmitGuest("g1"), T0 + 30)
    assert snapshot(lesson, "s1")["present_learners"] == 3
    counts = [o.body() for r in out for o in outgoing(lesson, r) if o.name == "count"]
    assert counts[-1] == {"present": 4, "learners": 3}


def test_a_network_drop_keeps_the_hand_and_leaving_lowers_it() -> None:
    lesson = live()
    lesson.execute(ANA, c.RaiseHand(), T0 + 100)
    lesson.execute(BEK, c.RaiseHand(), T0 + 150)
    lesson.execute(ANA, c.ConnectionLost(), T0 + 200)
    assert lesson.hands == ["s1", "s2"] and lesson.participants["s1"].presence == "away"
    lesson.execute(ANA, c.Join(), T0 + 300)
    lesson.execute(ANA, c.Leave(), T0 + 400)
    assert lesson.hands == ["s2"]


def test_guest_waits_until_admitted_and_cannot_skip_the_waiting_room() -> None:
    lesson = live()
    lesson.execute(GUEST, c.Join(), T0 + 100)
    assert lesson.participants["g1"].presence == "waiting"
    lesson.execute(GUEST, c.Leave(), T0 + 150)
    lesson.execute(GUEST, c.Join(), T0 + 160)
    assert lesson.participants["g1"].presence == "waiting"
    out = lesson.execute(TEACHER, c.AdmitGuest("g1"), T0 + 200)
    assert lesson.participants["g1"].view()["presence"] == "present"
    assert any(o.name == "admitted" for o in outgoing(lesson, out.records[0]))


def test_guests_refused_when_lesson_does_not_allow_them() -> None:
    lesson = live(allow_guests=False)
    with pytest.raises(Refused) as info:
        lesson.execute(GUEST, c.Join(), T0 + 100)
    assert info.value.code == "guests-not-allowed"


def test_removed_student_cannot_come_back() -> None:
    lesson = live()
    out = lesson.execute(TEACHER, c.RemoveParticipant("s1"), T0 + 100)
    assert any(o.audience == "s1" and o.name == "removed" for o in outgoing(lesson, out.records[0]))
    with pytest.raises(Refused) as info:
        lesson.execute(ANA, c.Join(), T0 + 200)
    assert info.value.code == "removed"


def test_replaying_the_log_rebuilds_the_same_state() -> None:
    lesson = Lesson("L1", "C1", Rules())
    script: list[tuple[Actor, c.Command]] = [
        (TEACHER, c.StartLesson("Algebra", "t1", True)),
        (TEACHER, c.Join()),
        (ANA, c.Join()),
        (BEK, c.Join()),
        (Actor("s3", "student", "Cem"), c.Join(device="s1")),
        (ANA, c.SendChat("a", "salam")),
        (BEK, c.RaiseHand()),
        (ANA, c.RaiseHand()),
        (TEACHER, c.MuteChat("s2", True)),
        (TEACHER, c.LowerHand("s2")),
        (GUEST, c.Join()),
        (TEACHER, c.AdmitGuest("g1")),
        (BEK, c.ConnectionLost()),
        (TEACHER, c.DeleteChat(1)),
    ]
    log: list[dict[str, Any]] = []
    for i, (actor, command) in enumerate(script):
        log += [r.as_dict() for r in lesson.execute(actor, command, T0 + 1000 * i).records]
    fresh = Lesson("L1", "C1", Rules())
    for row in log:
        event = e.event_from_dict(row["type"], row["data"])
        fresh.apply(e.Record(row["seq"], row["ts"], row["actor"], event))
    assert state(fresh) == state(lesson)
    assert fresh.seq == len(log) == 14


def test_unknown_event_type_in_log_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown event type"):
        e.event_from_dict("Nope", {})
    with pytest.raises(ValueError, match="bad fields"):
        e.event_from_dict("ChatLocked", {"locked": True, "extra": 1})


def test_the_teacher_has_ten_times_the_chat_allowance() -> None:
    lesson = live()  # 3 messages per second for students
    for i in range(30):
        lesson.execute(TEACHER, c.SendChat(f"t{i}", "go on"), T0 + 100 + i)
    with pytest.raises(Refused) as info:
        lesson.execute(TEACHER, c.SendChat("t30", "one more"), T0 + 200)
    assert info.value.code == "rate-limited"


PEOPLE = [TEACHER, ANA, BEK, GUEST, Actor("g2", "guest", "Guest 2")]
STEPS = st.lists(
    st.tuples(
        st.sampled_from(PEOPLE),
        st.sampled_from(["join", "leave", "drop", "expire", "admit", "deny", "remove", "time"]),
        st.sampled_from([p.participant_id for p in PEOPLE]),
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(STEPS)
def test_the_kept_present_count_always_equals_a_recount(steps: list[Any]) -> None:
    """The fold keeps the number present (a join must not count everyone); it never drifts."""
    lesson = Lesson("L1", "C1", Rules())
    log = list(lesson.execute(TEACHER, c.StartLesson("Algebra", "t1", True), T0).records)
    now = T0
    commands = {
        "join": lambda pid: c.Join(), "leave": lambda pid: c.Leave(),
        "drop": lambda pid: c.ConnectionLost(now - 50), "expire": c.ExpireAway,
        "admit": c.AdmitGuest, "deny": c.DenyGuest, "remove": c.RemoveParticipant,
    }  # fmt: skip
    for actor, what, target in steps:
        now += 1_000
        if what == "time":  # the grace window passes; whatever is due runs
            now += lesson.rules.grace_ms
            for command in lesson.due(now):
                log += lesson.execute(TEACHER, command, now).records
        else:
            with contextlib.suppress(Refused):
                log += lesson.execute(actor, commands[what](target), now).records
        recount = sum(1 for p in lesson.participants.values() if p.presence == "present")
        assert lesson.present_count == recount
        learners = sum(
            1
            for p in lesson.participants.values()
            if p.presence == "present" and p.role != "teacher"
        )
        assert lesson.present_learners == learners
        if "t1" in lesson.participants:
            assert snapshot(lesson, "t1")["present_count"] == recount
            assert snapshot(lesson, "t1")["present_learners"] == learners
    rebuilt = Lesson("L1", "C1", Rules())  # and a lesson rebuilt from its log agrees
    for record in log:
        rebuilt.apply(record)
    assert rebuilt.present_count == lesson.present_count
    assert rebuilt.present_learners == lesson.present_learners
