"""Poll and quiz rules: answers, anonymity, shuffling and its inverse, deadlines, time back."""

from __future__ import annotations

from typing import Any

import pytest

from core import commands as c
from core import events as e
from core.errors import Refused
from core.lesson import SYSTEM, Actor, Lesson
from core.report import RosterEntry, Thresholds, lesson_report
from core.rules import Rules
from core.shuffle import inverse, permutation

T = 1_700_000_000_000
S = 1000
TEACHER = Actor("t1", "teacher", "Aigul")
ANA, BEK, GUEST = (
    Actor("s1", "student", "Ana"),
    Actor("s2", "student", "Bek"),
    Actor("g1", "guest", "Visitor"),
)


class Run:
    def __init__(self) -> None:
        self.lesson = Lesson("L", "C", Rules(quiz_max_extension_ms=60 * S))
        self.log: list[e.Record] = []
        self.do(TEACHER, c.StartLesson("Maths", "t1", True), 0)
        for who in (TEACHER, ANA, BEK, GUEST):
            self.do(who, c.Join(), 0)
        self.do(TEACHER, c.AdmitGuest("g1"), 0)

    def do(self, actor: Actor, command: c.Command, at_s: float) -> dict[str, Any]:
        out = self.lesson.execute(actor, command, T + int(at_s * S))
        self.log += out.records
        return out.result

    def refused(self, actor: Actor, command: c.Command, at_s: float) -> str:
        before = self.lesson.seq
        with pytest.raises(Refused) as info:
            self.do(actor, command, at_s)
        assert self.lesson.seq == before
        return info.value.code


# -- polls -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "options", "answer", "stored"),
    [
        ("single", ("a", "b", "c"), 2, 2),
        ("multiple", ("a", "b", "c"), [2, 0], [0, 2]),
        ("yesno", (), 1, 1),
        ("text", (), "  forty   two ", "forty two"),
        ("number", (), 3.5, 3.5),
    ],
)
def test_each_kind_of_poll_stores_a_canonical_answer(
    kind: Any, options: tuple[str, ...], answer: Any, stored: Any
) -> None:
    run = Run()
    poll = run.do(TEACHER, c.OpenPoll(kind, "Q?", options), 1)["poll_id"]
    run.do(ANA, c.AnswerPoll(poll, answer), 2)
    assert run.lesson.polls[0].answers == {"s1": stored}


@pytest.mark.parametrize(
    ("kind", "options", "answer"),
    [
        ("single", ("a", "b"), 2),
        ("single", ("a", "b"), True),
        ("single", ("a", "b"), "0"),
        ("multiple", ("a", "b"), [0, 0]),
        ("multiple", ("a", "b"), []),
        ("yesno", (), 3),
        ("text", (), "x" * 201),
        ("text", (), 5),
        ("number", (), float("nan")),
        ("number", (), 1e99),
    ],
)
def test_bad_answers_are_refused_and_change_nothing(
    kind: Any, options: tuple[str, ...], answer: Any
) -> None:
    run = Run()
    run.do(TEACHER, c.OpenPoll(kind, "Q?", options, number_min=0, number_max=100), 1)
    assert run.refused(ANA, c.AnswerPoll(1, answer), 2) == "invalid-answer"


def test_poll_refusals() -> None:
    run = Run()
    run.do(TEACHER, c.OpenPoll("single", "Q?", ("a", "b"), guests=False, changeable=False), 1)
    assert run.refused(ANA, c.OpenPoll("yesno", "Q?"), 1) == "forbidden"
    assert run.refused(TEACHER, c.AnswerPoll(1, 0), 2) == "forbidden"
    assert run.refused(GUEST, c.AnswerPoll(1, 0), 2) == "forbidden"
    assert run.refused(ANA, c.AnswerPoll(7, 0), 2) == "unknown-poll"
    run.do(ANA, c.AnswerPoll(1, 0), 2)
    assert run.refused(ANA, c.AnswerPoll(1, 1), 3) == "already-answered"
    run.do(TEACHER, c.ClosePoll(1), 4)
    assert run.refused(BEK, c.AnswerPoll(1, 1), 5) == "poll-closed"
    assert run.refused(TEACHER, c.OpenPoll("single", "Q?", ("a",)), 6) == "invalid-poll"


def test_a_changeable_poll_keeps_one_answer_per_learner() -> None:
    run = Run()
    run.do(TEACHER, c.OpenPoll("single", "Q?", ("a", "b")), 1)
    run.do(ANA, c.AnswerPoll(1, 0), 2)
    run.do(ANA, c.AnswerPoll(1, 1), 3)
    assert run.do(ANA, c.AnswerPoll(1, 1), 4) == {"duplicate": True}
    assert run.lesson.polls[0].tally()["counts"] == [0, 1]


