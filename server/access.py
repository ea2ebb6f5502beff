"""Who is calling the REST API: the organizer's admin key or a teacher's personal token."""

from __future__ import annotations

import time
from dataclasses import dataclass

from aiohttp import web

from core.errors import Refused
from lessons.tokens import same_secret
from server.appkeys import ADMIN_KEY, DIRECTORY, SIGNER
from store.directory import Teacher


@dataclass(frozen=True)
class Caller:
    """An organizer (admin key) or a teacher (personal token)."""

    teacher: Teacher | None

    @property
    def is_organizer(self) -> bool:
        return self.teacher is None

    def require_organizer(self) -> None:
        if not self.is_organizer:
            raise Refused("forbidden", "Only an organizer (admin key) can do this.")

    def require_course(self, course_id: str) -> None:
        if self.teacher is not None and course_id not in self.teacher.course_ids:
            raise Refused("forbidden", "You do not teach this course.")


CALLER = web.RequestKey("caller", Caller)


async def caller(request: web.Request) -> Caller:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        raise Refused("auth-required", "Send 'Authorization: Bearer <admin key or teacher token>'.")
    secret = header.removeprefix("Bearer ").strip()
    if same_secret(secret, request.app[ADMIN_KEY]):
        return _known(request, Caller(None))
    claims = request.app[SIGNER].verify(secret, time.time())
    teacher = await request.app[DIRECTORY].get(Teacher, claims.sub)
    if claims.kind != "teacher" or teacher is None or teacher.link_version != claims.version:
        raise Refused("auth-required", "This key or token is not valid.")
    return _known(request, Caller(teacher))


def _known(request: web.Request, who: Caller) -> Caller:
    request[CALLER] = who  # so that a refusal that follows is audited with who it was
    return who
