"""Timed quizzes: started by the teacher, taken by each learner in their own order against
the server clock, with time given back for drops; closed and published."""

from __future__ import annotations

from core import commands as c
from core import events as e
from core.errors import Refused
from core.names import clean_name
from core.quiz import Mode, Question, Quiz, question_dict, question_from
from core.rules import too_many_changes
from core.state import (
    Actor,
    LessonState,
    Participant,
    require_live,
    require_present,
    require_teacher,
)
from core.tables import Decision, decider, feature, fold

__all__ = ["FEATURE", "Question", "Quiz", "question_from"]


def quiz(state: LessonState, quiz_id: int) -> Quiz:
    if not 1 <= quiz_id <= len(state.quizzes):
        raise Refused("unknown-quiz", "There is no such quiz.")
    return state.quizzes[quiz_id - 1]


def open_quizzes(state: LessonState) -> list[Quiz]:
    return [q for q in state.quizzes if not q.closed]


def due(state: LessonState, now: int) -> list[c.Command]:
    return [c.CloseQuiz(q.id) for q in open_quizzes(state) if now > q.hard_end_ms()]


def _taker(state: LessonState, actor: Actor, quiz_id: int) -> tuple[Participant, Quiz]:
    p = require_present(state, actor)
    taken = quiz(state, quiz_id)
    if p.role == "teacher":
        raise Refused("forbidden", "The teacher does not take the quiz.")
    if taken.closed:
        raise Refused("quiz-closed", "This quiz has closed.")
    return p, taken


def start_quiz(state: LessonState, actor: Actor, cmd: c.StartQuiz, now: int) -> Decision:
    require_teacher(actor)
    require_live(state)
    questions = [_question(i, q) for i, q in enumerate(cmd.questions)]
    title = _title(cmd.title)
    if not 1 <= len(questions) <= 100 or not title:
        raise Refused("invalid-quiz", "A quiz needs a title and 1 to 100 questions.")
    if cmd.mode == "whole" and not cmd.limit_s:
        raise Refused("invalid-quiz", "A whole-quiz time limit is needed.")
    if cmd.mode == "per_question" and not all(q.limit_ms for q in questions):
        raise Refused("invalid-quiz", "Every question needs a time limit.")
    quiz_id = len(state.quizzes) + 1
    event = e.QuizStarted(quiz_id, title, cmd.mode,
                          [question_dict(q) for q in questions], int(cmd.limit_s * 1000),
                          cmd.seed, state.rules.quiz_max_extension_ms)  # fmt: skip
    return Decision([event], {"quiz_id": quiz_id})


def next_question(state: LessonState, actor: Actor, cmd: c.NextQuestion, now: int) -> Decision:
    p, taken = _taker(state, actor, cmd.quiz_id)
    you = taken.learner(p.id)
    if taken.mode == "whole":
        questions = [taken.presented(p.id, k + 1) for k in range(len(taken.questions))]
        # The first time the questions are sent is logged: from then on they are seen.
        sent = [] if 0 in you.shown else [e.QuizQuestionShown(taken.id, p.id, 0)]
        return Decision(sent, {"questions": questions})
    current = taken.current(p.id)
    unanswered = (
        current is not None and taken.questions[you.order[current - 1]].id not in you.answers
    )
    if current is not None and unanswered and now <= taken.deadline(p.id, current):
        return Decision((), {"question": taken.presented(p.id, current)})  # asked again
    position = (current or 0) + 1
    if position > len(taken.questions):
        return Decision((), {"done": True})
    event = e.QuizQuestionShown(taken.id, p.id, position)
    return Decision([event], {"question": taken.presented(p.id, position, shown_ms=now)})


def answer_quiz(state: LessonState, actor: Actor, cmd: c.AnswerQuiz, now: int) -> Decision:
    p, taken = _taker(state, actor, cmd.quiz_id)
    you = taken.learner(p.id)
    if not 1 <= cmd.position <= len(taken.questions):
        raise Refused("invalid-answer", "There is no such question.")
    if taken.mode == "per_question" and taken.current(p.id) != cmd.position:
        raise Refused("not-current", "Answer the question you are shown.")
    if now > taken.deadline(p.id, cmd.position):
        raise Refused("quiz-time-over", "The time for this question is over.")
    question = taken.questions[you.order[cmd.position - 1]]
    if taken.mode == "per_question" and question.id in you.answers:
        raise Refused("already-answered", "You have answered this question.")
    answer = taken.to_canonical(p.id, question, cmd.answer)
    if you.answers.get(question.id) == answer:
        return Decision((), {"duplicate": True})
    if you.changes.get(question.id, 0) >= state.rules.answer_changes:
        raise too_many_changes()
    return Decision([e.QuizAnswered(taken.id, p.id, question.id, answer)])


def close_quiz(state: LessonState, actor: Actor, cmd: c.CloseQuiz, now: int) -> Decision:
    require_teacher(actor)
    if quiz(state, cmd.quiz_id).closed:
        return Decision()
    return Decision([e.QuizClosed(cmd.quiz_id)])


