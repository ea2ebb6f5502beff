"""REST endpoints the web pages need: who a personal link is, and join links as QR codes."""

from __future__ import annotations

import io
import time
from typing import Any

import segno
from aiohttp import web

from core.errors import Refused
from server.access import caller
from server.appkeys import DIRECTORY, SETTINGS, SIGNER
from server.routes import lesson_for, link, ok
from store.directory import LessonInfo, Student, Teacher

web_api_routes = web.RouteTableDef()

# path, method, summary, body, who: rows in the form of server.openapi.OPERATIONS
WEB_OPERATIONS: list[tuple[str, str, str, str | None, str]] = [
    (
        "/api/me",
        "get",
        "Who a personal link (Bearer <student or teacher token>) belongs to, and the live "
        "lessons of their courses",
        None,
        "student, teacher",
    ),
    (
        "/api/lessons/{lesson_id}/qr.svg",
        "get",
        "QR code (SVG) of the lesson's guest join link, /join#code=<lesson code>",
        None,
        "organizer, teacher",
    ),
    (
        "/api/students/{student_id}/qr.svg",
        "get",
        "QR code (SVG) of a student's personal join link (not for teachers: docs/privacy.md)",
        None,
        "organizer",
    ),
]


def qr_svg(text: str) -> web.Response:
    """A QR code of `text` as SVG, black on white with the standard quiet zone."""
    out = io.BytesIO()
    segno.make(text, error="m").save(
        out, kind="svg", scale=8, border=4, dark="#000", light="#fff", xmldecl=False
    )
    return web.Response(
        body=out.getvalue(),
        content_type="image/svg+xml",
        headers={"Cache-Control": "private, no-store"},
    )


def lesson_view(info: LessonInfo) -> dict[str, Any]:
    return {
        "id": info.id,
        "title": info.title,
        "status": info.status,
        "course_id": info.course_id,
        "started_ms": info.started_ms,
    }


async def bearer_claims_holder(request: web.Request) -> Student | Teacher:
    """The student or teacher whose personal token is in the Authorization header."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        raise Refused("auth-required", "Open Sabak from your personal link.")
    claims = request.app[SIGNER].verify(header.removeprefix("Bearer ").strip(), time.time())
    directory = request.app[DIRECTORY]
    holder: Student | Teacher | None = None
    if claims.kind == "student":
        holder = await directory.get(Student, claims.sub)
    elif claims.kind == "teacher":
        holder = await directory.get(Teacher, claims.sub)
    else:
        raise Refused("bad-token", "This is not a personal link.")
    if holder is None or holder.link_version != claims.version:
        raise Refused("link-revoked", "This link is no longer valid; ask for a new one.")
    return holder


@web_api_routes.get("/api/me")
async def me(request: web.Request) -> web.Response:
    holder = await bearer_claims_holder(request)
    role = "student" if isinstance(holder, Student) else "teacher"
    courses = (holder.course_id,) if isinstance(holder, Student) else holder.course_ids
    live = []
    for course_id in courses:
        lessons = await request.app[DIRECTORY].lessons(course_id)
        live += [lesson_view(x) for x in lessons if x.status == "live"]
    live.sort(key=lambda x: x["started_ms"] or 0, reverse=True)
    return ok({"role": role, "id": holder.id, "name": holder.name, "lessons": live})


@web_api_routes.get("/api/lessons/{lesson_id}/qr.svg")
async def lesson_qr(request: web.Request) -> web.Response:
    info = await lesson_for(request, await caller(request))
    return qr_svg(f"{request.app[SETTINGS].public_base_url}/join#code={info.code}")


@web_api_routes.get("/api/students/{student_id}/qr.svg")
async def student_qr(request: web.Request) -> web.Response:
    who = await caller(request)
    who.require_organizer()  # a student's link is theirs: teachers do not get it (privacy.md)
    student = await request.app[DIRECTORY].get(Student, request.match_info["student_id"])
    if student is None:
        raise Refused("unknown-student", "There is no such student.")
    who.require_course(student.course_id)
    return qr_svg(link(request, "student", student.id, student.course_id, student.link_version))
