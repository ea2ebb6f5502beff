"""Budgets against log flooding, the log ceiling and the quiz clock's time back (issue 12)."""

from __future__ import annotations

from typing import Any

import pytest

from core import commands as c
from core import events as e
from core.errors import Refused
from core.lesson import SYSTEM, Actor, Lesson
from core.presence import PresenceFold
from core.rules import Rules

T = 1_700_000_000_000
S = 1000
TEACHER = Actor("t1", "teacher", "Aigul")
ANA, BEK = Actor("s1", "student", "Ana"), Actor("s2", "student", "Bek")
GUEST = Actor("g1", "guest", "Visitor")


class Run:
    """A live lesson driven like the server does: commands, then whatever is due (the ticker)."""

    def __init__(self, rules: Rules | None = None) -> None:
        self.lesson = Lesson("L", "C", rules or Rules())
        self.log: list[e.Record] = []
        self.do(TEACHER, c.StartLesson("Maths", "t1", True), 0)
        for who in (TEACHER, ANA, BEK):
            self.do(who, c.Join(), 0)

    def do(self, actor: Actor, command: c.Command, at_ms: int) -> dict[str, Any]:
        out = self.lesson.execute(actor, command, T + at_ms)
        self.log += out.records
        return out.result

    def tick(self, at_ms: int) -> None:
        for command in self.lesson.due(T + at_ms):
            self.do(SYSTEM, command, at_ms)

    def refused(self, actor: Actor, command: c.Command, at_ms: int) -> str:
        before = self.lesson.seq
        with pytest.raises(Refused) as info:
            self.do(actor, command, at_ms)
        assert self.lesson.seq == before
        return info.value.code

    def count(self, kind: type[e.Event]) -> int:
        return sum(1 for r in self.log if isinstance(r.event, kind))


def background_ms(run: Run, pid: str, end_ms: int) -> float:
    fold = PresenceFold()
    for record in run.log:
        fold.add(record)
    fold.finish(T + end_ms)
    return fold.timelines[pid].minutes_in("background") * 60_000


def test_a_visibility_flood_stores_one_flip_per_interval_and_the_last_state_wins() -> None:
    run = Run()
    for i in range(5000):  # one flip every 2 ms for 10 s, ticking every 500 ms as the server
        run.do(ANA, c.SetVisibility(visible=i % 2 == 1), 2 * i)
        if i % 250 == 0:
            run.tick(2 * i)
    run.do(ANA, c.SetVisibility(visible=False), 10_000)  # the flood ends hidden
    for at in range(10_000, 20_001, 500):
        run.tick(at)
    assert run.count(e.VisibilityChanged) <= 10_000 // 5000 + 2
    assert run.lesson.participants["s1"].visible is False  # the final state is stored
    assert not run.lesson.participants["s1"].pending_visible
    # Hidden since 10 s: the record says so to within one interval and one tick.
    hidden = background_ms(run, "s1", 60_000)
    assert 50_000 - 5_500 <= hidden - _background_before(run, 10_000) <= 50_000


def _background_before(run: Run, at_ms: int) -> float:
    """Background time the record holds before `at_ms` (the flood's own flips)."""
    fold = PresenceFold()
    for record in run.log:
        if record.ts_ms <= T + at_ms:
            fold.add(record)
    fold.finish(T + at_ms)
    return fold.timelines["s1"].minutes_in("background") * 60_000


def test_an_honest_flip_is_stored_at_once_and_a_flip_back_inside_the_interval_cancels() -> None:
    run = Run()
    assert run.do(ANA, c.SetVisibility(visible=False), 1000) == {}
    assert run.do(ANA, c.SetVisibility(visible=True), 2000) == {"held": True}
    assert run.do(ANA, c.SetVisibility(visible=False), 3000) == {}  # same as stored: nothing
    run.tick(7000)
    assert [r.event for r in run.log if isinstance(r.event, e.VisibilityChanged)] == [
        e.VisibilityChanged("s1", False)
    ]


def test_answer_changes_per_poll_are_bounded() -> None:
    run = Run(Rules(answer_changes=3))
    poll = run.do(TEACHER, c.OpenPoll("single", "Best?", ("a", "b")), 0)["poll_id"]
    for i in range(4):  # the first answer and three changes
        run.do(ANA, c.AnswerPoll(poll, i % 2), 100 * i)
    assert run.refused(ANA, c.AnswerPoll(poll, 0), 10 * 60 * S) == "too-many-changes"
    assert run.do(ANA, c.AnswerPoll(poll, 1), 10 * 60 * S) == {"duplicate": True}
    assert run.count(e.PollAnswered) == 4
    run.do(BEK, c.AnswerPoll(poll, 0), 500)  # another learner's budget is their own


