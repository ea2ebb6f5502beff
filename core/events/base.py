"""The base of lesson events, the log record that carries one, and their names in the log."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

Role = Literal["teacher", "student", "guest"]
LeaveReason = Literal["left", "network", "removed", "lesson-ended", "denied"]

_BY_NAME: dict[str, type[Event]] = {}
E = TypeVar("E", bound="type[Event]")


def logged(cls: E) -> E:
    """Register an event class under its class name (the name stored in the log)."""
    _BY_NAME[cls.__name__] = cls
    return cls


@dataclass(frozen=True)
class Event:
    """Base class; subclasses are frozen dataclasses of JSON-friendly fields."""

    def actor_for(self, participant_id: str) -> str:
        """Who the log says caused this event."""
        return participant_id


@dataclass(frozen=True)
class Record:
    """An event as logged: its place in the lesson, the server time and who caused it."""

    seq: int
    ts_ms: int
    actor: str
    event: Event

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "ts": self.ts_ms, "actor": self.actor, **event_to_dict(self.event)}


def event_to_dict(event: Event) -> dict[str, Any]:
    return {"type": type(event).__name__, "data": dataclasses.asdict(event)}


def event_from_dict(type_name: str, data: dict[str, Any]) -> Event:
    """Rebuild an event from the log; unknown types or fields raise ValueError."""
    cls = _BY_NAME.get(type_name)
    if cls is None:
        raise ValueError(f"unknown event type {type_name!r}")
    try:
        return cls(**data)
    except TypeError as exc:
        raise ValueError(f"bad fields for {type_name}: {exc}") from None


def event_types() -> tuple[str, ...]:
    return tuple(sorted(_BY_NAME))


def event_classes() -> tuple[type[Event], ...]:
    """Every event type the log may hold, in order of name."""
    return tuple(_BY_NAME[name] for name in event_types())
