"""What every REST response looks like: the OpenAPI response schemas, one per operation."""

from __future__ import annotations

from typing import Any

from core.events import event_types
from core.presence import GAP_STATES
from server.exports import LESSON_COLUMNS

INT, NUM, STR, BOOL = (
    {"type": "integer"},
    {"type": "number"},
    {"type": "string"},
    {"type": "boolean"},
)
MS = {"type": "integer", "description": "server time, ms since the Unix epoch"}
MS_OR_NULL = {"type": ["integer", "null"], "description": MS["description"]}


def obj(required: dict[str, Any], **optional: Any) -> dict[str, Any]:
    """A closed object: every field named; `required` ones always present."""
    return {
        "type": "object",
        "properties": {**required, **optional},
        "required": list(required),
        "additionalProperties": False,
    }


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


STATUS = {
    "type": "string",
    "enum": ["absent", "late", "left-early", "present"],
    "description": "the suggested status, decided in this order: absent (never came, or "
    "minutes_counted below present_min_fraction of the lesson), late, left-early, present",
}
STATE = {
    "type": "string",
    "enum": ["present", "listening", "background", "network", "left", "removed", "server",
             "waiting"],
}  # fmt: skip
GAP = obj({"count": INT, "minutes": NUM})

LEARNER_ROW = obj(
    {
        "id": STR, "name": STR, "external_id": STR, "guest": BOOL, "status": STATUS,
        "first_join": MS_OR_NULL, "last_leave": MS_OR_NULL,
        "minutes_present": {**NUM, "description": "the page in front"},
        "minutes_listening": {**NUM, "description": "in the background, playing the sound"},
        "minutes_background": {**NUM, "description": "in the background, nothing playing"},
        "minutes_counted": {**NUM, "description": "present, plus listening except a stretch "
                            "of listening in which a check was missed; the status uses it"},
        "gaps": {"type": "object", "properties": {s: GAP for s in GAP_STATES},
                 "additionalProperties": False},
        "segments": array(obj({"start": MS, "end": MS, "state": STATE})),
        "checks": array(obj({
            "check_id": INT,
            "result": {"type": "string", "enum": ["answered", "missed", "not-present"]},
            "response_ms": {"type": ["integer", "null"]},
        })),
        "checks_answered": INT, "checks_issued": INT, "chat_messages": INT,
        "hands_raised": INT, "poll_answers": INT,
        "quiz_scores": {"type": "object", "additionalProperties": INT,
                        "description": "quiz id -> this learner's score"},
    }
)  # fmt: skip

LESSON = obj(
    {"id": STR, "course_id": STR, "title": STR, "teacher_id": STR, "code": STR,
     "allow_guests": BOOL, "created_ms": MS,
     "status": {"type": "string", "enum": ["created", "live", "ended"]},
     "started_ms": MS_OR_NULL, "ended_ms": MS_OR_NULL, "extra": {"type": "object"}}
)  # fmt: skip

REPORT = obj(
    {
        "lesson": ref("Lesson"), "started_at": MS_OR_NULL, "ended_at": MS_OR_NULL,
        "lesson_minutes": NUM,
        "checks": array(obj({"id": INT, "started_at": MS, "deadline": MS, "scheduled": BOOL,
                             "answered": INT})),
        "polls": array(obj({"poll_id": INT, "question": STR, "kind": STR, "anonymous": BOOL,
                            "answered": INT})),
        "quizzes": array(obj({
            "quiz_id": INT, "title": STR, "max_score": INT,
            "questions": array(obj({"id": STR, "text": STR, "answered": INT, "correct": INT})),
        })),
        "decks": array(obj({"deck": STR, "title": STR, "pages": INT, "shown": array(INT)})),
        "learners": array(ref("LearnerRow")),
        "waiting_guests": obj({"count": INT, "names": array(STR)}),
    }
)  # fmt: skip

MATRIX = obj(
    {
        "course": ref("Course"),
        "lessons": array(obj({"id": STR, "title": STR, "started_at": MS_OR_NULL})),
        "learners": array(obj({
            "id": STR, "name": STR, "guest": BOOL,
            "lessons": {"type": "object", "description": "lesson id -> that lesson's result",
                        "additionalProperties": obj({"status": STATUS, "minutes_present": NUM,
                                                     "minutes_counted": NUM})},
        })),
    }
)  # fmt: skip

