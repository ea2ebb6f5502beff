"""The lesson's socket.io namespace: parse, identify, apply, persist, publish, ack."""

from __future__ import annotations

import logging
import time
from typing import Any

import socketio

from server.classroom import commands as c
from server.classroom.errors import Refused
from server.classroom.lesson import Lesson
from server.classroom.views import snapshot
from server.directory import Directory, LessonInfo
from server.live import LiveLessons
from server.tokens import Claims, Signer
from signaling.fanout import Fanout
from signaling.identity import Session, check_lesson_access, identify
from signaling.wire import spec_for

log = logging.getLogger(__name__)

INTERNAL = {"code": "internal", "message": "Something went wrong on the server; try again."}


class LessonNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    """Every client event goes through `trigger_event` into one parse-apply-ack path."""

    def __init__(
        self,
        live: LiveLessons,
        directory: Directory,
        signer: Signer,
        fanout: Fanout,
        resume_ttl_s: float,
    ) -> None:
        super().__init__("/")
        self.live, self.directory, self.signer, self.fanout = live, directory, signer, fanout
        self.resume_ttl_s = resume_ttl_s
        self.sessions: dict[str, Session] = {}
        self.closing = False

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        try:
            self.sessions[sid] = await identify(auth, self.directory, self.signer)
        except Refused as refused:
            raise socketio.exceptions.ConnectionRefusedError(refused.as_dict()) from None

    async def on_disconnect(self, sid: str, reason: str = "") -> None:
        session = self.sessions.pop(sid, None)
        if session is None or not session.joined or session.replaced or self.closing:
            return
        lesson_id = session.lesson_id
        assert lesson_id is not None
        if self.fanout.forget(lesson_id, session.actor.participant_id, sid):
            return  # another connection of the same participant is still here
        goodbye = reason == self.server.reason.CLIENT_DISCONNECT
        command = c.Leave() if goodbye else c.ConnectionLost()
        try:
            await self.live.run(lesson_id, session.actor, command)
        except Refused as refused:
            log.warning("could not record %s leaving: %s", session.actor, refused.code)

    async def trigger_event(self, event: str, *args: Any) -> Any:
        if event in ("connect", "disconnect"):
            return await super().trigger_event(event, *args)
        sid, payload = args[0], args[1:]
        try:
            if len(payload) > 1:
                raise Refused("invalid-payload", "Send one JSON object per event.")
            result = await self._handle(event, sid, payload[0] if payload else None)
            return {"ok": True, **result}
        except Refused as refused:
            return {"ok": False, "error": refused.as_dict()}
        except Exception:
            log.exception("event %r from %s failed", str(event)[:40], sid)
            return {"ok": False, "error": INTERNAL}

    async def _handle(self, event: str, sid: str, payload: Any) -> dict[str, Any]:
        spec = spec_for(event)
        session = self.sessions.get(sid)
        if session is None:
            raise Refused("auth-required", "Connect with your personal link first.")
        if spec.teacher_only and session.actor.role != "teacher":
            raise Refused("forbidden", "Only the teacher can do this.")
        if event == "join":
            return await self._join(sid, session, spec.parse(payload).get("lesson_id"))
        command = spec.command(payload)
        if not session.joined or session.lesson_id is None:
            raise Refused("not-joined", "Join the lesson first.")
        outcome = await self.live.run(session.lesson_id, session.actor, command)
        if isinstance(command, c.Leave):
            await self._leave_rooms(sid, session)
        return outcome.result

    async def _join(self, sid: str, session: Session, lesson_id: str | None) -> dict[str, Any]:
        lesson_id = session.lesson_id or lesson_id
        if lesson_id is None:
            raise Refused("invalid-payload", "'lesson_id' is required.")
        if session.joined:
            raise Refused("already-joined", "This connection has already joined the lesson.")
        info = await self.directory.get(LessonInfo, lesson_id)
        if info is None:
            raise Refused("unknown-lesson", "There is no such lesson.")
        check_lesson_access(session, info)
        await self.live.run(lesson_id, session.actor, c.Join())
        lesson = await self.live.get(lesson_id)
        session.lesson_id, session.joined = lesson_id, True
        await self._replace_older(sid, session, lesson)
        await self.fanout.attach(sid, lesson, session.actor)
        return self._welcome(lesson, session)

    def _welcome(self, lesson: Lesson, session: Session) -> dict[str, Any]:
        pid = session.actor.participant_id
        me = lesson.participants[pid]
        resume = self.signer.sign(
            Claims(
                "resume",
                pid,
                lesson.id,
                session.link_version,
                int(time.time() + self.resume_ttl_s),
                name=me.name,
                role=me.role,
            )
        )
        if me.presence == "waiting":
            return {"waiting": True, "resume": resume, "you": me.view()}
        return {"waiting": False, "resume": resume, "snapshot": snapshot(lesson, pid)}

    async def _replace_older(self, sid: str, session: Session, lesson: Lesson) -> None:
        """A participant has one connection: a newer one evicts the older (documented rule)."""
        for old in self.fanout.connections(lesson.id, session.actor.participant_id):
            if old == sid:
                continue
            other = self.sessions.get(old)
            if other is not None:
                other.replaced = True
            self.fanout.forget(lesson.id, session.actor.participant_id, old)
            await self.emit("replaced", {"reason": "joined-elsewhere"}, to=old)
            await self.disconnect(old)

    async def _leave_rooms(self, sid: str, session: Session) -> None:
        assert session.lesson_id is not None
        self.fanout.forget(session.lesson_id, session.actor.participant_id, sid)
        await self.fanout.detach(sid, session.lesson_id)
        session.joined = False
