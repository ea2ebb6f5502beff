"""The state of one live lesson: decides commands into events and folds events into state."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from server.classroom import commands as c
from server.classroom import events as e
from server.classroom.errors import Refused
from server.classroom.rules import Rules, sliding_window_full

Status = Literal["created", "live", "ended"]
Presence = Literal["waiting", "present", "away", "left", "removed", "denied"]
ACTIVE: frozenset[Presence] = frozenset({"present", "away"})


@dataclass(frozen=True)
class Actor:
    """Who sends a command: taken from the server-side session, never from a payload."""

    participant_id: str
    role: e.Role | Literal["system"]
    name: str = ""


SYSTEM = Actor("system", "system", "Sabak")


@dataclass
class Participant:
    id: str
    name: str
    role: e.Role
    presence: Presence
    admitted: bool = True
    chat_muted: bool = False
    chat_times: list[int] = field(default_factory=list)
    hand_times: list[int] = field(default_factory=list)

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role,
            "presence": self.presence,
            "chat_muted": self.chat_muted,
        }


@dataclass
class ChatMessage:
    id: int
    client_id: str
    author_id: str
    author_name: str
    text: str
    to: Literal["all", "teacher"]
    ts_ms: int
    deleted: bool = False

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "author_id": self.author_id,
            "author_name": self.author_name,
            "text": self.text,
            "to": self.to,
            "ts": self.ts_ms,
        }


@dataclass(frozen=True)
class Outcome:
    """What a command produced: the records to persist and the ack payload."""

    records: tuple[e.Record, ...]
    result: dict[str, Any]


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class Lesson:
    """One lesson's state, rebuilt from its log by `apply`, changed only by events."""

    def __init__(self, lesson_id: str, course_id: str, rules: Rules) -> None:
        self.id = lesson_id
        self.course_id = course_id
        self.rules = rules
        self.status: Status = "created"
        self.title = ""
        self.teacher_id = ""
        self.allow_guests = False
        self.end_reason = ""
        self.seq = 0
        self.started_ms: int | None = None
        self.ended_ms: int | None = None
        self.participants: dict[str, Participant] = {}
        self.chat: list[ChatMessage] = []
        self.chat_by_client: dict[tuple[str, str], ChatMessage] = {}
        self.chat_locked = False
        self.hands: list[str] = []

    # -- commands -------------------------------------------------------------------------

    def execute(self, actor: Actor, command: c.Command, now_ms: int) -> Outcome:
        """Decide a command; on success apply its events. A refusal changes nothing."""
        decide = self._method("decide", type(command).__name__)
        events, result = decide(actor, command, now_ms)
        records = tuple(
            e.Record(self.seq + i + 1, now_ms, actor.participant_id, ev)
            for i, ev in enumerate(events)
        )
        for record in records:
            self.apply(record)
        return Outcome(records, result)

    def apply(self, record: e.Record) -> None:
        """Fold one logged event into the state (also used to replay the log)."""
        self._method("apply", type(record.event).__name__)(record.event, record.ts_ms)
        self.seq = record.seq

    def _method(self, prefix: str, class_name: str) -> Callable[..., Any]:
        method = getattr(self, f"_{prefix}_{_snake(class_name)}", None)
        if method is None:
            raise TypeError(f"no {prefix} handler for {class_name}")
        return method  # type: ignore[no-any-return]

    # -- preconditions ----------------------------------------------------------------------

    def _require_teacher(self, actor: Actor) -> None:
        if actor.role not in ("teacher", "system"):
            raise Refused("forbidden", "Only the teacher can do this.")

    def _require_live(self) -> None:
        if self.status == "created":
            raise Refused("lesson-not-started", "The lesson has not started yet.")
        if self.status == "ended":
            raise Refused("lesson-ended", "The lesson has ended.")

    def _require_present(self, actor: Actor) -> Participant:
        self._require_live()
        p = self.participants.get(actor.participant_id)
        if p is None or p.presence not in ACTIVE:
            raise Refused("not-joined", "Join the lesson first.")
        return p

    def _target(self, participant_id: str) -> Participant:
        p = self.participants.get(participant_id)
        if p is None:
            raise Refused("unknown-participant", "There is no such participant in this lesson.")
        return p

    # -- lifecycle ------------------------------------------------------------------------

    def _decide_start_lesson(self, actor: Actor, cmd: c.StartLesson, now: int) -> Any:
        self._require_teacher(actor)
        if self.status == "live":
            raise Refused("lesson-already-started", "The lesson has already started.")
        if self.status == "ended":
            raise Refused("lesson-ended", "The lesson has ended.")
        return [e.LessonStarted(cmd.title, cmd.teacher_id, cmd.allow_guests)], {}

    def _decide_end_lesson(self, actor: Actor, cmd: c.EndLesson, now: int) -> Any:
        self._require_teacher(actor)
        self._require_live()
        leaving = [
            e.ParticipantLeft(p.id, "lesson-ended")
            for p in self.participants.values()
            if p.presence in ACTIVE or p.presence == "waiting"
        ]
        return [*leaving, e.LessonEnded(cmd.reason)], {}

    def _apply_lesson_started(self, ev: e.LessonStarted, ts: int) -> None:
        self.status, self.title, self.teacher_id = "live", ev.title, ev.teacher_id
        self.allow_guests, self.started_ms = ev.allow_guests, ts

    def _apply_lesson_ended(self, ev: e.LessonEnded, ts: int) -> None:
        self.status, self.end_reason, self.ended_ms = "ended", ev.reason, ts
        self.hands.clear()

    # -- joining and leaving --------------------------------------------------------------

    def _decide_join(self, actor: Actor, cmd: c.Join, now: int) -> Any:
        self._require_live()
        p = self.participants.get(actor.participant_id)
        if p is not None and p.presence in ("removed", "denied"):
            raise Refused("removed", "The teacher has removed you from this lesson.")
        if p is not None and p.presence in ("present", "waiting"):
            return [], {}
        if actor.role == "guest" and (p is None or not p.admitted):
            if not self.allow_guests:
                raise Refused("guests-not-allowed", "This lesson does not admit guests.")
            return [e.GuestWaiting(actor.participant_id, actor.name)], {}
        if actor.role == "system":
            raise Refused("forbidden", "The server cannot join a lesson.")
        return [e.ParticipantJoined(actor.participant_id, actor.name, actor.role)], {}

    def _decide_leave(self, actor: Actor, cmd: c.Leave, now: int) -> Any:
        p = self.participants.get(actor.participant_id)
        if p is None or p.presence not in (*ACTIVE, "waiting"):
            return [], {}
        return [e.ParticipantLeft(p.id, "left")], {}

    def _decide_connection_lost(self, actor: Actor, cmd: c.ConnectionLost, now: int) -> Any:
        p = self.participants.get(actor.participant_id)
        if p is None or p.presence != "present" or self.status != "live":
            return [], {}
        return [e.ParticipantLeft(p.id, "network")], {}

    def _decide_remove_participant(self, actor: Actor, cmd: c.RemoveParticipant, now: int) -> Any:
        self._require_teacher(actor)
        self._require_live()
        p = self._target(cmd.participant_id)
        if p.role == "teacher":
            raise Refused("forbidden", "A teacher cannot be removed.")
        if p.presence == "removed":
            return [], {}
        return [e.ParticipantLeft(p.id, "removed")], {}

    def _decide_admit_guest(self, actor: Actor, cmd: c.AdmitGuest, now: int) -> Any:
        self._require_teacher(actor)
        self._require_live()
        p = self._target(cmd.participant_id)
        if p.presence != "waiting":
            raise Refused("not-waiting", "This person is not in the waiting room.")
        return [e.GuestAdmitted(p.id)], {}

    def _decide_deny_guest(self, actor: Actor, cmd: c.DenyGuest, now: int) -> Any:
        self._require_teacher(actor)
        self._require_live()
        p = self._target(cmd.participant_id)
        if p.presence != "waiting":
            raise Refused("not-waiting", "This person is not in the waiting room.")
        return [e.ParticipantLeft(p.id, "denied")], {}

    def _apply_participant_joined(self, ev: e.ParticipantJoined, ts: int) -> None:
        p = self.participants.get(ev.participant_id)
        if p is None:
            p = self.participants[ev.participant_id] = Participant(
                ev.participant_id, ev.name, ev.role, "present"
            )
        p.name, p.presence = ev.name, "present"

    def _apply_guest_waiting(self, ev: e.GuestWaiting, ts: int) -> None:
        self.participants[ev.participant_id] = Participant(
            ev.participant_id, ev.name, "guest", "waiting", admitted=False
        )

    def _apply_guest_admitted(self, ev: e.GuestAdmitted, ts: int) -> None:
        p = self.participants[ev.participant_id]
        p.presence, p.admitted = "present", True

    def _apply_participant_left(self, ev: e.ParticipantLeft, ts: int) -> None:
        p = self.participants[ev.participant_id]
        p.presence = {"network": "away", "removed": "removed", "denied": "denied"}.get(
            ev.reason, "left"
        )  # type: ignore[assignment]
        if ev.participant_id in self.hands:
            self.hands.remove(ev.participant_id)

    # -- chat -----------------------------------------------------------------------------

    def _decide_send_chat(self, actor: Actor, cmd: c.SendChat, now: int) -> Any:
        p = self._require_present(actor)
        earlier = self.chat_by_client.get((p.id, cmd.client_id))
        if earlier is not None:
            return [], {"message_id": earlier.id, "seq": None, "duplicate": True}
        self.rules.check_chat_text(cmd.text)
        if p.role == "teacher" and cmd.to == "teacher":
            raise Refused("bad-recipient", "A teacher's messages go to everyone.")
        if p.role != "teacher":
            if self.chat_locked and cmd.to == "all":
                raise Refused("chat-locked", "The teacher has locked the chat.")
            if p.chat_muted:
                raise Refused("chat-muted", "The teacher has muted your chat.")
        if sliding_window_full(
            p.chat_times, now, self.rules.chat_rate_messages, self.rules.chat_rate_window_ms
        ):
            raise Refused("rate-limited", "You are sending messages too fast; wait a moment.")
        message_id = len(self.chat) + 1
        text = self.rules.normalize_text(cmd.text)
        return [e.ChatPosted(message_id, cmd.client_id, p.id, text, cmd.to)], {
            "message_id": message_id
        }

    def _decide_delete_chat(self, actor: Actor, cmd: c.DeleteChat, now: int) -> Any:
        self._require_teacher(actor)
        self._require_live()
        if not 1 <= cmd.message_id <= len(self.chat):
            raise Refused("unknown-message", "There is no such message.")
        if self.chat[cmd.message_id - 1].deleted:
            return [], {}
        return [e.ChatDeleted(cmd.message_id)], {}

    def _decide_lock_chat(self, actor: Actor, cmd: c.LockChat, now: int) -> Any:
        self._require_teacher(actor)
        self._require_live()
        if self.chat_locked == cmd.locked:
            return [], {}
        return [e.ChatLocked(cmd.locked)], {}

    def _decide_mute_chat(self, actor: Actor, cmd: c.MuteChat, now: int) -> Any:
        self._require_teacher(actor)
        self._require_live()
        p = self._target(cmd.participant_id)
        if p.role == "teacher":
            raise Refused("forbidden", "A teacher's chat cannot be muted.")
        if p.chat_muted == cmd.muted:
            return [], {}
        return [e.ChatMuted(p.id, cmd.muted)], {}

    def _apply_chat_posted(self, ev: e.ChatPosted, ts: int) -> None:
        author = self.participants[ev.author_id]
        msg = ChatMessage(
            ev.message_id, ev.client_id, ev.author_id, author.name, ev.text, ev.to, ts
        )
        self.chat.append(msg)
        self.chat_by_client[(ev.author_id, ev.client_id)] = msg
        author.chat_times.append(ts)
        del author.chat_times[: -self.rules.chat_rate_messages]

    def _apply_chat_deleted(self, ev: e.ChatDeleted, ts: int) -> None:
        self.chat[ev.message_id - 1].deleted = True

    def _apply_chat_locked(self, ev: e.ChatLocked, ts: int) -> None:
        self.chat_locked = ev.locked

    def _apply_chat_muted(self, ev: e.ChatMuted, ts: int) -> None:
        self.participants[ev.participant_id].chat_muted = ev.muted

    # -- hands ----------------------------------------------------------------------------

    def _decide_raise_hand(self, actor: Actor, cmd: c.RaiseHand, now: int) -> Any:
        p = self._require_present(actor)
        if p.role == "teacher":
            raise Refused("forbidden", "The teacher does not raise a hand.")
        if p.id in self.hands:
            return [], {"position": self.hands.index(p.id) + 1}
        if sliding_window_full(p.hand_times, now, self.rules.hand_rate_per_minute, 60_000):
            raise Refused("rate-limited", "You are raising your hand too often; wait a moment.")
        return [e.HandRaised(p.id)], {"position": len(self.hands) + 1}

    def _decide_lower_hand(self, actor: Actor, cmd: c.LowerHand, now: int) -> Any:
        self._require_live()
        target = cmd.participant_id or actor.participant_id
        if target != actor.participant_id:
            self._require_teacher(actor)
        if target not in self.hands:
            return [], {}
        return [e.HandLowered(target)], {}

    def _apply_hand_raised(self, ev: e.HandRaised, ts: int) -> None:
        self.hands.append(ev.participant_id)
        p = self.participants[ev.participant_id]
        p.hand_times.append(ts)
        del p.hand_times[: -self.rules.hand_rate_per_minute]

    def _apply_hand_lowered(self, ev: e.HandLowered, ts: int) -> None:
        self.hands.remove(ev.participant_id)
