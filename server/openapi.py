"""The OpenAPI 3.1 document of the REST API, served at /api/openapi.json."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from server.manage_routes import MANAGE_BODIES, MANAGE_OPERATIONS
from server.routes import BODIES
from server.web_api import WEB_OPERATIONS

ERROR = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            "required": ["code", "message"],
        }
    },
}

# path, method, summary, request body (a BODIES name, "csv", or None), who may call it
OPERATIONS: list[tuple[str, str, str, str | None, str]] = [
    ("/api/courses", "post", "Create a course", "course", "organizer"),
    ("/api/courses", "get", "List courses (a teacher sees their own)", None, "organizer, teacher"),
    ("/api/courses/{course_id}", "get", "A course and its teachers", None, "organizer, teacher"),
    (
        "/api/courses/{course_id}/students",
        "post",
        "Import a roster: text/csv (name[,external_id]) or JSON; re-importing an external id "
        "updates that student",
        "students",
        "organizer",
    ),
    (
        "/api/courses/{course_id}/students",
        "get",
        "The roster; with personal links for organizers only (docs/privacy.md)",
        None,
        "organizer, teacher",
    ),
    (
        "/api/students/{student_id}/rotate-link",
        "post",
        "Revoke a student's link and issue a new one",
        None,
        "organizer",
    ),
    ("/api/teachers", "post", "Create a teacher with a personal link", "teacher", "organizer"),
    ("/api/teachers", "get", "List teachers with their links", None, "organizer"),
    (
        "/api/courses/{course_id}/lessons",
        "post",
        "Create a lesson (gets a guest code)",
        "lesson",
        "organizer, teacher",
    ),
    (
        "/api/courses/{course_id}/lessons",
        "get",
        "List a course's lessons",
        None,
        "organizer, teacher",
    ),
    ("/api/lessons/{lesson_id}", "get", "A lesson's record", None, "organizer, teacher"),
    ("/api/lessons/{lesson_id}/start", "post", "Start a lesson", None, "organizer, teacher"),
    (
        "/api/lessons/{lesson_id}/end",
        "post",
        "End a lesson; everyone is disconnected",
        None,
        "organizer, teacher",
    ),
    (
        "/api/lessons/{lesson_id}/events",
        "get",
        "The lesson's event log, oldest first",
        None,
        "organizer, teacher",
    ),
    (
        "/api/lessons/{lesson_id}/report",
        "get",
        "Attendance report: per learner presence, gaps by reason, checks, activity, status",
        None,
        "organizer, teacher",
    ),
    (
        "/api/lessons/{lesson_id}/report.csv",
        "get",
        "The attendance report as CSV",
        None,
        "organizer, teacher",
    ),
    (
        "/api/lessons/{lesson_id}/timeline.svg",
        "get",
        "The presence timeline picture (SVG); ?lang=ky|ru|en for its labels",
        None,
        "organizer, teacher",
    ),
    (
        "/api/courses/{course_id}/report",
        "get",
        "Learner × lesson attendance matrix",
        None,
        "organizer, teacher",
    ),
    (
        "/api/courses/{course_id}/report.csv",
        "get",
        "The course matrix as CSV",
        None,
        "organizer, teacher",
    ),
    (
        "/api/audit",
        "get",
        "The newest audit entries (refused attempts: wrong role, bad tokens, code guessing); "
        "query count=1..1000",
        None,
        "organizer",
    ),
    ("/healthz", "get", "Liveness and how many events wait for Redis", None, "anyone"),
]


def _operation(path: str, summary: str, body: str | None, who: str) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "description": f"Who may call it: {who}.",
        "parameters": [
            {"name": p.strip("{}"), "in": "path", "required": True, "schema": {"type": "string"}}
            for p in path.split("/")
            if p.startswith("{")
        ],
        "responses": {
            "200": {"description": "Success (201 when something was created)"},
            "4XX": {"description": "Refused", "content": {"application/json": {"schema": ERROR}}},
        },
    }
    if who != "anyone":
        op["security"] = [{"bearer": []}]
    if body is not None:
        spec = BODIES[body] if body in BODIES else MANAGE_BODIES[body]
        content: dict[str, Any] = {"application/json": {"schema": spec.json_schema()}}
        if body == "students":
            content["text/csv"] = {"schema": {"type": "string"}}
        op["requestBody"] = {"required": True, "content": content}
    return op


def document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for path, method, summary, body, who in [*OPERATIONS, *WEB_OPERATIONS, *MANAGE_OPERATIONS]:
        paths.setdefault(path, {})[method] = _operation(path, summary, body, who)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Sabak REST API",
            "version": "0.1.0",
            "description": "Live lessons are driven over socket.io: see docs/protocol.md.",
        },
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The organizer's admin key, or a teacher's personal token",
                }
            }
        },
        "paths": paths,
    }


async def openapi_route(request: web.Request) -> web.Response:
    return web.json_response(document())
