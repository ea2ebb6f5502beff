"""Chat: public messages, private messages to the teacher and the teacher's private replies,
moderation and rate limits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from core import commands as c
from core import events as e
from core.errors import Refused
from core.rules import note_time, rate_limited, sliding_window_full
from core.state import Actor, LessonState, Participant


@dataclass
class ChatMessage:
    id: int
    client_id: str
    author_id: str
    author_name: str
    text: str
    to: Literal["all", "teacher", "participant"]
    ts_ms: int
    recipient_id: str | None = None
    deleted: bool = False

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "author_id": self.author_id,
            "author_name": self.author_name,
            "text": self.text,
            "to": self.to,
            "recipient_id": self.recipient_id,
            "ts": self.ts_ms,
        }


class ChatMixin(LessonState):
    def init_chat(self) -> None:
        self.chat: list[ChatMessage] = []
        self.chat_by_client: dict[tuple[str, str], ChatMessage] = {}
        self.chat_locked = False

    def _decide_send_chat(self, actor: Actor, cmd: c.SendChat, now: int) -> Any:
        p = self.require_present(actor)
        earlier = self.chat_by_client.get((p.id, cmd.client_id))
        if earlier is not None:
            return [], {"message_id": earlier.id, "duplicate": True}
        self.rules.check_chat_text(cmd.text)
        recipient = self._recipient(p, cmd)
        if p.role != "teacher":
            if self.chat_locked and cmd.to == "all":
                raise Refused("chat-locked", "The teacher has locked the chat.")
            if p.chat_muted:
                raise Refused("chat-muted", "The teacher has muted your chat.")
        rules = self.rules
        # The teacher leads the lesson: ten times the students' allowance, still bounded.
        allowance = rules.chat_rate_messages * (10 if p.role == "teacher" else 1)
        if sliding_window_full(p.times("chat"), now, allowance, rules.chat_rate_window_ms):
            raise rate_limited("You are sending messages too fast; wait a moment.")
        message_id = len(self.chat) + 1
        text = rules.normalize_text(cmd.text)
        event = e.ChatPosted(message_id, cmd.client_id, p.id, text, cmd.to, recipient)
        return [event], {"message_id": message_id}

    def _recipient(self, p: Participant, cmd: c.SendChat) -> str | None:
        """Who a private reply is for: only a teacher writes to one participant (a learner
        or a guest in the lesson); everyone else writes to all or to the teacher."""
        if cmd.to != "participant":
            if cmd.participant_id is not None:
                raise Refused("bad-recipient", "'participant_id' goes with to='participant'.")
            if p.role == "teacher" and cmd.to == "teacher":
                raise Refused("bad-recipient", "A teacher's messages go to everyone.")
            return None
        if p.role != "teacher":
            raise Refused("bad-recipient", "Only the teacher writes to one participant.")
        if cmd.participant_id is None:
            raise Refused("bad-recipient", "'participant_id' names who the reply is for.")
        target = self.target(cmd.participant_id)
        if target.role == "teacher" or target.presence == "waiting":
            raise Refused("bad-recipient", "A private reply goes to a learner in the lesson.")
        return target.id

    def _decide_delete_chat(self, actor: Actor, cmd: c.DeleteChat, now: int) -> Any:
        self.require_teacher(actor)
        self.require_live()
        if not 1 <= cmd.message_id <= len(self.chat):
            raise Refused("unknown-message", "There is no such message.")
        if self.chat[cmd.message_id - 1].deleted:
            return [], {}
        return [e.ChatDeleted(cmd.message_id)], {}

    def _decide_lock_chat(self, actor: Actor, cmd: c.LockChat, now: int) -> Any:
        self.require_teacher(actor)
        self.require_live()
        if self.chat_locked == cmd.locked:
            return [], {}
        return [e.ChatLocked(cmd.locked)], {}

    def _decide_mute_chat(self, actor: Actor, cmd: c.MuteChat, now: int) -> Any:
        self.require_teacher(actor)
        self.require_live()
        p = self.target(cmd.participant_id)
        if p.role == "teacher":
            raise Refused("forbidden", "A teacher's chat cannot be muted.")
        if p.chat_muted == cmd.muted:
            return [], {}
        return [e.ChatMuted(p.id, cmd.muted)], {}

    def _apply_chat_posted(self, ev: e.ChatPosted, ts: int) -> None:
        author = self.participants[ev.author_id]
        msg = ChatMessage(
            ev.message_id,
            ev.client_id,
            ev.author_id,
            author.name,
            ev.text,
            ev.to,
            ts,
            ev.recipient_id,
        )
        self.chat.append(msg)
        self.chat_by_client[(ev.author_id, ev.client_id)] = msg
        note_time(author.times("chat"), ts, self.rules.chat_rate_messages * 10)

    def _apply_chat_deleted(self, ev: e.ChatDeleted, ts: int) -> None:
        message = self.chat[ev.message_id - 1]
        message.deleted, message.text = True, ""  # the log forgets it too (store/personal.py)

    def _apply_chat_locked(self, ev: e.ChatLocked, ts: int) -> None:
        self.chat_locked = ev.locked

    def _apply_chat_muted(self, ev: e.ChatMuted, ts: int) -> None:
        self.participants[ev.participant_id].chat_muted = ev.muted