SCHEMAS: dict[str, dict[str, Any]] = {
    "Course": obj({"id": STR, "title": STR, "created_ms": MS}),
    "Student": obj({"id": STR, "course_id": STR, "name": STR, "external_id": STR,
                    "link_version": INT},
                   link={**STR, "description": "the personal link: for organizers only"}),
    "Teacher": obj({"id": STR, "name": STR, "course_ids": array(STR), "link_version": INT,
                    "link": STR}),
    "Lesson": LESSON,
    "LearnerRow": LEARNER_ROW,
    "Report": REPORT,
    "Matrix": MATRIX,
    "Record": obj({"seq": INT, "ts": MS, "actor": STR,
                   "type": {"type": "string", "enum": list(event_types())},
                   "data": {"type": "object"}}),
    "Deck": obj({"deck": {**STR, "description": "the SHA-256 of the file, hex"}, "pages": INT,
                 "title": STR,
                 "sizes": {**array(array(NUM)), "description": "each page's [width, height] "
                           "in points (PDF) or pixels (image)"},
                 "widths": {**array(INT), "description": "widths its page images exist at"},
                 "kind": {"type": "string", "enum": ["pdf", "png", "jpeg"]}, "bytes": INT,
                 "uploaded_ms": {**MS, "description": "the last upload of this file"}}),
    "AuditEntry": {"type": "object", "properties": {"ts": STR, "code": STR},
                   "required": ["ts", "code"], "additionalProperties": STR,
                   "description": "what was refused and where: event, sid, actor, role, "
                   "lesson, address (as strings)"},
}  # fmt: skip

CSV_LESSON = "CSV with the columns " + ", ".join(LESSON_COLUMNS) + "; one row per learner."
CSV_MATRIX = (
    "CSV with the columns learner_id, name, guest, then one status column per lesson, "
    "'<title> (<lesson id>)', in lesson order."
)
SVG = "An SVG picture."
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLSX_LESSON = "An Excel workbook: one sheet, a header row in the asked language, a row per learner."
XLSX_MATRIX = "An Excel workbook: name, guest, then one status column per lesson."

# (path, method) -> (status, content type, schema or description of a non-JSON body)
ROSTER_PREVIEW = obj(
    {"format": {"type": "string", "enum": ["csv", "xlsx"]}, "encoding": STR, "separator": STR,
     "header": BOOL,
     "students": array(obj({"name": STR, "external_id": STR, "row": INT,
                            "action": {"type": "string", "enum": ["create", "update"]}})),
     "problems": array(obj({"row": INT, "code": STR, "message": STR}))}
)  # fmt: skip

# A moment of the lesson (core/replay.py): its other fields depend on its type.
MOMENT = {"type": "object", "properties": {"t": MS, "type": STR}, "required": ["t", "type"]}
SEGMENT = obj({"start": MS, "end": MS, "bytes": INT, "url": STR})
RECORDING = obj(
    {
        "lesson": obj(
            {
                "id": STR,
                "title": STR,
                "status": STR,
                "started_ms": MS_OR_NULL,
                "ended_ms": MS_OR_NULL,
            }
        ),
        "tracks": {
            "type": "object",
            "additionalProperties": obj(
                {
                    "kind": STR,
                    "codec": STR,
                    "owner": {"type": ["string", "null"]},
                    "segments": array(SEGMENT),
                }
            ),
        },
        "audio": {  # null: no sound recorded
            **obj({"start": MS, "end": MS, "url": STR, "download_url": STR}),
            "type": ["object", "null"],
        },
        "events": array(MOMENT),
        "gaps": array(obj({"from": MS, "to": MS, "reason": STR})),
        "board": array(MOMENT),  # board / stroke / stroke_undone, as the live pages got them
    }
)
CATCH_UP = obj(
    {
        "from_ms": MS,
        "to_ms": MS,
        "duration_ms": INT,
        "bytes": INT,
        "audio_url": {"type": ["string", "null"]},
        "events": array(MOMENT),
        "live": BOOL,
        "now_ms": MS,
    }
)

