"""Who is connecting: the socket.io `auth` credentials turned into a server-side session."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from core.errors import Refused
from core.lesson import Actor
from core.names import clean_name
from lessons.tokens import Claims, Signer
from store.directory import LessonInfo, Student, Teacher
from store.protocols import Directory


@dataclass
class Session:
    """One socket's identity and place; never taken from a payload after connect.

    `learners` are the participants this socket speaks for once joined: usually one, several
    on a phone shared by children of one family or class.
    """

    actor: Actor
    course_ids: tuple[str, ...] = ()
    lesson_id: str | None = None  # fixed at connect for guests and resume tokens
    link_version: int = 0
    learners: dict[str, Actor] = field(default_factory=dict)
    last_heard_ms: int = 0
    resumed: bool = False  # connected with a resume token: back only within the grace

    @property
    def joined(self) -> bool:
        return bool(self.learners)

    def acting(self, learner: Any) -> Actor:
        """The learner an event is for: one of this socket's own, never anyone else."""
        if learner is None:
            if self.actor.participant_id in self.learners:
                return self.actor
            if self.learners:
                return next(iter(self.learners.values()))
            raise Refused("not-joined", "Join the lesson first.")
        if not isinstance(learner, str) or learner not in self.learners:
            raise Refused("unknown-learner", "That learner is not on this device.")
        return self.learners[learner]


async def identify(auth: Any, directory: Directory, signer: Signer) -> Session:
    """A session for valid credentials, else Refused with a stable code."""
    if not isinstance(auth, dict):
        raise Refused("auth-required", "Open the lesson from your personal link.")
    if isinstance(auth.get("token"), str):
        return await from_token(signer.verify(auth["token"], time.time()), directory)
    if isinstance(auth.get("guest_code"), str):
        return await _guest(auth["guest_code"], auth.get("name"), directory)
    raise Refused("auth-required", "Open the lesson from your personal link.")


async def from_token(claims: Claims, directory: Directory) -> Session:
    if claims.kind == "resume":
        return await _resume(claims, directory)
    if claims.kind == "student":
        student = await directory.get(Student, claims.sub)
        if student is None or student.link_version != claims.version:
            raise Refused("link-revoked", "This link is no longer valid; ask for a new one.")
        actor = Actor(student.id, "student", student.name)
        return Session(actor, (student.course_id,), link_version=student.link_version)
    teacher = await directory.get(Teacher, claims.sub)
    if teacher is None or teacher.link_version != claims.version:
        raise Refused("link-revoked", "This link is no longer valid; ask for a new one.")
    actor = Actor(teacher.id, "teacher", teacher.name)
    return Session(actor, teacher.course_ids, link_version=teacher.link_version)


async def _resume(claims: Claims, directory: Directory) -> Session:
    if claims.role == "guest":
        return Session(
            Actor(claims.sub, "guest", claims.name), lesson_id=claims.scope, resumed=True
        )
    holder: Student | Teacher | None = (
        await directory.get(Student, claims.sub)
        if claims.role == "student"
        else await directory.get(Teacher, claims.sub)
    )
    if holder is None or holder.link_version != claims.version:
        raise Refused("link-revoked", "This link is no longer valid; ask for a new one.")
    actor = Actor(holder.id, claims.role, holder.name)  # type: ignore[arg-type]
    return Session(actor, lesson_id=claims.scope, link_version=holder.link_version, resumed=True)


async def _guest(code: str, name: Any, directory: Directory) -> Session:
    if not isinstance(name, str) or len(name) > 200:
        raise Refused("invalid-name", "Type your name (at most 80 characters).")
    name = clean_name(name)
    lesson = await directory.lesson_by_code(code.strip().upper()[:32])
    if lesson is None or not lesson.allow_guests or lesson.status == "ended":
        raise Refused("unknown-code", "There is no lesson with this code open to guests.")
    guest_id = f"g{secrets.token_hex(6)}"
    return Session(Actor(guest_id, "guest", name), lesson_id=lesson.id)


def check_lesson_access(session: Session, lesson: LessonInfo) -> None:
    """Link holders may join only lessons of their own courses."""
    if session.lesson_id is not None and session.lesson_id != lesson.id:
        raise Refused("wrong-lesson", "Your link is for another lesson.")
    if session.lesson_id is None and lesson.course_id not in session.course_ids:
        raise Refused("wrong-lesson", "This lesson is not part of your course.")