def test_an_anonymous_poll_stores_no_learner_with_any_answer() -> None:
    run = Run()
    run.do(TEACHER, c.OpenPoll("single", "Secret?", ("a", "b"), anonymous=True), 1)
    run.do(ANA, c.AnswerPoll(1, 0, voter_tag="tag-a"), 2)
    assert run.refused(ANA, c.AnswerPoll(1, 1, voter_tag="tag-a"), 3) == "already-answered"
    run.do(BEK, c.AnswerPoll(1, 1, voter_tag="tag-b"), 3)
    assert run.log[-1].event == e.PollOpened(1, "single", "Secret?", ["a", "b"], True, False,
                                             True, None, None)  # fmt: skip
    assert run.refused(TEACHER, c.PublishPoll(1, with_names=True), 4) == "poll-anonymous"
    run.do(TEACHER, c.ClosePoll(1), 5)
    counted, closed = run.log[-2:]
    assert counted.event == e.PollBallotsCounted(1, [0, 1]) and counted.actor == "anonymous"
    assert closed.event == e.PollClosed(1) and counted.ts_ms == closed.ts_ms
    assert "tag-" not in repr([r.as_dict() for r in run.log])
    assert run.lesson.polls[0].tally()["counts"] == [1, 1]
    report = lesson_report(run.log, [RosterEntry("s1", "Ana")], Thresholds(), T + 10 * S)
    assert report["polls"][0]["answered"] == 2 and report["learners"][0]["poll_answers"] == 0


def test_the_same_answer_again_to_a_poll_that_cannot_change_is_a_duplicate() -> None:
    run = Run()  # the page resends after a drop: a lost ack must not read as a refusal
    run.do(TEACHER, c.OpenPoll("single", "Secret?", ("a", "b"), anonymous=True), 1)
    run.do(TEACHER, c.OpenPoll("single", "Fixed?", ("a", "b"), changeable=False), 1)
    run.do(ANA, c.AnswerPoll(1, 1, voter_tag="tag-a"), 2)
    run.do(ANA, c.AnswerPoll(2, 0), 2)
    before = run.lesson.seq
    again = run.do(ANA, c.AnswerPoll(1, 1, voter_tag="tag-a"), 3)
    assert again == {"sealed": True, "duplicate": True}
    assert run.do(ANA, c.AnswerPoll(2, 0), 3) == {"duplicate": True}
    assert run.lesson.seq == before
    assert run.refused(ANA, c.AnswerPoll(2, 1), 4) == "already-answered"
    assert run.refused(ANA, c.AnswerPoll(1, 0, voter_tag="tag-a"), 4) == "already-answered"


def test_published_results_with_names() -> None:
    run = Run()
    run.do(TEACHER, c.OpenPoll("yesno", "Ready?", abstain=False), 1)
    run.do(ANA, c.AnswerPoll(1, 0), 2)
    run.do(BEK, c.AnswerPoll(1, 1), 2)
    run.do(TEACHER, c.PublishPoll(1, with_names=True), 3)
    results = run.lesson.poll_results(run.lesson.polls[0])
    assert results["counts"] == [1, 1] and run.lesson.polls[0].closed
    assert results["names"] == [{"name": "Ana", "answer": 0}, {"name": "Bek", "answer": 1}]


# -- shuffling ---------------------------------------------------------------------------------


def test_permutations_are_reproducible_per_learner_and_invertible() -> None:
    a = permutation("seed", "s1", 10)
    assert a == permutation("seed", "s1", 10) and sorted(a) == list(range(10))
    assert a != permutation("seed", "s2", 10) or a != permutation("other", "s1", 10)
    position_of = inverse(a)
    assert all(a[position_of[k]] == k for k in range(10))
    assert permutation("seed", "s1", 10) == [
        3,
        0,
        6,
        4,
        2,
        8,
        9,
        5,
        7,
        1,
    ]  # pinned: logs must replay


# -- quizzes -----------------------------------------------------------------------------------

QUESTIONS = (
    c.QuestionSpec("single", "2+2?", ("3", "4", "5"), (1,), 2, limit_s=20),
    c.QuestionSpec("multiple", "Primes?", ("2", "4", "5", "9"), (0, 2), 3, limit_s=20),
    c.QuestionSpec("number", "7*6?", (), (42,), 5, limit_s=20),
)


def start_quiz(run: Run, mode: Any = "whole", limit_s: float = 60) -> int:
    quiz = c.StartQuiz("Quiz", QUESTIONS, mode, limit_s, seed="fixed-seed")
    return int(run.do(TEACHER, quiz, 10)["quiz_id"])


