"""What a replay shows beside the media: the lesson's moments, one learner's gaps, a missed stretch.

Pure: folds the lesson log's records into the list a replay page plays in step with the sound
(chat, polls, quizzes, attendance checks, the floor, recording started/stopped/failed), seen
as the viewer saw it live: no one else's private chat, answers or votes, no quiz answers.
"""

from __future__ import annotations

from typing import Any

from core import events as e
from core.presence import PresenceFold

GAP_REASONS = ("network", "left", "server", "removed")
CATCH_UP_MIN_MS = 10_000  # a shorter gap is not worth a clip: the page just goes on


def replay_events(records: list[e.Record], viewer: str | None) -> list[dict[str, Any]]:
    """The moments of a lesson as `viewer` (a participant id; None: staff, who see all chat)."""
    names: dict[str, str] = {}
    out: list[dict[str, Any]] = []
    for r in records:
        ev = r.event
        if isinstance(ev, e.ParticipantJoined):
            names[ev.participant_id] = ev.name
        elif isinstance(ev, e.LearnerErased):
            names[ev.participant_id] = ev.pseudonym
        if isinstance(ev, e.ChatDeleted):
            out = [x for x in out if x.get("message_id") != ev.message_id]  # gone in replay too
            continue
        moment = _moment(ev, viewer, names)
        if moment is not None:
            out.append({"t": r.ts_ms, **moment})
    return out


def _moment(ev: e.Event, viewer: str | None, names: dict[str, str]) -> dict[str, Any] | None:
    kind = _snake(type(ev).__name__)
    if isinstance(ev, e.ChatPosted):
        if not _sees(ev, viewer):
            return None
        name = names.get(ev.author_id, "")
        return {"type": "chat", "message_id": ev.message_id, "name": name, "text": ev.text,
                "to": ev.to}  # fmt: skip
    if isinstance(ev, e.PollOpened):
        return {"type": "poll", "poll_id": ev.poll_id, "question": ev.question,
                "options": list(ev.options)}  # fmt: skip
    if isinstance(ev, (e.PollClosed, e.QuizClosed, e.CheckClosed)):
        return {"type": kind}
    if isinstance(ev, e.QuizStarted):
        return {"type": "quiz", "title": ev.title}  # never its questions: they hold the answers
    if isinstance(ev, e.CheckStarted):
        return {"type": "check", "check_id": ev.check_id}
    if isinstance(ev, (e.FloorGiven, e.FloorTaken)):
        who = names.get(ev.participant_id, "")
        return {"type": "floor", "given": isinstance(ev, e.FloorGiven), "name": who}
    if isinstance(ev, (e.LessonStarted, e.LessonEnded)):
        return {"type": kind}
    if isinstance(ev, e.RecordingStarted):
        return {"type": "recording", "what": kind, "resumed": ev.resumed}
    if isinstance(ev, (e.RecordingStopped, e.RecordingFailed)):
        return {"type": "recording", "what": kind, "reason": ev.reason}
    return None


def _snake(name: str) -> str:
    """PollClosed -> poll_closed: the moment's type as the pages name their messages."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def _sees(ev: e.ChatPosted, viewer: str | None) -> bool:
    if viewer is None or ev.to == "all":
        return True
    return viewer in (ev.author_id, ev.recipient_id)


def learner_gaps(records: list[e.Record], pid: str, now_ms: int) -> list[dict[str, Any]]:
    """A learner's gaps from their attendance record: dropped, left, server down, removed."""
    fold = PresenceFold()
    for r in records:
        fold.add(r)
    timeline = fold.timelines.get(pid)
    if timeline is None:
        return []
    fold.finish(now_ms)
    return [
        {"from": s.start_ms, "to": s.end_ms, "reason": s.state}
        for s in timeline.segments
        if s.state in GAP_REASONS
    ]


def missed_gap(
    presence: str, since_ms: int, gap_from_ms: int, back_ms: int, min_ms: int = CATCH_UP_MIN_MS
) -> tuple[int, int] | None:
    """The stretch a learner coming back at `back_ms` missed, if long enough to offer a clip.

    `presence`, `since_ms` and `gap_from_ms` are theirs just before they joined again: away
    (a drop) counts from when the server last heard them, left from when they left.
    """
    if presence == "away":
        start = gap_from_ms or since_ms
    elif presence == "left":
        start = since_ms
    else:
        return None  # new, present, waiting, removed: nothing to catch up on
    return (start, back_ms) if back_ms - start >= min_ms else None
