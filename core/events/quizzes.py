"""Timed quiz events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.events.base import Event, logged


@logged
@dataclass(frozen=True)
class QuizStarted(Event):
    quiz_id: int
    title: str
    mode: str
    questions: list[dict[str, Any]]  # with the correct answers: the log is the server's
    limit_ms: int
    seed: str  # the per-learner orders derive from it
    max_extension_ms: int


@logged
@dataclass(frozen=True)
class QuizQuestionShown(Event):
    quiz_id: int
    participant_id: str
    position: int


@logged
@dataclass(frozen=True)
class QuizAnswered(Event):
    quiz_id: int
    participant_id: str
    question_id: str
    answer: Any  # canonical option indexes or the number


@logged
@dataclass(frozen=True)
class QuizTimeExtended(Event):
    quiz_id: int
    participant_id: str
    position: int  # 0 for the whole quiz
    extra_ms: int
    gap_ms: int
    reason: str  # "network" or "server"


@logged
@dataclass(frozen=True)
class QuizClosed(Event):
    quiz_id: int


@logged
@dataclass(frozen=True)
class QuizPublished(Event):
    quiz_id: int
