"""Who may open a lesson's recording: the course's students, its teachers, organizers.

A viewer is written into every media link they are given (`who`): "organizer",
"teacher:<id>:<link version>", "student:<id>:<link version>", or "guest:<participant id>"
(a guest's catch-up clip, valid only while the lesson is live). Each request for media checks
that person again, so a rotated link or an erased student stops their links at once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from aiohttp import web

from core.errors import Refused
from lessons.tokens import same_secret
from server.appkeys import ADMIN_KEY, DIRECTORY, SIGNER
from store.directory import LessonInfo, Student, Teacher

NOT_YOURS = "Recordings are for the course's students and teachers."


@dataclass(frozen=True)
class Viewer:
    who: str

    @property
    def participant_id(self) -> str | None:
        """Their id in the lesson (None for an organizer): whose gaps, which private chat."""
        return self.who.split(":")[1] if ":" in self.who else None

    @property
    def is_student(self) -> bool:
        return self.who.startswith(("student:", "guest:"))


async def lesson_of(request: web.Request) -> LessonInfo:
    info = await request.app[DIRECTORY].get(LessonInfo, request.match_info["lesson_id"])
    if info is None:
        raise Refused("unknown-lesson", "There is no such lesson.")
    return info


async def bearer_viewer(request: web.Request, info: LessonInfo) -> Viewer:
    """The viewer a bearer token (admin key, teacher's or student's personal link) names."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        raise Refused("auth-required", "Open the recording from your personal link.")
    secret = header.removeprefix("Bearer ").strip()
    if same_secret(secret, request.app[ADMIN_KEY]):
        return Viewer("organizer")
    claims = request.app[SIGNER].verify(secret, time.time())
    if claims.kind not in ("student", "teacher"):
        raise Refused("forbidden", NOT_YOURS)  # a guest's resume token: nothing after the lesson
    who = f"{claims.kind}:{claims.sub}:{claims.version}"
    await check_who(request, info, who)
    return Viewer(who)


async def check_who(request: web.Request, info: LessonInfo, who: str) -> None:
    """Refused unless `who` may still see this lesson's recording."""
    kind, _, rest = who.partition(":")
    if kind == "organizer" and not rest:
        return
    if kind == "guest":
        if info.status != "live":
            raise Refused("forbidden", "Guests can catch up only during the lesson.")
        return
    pid, _, version = rest.partition(":")
    holder = await _holder(request, kind, pid)
    if holder is None or str(holder.link_version) != version:
        raise Refused("link-revoked", "This link is no longer valid; ask for a new one.")
    courses = (holder.course_id,) if isinstance(holder, Student) else holder.course_ids
    if info.course_id not in courses:
        raise Refused("forbidden", NOT_YOURS)


async def _holder(request: web.Request, kind: str, pid: str) -> Student | Teacher | None:
    if kind == "student":
        return await request.app[DIRECTORY].get(Student, pid)
    if kind == "teacher":
        return await request.app[DIRECTORY].get(Teacher, pid)
    raise Refused("bad-link", "This media link is not valid.")
