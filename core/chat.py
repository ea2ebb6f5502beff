"""Chat: public messages, private messages to the teacher and the teacher's private replies,
moderation and rate limits."""

from __future__ import annotations

from core import commands as c
from core import events as e
from core.errors import Refused
from core.rules import note_time, rate_limited, sliding_window_full
from core.state import (
    Actor,
    ChatMessage,
    LessonState,
    Participant,
    require_live,
    require_present,
    require_teacher,
    target,
)
from core.tables import Decision, decider, feature, fold

__all__ = ["FEATURE", "ChatMessage"]


def send_chat(state: LessonState, actor: Actor, cmd: c.SendChat, now: int) -> Decision:
    p = require_present(state, actor)
    earlier = state.chat_by_client.get((p.id, cmd.client_id))
    if earlier is not None:
        return Decision((), {"message_id": earlier.id, "duplicate": True})
    rules = state.rules
    rules.check_chat_text(cmd.text)
    recipient = _recipient(state, p, cmd)
    if p.role != "teacher":
        if state.chat_locked and cmd.to == "all":
            raise Refused("chat-locked", "The teacher has locked the chat.")
        if p.chat_muted:
            raise Refused("chat-muted", "The teacher has muted your chat.")
    # The teacher leads the lesson: ten times the students' allowance, still bounded.
    allowance = rules.chat_rate_messages * (10 if p.role == "teacher" else 1)
    if sliding_window_full(p.times("chat"), now, allowance, rules.chat_rate_window_ms):
        raise rate_limited("You are sending messages too fast; wait a moment.")
    message_id = len(state.chat) + 1
    text = rules.normalize_text(cmd.text)
    event = e.ChatPosted(message_id, cmd.client_id, p.id, text, cmd.to, recipient)
    return Decision([event], {"message_id": message_id})


def _recipient(state: LessonState, p: Participant, cmd: c.SendChat) -> str | None:
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
    reader = target(state, cmd.participant_id)
    if reader.role == "teacher" or reader.presence == "waiting":
        raise Refused("bad-recipient", "A private reply goes to a learner in the lesson.")
    return reader.id


def delete_chat(state: LessonState, actor: Actor, cmd: c.DeleteChat, now: int) -> Decision:
    require_teacher(actor)
    require_live(state)
    if not 1 <= cmd.message_id <= len(state.chat):
        raise Refused("unknown-message", "There is no such message.")
    if state.chat[cmd.message_id - 1].deleted:
        return Decision()
    return Decision([e.ChatDeleted(cmd.message_id)])


def lock_chat(state: LessonState, actor: Actor, cmd: c.LockChat, now: int) -> Decision:
    require_teacher(actor)
    require_live(state)
    if state.chat_locked == cmd.locked:
        return Decision()
    return Decision([e.ChatLocked(cmd.locked)])


def mute_chat(state: LessonState, actor: Actor, cmd: c.MuteChat, now: int) -> Decision:
    require_teacher(actor)
    require_live(state)
    p = target(state, cmd.participant_id)
    if p.role == "teacher":
        raise Refused("forbidden", "A teacher's chat cannot be muted.")
    if p.chat_muted == cmd.muted:
        return Decision()
    return Decision([e.ChatMuted(p.id, cmd.muted)])


def chat_posted(state: LessonState, ev: e.ChatPosted, ts: int) -> None:
    author = state.participants[ev.author_id]
    msg = ChatMessage(
        ev.message_id, ev.client_id, ev.author_id, author.name, ev.text, ev.to, ts, ev.recipient_id
    )
    state.chat.append(msg)
    state.chat_by_client[(ev.author_id, ev.client_id)] = msg
    note_time(author.times("chat"), ts, state.rules.chat_rate_messages * 10)


def chat_deleted(state: LessonState, ev: e.ChatDeleted, ts: int) -> None:
    message = state.chat[ev.message_id - 1]
    message.deleted, message.text = True, ""  # the log forgets it too (store/personal.py)


def chat_locked(state: LessonState, ev: e.ChatLocked, ts: int) -> None:
    state.chat_locked = ev.locked


def chat_muted(state: LessonState, ev: e.ChatMuted, ts: int) -> None:
    state.participants[ev.participant_id].chat_muted = ev.muted


FEATURE = feature(
    "chat",
    deciders=[
        decider(c.SendChat, send_chat),
        decider(c.DeleteChat, delete_chat),
        decider(c.LockChat, lock_chat),
        decider(c.MuteChat, mute_chat),
    ],
    folds=[
        fold(e.ChatPosted, chat_posted),
        fold(e.ChatDeleted, chat_deleted),
        fold(e.ChatLocked, chat_locked),
        fold(e.ChatMuted, chat_muted),
    ],
)