Response = tuple[int, str, Any]
RESPONSES: dict[tuple[str, str], Response | list[Response]] = {
    ("/api/courses", "post"): (201, "application/json", ref("Course")),
    ("/api/courses", "get"): (200, "application/json", array(ref("Course"))),
    ("/api/courses/{course_id}", "get"): (
        200, "application/json",
        obj({"id": STR, "title": STR, "created_ms": MS,
             "teachers": array(obj({"id": STR, "name": STR}))}),
    ),
    ("/api/courses/{course_id}/students", "post"): [
        (201, "application/json", array(ref("Student"))),
        (200, "application/json", ROSTER_PREVIEW),  # ?dry_run=1 with a CSV or .xlsx body
    ],
    ("/api/courses/{course_id}/students", "get"): (200, "application/json",
                                                   array(ref("Student"))),
    ("/api/students/{student_id}/rotate-link", "post"): (200, "application/json",
                                                         ref("Student")),
    ("/api/teachers", "post"): (201, "application/json", ref("Teacher")),
    ("/api/teachers", "get"): (200, "application/json", array(ref("Teacher"))),
    ("/api/courses/{course_id}/lessons", "post"): (201, "application/json", ref("Lesson")),
    ("/api/courses/{course_id}/lessons", "get"): (200, "application/json",
                                                  array(ref("Lesson"))),
    ("/api/lessons/{lesson_id}", "get"): (200, "application/json", ref("Lesson")),
    ("/api/lessons/{lesson_id}/rotate-code", "post"): (200, "application/json", ref("Lesson")),
    ("/api/lessons/{lesson_id}/start", "post"): (200, "application/json", ref("Lesson")),
    ("/api/lessons/{lesson_id}/end", "post"): (200, "application/json", ref("Lesson")),
    ("/api/lessons/{lesson_id}/events", "get"): (200, "application/json",
                                                 array(ref("Record"))),
    ("/api/lessons/{lesson_id}/report", "get"): (200, "application/json", ref("Report")),
    ("/api/lessons/{lesson_id}/report.csv", "get"): (200, "text/csv", CSV_LESSON),
    ("/api/lessons/{lesson_id}/report.xlsx", "get"): (200, XLSX_TYPE, XLSX_LESSON),
    ("/api/lessons/{lesson_id}/timeline.svg", "get"): (200, "image/svg+xml", SVG),
    ("/api/courses/{course_id}/report", "get"): (200, "application/json", ref("Matrix")),
    ("/api/courses/{course_id}/report.csv", "get"): (200, "text/csv", CSV_MATRIX),
    ("/api/courses/{course_id}/report.xlsx", "get"): (200, XLSX_TYPE, XLSX_MATRIX),
    ("/api/audit", "get"): (200, "application/json", array(ref("AuditEntry"))),
    ("/api/audit/counts", "get"): (
        200, "application/json",
        array(obj({"hour": STR, "event": STR, "code": STR, "network": STR, "count": INT})),
    ),
    ("/healthz", "get"): (200, "application/json", obj({"ok": BOOL, "pending_events": INT})),
    ("/api/me", "get"): (
        200, "application/json",
        obj({"role": {"type": "string", "enum": ["student", "teacher"]}, "id": STR,
             "name": STR,
             "lessons": array(obj({"id": STR, "title": STR, "status": STR, "course_id": STR,
                                   "started_ms": MS_OR_NULL}))}),
    ),
    ("/api/lessons/{lesson_id}/qr.svg", "get"): (200, "image/svg+xml", SVG),
    # Corrections and erasure (server/manage_routes.py)
    ("/api/courses/{course_id}", "patch"): (200, "application/json", ref("Course")),
    ("/api/courses/{course_id}", "delete"): (200, "application/json", obj({"deleted": STR})),
    ("/api/students/{student_id}", "patch"): (200, "application/json", ref("Student")),
    ("/api/students/{student_id}", "delete"): (
        200, "application/json", obj({"erased": STR, "pseudonym": STR}),
    ),
    ("/api/teachers/{teacher_id}", "patch"): (200, "application/json", ref("Teacher")),
    ("/api/teachers/{teacher_id}", "delete"): (200, "application/json", obj({"deleted": STR})),
    ("/api/teachers/{teacher_id}/rotate-link", "post"): (200, "application/json",
                                                         ref("Teacher")),
    ("/api/lessons/{lesson_id}", "patch"): (200, "application/json", ref("Lesson")),
    ("/api/lessons/{lesson_id}", "delete"): (200, "application/json", obj({"deleted": STR})),
    ("/api/students/{student_id}/qr.svg", "get"): (200, "image/svg+xml", SVG),
    # Slide decks (server/deck_routes.py)
    ("/api/decks", "post"): [(201, "application/json", ref("Deck")),
                             (200, "application/json", ref("Deck"))],  # the same file again
    ("/api/decks", "get"): (200, "application/json", array(ref("Deck"))),
    ("/api/decks/{deck}", "get"): (200, "application/json", ref("Deck")),
    ("/api/decks/{deck}/pages/{page}", "get"): [
        (200, "image/webp", "The page as a WebP image."),
        (200, "image/jpeg", "The page as a JPEG image."),
    ],
    ("/api/decks/{deck}", "delete"): (200, "application/json", obj({"deleted": STR})),
    # Recordings (server/recording_routes.py)
    ("/api/lessons/{lesson_id}/recording", "get"): (200, "application/json", RECORDING),
    ("/api/lessons/{lesson_id}/recording", "delete"): (
        200, "application/json", obj({"deleted": STR}),
    ),
    ("/api/recordings/{lesson_id}/{track}/{name}", "get"): [
        (200, "video/webm", "A WebM (or Ogg) segment"),
        (206, "video/webm", "The asked part of it (Range)"),
    ],
    ("/api/recordings/{lesson_id}/audio.ogg", "get"): [
        (200, "audio/ogg", "One Ogg Opus file of the asked stretch"),
        (206, "audio/ogg", "The asked part of it (Range)"),
    ],
    ("/api/recordings/{lesson_id}/catch-up", "get"): (200, "application/json", CATCH_UP),
}  # fmt: skip


def response(path: str, method: str) -> dict[str, Any]:
    """The OpenAPI success response of one operation (KeyError if it has none: a test checks)."""
    given = RESPONSES[(path, method)]
    out: dict[str, Any] = {}
    for status, body in (_one(*r) for r in (given if isinstance(given, list) else [given])):
        if status in out:  # one status, several content types (a page as WebP or JPEG)
            out[status] = {**out[status], "content": {**out[status]["content"], **body["content"]}}
        else:
            out[status] = body
    return out


def _one(status: int, content_type: str, schema: Any) -> tuple[str, dict[str, Any]]:
    if isinstance(schema, str):
        body = {"schema": {"type": "string", "description": schema}}
        return str(status), {"description": schema, "content": {content_type: body}}
    return str(status), {"description": "Success", "content": {content_type: {"schema": schema}}}
