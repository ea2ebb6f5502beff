"""The REST API is a contract: every real response validates against the OpenAPI document."""

from __future__ import annotations

import asyncio
import csv
import io
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import aiohttp
import pytest
import socketio
from PIL import Image

from client.rest import token_from_link
from client.sabak_client import CallFailed, SabakClient
from server.appkeys import MEDIA_LINKS, RECORDINGS
from server.exports import LESSON_COLUMNS
from server.openapi import document
from tests import pdf_files
from tests.conftest import Running
from tests.recording_files import RecordingWriter
from tests.schema_check import KNOWN, problems

pytestmark = pytest.mark.store("memory")  # not about Redis: the in-memory store

DOC = document()
COMPONENTS = DOC["components"]["schemas"]


def keywords(schema: Any) -> set[str]:
    """Every keyword used anywhere in a schema (to keep to what the checker knows)."""
    if not isinstance(schema, dict):
        return set()
    found = set(schema)
    for key in ("items", "additionalProperties"):
        found |= keywords(schema.get(key))
    for sub in schema.get("properties", {}).values():
        found |= keywords(sub)
    return found


@pytest.mark.parametrize(
    ("value", "complaint"),
    [
        ({"id": "c1", "title": "A"}, "'created_ms' is missing"),
        ({"id": "c1", "title": "A", "created_ms": 1, "secret": 2}, "'secret' is not in the schema"),
        ({"id": "c1", "title": "A", "created_ms": "1"}, "is not integer"),
        ({"id": "c1", "title": "A", "created_ms": True}, "is not integer"),
    ],
)
def test_the_checker_finds_what_breaks_a_schema(value: Any, complaint: str) -> None:
    found = problems(value, COMPONENTS["Course"], COMPONENTS)
    assert len(found) == 1 and complaint in found[0]


def test_every_operation_has_a_described_success_response() -> None:
    for path, methods in DOC["paths"].items():
        for method, op in methods.items():
            success = [code for code in op["responses"] if code.startswith("2")]
            assert success, (path, method)
            for code in success:
                for content in op["responses"][code]["content"].values():
                    assert keywords(content["schema"]) <= KNOWN, (path, method)
    for name, schema in COMPONENTS.items():
        assert keywords(schema) <= KNOWN, name


class Contract:
    """Calls the API with a key and checks each response against the document."""

    def __init__(self, url: str, http: aiohttp.ClientSession) -> None:
        self.url, self.http = url, http
        self.covered: set[tuple[str, str]] = set()

    async def call(self, method: str, template: str, key: str, **kw: Any) -> Any:
        path = template.format(**kw.pop("ids", {}))
        headers = {"Authorization": f"Bearer {key}", **kw.pop("headers", {})}
        async with self.http.request(method, self.url + path, headers=headers, **kw) as resp:
            body = await resp.read()
            op = DOC["paths"][template][method.lower()]
            assert str(resp.status) in op["responses"], (template, resp.status, body[:200])
            contents = op["responses"][str(resp.status)]["content"]
            assert resp.content_type in contents, template
            content_type, content = resp.content_type, contents[resp.content_type]
            self.covered.add((template, method.lower()))
            binary = ("application/vnd.", "image/webp", "image/jpeg", "audio/", "video/")
            if content_type.startswith(binary):
                return body
            if content_type != "application/json":
                return body.decode()
            data = await resp.json()
            found = problems(data, content["schema"], COMPONENTS)
            assert not found, (template, found[:10])
            return data


