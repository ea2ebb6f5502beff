"""The OpenAPI 3.1 document of the REST API, served at /api/openapi.json."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from server.api_schemas import SCHEMAS, response
from server.deck_routes import DECK_OPERATIONS, DECK_QUERY
from server.manage_routes import MANAGE_BODIES, MANAGE_OPERATIONS
from server.recording_routes import RECORDING_OPERATIONS
from server.roster import XLSX
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


def _query(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema}


LANG = _query("lang", {"type": "string", "enum": ["ky", "ru", "en"], "default": "en"})
TZ = _query("tz", {"type": "string", "default": "UTC"})
EXCEL = _query("excel", {"type": "string", "enum": ["1"]})

QUERY: dict[str, list[dict[str, Any]]] = {
    "/api/lessons/{lesson_id}/report.csv": [EXCEL, LANG, TZ],
    "/api/lessons/{lesson_id}/report.xlsx": [LANG, TZ],
    "/api/courses/{course_id}/report.csv": [EXCEL, LANG],
    "/api/courses/{course_id}/report.xlsx": [LANG],
    "/api/lessons/{lesson_id}/timeline.svg": [LANG, TZ],
    "/api/lessons/{lesson_id}/events": [
        {"name": "after", "in": "query", "required": False,
         "schema": {"type": "integer", "minimum": 0, "default": 0}},
        {"name": "limit", "in": "query", "required": False,
         "schema": {"type": "integer", "minimum": 1, "maximum": 5000, "default": 1000}},
    ],
}  # fmt: skip
_SIGNED = [
    {"name": n, "in": "query", "required": True, "schema": {"type": "string"}}
    for n in ("who", "exp", "sig")
]
_SPAN = [_query(n, {"type": "integer", "minimum": 0}) for n in ("from", "to")]
QUERY["/api/recordings/{lesson_id}/{track}/{name}"] = _SIGNED
QUERY["/api/recordings/{lesson_id}/audio.ogg"] = [
    *_SPAN,
    *_SIGNED,
    _query("download", {"type": "string", "enum": ["1"]}),
]
QUERY["/api/recordings/{lesson_id}/catch-up"] = [*_SPAN, *_SIGNED]

# path, method, summary, request body (a BODIES name, "csv", or None), who may call it
OPERATIONS: list[tuple[str, str, str, str | None, str]] = [
    ("/api/courses", "post", "Create a course", "course", "organizer"),
    ("/api/courses", "get", "List courses (a teacher sees their own)", None, "organizer, teacher"),
    ("/api/courses/{course_id}", "get", "A course and its teachers", None, "organizer, teacher"),
    (
        "/api/courses/{course_id}/students",
        "post",
        "Import a roster: JSON, text/csv (separator , ; or tab, a header row, UTF-8, UTF-16 "
        "or Windows-1251 detected) or .xlsx; ?dry_run=1 returns the preview (rows to create "
        "or update, problems by row) and stores nothing; a file with problems is refused "
        "whole (invalid-roster); re-importing an external id updates that student",
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
        "/api/lessons/{lesson_id}/rotate-code",
        "post",
        "Give the lesson a new guest code; the old code no longer lets new guests in",
        None,
        "organizer, teacher",
    ),
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
        "The lesson's event log, oldest first, a page at a time: `after` (a seq, the cursor; "
        "default 0) and `limit` (1 to 5000, default 1000); a full page has a `Link` header "
        "(rel=next) to the next one",
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
        "The attendance report as CSV for programs (UTC ISO times, English column ids); "
        "?excel=1 for people: UTF-8 with a BOM, `;` and decimal commas for lang=ru|ky, "
        "headers and statuses in ?lang, times in ?tz (e.g. Asia/Bishkek)",
        None,
        "organizer, teacher",
    ),
    (
        "/api/lessons/{lesson_id}/report.xlsx",
        "get",
        "The attendance report as an Excel workbook: headers and statuses in ?lang=ky|ru|en, "
        "times in ?tz (e.g. Asia/Bishkek)",
        None,
        "organizer, teacher",
    ),
    (
        "/api/lessons/{lesson_id}/timeline.svg",
        "get",
        "The presence timeline picture (SVG); ?lang=ky|ru|en for its labels, ?tz (e.g. "
        "Asia/Bishkek) for its clock",
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
        "The course matrix as CSV; ?excel=1&lang=ky|ru|en for Excel (BOM, the locale's "
        "separator, words in that language)",
        None,
        "organizer, teacher",
    ),
    (
        "/api/courses/{course_id}/report.xlsx",
        "get",
        "The course matrix as an Excel workbook, in ?lang=ky|ru|en",
        None,
        "organizer, teacher",
    ),
    (
        "/api/audit",
        "get",
        "The newest audit entries: refusals of someone identified (wrong role, REST 403 with "
        "who, expired or revoked links); query count=1..1000",
        None,
        "organizer",
    ),
    (
        "/api/audit/counts",
        "get",
        "Unauthenticated refusals (no or garbage credentials, guessed lesson codes), counted by "
        "hour, event, code and address block (/24, /48), kept 30 days; query hours=1..720",
        None,
        "organizer",
    ),
    ("/healthz", "get", "Liveness and how many events wait for Redis", None, "anyone"),
]


def _operation(path: str, method: str, summary: str, body: str | None, who: str) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "description": f"Who may call it: {who}.",
        "parameters": [
            {"name": p.strip("{}"), "in": "path", "required": True, "schema": {"type": "string"}}
            for p in path.split("/")
            if p.startswith("{")
        ]
        + QUERY.get(path, [])
        + DECK_QUERY.get((path, method), []),
        "responses": {
            **response(path, method),
            "4XX": {"description": "Refused", "content": {"application/json": {"schema": ERROR}}},
        },
    }
    if not who.startswith("anyone"):  # "anyone", "anyone with a signed link", …
        op["security"] = [{"bearer": []}]
    if body == "deck":  # the file itself
        binary = {"schema": {"type": "string", "format": "binary"}}
        types = ("application/pdf", "image/png", "image/jpeg")
        op["requestBody"] = {"required": True, "content": dict.fromkeys(types, binary)}
    elif body is not None:
        spec = BODIES[body] if body in BODIES else MANAGE_BODIES[body]
        content: dict[str, Any] = {"application/json": {"schema": spec.json_schema()}}
        if body == "students":
            content["text/csv"] = {"schema": {"type": "string"}}
            content[XLSX] = {"schema": {"type": "string", "format": "binary"}}
            op["parameters"].append(
                {"name": "dry_run", "in": "query", "required": False,
                 "schema": {"type": "string", "enum": ["1", "true"]}}
            )  # fmt: skip
        op["requestBody"] = {"required": True, "content": content}
    return op


def document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    every = [
        *OPERATIONS,
        *WEB_OPERATIONS,
        *MANAGE_OPERATIONS,
        *DECK_OPERATIONS,
        *RECORDING_OPERATIONS,
    ]
    for path, method, summary, body, who in every:
        paths.setdefault(path, {})[method] = _operation(path, method, summary, body, who)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Sabak REST API",
            "version": "0.1.0",
            "description": "Live lessons are driven over socket.io: see docs/protocol.md.",
        },
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The organizer's admin key, or a teacher's personal token",
                }
            },
        },
        "paths": paths,
    }


async def openapi_route(request: web.Request) -> web.Response:
    return web.json_response(document())
