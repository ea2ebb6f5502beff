"""The `sabak` command: run the server, and organizer tasks over the REST API."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from client.rest import RestClient, RestError
from config import ConfigError, Settings, load_settings
from media.errors import MediaError
from patches.internals import InternalsChanged
from server import appkeys as k
from server.app import create_app
from server.http_limits import make_runner
from server.roster import XLSX
from store.redis_reach import RedisLaunchError

log = logging.getLogger(__name__)


class CannotListen(Exception):
    """The HTTP port could not be opened (in use, or not allowed)."""


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(Path(args.config) if args.config else None)
    except ConfigError as exc:
        _fail(f"configuration error: {exc}", 2)
    if args.command == "serve":
        _serve(settings)
    else:
        _organizer(settings, args)


def _fail(message: str, code: int = 1) -> Any:
    print(f"sabak: {message}", file=sys.stderr)
    sys.exit(code)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sabak", description="A live virtual classroom server.")
    p.add_argument("--config", help="TOML file (default: $SABAK_CONFIG or config/sabak.toml)")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the server (starts its own Redis unless redis.url is set)")
    sub.add_parser("courses", help="list courses")
    sub.add_parser("teachers", help="list teachers with their links")
    c = sub.add_parser("course-create", help="create a course")
    c.add_argument("title")
    r = sub.add_parser("roster-import", help="import a roster: CSV (, ; or tab) or .xlsx")
    r.add_argument("course_id")
    r.add_argument("csv_file", help="a .csv (UTF-8, UTF-16 or Windows-1251) or .xlsx file")
    r.add_argument(
        "--dry-run", action="store_true", help="show what would be imported, store nothing"
    )
    t = sub.add_parser("teacher-create", help="create a teacher with a personal link")
    t.add_argument("name")
    t.add_argument("--course", action="append", default=[], dest="courses")
    ls = sub.add_parser("lesson-create", help="create a lesson of a course")
    ls.add_argument("course_id")
    ls.add_argument("title")
    ls.add_argument("--guests", action="store_true", help="allow guests with the lesson code")
    for name in ("lesson-start", "lesson-end", "lesson-events"):
        sub.add_parser(name, help=name.replace("-", " ")).add_argument("lesson_id")
    rep = sub.add_parser("report", help="a lesson's attendance report (JSON, or --csv)")
    rep.add_argument("lesson_id")
    rep.add_argument("--csv", action="store_true")
    crep = sub.add_parser("course-report", help="a course's learner × lesson matrix")
    crep.add_argument("course_id")
    crep.add_argument("--csv", action="store_true")
    _correcting(sub)
    _decks(sub)
    return p


def _decks(sub: Any) -> None:
    """Slide decks (README "Slides"): upload one, list them, delete one (docs/privacy.md)."""
    up = sub.add_parser("deck-upload", help="upload a slide deck: a PDF, PNG or JPEG file")
    up.add_argument("file")
    up.add_argument("--course", help="the course it is for")
    sub.add_parser("decks", help="list the stored slide decks")
    sub.add_parser("deck-delete", help="delete a slide deck and its page images").add_argument(
        "deck"
    )


DECK_TYPES = {".pdf": "application/pdf", ".png": "image/png", ".jpg": "image/jpeg",
              ".jpeg": "image/jpeg"}  # fmt: skip


async def _deck_upload(rest: RestClient, args: argparse.Namespace) -> Any:
    path = Path(args.file)
    kind = DECK_TYPES.get(path.suffix.lower(), "application/octet-stream")
    query = {"name": path.name} | ({"course": args.course} if args.course else {})
    body = await asyncio.to_thread(path.read_bytes)
    headers = {"Content-Type": kind}
    return await rest.request("POST", "/api/decks", data=body, headers=headers, params=query)


def _correcting(sub: Any) -> None:
    """Commands that correct and erase (docs/privacy.md)."""
    for name, what, arg in (
        ("student-erase", "erase a student (logs keep a pseudonym)", "student_id"),
        ("student-rotate", "revoke a student's link and print the new one", "student_id"),
        ("teacher-rotate", "revoke a teacher's link and print the new one", "teacher_id"),
        ("teacher-delete", "delete a teacher (their link stops working)", "teacher_id"),
        ("course-delete", "delete a course with its lessons and students", "course_id"),
        ("lesson-delete", "delete an ended lesson with its log", "lesson_id"),
    ):
        sub.add_parser(name, help=what).add_argument(arg)
    for name, arg, field in (
        ("student-rename", "student_id", "name"),
        ("teacher-rename", "teacher_id", "name"),
        ("course-rename", "course_id", "title"),
        ("lesson-rename", "lesson_id", "title"),
    ):
        cmd = sub.add_parser(name, help=f"change a {name.split('-')[0]}'s {field}")
        cmd.add_argument(arg)
        cmd.add_argument(field)
    tc = sub.add_parser("teacher-courses", help="set the courses a teacher teaches")
    tc.add_argument("teacher_id")
    tc.add_argument("--course", action="append", default=[], dest="courses")


# -- serve --------------------------------------------------------------------------------


def _serve(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.server.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    try:
        asyncio.run(_run(settings))
    except RedisLaunchError as exc:
        _fail(f"Redis is not available: {exc}")
    except InternalsChanged as exc:
        _fail(f"this version of a dependency is not the one Sabak was tested with: {exc}")
    except CannotListen as exc:
        _fail(f"cannot listen on {settings.server.host}:{settings.server.port}: {exc}")


async def _run(settings: Settings) -> None:
    runner = make_runner(create_app(settings))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await runner.setup()
        site = web.TCPSite(runner, settings.server.host, settings.server.port)
        try:
            await site.start()
        except OSError as exc:
            raise CannotListen(exc.strerror or str(exc)) from exc
        try:  # a teacher's first camera should not wait for a worker to start
            await runner.app[k.MEDIA].start()
        except MediaError as exc:
            log.warning("media workers did not start (tried again on first use): %s", exc)
        print(f"Sabak is running at {settings.public_base_url} (Ctrl-C stops it)", flush=True)
        await stop.wait()
        print("Sabak is stopping.", flush=True)
    finally:
        await runner.cleanup()


# -- organizer commands -------------------------------------------------------------------


def _admin_key(settings: Settings) -> str:
    key = os.environ.get("SABAK_ADMIN_KEY")
    path = settings.data_path / "admin.key"
    if key:
        return key
    if not path.exists():
        _fail(f"no admin key: start the server once (it writes {path}) or set SABAK_ADMIN_KEY")
    return path.read_text().strip()


def _organizer(settings: Settings, args: argparse.Namespace) -> None:
    action = _ACTIONS[args.command]

    async def go() -> Any:
        async with RestClient(settings.public_base_url, _admin_key(settings)) as rest:
            return await action(rest, args)

    try:
        result = asyncio.run(go())
    except RestError as exc:
        _fail(f"{exc.code}: {exc.message}")
    except OSError as exc:
        _fail(f"cannot reach the server at {settings.public_base_url}: {exc}")
    if isinstance(result, str):
        sys.stdout.write(result)
    else:
        print(json.dumps(result, ensure_ascii=False, indent=2))


def _file_type(path: str) -> str:
    return XLSX if path.lower().endswith(".xlsx") else "text/csv"


Action = Callable[[RestClient, argparse.Namespace], Awaitable[Any]]
_ACTIONS: dict[str, Action] = {
    "courses": lambda r, a: r.request("GET", "/api/courses"),
    "teachers": lambda r, a: r.request("GET", "/api/teachers"),
    "course-create": lambda r, a: r.create_course(a.title),
    "roster-import": lambda r, a: r.import_roster(
        a.course_id, Path(a.csv_file).read_bytes(), _file_type(a.csv_file), a.dry_run
    ),
    "teacher-create": lambda r, a: r.create_teacher(a.name, a.courses),
    "lesson-create": lambda r, a: r.create_lesson(a.course_id, a.title, a.guests),
    "lesson-start": lambda r, a: r.start_lesson(a.lesson_id),
    "lesson-end": lambda r, a: r.end_lesson(a.lesson_id),
    "lesson-events": lambda r, a: r.events(a.lesson_id),
    "report": lambda r, a: r.report(f"/api/lessons/{a.lesson_id}/report", a.csv),
    "course-report": lambda r, a: r.report(f"/api/courses/{a.course_id}/report", a.csv),
    "student-erase": lambda r, a: r.request("DELETE", f"/api/students/{a.student_id}"),
    "student-rotate": lambda r, a: r.request("POST", f"/api/students/{a.student_id}/rotate-link"),
    "teacher-rotate": lambda r, a: r.request("POST", f"/api/teachers/{a.teacher_id}/rotate-link"),
    "teacher-delete": lambda r, a: r.request("DELETE", f"/api/teachers/{a.teacher_id}"),
    "course-delete": lambda r, a: r.request("DELETE", f"/api/courses/{a.course_id}"),
    "lesson-delete": lambda r, a: r.request("DELETE", f"/api/lessons/{a.lesson_id}"),
    "student-rename": lambda r, a: r.request(
        "PATCH", f"/api/students/{a.student_id}", json={"name": a.name}
    ),
    "teacher-rename": lambda r, a: r.request(
        "PATCH", f"/api/teachers/{a.teacher_id}", json={"name": a.name}
    ),
    "teacher-courses": lambda r, a: r.request(
        "PATCH", f"/api/teachers/{a.teacher_id}", json={"course_ids": a.courses}
    ),
    "course-rename": lambda r, a: r.request(
        "PATCH", f"/api/courses/{a.course_id}", json={"title": a.title}
    ),
    "lesson-rename": lambda r, a: r.request(
        "PATCH", f"/api/lessons/{a.lesson_id}", json={"title": a.title}
    ),
    "deck-upload": _deck_upload,
    "decks": lambda r, a: r.request("GET", "/api/decks"),
    "deck-delete": lambda r, a: r.request("DELETE", f"/api/decks/{a.deck}"),
}
