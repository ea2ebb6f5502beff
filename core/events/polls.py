"""Poll events, anonymous ballots included."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.events.base import Event, logged


@logged
@dataclass(frozen=True)
class PollOpened(Event):
    poll_id: int
    kind: str
    question: str
    options: list[str]
    anonymous: bool
    changeable: bool
    guests: bool
    number_min: float | None = None
    number_max: float | None = None


@logged
@dataclass(frozen=True)
class PollAnswered(Event):
    poll_id: int
    participant_id: str
    answer: Any


@logged
@dataclass(frozen=True)
class PollBallotCast(Event):
    """One anonymous ballot, as logs written before ballots were sealed have it (read only)."""

    poll_id: int
    voter_tag: str
    answer: Any

    def actor_for(self, participant_id: str) -> str:
        return "anonymous"


@logged
@dataclass(frozen=True)
class PollBallotsCounted(Event):
    """An anonymous poll's sealed ballot box, opened at close: answers only, in sorted order.

    One record for all ballots, so no ballot has a time or a place next to its voter's events.
    """

    poll_id: int
    answers: list[Any]

    def actor_for(self, participant_id: str) -> str:
        return "anonymous"


@logged
@dataclass(frozen=True)
class PollClosed(Event):
    poll_id: int


@logged
@dataclass(frozen=True)
class PollPublished(Event):
    poll_id: int
    with_names: bool
