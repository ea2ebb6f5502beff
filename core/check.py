"""One attendance check: its window, the one rule for what it says of a learner (the phone
and the report both use it), and the draw of the random checks' moments."""

from __future__ import annotations

import bisect
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from core.presence import Span

CheckResult = Literal["answered", "missed", "not-present"]
EDGE_MS = 5 * 60_000  # random checks keep this far from a lesson's start and planned end


@dataclass(frozen=True)
class Window:
    """The moments a check could be answered: from `start_ms` up to, not including, `end_ms`."""

    start_ms: int
    end_ms: int

    def holds(self, span: Span) -> bool:
        """Whether a stretch of attendance [start, end) shares a moment with the window."""
        return max(span[0], self.start_ms) < min(span[1], self.end_ms)


def check_window(started_ms: int, deadline_ms: int, closed_ms: int | None) -> Window:
    """From the start to the close or the deadline, whichever came first. An answer is taken
    at the deadline itself (so it is in the window) but not once the close is logged."""
    end = deadline_ms + 1
    return Window(started_ms, end if closed_ms is None else min(closed_ms, end))


def check_verdict(answered: bool, window: Window, attended: Sequence[Span]) -> CheckResult:
    """The one rule for what a check says of a learner, on the phone and in the report: a
    learner who did not answer missed it if they attended at some moment of its window.

    `attended` is in order of time, no two stretches overlapping (as a timeline gives them),
    so only the last stretch begun before the window's end can share a moment with it.
    """
    if answered:
        return "answered"
    last = bisect.bisect_left(attended, window.end_ms, key=lambda span: span[0]) - 1
    return "missed" if last >= 0 and window.holds(attended[last]) else "not-present"


def draw_check_times(
    start_ms: int, planned_ms: int, count: int, draw: random.Random
) -> tuple[int, ...]:
    """`count` distinct moments, unknown to anyone in advance, inside the planned lesson.

    They avoid the first and last five minutes (a quarter of a short lesson each), so that a
    check does not merely measure who was late or who left early.
    """
    margin = min(EDGE_MS, planned_ms // 4)
    offsets = draw.sample(range(margin, planned_ms - margin + 1), count)
    return tuple(sorted(start_ms + offset for offset in offsets))


@dataclass
class Check:
    id: int
    started_ms: int
    deadline_ms: int
    scheduled: bool
    answers: dict[str, int] = field(default_factory=dict)  # learner -> response time, ms
    closed_ms: int | None = None

    @property
    def closed(self) -> bool:
        return self.closed_ms is not None

    @property
    def window(self) -> Window:
        return check_window(self.started_ms, self.deadline_ms, self.closed_ms)

    def view(self, expected: int) -> dict[str, Any]:
        return {
            "check_id": self.id,
            "started_at": self.started_ms,
            "deadline": self.deadline_ms,
            "closed": self.closed,
            "answered": len(self.answers),
            "expected": expected,
        }
