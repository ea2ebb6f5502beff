"""One poll: its kinds (single and multiple choice, yes/no, short text, numbers), its answers
in canonical form, and its tally."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Any, Literal

from core.errors import Refused

PollKind = Literal["single", "multiple", "yesno", "text", "number"]
MAX_OPTIONS, MAX_OPTION_CHARS, MAX_TEXT_ANSWER = 12, 200, 200


@dataclass
class Poll:
    id: int
    kind: PollKind
    question: str
    options: list[str]
    anonymous: bool
    changeable: bool
    guests: bool
    number_min: float | None = None
    number_max: float | None = None
    answers: dict[str, Any] = field(default_factory=dict)  # voter -> answer
    changes: dict[str, int] = field(default_factory=dict)  # voter -> times changed
    # An anonymous poll's sealed ballots (voter tag -> answer), in memory only until close.
    box: dict[str, Any] = field(default_factory=dict)
    closed: bool = False
    published: bool = False
    with_names: bool = False

    def view(self) -> dict[str, Any]:
        return {
            "poll_id": self.id, "kind": self.kind, "question": self.question,
            "options": self.options, "anonymous": self.anonymous,
            "changeable": self.changeable, "closed": self.closed,
            "number_min": self.number_min, "number_max": self.number_max,
        }  # fmt: skip

    def tally(self) -> dict[str, Any]:
        values = list(self.answers.values())  # sealed ballots count once the box is opened
        out: dict[str, Any] = {"poll_id": self.id, "answered": len(values) + len(self.box)}
        if self.kind in ("single", "yesno"):
            out["counts"] = [sum(1 for v in values if v == i) for i in range(len(self.options))]
        elif self.kind == "multiple":
            out["counts"] = [sum(1 for v in values if i in v) for i in range(len(self.options))]
        elif self.kind == "number" and values:
            out["summary"] = {"min": min(values), "max": max(values),
                              "mean": statistics.fmean(values),
                              "median": statistics.median(values)}  # fmt: skip
        elif self.kind == "text":
            out["texts"] = sorted(values)
        return out

    def check_answer(self, answer: Any) -> Any:
        """The answer in canonical form, or Refused('invalid-answer')."""
        return _CHECKS[self.kind](self, answer)


def _bad(message: str) -> Refused:
    return Refused("invalid-answer", message)


def _choice(poll: Poll, answer: Any) -> int:
    if isinstance(answer, bool) or not isinstance(answer, int):
        raise _bad("Choose one option by its number.")
    if not 0 <= answer < len(poll.options):
        raise _bad("There is no such option.")
    return answer


def _choices(poll: Poll, answer: Any) -> list[int]:
    if not isinstance(answer, list) or not answer or len(answer) > len(poll.options):
        raise _bad("Choose one or more options.")
    picked = sorted({_choice(poll, a) for a in answer})
    if len(picked) != len(answer):
        raise _bad("Each option can be chosen once.")
    return picked


def _text(poll: Poll, answer: Any) -> str:
    if not isinstance(answer, str) or not answer.strip():
        raise _bad("Type an answer.")
    if len(answer) > MAX_TEXT_ANSWER:
        raise _bad(f"An answer can be at most {MAX_TEXT_ANSWER} characters long.")
    return " ".join(answer.split())


def _number(poll: Poll, answer: Any) -> float:
    if isinstance(answer, bool) or not isinstance(answer, int | float):
        raise _bad("Give a number.")
    if not math.isfinite(answer):
        raise _bad("Give a finite number.")
    low, high = poll.number_min, poll.number_max
    if (low is not None and answer < low) or (high is not None and answer > high):
        raise _bad(f"Give a number from {low} to {high}.")
    return answer


_CHECKS = {"single": _choice, "yesno": _choice, "multiple": _choices, "text": _text,
           "number": _number}  # fmt: skip