async def busy_lesson(server: Running, room: dict[str, Any]) -> None:
    """Everything a report can show: listening, background, a drop, a guest, a check, polls,
    a quiz, chat and hands."""
    teacher = server.client(room["teacher"]["link"])
    ana = server.client(room["students"][0]["link"], reconnection=False)
    bek = server.client(room["students"][1]["link"])
    for who in (teacher, ana, bek):
        await who.connect()
        await who.join(room["lesson"]["id"])
    guest = SabakClient(server.url, guest_code=room["lesson"]["code"], name="Visitor")
    await guest.connect()
    waiting = await guest.join()
    await teacher.call("guest_admit", {"participant_id": waiting["you"]["id"]})
    await ana.chat("Salam")
    await bek.raise_hand()
    await ana.visibility(False, listening=True)
    await bek.visibility(False)
    check = await teacher.call("check_start", {"window_s": 5})
    await ana.answer_check(check["check_id"])
    await teacher.call("poll_open", {"kind": "single", "question": "Q?", "options": ["a", "b"]})
    await teacher.call("poll_open", {"kind": "yesno", "question": "Secret?", "anonymous": True})
    await ana.call("poll_answer", {"poll_id": 1, "answer": 0})
    await bek.call("poll_answer", {"poll_id": 2, "answer": 1})
    quiz = {"title": "Q", "mode": "whole", "limit_s": 60,
            "questions": [{"kind": "number", "text": "6*7?", "correct": [42]}]}  # fmt: skip
    started = await teacher.call("quiz_start", quiz)
    await ana.call("quiz_next", {"quiz_id": started["quiz_id"]})
    await ana.call("quiz_answer", {"quiz_id": started["quiz_id"], "position": 1, "answer": 42})
    await ana.sio.eio.ws.close()  # a network drop
    await asyncio.sleep(0.5)
    with pytest.raises(socketio.exceptions.ConnectionError):  # a refusal counted as noise
        await SabakClient(server.url, token="s1.bad.token").connect()
    with pytest.raises(CallFailed):  # a refusal of someone known: an audit entry
        await bek.call("check_start", {"window_s": 5})
    for who in (teacher, bek, guest):
        await who.close()