def test_answer_changes_per_quiz_question_are_bounded() -> None:
    run = Run(Rules(answer_changes=1))
    spec = c.QuestionSpec("single", "2+2?", ("3", "4"), (1,))
    quiz = run.do(TEACHER, c.StartQuiz("Q", (spec,), "whole", 60, seed="s"), 0)["quiz_id"]
    run.do(ANA, c.AnswerQuiz(quiz, 1, 0), 100)
    run.do(ANA, c.AnswerQuiz(quiz, 1, 1), 200)
    assert run.refused(ANA, c.AnswerQuiz(quiz, 1, 0), 300) == "too-many-changes"


def test_join_and_leave_cycles_are_bounded_per_minute() -> None:
    run = Run(Rules(join_rate_per_minute=10))
    at = 1000
    for _ in range(9):  # the first join at 0 s counts too
        run.do(ANA, c.Leave(), at)
        run.do(ANA, c.Join(), at + 1)
        at += 10
    run.do(ANA, c.Leave(), at)  # leaving is always stored
    assert run.refused(ANA, c.Join(), at + 1) == "rate-limited"
    assert run.lesson.participants["s1"].presence == "left"
    run.do(ANA, c.Join(), 60 * S + 1)  # a minute after the first: room again
    assert run.count(e.ParticipantJoined) == 3 + 10


def test_a_guest_cannot_cycle_the_waiting_room_past_the_budget() -> None:
    run = Run(Rules(join_rate_per_minute=3))
    for i in range(3):
        run.do(GUEST, c.Join(), 100 * i)
        run.do(GUEST, c.Leave(), 100 * i + 50)
    assert run.refused(GUEST, c.Join(), 400) == "rate-limited"


def test_every_participant_has_a_general_budget_and_leaving_is_never_refused() -> None:
    run = Run(Rules(events_per_minute=10, hand_rate_per_minute=1000))
    for i in range(9):  # her join at 0 s is the tenth event
        run.do(ANA, c.LowerHand() if i % 2 else c.RaiseHand(), 10 * i)
    assert run.refused(ANA, c.LowerHand(), 100) == "rate-limited"
    assert sum(1 for r in run.log if r.actor == "s1") == 10
    run.do(ANA, c.Leave(), 110)
    assert run.lesson.participants["s1"].presence == "left"
    run.do(BEK, c.RaiseHand(), 120)  # Bek's budget is his own


def test_the_log_ceiling_refuses_all_but_what_closes_things() -> None:
    run = Run(Rules(max_events=20, chat_rate_messages=1000, events_per_minute=1000))
    quiz_spec = c.QuestionSpec("single", "?", ("a", "b"), (0,))
    run.do(TEACHER, c.StartQuiz("Q", (quiz_spec,), "whole", 60, seed="s"), 0)
    run.do(TEACHER, c.StartCheck(), 0)
    i = 0
    while run.lesson.seq < 20:
        run.do(ANA, c.SendChat(f"m{i}", "hello"), 1000 + i)
        i += 1
    assert run.refused(ANA, c.SendChat("over", "hello"), 2000) == "log-full"
    assert run.refused(TEACHER, c.OpenPoll("yesno", "Ok?"), 2000) == "log-full"
    run.do(BEK, c.ConnectionLost(), 2000)
    run.do(TEACHER, c.CloseQuiz(1), 2000)
    run.do(TEACHER, c.EndLesson(), 3000)
    assert run.lesson.status == "ended"
    past = [type(r.event).__name__ for r in run.log if r.seq > 20]
    assert past == ["ParticipantLeft", "QuizClosed", "CheckClosed", *["ParticipantLeft"] * 3,
                    "LessonEnded"]  # fmt: skip


# -- the quiz clock: time back only for questions never sent -------------------------------

QUESTION = c.QuestionSpec("single", "Capital of Kyrgyzstan?", ("Osh", "Bishkek"), (1,),
                          limit_s=10)  # fmt: skip


