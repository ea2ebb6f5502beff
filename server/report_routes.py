"""Attendance reports over REST: a lesson's JSON, CSV and timeline, and a course's matrix."""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict
from typing import Any

from aiohttp import web

from core.errors import Refused
from core.report import RosterEntry, Thresholds, course_matrix, lesson_report
from server import spreadsheet
from server.access import caller
from server.appkeys import DIRECTORY, EVENTLOG, SETTINGS
from server.exports import lesson_csv, matrix_csv
from server.routes import course_for, lesson_for, ok
from server.timeline_svg import timeline_svg
from store.directory import LessonInfo

report_routes = web.RouteTableDef()

LABELS = {
    "en": {
        "present": "present", "late": "late", "left-early": "left early", "absent": "absent",
        "listening": "listening", "background": "in background", "network": "network drop",
        "server": "server outage",
        "left": "left", "removed": "removed", "check": "attendance check",
        "waiting": "waiting", "min": "min",
    },
    "ru": {
        "present": "присутствовал", "late": "опоздал", "left-early": "ушёл раньше",
        "absent": "отсутствовал", "listening": "слушал", "background": "в фоне",
        "network": "обрыв сети",
        "server": "сбой сервера", "left": "вышел", "removed": "удалён",
        "check": "проверка присутствия", "waiting": "ожидал", "min": "мин",
    },
    "ky": {
        "present": "катышты", "late": "кечикти", "left-early": "эрте кетти",
        "absent": "келген жок", "listening": "угуп турду", "background": "фондо",
        "network": "тармак үзүлдү",
        "server": "сервер токтоду", "left": "чыгып кетти", "removed": "чыгарылды",
        "check": "катышууну текшерүү", "waiting": "күттү", "min": "мүн",
    },
}  # fmt: skip


def thresholds(request: web.Request) -> Thresholds:
    a = request.app[SETTINGS].attendance
    return Thresholds(a.late_after_min, a.left_early_before_min, a.present_min_fraction)


async def report_of(request: web.Request, info: LessonInfo) -> dict[str, Any]:
    """The report of one lesson, computed now from its log and its course's roster."""
    records = await request.app[EVENTLOG].read(info.id)
    if not records and info.status == "ended":
        raise Refused("unknown-report", "This lesson's log is gone (past the retention period).")
    students = await request.app[DIRECTORY].roster(info.course_id)
    roster = [RosterEntry(s.id, s.name, s.external_id) for s in students]
    now_ms = int(time.time() * 1000)
    # A fold of a long log takes a while: in a thread, so the lessons' events go on meanwhile.
    report = await asyncio.to_thread(lesson_report, records, roster, thresholds(request), now_ms)
    return {"lesson": asdict(info), **report}


def attachment(text: str, content_type: str, filename: str) -> web.Response:
    return web.Response(
        text=text,
        content_type=content_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@report_routes.get("/api/lessons/{lesson_id}/report")
async def lesson_report_json(request: web.Request) -> web.Response:
    info = await lesson_for(request, await caller(request))
    return ok(await report_of(request, info))


@report_routes.get("/api/lessons/{lesson_id}/report.csv")
async def lesson_report_csv(request: web.Request) -> web.Response:
    info = await lesson_for(request, await caller(request))
    report = await report_of(request, info)
    if request.query.get("excel"):
        return excel_csv(request, lesson_table(request, report), info.id)
    return attachment(lesson_csv(report["lesson"], report), "text/csv", f"{info.id}.csv")


def for_people(request: web.Request) -> tuple[str, dict[str, str]]:
    """The spreadsheet's language (?lang=ky|ru|en) and its words for the statuses."""
    lang = spreadsheet.language(request.query.get("lang"))
    return lang, LABELS[lang]


def excel_csv(
    request: web.Request, table: tuple[list[str], list[list[Any]]], name: str
) -> web.Response:
    body = spreadsheet.excel_csv(*table, for_people(request)[0])
    return binary(body, "text/csv", f"{name}.csv", charset="utf-8")


def binary(
    body: bytes, content_type: str, filename: str, charset: str | None = None
) -> web.Response:
    return web.Response(
        body=body,
        content_type=content_type,
        charset=charset,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def lesson_table(request: web.Request, report: dict[str, Any]) -> Any:
    lang, labels = for_people(request)
    tz = spreadsheet.zone(request.query.get("tz"))
    return spreadsheet.lesson_table(report["lesson"], report, labels, lang, tz)


@report_routes.get("/api/lessons/{lesson_id}/report.xlsx")
async def lesson_report_xlsx(request: web.Request) -> web.Response:
    info = await lesson_for(request, await caller(request))
    table = lesson_table(request, await report_of(request, info))
    body = await asyncio.to_thread(spreadsheet.xlsx, info.title, *table)
    return binary(body, spreadsheet.XLSX, f"{info.id}.xlsx")


@report_routes.get("/api/lessons/{lesson_id}/timeline.svg")
async def lesson_timeline(request: web.Request) -> web.Response:
    info = await lesson_for(request, await caller(request))
    report = await report_of(request, info)
    labels = LABELS.get(request.query.get("lang", "en"), LABELS["en"])
    tz = spreadsheet.zone(request.query.get("tz"))
    svg = await asyncio.to_thread(timeline_svg, info.title, report, labels, tz)
    return web.Response(text=svg, content_type="image/svg+xml")


async def matrix_of(request: web.Request) -> dict[str, Any]:
    course = await course_for(request, await caller(request))
    lessons = [x for x in await request.app[DIRECTORY].lessons(course.id) if x.started_ms]
    pairs = [(asdict(x), await report_of(request, x)) for x in lessons]
    return {"course": asdict(course), **await asyncio.to_thread(course_matrix, pairs)}


@report_routes.get("/api/courses/{course_id}/report")
async def course_report_json(request: web.Request) -> web.Response:
    return ok(await matrix_of(request))


@report_routes.get("/api/courses/{course_id}/report.csv")
async def course_report_csv(request: web.Request) -> web.Response:
    matrix = await matrix_of(request)
    if request.query.get("excel"):
        table = spreadsheet.matrix_table(matrix, *for_people(request)[::-1])
        return excel_csv(request, table, matrix["course"]["id"])
    filename = f"{matrix['course']['id']}.csv"
    return attachment(matrix_csv(matrix), "text/csv", filename)


@report_routes.get("/api/courses/{course_id}/report.xlsx")
async def course_report_xlsx(request: web.Request) -> web.Response:
    matrix = await matrix_of(request)
    table = spreadsheet.matrix_table(matrix, *for_people(request)[::-1])
    body = await asyncio.to_thread(spreadsheet.xlsx, matrix["course"]["title"], *table)
    return binary(body, spreadsheet.XLSX, f"{matrix['course']['id']}.xlsx")