async def test_every_rest_response_validates_against_the_openapi_document(
    server: Running,
) -> None:
    admin = server.admin_key
    async with aiohttp.ClientSession() as http:
        api = Contract(server.url, http)
        course = await api.call("POST", "/api/courses", admin, json={"title": "Algebra"})
        ids = {"course_id": course["id"]}
        await api.call("GET", "/api/courses", admin)
        students = await api.call(
            "POST", "/api/courses/{course_id}/students", admin, ids=ids,
            json={"students": [{"name": "Ana", "external_id": "A-1"}, {"name": "Bek"}]},
        )  # fmt: skip
        await api.call(
            "POST", "/api/courses/{course_id}/students", admin, ids=ids,
            data=b"Cem,C-3\n", headers={"Content-Type": "text/csv"},
        )  # fmt: skip
        preview = await api.call(
            "POST", "/api/courses/{course_id}/students", admin, ids=ids,
            params={"dry_run": "1"}, data="ФИО;ID\nДана;D-4\n".encode(),
            headers={"Content-Type": "text/csv"},
        )  # fmt: skip
        assert (preview["separator"], preview["students"][0]["name"]) == (";", "Дана")
        await api.call("GET", "/api/courses/{course_id}/students", admin, ids=ids)
        teacher = await api.call(
            "POST", "/api/teachers", admin, json={"name": "Aigul", "course_ids": [course["id"]]}
        )
        await api.call("GET", "/api/teachers", admin)
        await api.call("GET", "/api/courses/{course_id}", admin, ids=ids)
        lesson = await api.call(
            "POST", "/api/courses/{course_id}/lessons", admin, ids=ids,
            json={"title": "Fractions", "allow_guests": True},
        )  # fmt: skip
        lid = {"lesson_id": lesson["id"]}
        await api.call("GET", "/api/courses/{course_id}/lessons", admin, ids=ids)
        await api.call("GET", "/api/lessons/{lesson_id}", admin, ids=lid)
        lesson = await api.call("POST", "/api/lessons/{lesson_id}/start", admin, ids=lid)
        lesson = await api.call("POST", "/api/lessons/{lesson_id}/rotate-code", admin, ids=lid)
        room = {"lesson": lesson, "teacher": teacher, "students": students}
        await busy_lesson(server, room)
        student_key = token_from_link(students[0]["link"])
        me = await api.call("GET", "/api/me", student_key)
        assert me["lessons"][0]["id"] == lesson["id"]
        teacher_key = token_from_link(teacher["link"])
        for key in (admin, teacher_key):
            live = await api.call("GET", "/api/lessons/{lesson_id}/report", key, ids=lid)
        assert {r["status"] for r in live["learners"]} <= {
            "absent",
            "late",
            "left-early",
            "present",
        }
        await api.call("POST", "/api/lessons/{lesson_id}/end", admin, ids=lid)
        report = await api.call("GET", "/api/lessons/{lesson_id}/report", admin, ids=lid)
        states = {s["state"] for r in report["learners"] for s in r["segments"]}
        assert {"present", "listening", "background", "network", "waiting"} <= states
        events = await api.call("GET", "/api/lessons/{lesson_id}/events", admin, ids=lid)
        assert events[-1]["type"] == "LessonEnded"
        text = await api.call("GET", "/api/lessons/{lesson_id}/report.csv", admin, ids=lid)
        rows = list(csv.reader(io.StringIO(text)))
        assert tuple(rows[0]) == LESSON_COLUMNS and len(rows) == len(report["learners"]) + 1
        ru = {"excel": "1", "lang": "ru", "tz": "Asia/Bishkek"}
        text = await api.call(
            "GET", "/api/lessons/{lesson_id}/report.csv", admin, ids=lid, params=ru
        )
        assert text.startswith("\ufeffКод урока;Урок;")
        book = await api.call("GET", "/api/lessons/{lesson_id}/report.xlsx", admin, ids=lid)
        assert book.startswith(b"PK")
        svg = await api.call("GET", "/api/lessons/{lesson_id}/timeline.svg", admin, ids=lid)
        assert svg.startswith("<svg")
        matrix = await api.call("GET", "/api/courses/{course_id}/report", admin, ids=ids)
        assert list(matrix["learners"][0]["lessons"]) == [lesson["id"]]
        text = await api.call("GET", "/api/courses/{course_id}/report.csv", admin, ids=ids)
        assert next(csv.reader(io.StringIO(text)))[:3] == ["learner_id", "name", "guest"]
        ky = {"excel": "1", "lang": "ky"}
        text = await api.call(
            "GET", "/api/courses/{course_id}/report.csv", admin, ids=ids, params=ky
        )
        assert text.startswith("\ufeffАты;Конок;")
        book = await api.call("GET", "/api/courses/{course_id}/report.xlsx", admin, ids=ids)
        assert book.startswith(b"PK")
        for _ in range(50):
            audit = await api.call("GET", "/api/audit", admin)
            if audit:
                break
            await asyncio.sleep(0.1)
        assert audit and audit[0]["code"] == "forbidden"  # someone known: stored
        noise = await api.call("GET", "/api/audit/counts", admin)
        assert {(n["code"], n["count"]) for n in noise} == {("bad-token", 1)}  # counted only
        await api.call("GET", "/healthz", admin)
        await api.call("GET", "/api/lessons/{lesson_id}/qr.svg", admin, ids=lid)
        sid = {"student_id": students[0]["id"]}
        await api.call("GET", "/api/students/{student_id}/qr.svg", admin, ids=sid)
        await api.call("POST", "/api/students/{student_id}/rotate-link", admin, ids=sid)
        await api.call("GET", "/api/lessons/{lesson_id}", teacher_key, ids=lid)
        roster = await api.call("GET", "/api/courses/{course_id}/students", teacher_key, ids=ids)
        assert not any("link" in s for s in roster)  # a teacher never sees children's links
        await decks(api, admin, teacher_key, ids["course_id"])
        await recording(api, server, admin, lesson)
        await corrections(api, admin, ids | lid | sid, teacher["id"])
    described = {(p, m) for p, methods in DOC["paths"].items() for m in methods}
    assert api.covered == described