def correct_answer(run: Run, pid: str, position: int) -> Any:
    """What a learner must send at `position` to be right, through their own shuffles."""
    quiz = run.lesson.quizzes[0]
    q = quiz.questions[quiz.learner(pid).order[position - 1]]
    shown_at = inverse(quiz.options_for(pid, q))
    if q.kind == "single":
        return shown_at[int(q.correct[0])]
    if q.kind == "multiple":
        return [shown_at[int(i)] for i in q.correct]
    return q.correct[0]


def wrong_answer(run: Run, pid: str, position: int) -> Any:
    right = correct_answer(run, pid, position)
    if isinstance(right, list):
        return right[:1]  # one of the two right options only
    return (right + 1) % 3 if isinstance(right, int) else right + 1


def test_each_learner_gets_their_own_order_and_answers_map_back_exactly() -> None:
    run = Run()
    quiz = start_quiz(run)
    mine = run.do(ANA, c.NextQuestion(quiz), 11)["questions"]
    theirs = run.do(BEK, c.NextQuestion(quiz), 11)["questions"]
    assert sorted(q["text"] for q in mine) == sorted(q["text"] for q in theirs)
    assert all("correct" not in q for q in mine)
    for position in (1, 2, 3):
        run.do(ANA, c.AnswerQuiz(quiz, position, correct_answer(run, "s1", position)), 12)
    assert run.lesson.quizzes[0].score("s1")["score"] == 10
    replayed = Lesson("L", "C", run.lesson.rules)
    for record in run.log:
        replayed.apply(record)
    assert replayed.quizzes[0].score("s1") == run.lesson.quizzes[0].score("s1")


@pytest.mark.parametrize(("at_s", "ok"), [(69.999, True), (70.0, True), (70.001, False)])
def test_the_deadline_from_both_sides(at_s: float, ok: bool) -> None:
    run = Run()
    quiz = start_quiz(run, limit_s=60)  # started at 10 s: the deadline is 70 s
    command = c.AnswerQuiz(quiz, 1, 0)
    if ok:
        run.do(ANA, command, at_s)
    else:
        assert run.refused(ANA, command, at_s) == "quiz-time-over"


def test_a_drop_during_the_quiz_gives_the_gap_back_up_to_the_bound() -> None:
    run = Run()
    quiz = start_quiz(run, limit_s=60)
    run.do(ANA, c.ConnectionLost(last_seen_ms=T + 20 * S), 25)
    run.do(ANA, c.Join(), 45)  # 25 s away
    run.do(BEK, c.ConnectionLost(last_seen_ms=T + 15 * S), 16)
    run.do(BEK, c.Join(), 100)  # away past the deadline: only the bound (60 s) comes back
    extended = {r.event.participant_id: r.event for r in run.log
                if isinstance(r.event, e.QuizTimeExtended)}  # fmt: skip
    assert extended["s1"].extra_ms == 25 * S and extended["s1"].reason == "network"
    assert extended["s2"].extra_ms == 55 * S  # the part of the gap inside the quiz clock
    run.do(ANA, c.AnswerQuiz(quiz, 1, 0), 94)  # 70 + 25 - 1
    assert run.refused(ANA, c.AnswerQuiz(quiz, 1, 1), 95.5) == "quiz-time-over"


def test_only_learners_get_quiz_time_back() -> None:
    run = Run()
    start_quiz(run, limit_s=60)
    run.do(TEACHER, c.ConnectionLost(last_seen_ms=T + 20 * S), 21)  # the teacher's own drop
    run.do(TEACHER, c.Join(), 40)
    run.do(TEACHER, c.NoteRestart(T + 41 * S), 50)  # and a restart: everyone was away
    for who in (TEACHER, ANA):
        run.do(who, c.Join(), 55)
    extended = [r.event.participant_id for r in run.log if isinstance(r.event, e.QuizTimeExtended)]
    assert extended == ["s1"]


def test_a_drop_before_the_quiz_gives_no_time_back() -> None:
    run = Run()
    run.do(ANA, c.ConnectionLost(last_seen_ms=T + 1 * S), 2)
    quiz = start_quiz(run)
    run.do(ANA, c.Join(), 12)  # 11 s away, but the quiz clock ran only 2 s of it
    extended = [r.event for r in run.log if isinstance(r.event, e.QuizTimeExtended)]
    assert [x.extra_ms for x in extended] == [2 * S]
    assert run.lesson.quizzes[quiz - 1].deadline("s1", 1) == T + 72 * S


