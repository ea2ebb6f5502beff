"""The pure core forgets: deleted chat text, an erased learner, and lessons left running."""

from __future__ import annotations

import pytest

from core import commands as c
from core import events as e
from core.errors import Refused
from core.lesson import SYSTEM, Lesson
from core.rules import Rules
from core.views import snapshot
from tests.test_core_lesson import ANA, BEK, T0, TEACHER, live

MIN = 60_000


def test_a_deleted_message_is_forgotten_in_memory_too() -> None:
    lesson = live()
    lesson.execute(ANA, c.SendChat("a", "rude"), T0 + 100)
    lesson.execute(TEACHER, c.DeleteChat(1), T0 + 200)
    assert lesson.chat[0].text == "" and lesson.chat[0].deleted


def test_erasing_a_learner_renames_them_and_forgets_their_text() -> None:
    lesson = live()
    lesson.execute(ANA, c.SendChat("a", "my address"), T0 + 100)
    lesson.execute(BEK, c.SendChat("b", "hello"), T0 + 110)
    poll = lesson.execute(TEACHER, c.OpenPoll("text", "Pet?"), T0 + 120).result["poll_id"]
    lesson.execute(ANA, c.AnswerPoll(poll, "Rex"), T0 + 130)
    out = lesson.execute(SYSTEM, c.EraseLearner(ANA.participant_id, "erased-1"), T0 + 140)
    assert [type(r.event) for r in out.records] == [e.LearnerErased]
    assert lesson.participants["s1"].name == "erased-1"
    assert "my address" not in str(snapshot(lesson, "t1")) and "Rex" not in str(vars(lesson))
    assert lesson.chat[1].text == "hello"
    again = lesson.execute(SYSTEM, c.EraseLearner(ANA.participant_id, "erased-1"), T0 + 150)
    assert again.records == ()  # once is enough


def test_only_the_server_erases() -> None:
    with pytest.raises(Refused) as refused:
        live().execute(ANA, c.EraseLearner(BEK.participant_id, "x"), T0 + 100)
    assert refused.value.code == "forbidden"


@pytest.mark.parametrize(
    ("teacher_left", "at_min", "due"),
    [
        (False, 100, None),  # the teacher is here: the lesson goes on
        (True, 4, None),  # gone for a short while
        (True, 6, "no-teacher"),  # gone longer than 5 minutes
        (False, 60 + 46, "overran"),  # 60 minutes past a 45-minute plan
    ],
)
def test_a_lesson_left_running_is_ended_by_the_server(
    teacher_left: bool, at_min: int, due: str | None
) -> None:
    rules = Rules(auto_end_no_teacher_ms=5 * MIN, auto_end_after_ms=(45 + 60) * MIN)
    lesson: Lesson = live(rules=rules)
    if teacher_left:
        lesson.execute(TEACHER, c.Leave(), T0 + 20)
    commands = lesson.due(T0 + at_min * MIN)
    ends = [x.reason for x in commands if isinstance(x, c.EndLesson)]
    assert ends == ([due] if due else [])
