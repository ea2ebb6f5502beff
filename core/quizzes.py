"""Timed quizzes: per-learner order, deadlines by the server clock, time back for drops."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from core import commands as c
from core import events as e
from core.errors import Refused
from core.names import clean_name
from core.polls import too_many_changes
from core.shuffle import inverse, permutation
from core.state import Actor, LessonState, Participant

Mode = Literal["whole", "per_question"]


@dataclass(frozen=True)
class Question:
    id: str
    kind: Literal["single", "multiple", "number"]
    text: str
    options: tuple[str, ...]
    correct: tuple[float, ...]  # option indexes (choice), or the number
    points: int = 1
    limit_ms: int = 0  # per_question mode

    def score(self, answer: Any) -> int:
        if self.kind == "single":
            return self.points if (answer,) == self.correct else 0
        if self.kind == "multiple":
            return self.points if tuple(answer) == tuple(sorted(self.correct)) else 0
        return self.points if answer == self.correct[0] else 0


@dataclass
class Learner:
    """One learner's own run through a quiz."""

    order: list[int]
    shown: dict[int, int] = field(default_factory=dict)  # position (0: whole) -> sent at (ms)
    answers: dict[str, Any] = field(default_factory=dict)  # question id -> canonical answer
    changes: dict[str, int] = field(default_factory=dict)  # question id -> times changed
    extra_ms: dict[int, int] = field(default_factory=dict)  # position (0: whole) -> extra

    @property
    def extended_ms(self) -> int:
        return sum(self.extra_ms.values())


@dataclass
class Quiz:
    id: int
    title: str
    mode: Mode
    questions: list[Question]
    limit_ms: int
    seed: str
    max_extension_ms: int
    started_ms: int
    learners: dict[str, Learner] = field(default_factory=dict)
    closed: bool = False
    published: bool = False

    def learner(self, pid: str) -> Learner:
        """A learner's run (read-only use: a fresh, unsaved one if they have not started)."""
        found = self.learners.get(pid)
        return found or Learner(permutation(self.seed, pid, len(self.questions)))

    def enrol(self, pid: str) -> Learner:
        """The learner's run, kept from now on (only when applying an event)."""
        return self.learners.setdefault(pid, self.learner(pid))

    def current(self, pid: str) -> int | None:
        """per_question: the position now shown to the learner (1-based), if any."""
        shown = self.learner(pid).shown
        return max(shown) if shown else None

    def deadline(self, pid: str, position: int, shown_ms: int | None = None) -> int:
        you = self.learner(pid)
        if self.mode == "whole":
            return self.started_ms + self.limit_ms + you.extra_ms.get(0, 0)
        question = self.questions[you.order[position - 1]]
        opened = shown_ms if shown_ms is not None else you.shown[position]
        return opened + question.limit_ms + you.extra_ms.get(position, 0)

    def hard_end_ms(self) -> int:
        total = self.limit_ms if self.mode == "whole" else sum(q.limit_ms for q in self.questions)
        return self.started_ms + total + self.max_extension_ms

    def options_for(self, pid: str, question: Question) -> list[int]:
        return permutation(self.seed, f"{pid}/{question.id}", len(question.options))

    def presented(self, pid: str, position: int, shown_ms: int | None = None) -> dict[str, Any]:
        """A question as this learner sees it: their order, no correct answer."""
        question = self.questions[self.learner(pid).order[position - 1]]
        order = self.options_for(pid, question)
        return {"position": position, "kind": question.kind, "text": question.text,
                "options": [question.options[i] for i in order], "points": question.points,
                "deadline": self.deadline(pid, position, shown_ms),
                "my_answer": self._in_my_order(pid, question, order)}  # fmt: skip

    def _in_my_order(self, pid: str, question: Question, order: list[int]) -> Any:
        """The learner's stored answer, said back in their own option order."""
        answer = self.learner(pid).answers.get(question.id)
        if answer is None or question.kind == "number":
            return answer
        shown_at = inverse(order)
        return (
            shown_at[answer] if question.kind == "single" else sorted(shown_at[a] for a in answer)
        )

    def to_canonical(self, pid: str, question: Question, answer: Any) -> Any:
        order = self.options_for(pid, question)
        if question.kind == "single":
            return _index(answer, order)
        if question.kind == "multiple":
            return _indexes(answer, order)
        if isinstance(answer, bool) or not isinstance(answer, int | float):
            raise Refused("invalid-answer", "Give a number.")
        return answer

    def score(self, pid: str) -> dict[str, Any]:
        you = self.learner(pid)
        marks = {q.id: q.score(you.answers[q.id]) if q.id in you.answers else 0
                 for q in self.questions}  # fmt: skip
        return {"quiz_id": self.id, "score": sum(marks.values()),
                "max_score": sum(q.points for q in self.questions), "marks": marks}  # fmt: skip

    def own_result(self, pid: str) -> dict[str, Any]:
        """A learner's published score, with each question in their own order (and whether
        they took the quiz at all), so the phone can say which answers were wrong."""
        result = self.score(pid)
        you = self.learner(pid)
        questions = []
        for position, index in enumerate(you.order, start=1):
            q = self.questions[index]
            questions.append({"position": position, "text": q.text, "points": q.points,
                              "answered": q.id in you.answers,
                              "mark": result["marks"][q.id]})  # fmt: skip
        return {**result, "taken": pid in self.learners, "questions": questions}