async def decks(api: Contract, admin: str, teacher_key: str, course_id: str) -> None:
    """A teacher uploads a deck (twice: the same deck); its pages are served; it is deleted."""
    body, pdf = pdf_files.deck(pages=2), {"Content-Type": "application/pdf"}
    query = {"course": course_id, "name": "Fractions.pdf"}
    deck = await api.call("POST", "/api/decks", teacher_key, data=body, headers=pdf, params=query)
    again = await api.call("POST", "/api/decks", teacher_key, data=body, headers=pdf)
    assert again == await api.call("GET", "/api/decks/{deck}", "", ids=deck) and deck["pages"] == 2
    assert [d["deck"] for d in await api.call("GET", "/api/decks", admin)] == [deck["deck"]]
    page = {**deck, "page": 2}
    for fmt in ("webp", "jpeg"):
        image = await api.call("GET", "/api/decks/{deck}/pages/{page}", "", ids=page,
                               params={"f": fmt, "w": "1440"})  # fmt: skip
        assert Image.open(io.BytesIO(image)).size == (1440, 1864)
    await api.call("DELETE", "/api/decks/{deck}", admin, ids=deck)


async def recording(api: Contract, server: Running, admin: str, lesson: dict[str, Any]) -> None:
    """A recorded lesson (files in the recorder's layout): every replay route as documented."""
    lid = {"lesson_id": lesson["id"]}
    w = RecordingWriter(server.app[RECORDINGS].root, lesson["id"])
    w.audio(lesson["started_ms"], 2)
    w.video("teacher-camera", lesson["started_ms"], 2)
    data = await api.call("GET", "/api/lessons/{lesson_id}/recording", admin, ids=lid)
    query = parse_qs(urlsplit(data["tracks"]["teacher-camera"]["segments"][0]["url"]).query)
    signed = {k: v[0] for k, v in query.items()}
    segment = {**lid, "track": "teacher-camera", "name": "000000.webm"}
    await api.call("GET", "/api/recordings/{lesson_id}/{track}/{name}", admin, ids=segment,
                   params=signed)  # fmt: skip
    audio = {k: v[0] for k, v in parse_qs(urlsplit(data["audio"]["url"]).query).items()}
    await api.call("GET", "/api/recordings/{lesson_id}/audio.ogg", admin, ids=lid, params=audio)
    a, b = lesson["started_ms"], lesson["started_ms"] + 1000
    links = server.app[MEDIA_LINKS]
    catch_up = dict(parse_qsl(links.query(lesson["id"], f"catch-up:{a}-{b}", "organizer", 1e10)))
    await api.call("GET", "/api/recordings/{lesson_id}/catch-up", admin, ids=lid,
                   params={"from": a, "to": b, **catch_up})  # fmt: skip
    await api.call("DELETE", "/api/lessons/{lesson_id}/recording", admin, ids=lid)


async def corrections(api: Contract, admin: str, ids: dict[str, str], teacher_id: str) -> None:
    """The organizer corrects and erases: every such route answers as documented."""
    tid = {"teacher_id": teacher_id}
    call = api.call
    await call("PATCH", "/api/courses/{course_id}", admin, ids=ids, json={"title": "Algebra 7"})
    await call("PATCH", "/api/students/{student_id}", admin, ids=ids, json={"name": "Ana B."})
    await call("PATCH", "/api/teachers/{teacher_id}", admin, ids=tid, json={"name": "Aigul A."})
    await call("POST", "/api/teachers/{teacher_id}/rotate-link", admin, ids=tid)
    await call("PATCH", "/api/lessons/{lesson_id}", admin, ids=ids, json={"title": "Fractions 2"})
    erased = await call("DELETE", "/api/students/{student_id}", admin, ids=ids)
    assert erased["erased"] == ids["student_id"]
    await call("DELETE", "/api/lessons/{lesson_id}", admin, ids=ids)
    await call("DELETE", "/api/teachers/{teacher_id}", admin, ids=tid)
    await call("DELETE", "/api/courses/{course_id}", admin, ids=ids)
