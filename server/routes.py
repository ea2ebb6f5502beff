"""The REST API: courses, rosters, teachers and lessons, for organizers and teachers."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import asdict, replace
from typing import Any

from aiohttp import web

from core import commands as c
from core.checks import draw_check_times
from core.errors import Refused
from core.lesson import SYSTEM, Actor
from core.names import clean_name, sort_key
from lessons.tokens import Claims
from server.access import Caller, caller
from server.appkeys import AUDIT, DIRECTORY, EVENTLOG, LIVE, RIGHTS, SETTINGS, SIGNER
from server.roster import XLSX, read_roster
from signaling.schema import Field, Spec
from store.directory import Course, LessonInfo, Student, Teacher, new_id

routes = web.RouteTableDef()

BODIES: dict[str, Spec] = {
    "course": Spec((Field("title", str, max_len=200),)),
    "teacher": Spec((Field("name", str, max_len=80), Field("course_ids", list, required=False))),
    "lesson": Spec((Field("title", str, max_len=200), Field("allow_guests", bool, required=False))),
    "students": Spec((Field("students", list),)),
}
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def now_ms() -> int:
    return int(time.time() * 1000)


async def body(request: web.Request, name: str) -> dict[str, Any]:
    try:
        data = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise Refused("invalid-json", "The request body must be JSON.") from None
    return BODIES[name].parse(data)


def ok(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda d: json.dumps(d, ensure_ascii=False))


def link(request: web.Request, kind: str, sub: str, scope: str, version: int) -> str:
    settings = request.app[SETTINGS]
    days = settings.auth.teacher_link_ttl_days if kind == "teacher" else settings.auth.link_ttl_days
    exp = int(time.time() + days * 86400)
    token = request.app[SIGNER].sign(Claims(kind, sub, scope, version, exp))  # type: ignore[arg-type]
    page = "teach" if kind == "teacher" else "join"
    return f"{settings.public_base_url}/{page}#{token}"


def token_of(url: str) -> str:
    return url.split("#", 1)[1]


# -- courses -------------------------------------------------------------------------------


@routes.post("/api/courses")
async def create_course(request: web.Request) -> web.Response:
    (await caller(request)).require_organizer()
    data = await body(request, "course")
    course = Course(new_id("c"), _text(data["title"], "title"), now_ms())
    await request.app[DIRECTORY].put(course)
    return ok(asdict(course), 201)


@routes.get("/api/courses")
async def list_courses(request: web.Request) -> web.Response:
    who = await caller(request)
    courses = await request.app[DIRECTORY].all(Course)
    mine = [x for x in courses if who.is_organizer or x.id in who.teacher.course_ids]  # type: ignore[union-attr]
    return ok([asdict(x) for x in sorted(mine, key=lambda x: x.created_ms)])


async def course_for(request: web.Request, who: Caller) -> Course:
    course = await request.app[DIRECTORY].get(Course, request.match_info["course_id"])
    if course is None:
        raise Refused("unknown-course", "There is no such course.")
    who.require_course(course.id)
    return course


@routes.get("/api/courses/{course_id}")
async def get_course(request: web.Request) -> web.Response:
    course = await course_for(request, await caller(request))
    teachers = [t for t in await request.app[DIRECTORY].all(Teacher) if course.id in t.course_ids]
    return ok({**asdict(course), "teachers": [{"id": t.id, "name": t.name} for t in teachers]})


# -- roster --------------------------------------------------------------------------------


@routes.post("/api/courses/{course_id}/students")
async def import_students(request: web.Request) -> web.Response:
    who = await caller(request)
    who.require_organizer()
    course = await course_for(request, who)
    directory = request.app[DIRECTORY]
    existing = {s.external_id: s for s in await directory.roster(course.id) if s.external_id}
    if request.content_type in ("text/csv", XLSX):
        preview = read_roster(await request.read(), request.content_type, request.charset)
        if request.query.get("dry_run") in ("1", "true"):  # nothing stored: show, then confirm
            return ok(preview.as_dict(set(existing)))
        preview.require_clean()
        rows = [(r.name, r.external_id) for r in preview.rows]
    else:
        rows = [_student_row(item) for item in (await body(request, "students"))["students"]]
    out = []
    for name, external in rows:
        earlier = existing.get(external) if external else None
        student = (
            replace(earlier, name=name)
            if earlier
            else Student(new_id("s"), course.id, name, external)
        )
        await directory.put(student)
        out.append(student_view(request, student))
    return ok(out, 201)


def _student_row(item: Any) -> tuple[str, str]:
    spec = Spec((Field("name", str, max_len=80), Field("external_id", str, required=False)))
    data = spec.parse(item)
    return _text(data["name"], "name"), data.get("external_id", "").strip()


def student_view(request: web.Request, s: Student) -> dict[str, Any]:
    return {**asdict(s), "link": link(request, "student", s.id, s.course_id, s.link_version)}


@routes.get("/api/courses/{course_id}/students")
async def list_students(request: web.Request) -> web.Response:
    who = await caller(request)
    course = await course_for(request, who)
    roster = await request.app[DIRECTORY].roster(course.id)
    if not who.is_organizer:  # least privilege: a teacher's token never yields children's links
        return ok([asdict(s) for s in roster])
    return ok([student_view(request, s) for s in roster])


@routes.post("/api/students/{student_id}/rotate-link")
async def rotate_student_link(request: web.Request) -> web.Response:
    (await caller(request)).require_organizer()
    directory = request.app[DIRECTORY]
    student = await directory.get(Student, request.match_info["student_id"])
    if student is None:
        raise Refused("unknown-student", "There is no such student.")
    student = await request.app[RIGHTS].rotate_student(student)  # also disconnects them
    return ok(student_view(request, student))


# -- teachers ------------------------------------------------------------------------------


@routes.post("/api/teachers")
async def create_teacher(request: web.Request) -> web.Response:
    (await caller(request)).require_organizer()
    data = await body(request, "teacher")
    course_ids = await _known_courses(request, data.get("course_ids", []))
    teacher = Teacher(new_id("t"), _text(data["name"], "name"), course_ids)
    await request.app[DIRECTORY].put(teacher)
    return ok(teacher_view(request, teacher), 201)


async def _known_courses(request: web.Request, ids: list[Any]) -> tuple[str, ...]:
    if not all(isinstance(i, str) for i in ids) or len(ids) > 100:
        raise Refused("invalid-payload", "'course_ids' must be a list of course ids.")
    for course_id in ids:
        if await request.app[DIRECTORY].get(Course, course_id) is None:
            raise Refused("unknown-course", f"There is no course '{course_id[:40]}'.")
    return tuple(dict.fromkeys(ids))


def teacher_view(request: web.Request, t: Teacher) -> dict[str, Any]:
    return {**asdict(t), "link": link(request, "teacher", t.id, "", t.link_version)}


@routes.get("/api/teachers")
async def list_teachers(request: web.Request) -> web.Response:
    (await caller(request)).require_organizer()
    teachers = await request.app[DIRECTORY].all(Teacher)
    return ok([teacher_view(request, t) for t in sorted(teachers, key=lambda t: sort_key(t.name))])


# -- lessons -------------------------------------------------------------------------------


@routes.post("/api/courses/{course_id}/lessons")
async def create_lesson(request: web.Request) -> web.Response:
    who = await caller(request)
    course = await course_for(request, who)
    data = await body(request, "lesson")
    teacher_id = who.teacher.id if who.teacher else ""
    code = new_code()
    info = LessonInfo(
        new_id("l"),
        course.id,
        _text(data["title"], "title"),
        teacher_id,
        code,
        bool(data.get("allow_guests", False)),
        now_ms(),
    )
    await request.app[DIRECTORY].put(info)
    return ok(asdict(info), 201)


def new_code() -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))


@routes.get("/api/courses/{course_id}/lessons")
async def list_lessons(request: web.Request) -> web.Response:
    course = await course_for(request, await caller(request))
    return ok([asdict(x) for x in await request.app[DIRECTORY].lessons(course.id)])


async def lesson_for(request: web.Request, who: Caller) -> LessonInfo:
    info = await request.app[DIRECTORY].get(LessonInfo, request.match_info["lesson_id"])
    if info is None:
        raise Refused("unknown-lesson", "There is no such lesson.")
    who.require_course(info.course_id)
    return info


@routes.get("/api/lessons/{lesson_id}")
async def get_lesson(request: web.Request) -> web.Response:
    info = await lesson_for(request, await caller(request))
    return ok(asdict(info))


@routes.post("/api/lessons/{lesson_id}/rotate-code")
async def rotate_lesson_code(request: web.Request) -> web.Response:
    """A new guest code: the old one (and its QR code) no longer lets anyone new in."""
    info = await lesson_for(request, await caller(request))
    rotated = replace(info, code=new_code())
    await request.app[DIRECTORY].change_code(info, rotated)
    return ok(asdict(rotated))


@routes.post("/api/lessons/{lesson_id}/start")
async def start_lesson(request: web.Request) -> web.Response:
    who = await caller(request)
    info = await lesson_for(request, who)
    actor = Actor(who.teacher.id, "teacher", who.teacher.name) if who.teacher else SYSTEM
    teacher_id = who.teacher.id if who.teacher else info.teacher_id
    attendance = request.app[SETTINGS].attendance
    planned_ms = int(attendance.planned_lesson_min * 60_000)
    draw = secrets.SystemRandom()  # nobody, the teacher included, can tell when they come
    checks = draw_check_times(now_ms(), planned_ms, attendance.random_checks, draw)
    command = c.StartLesson(info.title, teacher_id, info.allow_guests, checks)
    await request.app[LIVE].run(info.id, actor, command)
    return ok(asdict(await lesson_for(request, who)))


@routes.post("/api/lessons/{lesson_id}/end")
async def end_lesson(request: web.Request) -> web.Response:
    who = await caller(request)
    info = await lesson_for(request, who)
    if who.teacher:
        actor, end = Actor(who.teacher.id, "teacher", who.teacher.name), c.EndLesson()
    else:
        actor, end = SYSTEM, c.EndLesson("ended-by-organizer")
    await request.app[LIVE].run(info.id, actor, end)
    return ok(asdict(await lesson_for(request, who)))


EVENTS_PAGE, EVENTS_PAGE_MAX = 1000, 5000


@routes.get("/api/lessons/{lesson_id}/events")
async def lesson_events(request: web.Request) -> web.Response:
    """One page of the log: `after` a seq (the cursor), at most `limit` records."""
    info = await lesson_for(request, await caller(request))
    after = query_int(request, "after", 0, 0, 2**53)
    limit = query_int(request, "limit", EVENTS_PAGE, 1, EVENTS_PAGE_MAX)
    records = await request.app[EVENTLOG].read(info.id, after, limit)
    response = ok([r.as_dict() for r in records])
    if len(records) == limit:
        next_page = f"{request.path}?after={records[-1].seq}&limit={limit}"
        response.headers["Link"] = f'<{next_page}>; rel="next"'
    return response


def query_int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    given = request.query.get(name)
    if given is None:
        return default
    if not given.isdigit() or not low <= int(given) <= high:
        raise Refused("invalid-payload", f"'{name}' must be a whole number from {low} to {high}.")
    return int(given)


@routes.get("/api/audit")
async def audit_entries(request: web.Request) -> web.Response:
    (await caller(request)).require_organizer()
    given = request.query.get("count", "100")
    count = min(max(int(given), 1), 1000) if given.isdigit() else 100
    return ok(await request.app[AUDIT].entries(count))


@routes.get("/api/audit/counts")
async def audit_counts(request: web.Request) -> web.Response:
    (await caller(request)).require_organizer()
    given = request.query.get("hours", "24")
    hours = min(max(int(given), 1), 24 * 30) if given.isdigit() else 24
    return ok(await request.app[AUDIT].counts(hours))


@routes.get("/healthz")
async def health(request: web.Request) -> web.Response:
    eventlog = request.app[EVENTLOG]
    return ok({"ok": eventlog.healthy, "pending_events": eventlog.pending})


def _text(value: str, name: str) -> str:
    return clean_name(value, name, 200 if name == "title" else 80)