def _index(answer: Any, order: list[int]) -> int:
    if isinstance(answer, bool) or not isinstance(answer, int) or not 0 <= answer < len(order):
        raise Refused("invalid-answer", "There is no such option.")
    return order[answer]


def _indexes(answer: Any, order: list[int]) -> list[int]:
    if not isinstance(answer, list) or not answer or len(answer) > len(order):
        raise Refused("invalid-answer", "Choose one or more options.")
    picked = sorted({_index(a, order) for a in answer})
    if len(picked) != len(answer):
        raise Refused("invalid-answer", "Each option can be chosen once.")
    return picked


class QuizzesMixin(LessonState):
    def init_quizzes(self) -> None:
        self.quizzes: list[Quiz] = []

    def quiz(self, quiz_id: int) -> Quiz:
        if not 1 <= quiz_id <= len(self.quizzes):
            raise Refused("unknown-quiz", "There is no such quiz.")
        return self.quizzes[quiz_id - 1]

    def open_quizzes(self) -> list[Quiz]:
        return [q for q in self.quizzes if not q.closed]

    def _quiz_taker(self, actor: Actor, quiz_id: int) -> tuple[Participant, Quiz]:
        p = self.require_present(actor)
        quiz = self.quiz(quiz_id)
        if p.role == "teacher":
            raise Refused("forbidden", "The teacher does not take the quiz.")
        if quiz.closed:
            raise Refused("quiz-closed", "This quiz has closed.")
        return p, quiz

    def _decide_start_quiz(self, actor: Actor, cmd: c.StartQuiz, now: int) -> Any:
        self.require_teacher(actor)
        self.require_live()
        questions = [_question(i, q) for i, q in enumerate(cmd.questions)]
        title = _title(cmd.title)
        if not 1 <= len(questions) <= 100 or not title:
            raise Refused("invalid-quiz", "A quiz needs a title and 1 to 100 questions.")
        if cmd.mode == "whole" and not cmd.limit_s:
            raise Refused("invalid-quiz", "A whole-quiz time limit is needed.")
        if cmd.mode == "per_question" and not all(q.limit_ms for q in questions):
            raise Refused("invalid-quiz", "Every question needs a time limit.")
        quiz_id = len(self.quizzes) + 1
        event = e.QuizStarted(quiz_id, title, cmd.mode,
                              [_question_dict(q) for q in questions], int(cmd.limit_s * 1000),
                              cmd.seed, self.rules.quiz_max_extension_ms)  # fmt: skip
        return [event], {"quiz_id": quiz_id}

    def _decide_next_question(self, actor: Actor, cmd: c.NextQuestion, now: int) -> Any:
        p, quiz = self._quiz_taker(actor, cmd.quiz_id)
        if quiz.mode == "whole":
            questions = [quiz.presented(p.id, k + 1) for k in range(len(quiz.questions))]
            # The first time the questions are sent is logged: from then on they are seen.
            sent = [] if 0 in quiz.learner(p.id).shown else [e.QuizQuestionShown(quiz.id, p.id, 0)]
            return sent, {"questions": questions}
        current = quiz.current(p.id)
        unanswered = (
            current is not None
            and quiz.questions[quiz.learner(p.id).order[current - 1]].id
            not in quiz.learner(p.id).answers
        )
        if current is not None and unanswered and now <= quiz.deadline(p.id, current):
            return [], {"question": quiz.presented(p.id, current)}  # asked again: same one
        position = (current or 0) + 1
        if position > len(quiz.questions):
            return [], {"done": True}
        event = e.QuizQuestionShown(quiz.id, p.id, position)
        return [event], {"question": quiz.presented(p.id, position, shown_ms=now)}

    def _decide_answer_quiz(self, actor: Actor, cmd: c.AnswerQuiz, now: int) -> Any:
        p, quiz = self._quiz_taker(actor, cmd.quiz_id)
        you = quiz.learner(p.id)
        if not 1 <= cmd.position <= len(quiz.questions):
            raise Refused("invalid-answer", "There is no such question.")
        if quiz.mode == "per_question" and quiz.current(p.id) != cmd.position:
            raise Refused("not-current", "Answer the question you are shown.")
        if now > quiz.deadline(p.id, cmd.position):
            raise Refused("quiz-time-over", "The time for this question is over.")
        question = quiz.questions[you.order[cmd.position - 1]]
        if quiz.mode == "per_question" and question.id in you.answers:
            raise Refused("already-answered", "You have answered this question.")
        answer = quiz.to_canonical(p.id, question, cmd.answer)
        if you.answers.get(question.id) == answer:
            return [], {"duplicate": True}
        if you.changes.get(question.id, 0) >= self.rules.answer_changes:
            raise too_many_changes()
        return [e.QuizAnswered(quiz.id, p.id, question.id, answer)], {}

    def _decide_close_quiz(self, actor: Actor, cmd: c.CloseQuiz, now: int) -> Any:
        self.require_teacher(actor)
        return ([], {}) if self.quiz(cmd.quiz_id).closed else ([e.QuizClosed(cmd.quiz_id)], {})

    def _decide_publish_quiz(self, actor: Actor, cmd: c.PublishQuiz, now: int) -> Any:
        self.require_teacher(actor)
        quiz = self.quiz(cmd.quiz_id)
        closing = [] if quiz.closed else [e.QuizClosed(quiz.id)]
        return [*closing, e.QuizPublished(quiz.id)], {}

    def quizzes_due(self, now: int) -> list[c.Command]:
        return [c.CloseQuiz(q.id) for q in self.open_quizzes() if now > q.hard_end_ms()]

    def extensions_on_return(self, p: Participant, now: int) -> list[e.Event]:
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
        for quiz in self.open_quizzes():
            you = quiz.learner(p.id)
            if quiz.mode == "per_question" or you.shown:
                continue
            lost = min(now, quiz.deadline(p.id, 1)) - max(p.gap_from_ms, quiz.started_ms)
            extra = min(lost, quiz.max_extension_ms - you.extended_ms)
            if extra > 0:
                out.append(e.QuizTimeExtended(quiz.id, p.id, 0, extra,
                                              now - p.gap_from_ms, p.gap_reason))  # fmt: skip
        return out

    def _apply_quiz_started(self, ev: e.QuizStarted, ts: int) -> None:
        questions = [question_from(d) for d in ev.questions]
        mode: Mode = "per_question" if ev.mode == "per_question" else "whole"
        self.quizzes.append(Quiz(ev.quiz_id, ev.title, mode, questions, ev.limit_ms,
                                 ev.seed, ev.max_extension_ms, ts))  # fmt: skip

    def _apply_quiz_question_shown(self, ev: e.QuizQuestionShown, ts: int) -> None:
        self.quizzes[ev.quiz_id - 1].enrol(ev.participant_id).shown[ev.position] = ts

    def _apply_quiz_answered(self, ev: e.QuizAnswered, ts: int) -> None:
        learner = self.quizzes[ev.quiz_id - 1].enrol(ev.participant_id)
        if ev.question_id in learner.answers:
            learner.changes[ev.question_id] = learner.changes.get(ev.question_id, 0) + 1
        learner.answers[ev.question_id] = ev.answer

    def _apply_quiz_time_extended(self, ev: e.QuizTimeExtended, ts: int) -> None:
        learner = self.quizzes[ev.quiz_id - 1].enrol(ev.participant_id)
        learner.extra_ms[ev.position] = learner.extra_ms.get(ev.position, 0) + ev.extra_ms

    def _apply_quiz_closed(self, ev: e.QuizClosed, ts: int) -> None:
        self.quizzes[ev.quiz_id - 1].closed = True

    def _apply_quiz_published(self, ev: e.QuizPublished, ts: int) -> None:
        self.quizzes[ev.quiz_id - 1].published = True


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


def _question_dict(q: Question) -> dict[str, Any]:
    return {"id": q.id, "kind": q.kind, "text": q.text, "options": list(q.options),
            "correct": list(q.correct), "points": q.points, "limit_ms": q.limit_ms}  # fmt: skip


def question_from(d: dict[str, Any]) -> Question:
    return Question(d["id"], d["kind"], d["text"], tuple(d["options"]), tuple(d["correct"]),
                    d["points"], d["limit_ms"])  # fmt: skip


def _title(value: str) -> str:
    """The quiz title as plain text, or "" when nothing visible is left (refused above)."""
    try:
        return clean_name(value, "title", 200)
    except Refused:
        return ""
