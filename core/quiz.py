"""One timed quiz: its questions, each learner's own order and deadlines, and its scoring."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from core.errors import Refused
from core.shuffle import inverse, permutation

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


def question_dict(q: Question) -> dict[str, Any]:
    return {"id": q.id, "kind": q.kind, "text": q.text, "options": list(q.options),
            "correct": list(q.correct), "points": q.points, "limit_ms": q.limit_ms}  # fmt: skip


def question_from(d: dict[str, Any]) -> Question:
    return Question(d["id"], d["kind"], d["text"], tuple(d["options"]), tuple(d["correct"]),
                    d["points"], d["limit_ms"])  # fmt: skip
