"""REST routes to correct and erase: rename, delete, rotate links, change a teacher's courses."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from typing import Any

from aiohttp import web

from core.errors import Refused
from server.access import caller
from server.appkeys import DIRECTORY, RIGHTS
from server.routes import _known_courses, _text, ok, student_view, teacher_view
from signaling.schema import Field, Spec
from store.directory import Course, LessonInfo, Student, Teacher

manage_routes = web.RouteTableDef()

MANAGE_BODIES: dict[str, Spec] = {
    "course-change": Spec((Field("title", str, max_len=200),)),
    "lesson-change": Spec((Field("title", str, max_len=200),)),
    "student-change": Spec(
        (
            Field("name", str, max_len=80, required=False),
            Field("external_id", str, max_len=80, required=False),
        )
    ),
    "teacher-change": Spec(
        (
            Field("name", str, max_len=80, required=False),
            Field("course_ids", list, required=False),
        )
    ),
}

# path, method, summary, body, who: rows in the form of server.openapi.OPERATIONS
MANAGE_OPERATIONS: list[tuple[str, str, str, str | None, str]] = [
    ("/api/courses/{course_id}", "patch", "Rename a course", "course-change", "organizer"),
    (
        "/api/courses/{course_id}",
        "delete",
        "Delete a course with its lessons (and their logs) and its students; refused while "
        "one of its lessons is live",
        None,
        "organizer",
    ),
    (
        "/api/students/{student_id}",
        "patch",
        "Correct a student's name or external id",
        "student-change",
        "organizer",
    ),
    (
        "/api/students/{student_id}",
        "delete",
        "Erase a student: the record goes, their sockets are disconnected, and every lesson "
        "log keeps their attendance under a pseudonym without their name or free text",
        None,
        "organizer",
    ),
    (
        "/api/teachers/{teacher_id}",
        "patch",
        "Rename a teacher or change their courses (taken off a course: disconnected)",
        "teacher-change",
        "organizer",
    ),
    (
        "/api/teachers/{teacher_id}",
        "delete",
        "Delete a teacher; their link stops working and their sockets are disconnected",
        None,
        "organizer",
    ),
    (
        "/api/teachers/{teacher_id}/rotate-link",
        "post",
        "Revoke a teacher's link (sockets disconnected at once) and issue a new one",
        None,
        "organizer",
    ),
    ("/api/lessons/{lesson_id}", "patch", "Rename a lesson", "lesson-change", "organizer"),
    (
        "/api/lessons/{lesson_id}",
        "delete",
        "Delete a lesson with its log; refused while it is live",
        None,
        "organizer",
    ),
]


async def _record(request: web.Request, cls: type[Any], key: str, code: str) -> Any:
    (await caller(request)).require_organizer()
    found = await request.app[DIRECTORY].get(cls, request.match_info[key])
    if found is None:
        noun = code.removeprefix("unknown-")
        raise Refused(code, f"There is no such {noun}.")
    return found


async def _body(request: web.Request, name: str) -> dict[str, Any]:
    try:
        data = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise Refused("invalid-json", "The request body must be JSON.") from None
    return MANAGE_BODIES[name].parse(data)


# -- courses ---------------------------------------------------------------------------------


@manage_routes.patch("/api/courses/{course_id}")
async def change_course(request: web.Request) -> web.Response:
    course = await _record(request, Course, "course_id", "unknown-course")
    data = await _body(request, "course-change")
    course = replace(course, title=_text(data["title"], "title"))
    await request.app[DIRECTORY].put(course)
    return ok(asdict(course))


@manage_routes.delete("/api/courses/{course_id}")
async def delete_course(request: web.Request) -> web.Response:
    course = await _record(request, Course, "course_id", "unknown-course")
    await request.app[RIGHTS].delete_course(course)
    return ok({"deleted": course.id})


# -- students --------------------------------------------------------------------------------


@manage_routes.patch("/api/students/{student_id}")
async def change_student(request: web.Request) -> web.Response:
    student = await _record(request, Student, "student_id", "unknown-student")
    data = await _body(request, "student-change")
    if "name" in data:
        student = replace(student, name=_text(data["name"], "name"))
    if "external_id" in data:
        student = replace(student, external_id=data["external_id"].strip())
    await request.app[DIRECTORY].put(student)
    return ok(student_view(request, student))


@manage_routes.delete("/api/students/{student_id}")
async def erase_student(request: web.Request) -> web.Response:
    student = await _record(request, Student, "student_id", "unknown-student")
    pseudonym = await request.app[RIGHTS].erase_student(student)
    return ok({"erased": student.id, "pseudonym": pseudonym})


# -- teachers --------------------------------------------------------------------------------


@manage_routes.patch("/api/teachers/{teacher_id}")
async def change_teacher(request: web.Request) -> web.Response:
    teacher = await _record(request, Teacher, "teacher_id", "unknown-teacher")
    data = await _body(request, "teacher-change")
    new = teacher
    if "name" in data:
        new = replace(new, name=_text(data["name"], "name"))
    if "course_ids" in data:
        new = replace(new, course_ids=await _known_courses(request, data["course_ids"]))
    await request.app[RIGHTS].change_teacher(teacher, new)
    return ok(teacher_view(request, new))


@manage_routes.delete("/api/teachers/{teacher_id}")
async def delete_teacher(request: web.Request) -> web.Response:
    teacher = await _record(request, Teacher, "teacher_id", "unknown-teacher")
    await request.app[RIGHTS].delete_teacher(teacher)
    return ok({"deleted": teacher.id})


@manage_routes.post("/api/teachers/{teacher_id}/rotate-link")
async def rotate_teacher_link(request: web.Request) -> web.Response:
    teacher = await _record(request, Teacher, "teacher_id", "unknown-teacher")
    teacher = await request.app[RIGHTS].rotate_teacher(teacher)
    return ok(teacher_view(request, teacher))


# -- lessons ---------------------------------------------------------------------------------


@manage_routes.patch("/api/lessons/{lesson_id}")
async def change_lesson(request: web.Request) -> web.Response:
    info = await _record(request, LessonInfo, "lesson_id", "unknown-lesson")
    data = await _body(request, "lesson-change")
    info = replace(info, title=_text(data["title"], "title"))
    await request.app[DIRECTORY].put(info)
    return ok(asdict(info))


@manage_routes.delete("/api/lessons/{lesson_id}")
async def delete_lesson(request: web.Request) -> web.Response:
    info = await _record(request, LessonInfo, "lesson_id", "unknown-lesson")
    await request.app[RIGHTS].delete_lesson(info)
    await request.app[RIGHTS].compact()
    return ok({"deleted": info.id})