def test_dropping_the_network_on_a_shown_question_gives_no_time_to_look_it_up() -> None:
    run = Run()
    quiz = run.do(TEACHER, c.StartQuiz("Q", (QUESTION, QUESTION), "per_question"), 0)["quiz_id"]
    run.do(ANA, c.NextQuestion(quiz), 1000)  # sent at 1 s: the deadline is 11 s
    run.do(ANA, c.ConnectionLost(last_seen_ms=T + 6000), 6000)  # "drops" at 6 s
    run.do(ANA, c.Join(), 12_000)  # back at 12 s with the answer looked up
    assert run.count(e.QuizTimeExtended) == 0
    assert run.refused(ANA, c.AnswerQuiz(quiz, 1, 1), 13_000) == "quiz-time-over"
    assert run.do(ANA, c.NextQuestion(quiz), 13_000)["question"]["position"] == 2


def test_fetched_whole_quiz_questions_get_no_time_back_after_a_drop() -> None:
    run = Run()
    quiz = run.do(TEACHER, c.StartQuiz("Q", (QUESTION,), "whole", 30), 0)["quiz_id"]
    run.do(ANA, c.NextQuestion(quiz), 1000)  # the questions are on the phone now
    run.do(ANA, c.ConnectionLost(last_seen_ms=T + 5000), 5000)
    run.do(ANA, c.Join(), 25_000)
    assert run.count(e.QuizTimeExtended) == 0
    assert run.refused(ANA, c.AnswerQuiz(quiz, 1, 1), 31_000) == "quiz-time-over"


def test_time_the_questions_were_never_sent_comes_back_capped_and_once() -> None:
    run = Run(Rules(quiz_max_extension_ms=10 * S))
    quiz = run.do(TEACHER, c.StartQuiz("Q", (QUESTION,), "whole", 30), 0)["quiz_id"]
    run.do(ANA, c.ConnectionLost(last_seen_ms=T + 2000), 3000)  # before fetching anything
    run.do(ANA, c.Join(), 20_000)
    extended = [r.event for r in run.log if isinstance(r.event, e.QuizTimeExtended)]
    assert [x.extra_ms for x in extended] == [10 * S]  # 18 s away, capped at 10 s
    run.do(ANA, c.NextQuestion(quiz), 21_000)
    run.do(ANA, c.ConnectionLost(), 22_000)
    run.do(ANA, c.Join(), 30_000)
    assert run.count(e.QuizTimeExtended) == 1  # seen now: nothing more
    run.do(ANA, c.AnswerQuiz(quiz, 1, 1), 39_000)
    assert run.refused(ANA, c.AnswerQuiz(quiz, 1, 0), 40_001) == "quiz-time-over"


def test_no_time_back_once_the_quiz_is_closed_or_published() -> None:
    run = Run()
    quiz = run.do(TEACHER, c.StartQuiz("Q", (QUESTION,), "whole", 30), 0)["quiz_id"]
    run.do(ANA, c.ConnectionLost(last_seen_ms=T + 2000), 3000)
    run.do(BEK, c.NextQuestion(quiz), 4000)
    run.do(TEACHER, c.PublishQuiz(quiz), 10_000)  # results out: Ana could have seen them
    run.do(ANA, c.Join(), 12_000)
    assert run.count(e.QuizTimeExtended) == 0
    assert run.refused(ANA, c.AnswerQuiz(quiz, 1, 1), 12_500) == "quiz-closed"


def test_budgets_are_rebuilt_from_the_log_so_a_restart_does_not_reset_them() -> None:
    run = Run(Rules(join_rate_per_minute=2, answer_changes=1))
    poll = run.do(TEACHER, c.OpenPoll("yesno", "Ok?"), 0)["poll_id"]
    run.do(ANA, c.AnswerPoll(poll, 0), 10)
    run.do(ANA, c.AnswerPoll(poll, 1), 20)
    run.do(ANA, c.Leave(), 30)
    run.do(ANA, c.Join(), 40)
    run.do(ANA, c.Leave(), 50)
    replayed = Lesson("L", "C", run.lesson.rules)
    for record in run.log:
        replayed.apply(record)
    run.lesson = replayed
    assert run.refused(ANA, c.Join(), 60) == "rate-limited"
    run.do(ANA, c.Join(), 60 * S + 1)
    assert run.refused(ANA, c.AnswerPoll(poll, 0), 60 * S + 2) == "too-many-changes"