def publish_quiz(state: LessonState, actor: Actor, cmd: c.PublishQuiz, now: int) -> Decision:
    require_teacher(actor)
    published = quiz(state, cmd.quiz_id)
    closing = [] if published.closed else [e.QuizClosed(published.id)]
    return Decision([*closing, e.QuizPublished(published.id)])


def extensions_on_return(state: LessonState, p: Participant, now: int) -> list[e.Event]:
    """Time back for a learner whose connection dropped during an open quiz (bounded).

    Only time the learner's clock ran while they had not been sent the questions comes
    back: a whole quiz whose questions they never fetched. Once questions are sent they
    count as seen (the server cannot tell whether a phone went offline to look answers
    up), and one question at a time its clock only starts when it is sent, so it never
    runs unseen. The time back is capped by the quiz's bound and given once, on return.
    """
    out: list[e.Event] = []
    if p.role == "teacher":
        return out  # the teacher takes no quiz: nothing to give back
    for running in open_quizzes(state):
        you = running.learner(p.id)
        if running.mode == "per_question" or you.shown:
            continue
        lost = min(now, running.deadline(p.id, 1)) - max(p.gap_from_ms, running.started_ms)
        extra = min(lost, running.max_extension_ms - you.extended_ms)
        if extra > 0:
            out.append(e.QuizTimeExtended(running.id, p.id, 0, extra,
                                          now - p.gap_from_ms, p.gap_reason))  # fmt: skip
    return out


def quiz_started(state: LessonState, ev: e.QuizStarted, ts: int) -> None:
    questions = [question_from(d) for d in ev.questions]
    mode: Mode = "per_question" if ev.mode == "per_question" else "whole"
    state.quizzes.append(Quiz(ev.quiz_id, ev.title, mode, questions, ev.limit_ms,
                              ev.seed, ev.max_extension_ms, ts))  # fmt: skip


def quiz_question_shown(state: LessonState, ev: e.QuizQuestionShown, ts: int) -> None:
    state.quizzes[ev.quiz_id - 1].enrol(ev.participant_id).shown[ev.position] = ts


def quiz_answered(state: LessonState, ev: e.QuizAnswered, ts: int) -> None:
    learner = state.quizzes[ev.quiz_id - 1].enrol(ev.participant_id)
    if ev.question_id in learner.answers:
        learner.changes[ev.question_id] = learner.changes.get(ev.question_id, 0) + 1
    learner.answers[ev.question_id] = ev.answer


def quiz_time_extended(state: LessonState, ev: e.QuizTimeExtended, ts: int) -> None:
    learner = state.quizzes[ev.quiz_id - 1].enrol(ev.participant_id)
    learner.extra_ms[ev.position] = learner.extra_ms.get(ev.position, 0) + ev.extra_ms


def quiz_closed(state: LessonState, ev: e.QuizClosed, ts: int) -> None:
    state.quizzes[ev.quiz_id - 1].closed = True


def quiz_published(state: LessonState, ev: e.QuizPublished, ts: int) -> None:
    state.quizzes[ev.quiz_id - 1].published = True


def _question(i: int, spec: c.QuestionSpec) -> Question:
    n = len(spec.options)
    if spec.kind in ("single", "multiple") and not 2 <= n <= 12:
        raise Refused("invalid-quiz", f"Question {i + 1} needs 2 to 12 options.")
    ok_choice = all(isinstance(x, int) and 0 <= x < n for x in spec.correct)
    if spec.kind == "single" and (len(spec.correct) != 1 or not ok_choice):
        raise Refused("invalid-quiz", f"Question {i + 1} needs one correct option.")
    if spec.kind == "multiple" and (not spec.correct or not ok_choice):
        raise Refused("invalid-quiz", f"Question {i + 1} needs its correct options.")
    if spec.kind == "number" and len(spec.correct) != 1:
        raise Refused("invalid-quiz", f"Question {i + 1} needs its correct number.")
    if not spec.text.strip() or not 0 <= spec.points <= 100:
        raise Refused("invalid-quiz", f"Question {i + 1} needs a text and 0 to 100 points.")
    return Question(f"q{i + 1}", spec.kind, spec.text.strip(), tuple(spec.options),
                    tuple(spec.correct), spec.points, int(spec.limit_s * 1000))  # fmt: skip


def _title(value: str) -> str:
    """The quiz title as plain text, or "" when nothing visible is left (refused above)."""
    try:
        return clean_name(value, "title", 200)
    except Refused:
        return ""


FEATURE = feature(
    "quizzes",
    deciders=[
        decider(c.StartQuiz, start_quiz),
        decider(c.NextQuestion, next_question),
        decider(c.AnswerQuiz, answer_quiz),
        decider(c.CloseQuiz, close_quiz),
        decider(c.PublishQuiz, publish_quiz),
    ],
    folds=[
        fold(e.QuizStarted, quiz_started),
        fold(e.QuizQuestionShown, quiz_question_shown),
        fold(e.QuizAnswered, quiz_answered),
        fold(e.QuizTimeExtended, quiz_time_extended),
        fold(e.QuizClosed, quiz_closed),
        fold(e.QuizPublished, quiz_published),
    ],
)
