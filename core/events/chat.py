"""Chat events: messages and their moderation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from core.events.base import Event, logged


@logged
@dataclass(frozen=True)
class ChatPosted(Event):
    message_id: int
    client_id: str
    author_id: str
    text: str
    to: Literal["all", "teacher", "participant"]
    recipient_id: str | None = None  # to="participant": the teacher's private reply to one


@logged
@dataclass(frozen=True)
class ChatDeleted(Event):
    message_id: int


@logged
@dataclass(frozen=True)
class ChatLocked(Event):
    locked: bool


@logged
@dataclass(frozen=True)
class ChatMuted(Event):
    participant_id: str
    muted: bool
