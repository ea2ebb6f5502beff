"""The lesson's socket.io namespace: parse, identify, apply, persist, publish, ack."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import socketio

from core import commands as c
from core.errors import Refused
from core.lesson import Actor, Lesson
from core.views import quiz_results, snapshot
from lessons.host import LessonHost
from lessons.tokens import Claims, Signer
from signaling.board import BoardEvents, DeckLookup
from signaling.catch_up import CatchUp
from signaling.client_address import ClientAddresses
from signaling.fanout import Fanout
from signaling.guest_gate import GuestGate
from signaling.identity import Session, check_lesson_access, from_token, identify
from signaling.protocol import Call, Handler, inbound
from store.audit import Audit
from store.directory import LessonInfo, Student
from store.protocols import Directory

log = logging.getLogger(__name__)

INTERNAL = {"code": "internal", "message": "Something went wrong on the server; try again."}
Answer = Callable[[str, Session, Call], Awaitable[dict[str, Any]]]


class LessonNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    """Every client event goes through `trigger_event` into one parse-apply-ack path."""

    def __init__(
        self,
        live: LessonHost,
        directory: Directory,
        signer: Signer,
        fanout: Fanout,
        resume_ttl_s: float,
        heartbeat_s: float,
        audit: Audit,
        gate: GuestGate,
        addresses: ClientAddresses,
        ice_for: Callable[[str], list[dict[str, Any]]],
        catch_up: CatchUp,
        decks: DeckLookup | None = None,
    ) -> None:
        super().__init__("/")
        self.live, self.directory, self.signer, self.fanout = live, directory, signer, fanout
        self.resume_ttl_s, self.heartbeat_s = resume_ttl_s, heartbeat_s
        self.audit, self.gate, self.addresses = audit, gate, addresses
        self.ice_for = ice_for  # an admitted participant's STUN/TURN servers
        self.catch_up = catch_up  # "what I missed" on the join reply after a gap
        self.sessions: dict[str, Session] = {}
        self.closing = False
        self.board = board = BoardEvents(live, fanout, decks)  # decks: the deck store
        self.handlers: dict[Handler, Answer] = {
            Handler.RUN: self._run,
            Handler.LEAVE: self._leave,
            Handler.BEAT: self._on_beat,
            Handler.JOIN: self._on_join,
            Handler.LEARNER_ADD: self._on_learner_add,
            Handler.LEARNER_ATTACH: self._on_learner_attach,
            Handler.QUIZ_RESULT: self._on_quiz_result,
            Handler.MEDIA: lambda sid, session, call: self._media(
                call.event, session, call.learner, call.data
            ),
            Handler.BOARD_SHOW: lambda sid, session, call: board.show(
                _joined(session), session.acting(call.learner), call.data
            ),
            Handler.POINTER: lambda sid, session, call: board.point(
                _joined(session), session.acting(call.learner), call.data
            ),
        }

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        address = self.addresses.of_environ(environ)
        try:
            session = await self.gate.enter(
                auth, address, lambda: identify(auth, self.directory, self.signer)
            )
        except Refused as refused:
            self.audit.record(refused.code, event="connect", address=address)
            raise socketio.exceptions.ConnectionRefusedError(
                refused.message, refused.as_dict()
            ) from None
        except Exception:
            log.exception("connect from %s failed", address)
            raise socketio.exceptions.ConnectionRefusedError(
                INTERNAL["message"], INTERNAL
            ) from None
        session.last_heard_ms = self.live.clock()
        self.sessions[sid] = session

    async def on_disconnect(self, sid: str, reason: str = "") -> None:
        session = self.sessions.pop(sid, None)
        if session is None or not session.joined or self.closing:
            return
        assert session.lesson_id is not None
        if reason == self.server.reason.CLIENT_DISCONNECT:
            command: c.Command = c.Leave()
        else:
            # Not a goodbye: a ping timeout, or a reset by a NAT or carrier after a silence.
            # Either way the phone was last there when we last heard it.
            command = c.ConnectionLost(session.last_heard_ms)
        for actor in list(session.learners.values()):
            if self.fanout.forget(session.lesson_id, actor.participant_id, sid):
                continue  # another connection of the same participant is still here
            try:
                await self.live.run(session.lesson_id, actor, command)
            except Refused as refused:
                log.warning("could not record %s leaving: %s", actor, refused.code)

    async def trigger_event(self, event: str, *args: Any) -> Any:
        if event in ("connect", "disconnect"):
            return await super().trigger_event(event, *args)
        sid, payload = args[0], args[1:]
        try:
            if len(payload) > 1:
                raise Refused("invalid-payload", "Send one JSON object per event.")
            result = await self._handle(event, sid, payload[0] if payload else None)
            return {"ok": True, **result, "server_time": self.live.clock()}
        except Refused as refused:
            self._audit(refused.code, event, sid)
            return {"ok": False, "error": refused.as_dict()}
        except Exception:
            log.exception("event %r from %s failed", str(event)[:40], sid)
            return {"ok": False, "error": INTERNAL}

    def _audit(self, code: str, event: str, sid: str) -> None:
        session = self.sessions.get(sid)
        actor = session.actor if session else None
        self.audit.record(
            code, event=str(event)[:40], sid=sid,
            actor=actor.participant_id if actor else None,
            role=actor.role if actor else None,
            lesson=session.lesson_id if session else None,
        )  # fmt: skip

    async def _handle(self, event: str, sid: str, payload: Any) -> dict[str, Any]:
        """One path for every event: the protocol table says what it is and who answers it."""
        declared = inbound(event)
        session = self.sessions.get(sid)
        if session is None:
            raise Refused("auth-required", "Connect with your personal link first.")
        session.last_heard_ms = self.live.clock()
        if declared.teacher_only and session.actor.role != "teacher":
            raise Refused("forbidden", "Only the teacher can do this.")
        return await self.handlers[declared.handler](sid, session, declared.parse(payload))

    async def _run(self, sid: str, session: Session, call: Call) -> dict[str, Any]:
        """A command for the lesson core: decided, stored, then acked with its result."""
        command = call.command()
        lesson_id = _joined(session)
        outcome = await self.live.run(lesson_id, session.acting(call.learner), command)
        return outcome.result

    async def _leave(self, sid: str, session: Session, call: Call) -> dict[str, Any]:
        """`leave` with a learner: that learner; without: everyone on this device."""
        lesson_id, learner = _joined(session), call.learner
        leaving = [session.acting(learner)] if learner else list(session.learners.values())
        for actor in leaving:
            await self.live.run(lesson_id, actor, c.Leave())
            await self._drop_learner(sid, session, actor.participant_id)
        return {}

    async def revoke(self, person_id: str, reason: str) -> None:
        """A revoked or deleted link: that person's sockets here leave the lesson at once.

        A socket opened with the person's own link is disconnected; on a shared phone where
        they were only added as a learner, that learner leaves and the phone stays.
        """
        for sid, session in list(self.sessions.items()):
            own = session.actor.participant_id == person_id
            if not own and person_id not in session.learners:
                continue
            leaving = list(session.learners.values()) if own else [session.learners[person_id]]
            for actor in leaving:
                await self._leave_revoked(sid, session, actor)
            await self.emit("revoked", {"participant_id": person_id, "reason": reason}, to=sid)
            if own or not session.learners:
                self.sessions.pop(sid, None)  # from now on nothing it sends is accepted
                await self.fanout.disconnect_soon([sid])

    async def _leave_revoked(self, sid: str, session: Session, actor: Actor) -> None:
        assert session.lesson_id is not None
        try:
            await self.live.run(session.lesson_id, actor, c.Leave())
        except Refused as refused:
            log.warning("could not record %s leaving (revoked): %s", actor, refused.code)
        await self._drop_learner(sid, session, actor.participant_id)

    # -- events handled apart from the core's commands --------------------------------------

    async def _media(
        self, event: str, session: Session, learner: Any, data: dict[str, Any]
    ) -> dict[str, Any]:
        lesson_id = _joined(session)
        actor = session.acting(learner)  # the host runs it where the lesson's media is
        return await self.live.media(lesson_id, actor, event, data)  # type: ignore[no-any-return]

    async def _on_quiz_result(self, sid: str, session: Session, call: Call) -> dict[str, Any]:
        """A learner's own score once published; the teacher's full results at any time."""
        lesson_id = _joined(session)
        lesson = await self.live.get(lesson_id)
        quiz = lesson.quiz(call.data["quiz_id"])
        if session.actor.role == "teacher":
            return quiz_results(lesson, quiz)
        if not quiz.published:
            raise Refused("not-published", "The teacher has not published the results yet.")
        return quiz.own_result(session.acting(call.learner).participant_id)

    async def _on_beat(self, sid: str, session: Session, call: Call) -> dict[str, Any]:
        return {}  # _handle has noted the time: that is all a heartbeat is for

    async def _on_join(self, sid: str, session: Session, call: Call) -> dict[str, Any]:
        asked = call.data.get("lesson_id")
        if session.lesson_id is not None and asked not in (None, session.lesson_id):
            raise Refused("wrong-lesson", "Your link is for another lesson.")
        lesson_id = session.lesson_id or asked or await self._live_lesson_of(session)
        if session.joined:
            raise Refused("already-joined", "This connection has already joined the lesson.")
        info = await self._lesson_info(lesson_id)
        check_lesson_access(session, info)
        lesson = await self._enter(sid, session, info.id, session.actor, session.resumed)
        session.lesson_id = info.id
        return self._welcome(lesson, session.actor, session.link_version)

    async def _live_lesson_of(self, session: Session) -> str:
        """A student's personal link with no lesson named: their course's newest live lesson
        (the one /api/me lists first), so a phone can join without asking /api/me first."""
        if session.actor.role != "student":
            raise Refused("invalid-payload", "'lesson_id' is required.")
        live = [
            info
            for course_id in session.course_ids
            for info in await self.directory.lessons(course_id)
            if info.status == "live"
        ]
        if not live:
            raise Refused("no-live-lesson", "No lesson of your course has started yet.")
        return max(live, key=lambda info: info.started_ms or 0).id

    async def _on_learner_add(self, sid: str, session: Session, call: Call) -> dict[str, Any]:
        """Another learner from the roster joins on this (shared) device with their link."""
        lesson_id = _joined(session)
        claims = self.signer.verify(call.data["token"], time.time())
        resume = claims.kind == "resume" and claims.role == "student"
        if resume:
            claims = replace(claims, kind="student", scope="")  # a learner coming back
        if claims.kind != "student":
            raise Refused("not-a-student", "Only a student's personal link adds a learner.")
        other = await from_token(claims, self.directory)
        check_lesson_access(other, await self._lesson_info(lesson_id))
        lesson = await self._enter(sid, session, lesson_id, other.actor, resume)
        return self._welcome(lesson, other.actor, other.link_version)

    async def _on_learner_attach(self, sid: str, session: Session, call: Call) -> dict[str, Any]:
        """The teacher puts a roster student on a device that is already in the lesson."""
        lesson_id = _joined(session)
        student = await self.directory.get(Student, call.data["student_id"])
        lesson = await self.live.get(lesson_id)
        if student is None or student.course_id != lesson.course_id:
            raise Refused("unknown-student", "This student is not on the course's roster.")
        devices = self.fanout.connections(lesson.id, call.data["participant_id"])
        device = self.sessions.get(devices[0]) if devices else None
        if device is None:
            raise Refused("unknown-participant", "That device is not in the lesson.")
        actor = Actor(student.id, "student", student.name)
        await self._enter(devices[0], device, lesson.id, actor)
        welcome = self._welcome(lesson, actor, student.link_version)
        await self.emit("learner_added", welcome, to=devices[0])
        return {"participant_id": student.id}

    # -- joining -------------------------------------------------------------------------------

    async def _lesson_info(self, lesson_id: str) -> LessonInfo:
        info = await self.directory.get(LessonInfo, lesson_id)
        if info is None:
            raise Refused("unknown-lesson", "There is no such lesson.")
        return info

    async def _enter(
        self, sid: str, session: Session, lesson_id: str, actor: Actor, resume: bool = False
    ) -> Lesson:
        """Join `actor` on this socket: close a dead older connection's presence, evict others."""
        pid = actor.participant_id
        older = [o for o in self.fanout.connections(lesson_id, pid) if o != sid]
        stale = [self.sessions[o].last_heard_ms for o in older if self._stale(o)]
        if older and len(stale) == len(older):
            # The old connection died silently and the server has not noticed yet: that
            # was a network gap, from when we last heard it until now.
            await self.live.run(lesson_id, actor, c.ConnectionLost(max(stale)))
        self.catch_up.before(await self.live.get(lesson_id), pid)
        # In its own room first: what the join itself sends it (time back in a quiz) arrives.
        await self.fanout.enter_own_room(sid, lesson_id, pid)
        try:
            await self.live.run(lesson_id, actor, c.Join(resume, session.actor.participant_id))
        except Refused:
            await self.fanout.detach_participant(sid, lesson_id, pid)
            raise
        lesson = await self.live.get(lesson_id)
        session.learners[pid] = actor
        for old in older:
            await self._evict(old, lesson_id, pid)
        await self.fanout.attach(sid, lesson, actor)
        return lesson

    def _stale(self, sid: str) -> bool:
        session = self.sessions.get(sid)
        silent_ms = self.live.clock() - session.last_heard_ms if session else 0
        return session is None or silent_ms > 2 * self.heartbeat_s * 1000

    async def _evict(self, old: str, lesson_id: str, pid: str) -> None:
        """A participant has one connection: a newer one evicts the older (documented rule)."""
        self.fanout.forget(lesson_id, pid, old)
        other = self.sessions.get(old)
        if other is not None:
            other.learners.pop(pid, None)
        await self.fanout.detach_participant(old, lesson_id, pid)
        await self.emit("replaced", {"participant_id": pid, "reason": "joined-elsewhere"}, to=old)
        if other is None or not other.learners:
            await self.disconnect(old)

    def _welcome(self, lesson: Lesson, actor: Actor, link_version: int) -> dict[str, Any]:
        pid = actor.participant_id
        me = lesson.participants[pid]
        expires = int(time.time() + self.resume_ttl_s)
        claims = Claims("resume", pid, lesson.id, link_version, expires, me.name, me.role)
        common = {"resume": self.signer.sign(claims), "heartbeat_s": self.heartbeat_s}
        if me.presence == "waiting":  # no relay for the waiting room: TURN comes on admission
            return {"waiting": True, "you": me.view(), **common, "ice_servers": []}
        ice = self.ice_for(pid)
        missed = self.catch_up.offer(lesson, me, link_version)
        view = snapshot(lesson, pid)
        return {"waiting": False, "snapshot": view, **common, "ice_servers": ice, **missed}

    async def _drop_learner(self, sid: str, session: Session, pid: str) -> None:
        assert session.lesson_id is not None
        self.fanout.forget(session.lesson_id, pid, sid)
        session.learners.pop(pid, None)
        await self.fanout.detach_participant(sid, session.lesson_id, pid)
        if not session.learners:
            await self.fanout.detach(sid, session.lesson_id)


def _joined(session: Session) -> str:
    """The lesson a socket has joined; refused with not-joined if it has not."""
    if session.lesson_id is None or not session.joined:
        raise Refused("not-joined", "Join the lesson first.")
    return session.lesson_id