def test_one_question_at_a_time_with_its_own_clock() -> None:
    run = Run()
    quiz = start_quiz(run, mode="per_question", limit_s=0)
    first = run.do(ANA, c.NextQuestion(quiz), 11)["question"]
    assert first["position"] == 1 and first["deadline"] == T + 31 * S
    assert run.refused(ANA, c.AnswerQuiz(quiz, 2, 0), 12) == "not-current"
    assert run.do(ANA, c.NextQuestion(quiz), 12)["question"]["position"] == 1  # same one
    run.do(ANA, c.AnswerQuiz(quiz, 1, 0), 13)
    assert run.refused(ANA, c.AnswerQuiz(quiz, 1, 1), 14) == "already-answered"
    second = run.do(ANA, c.NextQuestion(quiz), 20)["question"]
    assert second["position"] == 2 and second["deadline"] == T + 40 * S
    assert run.refused(ANA, c.AnswerQuiz(quiz, 2, [0]), 41) == "quiz-time-over"


def test_quizzes_close_by_themselves_after_the_last_possible_deadline() -> None:
    run = Run()
    start_quiz(run, limit_s=60)
    assert run.lesson.due(T + 130 * S) == []
    assert run.lesson.due(T + 131 * S) == [c.CloseQuiz(1)]


@pytest.mark.parametrize(
    "questions",
    [
        (),
        (c.QuestionSpec("single", "Q", ("a",), (0,)),),
        (c.QuestionSpec("single", "Q", ("a", "b"), (2,)),),
        (c.QuestionSpec("multiple", "Q", ("a", "b"), ()),),
        (c.QuestionSpec("number", "Q", (), ()),),
    ],
)
def test_bad_quizzes_are_refused(questions: tuple[c.QuestionSpec, ...]) -> None:
    run = Run()
    assert run.refused(TEACHER, c.StartQuiz("Q", questions, "whole", 60), 1) == "invalid-quiz"


def test_a_learner_sees_each_of_their_questions_marked_and_whether_they_took_it() -> None:
    run = Run()
    quiz = start_quiz(run)
    run.do(ANA, c.NextQuestion(quiz), 11)
    run.do(ANA, c.AnswerQuiz(quiz, 1, correct_answer(run, "s1", 1)), 12)
    run.do(ANA, c.AnswerQuiz(quiz, 2, wrong_answer(run, "s1", 2)), 12)
    mine = run.lesson.quizzes[0].own_result("s1")
    assert mine["taken"] is True
    marks = [(q["position"], q["answered"], q["mark"] == q["points"]) for q in mine["questions"]]
    assert marks == [(1, True, True), (2, True, False), (3, False, False)]
    first = run.lesson.quizzes[0].questions[run.lesson.quizzes[0].learner("s1").order[0]]
    assert mine["questions"][0]["text"] == first.text
    never = run.lesson.quizzes[0].own_result("s2")
    assert never["taken"] is False and never["score"] == 0


def test_results_in_the_report() -> None:
    run = Run()
    quiz = start_quiz(run)
    run.do(ANA, c.AnswerQuiz(quiz, 1, correct_answer(run, "s1", 1)), 12)
    run.do(SYSTEM, c.CloseQuiz(quiz), 80)
    roster = [RosterEntry("s1", "Ana"), RosterEntry("s2", "Bek")]
    report = lesson_report(run.log, roster, Thresholds(), T + 100 * S)
    quiz_report = report["quizzes"][0]
    assert quiz_report["max_score"] == 10
    first = run.lesson.quizzes[0].questions[run.lesson.quizzes[0].learner("s1").order[0]]
    assert report["learners"][0]["quiz_scores"] == {"1": first.points}
    stats = {q["id"]: q for q in quiz_report["questions"]}
    assert stats[first.id] == {"id": first.id, "text": first.text, "answered": 1, "correct": 1}


def test_sealed_ballots_are_sorted_not_in_casting_order_and_opened_at_the_end() -> None:
    run = Run()
    run.do(TEACHER, c.OpenPoll("text", "One word?", anonymous=True), 1)
    run.do(BEK, c.AnswerPoll(1, "zebra", voter_tag="tag-b"), 2)
    run.do(ANA, c.AnswerPoll(1, "apple", voter_tag="tag-a"), 3)
    assert run.lesson.polls[0].tally()["answered"] == 2
    run.do(TEACHER, c.EndLesson(), 4)
    counted = [r.event for r in run.log if isinstance(r.event, e.PollBallotsCounted)]
    assert counted == [e.PollBallotsCounted(1, ["apple", "zebra"])]
    replayed = Lesson("L", "C", Rules())
    for record in run.log:
        replayed.apply(record)
    assert replayed.polls[0].tally()["texts"] == ["apple", "zebra"]
