"""Slide decks over REST: real PDFs and images rendered by the real renderer process."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import psutil
import pypdfium2
import pytest
from PIL import Image

from config.settings import MEMORY_STORE
from core.events import ChatPosted, Record
from lessons.decks import decks_named
from server.appkeys import DECKS
from tests import pdf_files
from tests.conftest import (
    SABAK,
    Classroom,
    Running,
    clean_env,
    free_port,
    make_classroom,
    settings_for,
    start_server,
)

pytestmark = pytest.mark.store("memory")  # decks live on disk; the lessons need no Redis here

PDF, PNG, JPEG = "application/pdf", "image/png", "image/jpeg"


@asynccontextmanager
async def deck_server(tmp_path: Path, **decks: str) -> AsyncIterator[Running]:
    """A server with these [decks] settings (SABAK_DECKS_<KEY>=value)."""
    env = {f"SABAK_DECKS_{key.upper()}": value for key, value in decks.items()}
    running = await start_server(settings_for(tmp_path / "var", MEMORY_STORE, free_port(), **env))
    try:
        yield running
    finally:
        await running.runner.cleanup()


async def upload(
    running: Running,
    body: bytes | AsyncIterator[bytes],
    content_type: str = PDF,
    key: str | None = None,
    **query: str,
) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": content_type, "Authorization": f"Bearer {key or running.admin_key}"}
    async with aiohttp.ClientSession() as http:
        url = f"{running.url}/api/decks"
        async with http.post(url, data=body, headers=headers, params=query) as resp:
            return resp.status, await resp.json()


async def get(running: Running, path: str, **headers: str) -> tuple[int, bytes, Any]:
    async with aiohttp.ClientSession() as http, http.get(running.url + path, headers=headers) as r:
        return r.status, await r.read(), r.headers


def teacher_token(room: Classroom) -> str:
    return str(room.teacher["link"]).split("#", 1)[1]


def pixel(image_bytes: bytes, x: int, y: int) -> tuple[int, ...]:
    return Image.open(io.BytesIO(image_bytes)).convert("RGB").getpixel((x, y))  # type: ignore[return-value]


# -- upload and serving ------------------------------------------------------------------------


async def test_a_teachers_pdf_becomes_a_deck_of_webp_and_jpeg_pages(tmp_path: Path) -> None:
    async with deck_server(tmp_path) as running:
        room = await make_classroom(running, 1, start=False)
        body = pdf_files.deck(pages=3)
        status, deck = await upload(
            running, body, key=teacher_token(room), course=room.course_id, name="Fractions.pdf"
        )
        assert status == 201, deck
        assert deck["deck"] == hashlib.sha256(body).hexdigest()
        assert (deck["pages"], deck["title"], deck["widths"]) == (3, "Fractions", [720, 1440])
        assert deck["sizes"] == [[612, 792]] * 3
        status, raw, _ = await get(running, f"/api/decks/{deck['deck']}")
        assert status == 200 and raw.startswith(b"{")

        path = f"/api/decks/{deck['deck']}/pages/2"
        status, webp, headers = await get(running, path + "?w=720&f=webp")
        assert status == 200 and headers["Content-Type"] == "image/webp"
        assert headers["Cache-Control"] == "private, max-age=31536000, immutable"
        assert Image.open(io.BytesIO(webp)).size == (720, 932)
        assert pixel(webp, 360, 20) < (60, 60, 60)  # the black bar across the page's top
        assert pixel(webp, 360, 900) > (200, 200, 200)  # white paper below
        status, big, headers = await get(running, path + "?w=1440&f=jpeg")
        assert headers["Content-Type"] == "image/jpeg"
        assert Image.open(io.BytesIO(big)).size == (1440, 1864)
        # no f: what the browser accepts (every current one takes WebP; old phones get JPEG)
        _, _, headers = await get(running, path, Accept="image/avif,image/webp,*/*")
        assert (headers["Content-Type"], headers["Vary"]) == ("image/webp", "Accept")
        _, _, headers = await get(running, path, Accept="image/png,image/*")
        assert headers["Content-Type"] == "image/jpeg"
        page1 = (await get(running, f"/api/decks/{deck['deck']}/pages/1?f=webp"))[1]
        assert page1 != webp  # each page is its own picture ("Page 1", "Page 2")
        status, raw, _ = await get(running, f"/api/decks/{deck['deck']}/pages/4")
        assert status == 404 and b"unknown-page" in raw


async def test_the_same_file_again_is_the_same_deck_at_once(tmp_path: Path) -> None:
    async with deck_server(tmp_path) as running:
        body = pdf_files.deck(pages=2)
        first_status, first = await upload(running, body)
        started = time.monotonic()
        again_status, again = await upload(running, body, name="other name.pdf")
        assert (first_status, again_status) == (201, 200)
        assert again["deck"] == first["deck"] and again["title"] == first["title"] == "Page 1"
        assert time.monotonic() - started < 1.0  # no renderer started for it
        other_status, other = await upload(running, pdf_files.deck(pages=1))
        assert other_status == 201 and other["deck"] != first["deck"]


async def test_png_and_jpeg_are_one_page_decks_upright_and_never_enlarged(
    tmp_path: Path,
) -> None:
    async with deck_server(tmp_path) as running:
        status, deck = await upload(running, pdf_files.png(2000, 1000, alpha=True), PNG)
        assert status == 201 and (deck["pages"], deck["sizes"]) == (1, [[2000, 1000]])
        _, webp, _ = await get(running, f"/api/decks/{deck['deck']}/pages/1?w=720&f=webp")
        assert Image.open(io.BytesIO(webp)).size == (720, 360)
        red = pixel(webp, 100, 100)  # half-transparent red, shown on white
        assert red[0] > 200 and 100 < red[1] < 180

        # A phone photo taken upright: stored landscape with an EXIF turn, shown upright.
        status, photo = await upload(running, pdf_files.jpeg(400, 300, orientation=6), JPEG)
        assert status == 201 and photo["sizes"] == [[300, 400]]
        _, big, _ = await get(running, f"/api/decks/{photo['deck']}/pages/1?w=1440&f=jpeg")
        assert Image.open(io.BytesIO(big)).size == (300, 400)  # not blown up to 1440


# -- refusals ----------------------------------------------------------------------------------

REFUSED: list[tuple[str, Callable[[], bytes], str, str, int]] = [
    ("encrypted", pdf_files.encrypted, PDF, "deck-encrypted", 400),
    ("corrupt", lambda: b"%PDF-1.7\n" + b"\x00garbage" * 500, PDF, "deck-unreadable", 400),
    ("cut short", lambda: pdf_files.deck(pages=3)[:700], PDF, "deck-unreadable", 400),
    ("huge page", lambda: pdf_files.deck(1, size=(200, 14000)), PDF, "deck-page-too-large", 400),
    ("png bomb", lambda: pdf_files.png_claiming(100_000, 100_000), PNG, "deck-page-too-large", 400),
    ("png as pdf", lambda: pdf_files.png(10, 10), PDF, "deck-bad-type", 415),
    ("broken png", lambda: pdf_files.png(10, 10)[:40], PNG, "deck-unreadable", 400),
    ("text", lambda: b"hello", "text/plain", "deck-bad-type", 415),
    ("empty", lambda: b"", PDF, "deck-unreadable", 400),
]


@pytest.mark.parametrize(("case", "make", "content_type", "code", "status"), REFUSED,
                         ids=[r[0] for r in REFUSED])  # fmt: skip
async def test_a_file_that_cannot_be_a_deck_is_refused_with_its_code(
    tmp_path: Path, case: str, make: Callable[[], bytes], content_type: str, code: str, status: int
) -> None:
    async with deck_server(tmp_path) as running:
        got, answer = await upload(running, make(), content_type)
        assert (got, answer["error"]["code"]) == (status, code), answer
        assert answer["error"]["message"]
        # nothing of it stays on disk
        assert not [p for p in running.settings.decks_path.rglob("*") if not p.is_dir()]


async def test_too_many_pages_and_too_many_bytes_are_refused(tmp_path: Path) -> None:
    async with deck_server(tmp_path, max_pages="5", max_bytes="20000") as running:
        status, answer = await upload(running, pdf_files.deck(pages=6))
        assert (status, answer["error"]["code"]) == (400, "deck-too-many-pages")
        status, answer = await upload(running, pdf_files.png(300, 300) + b"\0" * 30_000, PNG)
        assert (status, answer["error"]["code"]) == (413, "deck-too-large")
        assert "0.02 MB" in answer["error"]["message"]
        # sent without a length (chunked): counted as it comes, refused past the limit
        status, answer = await upload(running, _chunked(pdf_files.deck(pages=1) + b" " * 30_000))
        assert (status, answer["error"]["code"]) == (413, "deck-too-large")
        assert not [p for p in running.settings.decks_path.rglob("*") if not p.is_dir()]


async def _chunked(body: bytes) -> AsyncIterator[bytes]:
    for at in range(0, len(body), 4096):
        yield body[at : at + 4096]


async def test_a_decompression_bomb_stops_only_the_renderer(tmp_path: Path) -> None:
    """400 MB of content stream in 400 KB: the renderer runs out of its 256 MB and dies."""
    async with deck_server(tmp_path, render_memory_mb="256") as running:
        task = asyncio.create_task(upload(running, pdf_files.flate_bomb(400)))
        while not task.done():  # the server answers meanwhile
            assert (await get(running, "/healthz"))[0] == 200
            await asyncio.sleep(0.05)
        status, answer = task.result()
        assert (status, answer["error"]["code"]) == (400, "deck-render-failed")
        assert "256 MB" in answer["error"]["message"]
        # An image declaring 100000 x 100000 pixels: pdfium draws it scaled, within bounds.
        status, deck = await upload(running, pdf_files.image_bomb())
        assert status == 201 and deck["pages"] == 1


async def test_a_render_over_its_time_limit_is_killed_and_refused(tmp_path: Path) -> None:
    async with deck_server(tmp_path, render_timeout_s="0.3") as running:
        started = time.monotonic()
        status, answer = await upload(running, pdf_files.deck(pages=60))
        assert (status, answer["error"]["code"]) == (400, "deck-render-timeout")
        assert time.monotonic() - started < 3
        assert not _renderers()  # killed, not left running


def _renderers() -> list[psutil.Process]:
    mine = psutil.Process().children(recursive=True)
    return [p for p in mine if "lessons.deck_render" in " ".join(_cmdline(p))]


def _cmdline(process: psutil.Process) -> list[str]:
    try:
        return list(process.cmdline())
    except psutil.Error:
        return []


async def test_the_renderer_runs_apart_limited_and_at_the_lowest_priority(
    tmp_path: Path,
) -> None:
    async with deck_server(tmp_path, render_memory_mb="300") as running:
        task = asyncio.create_task(upload(running, pdf_files.deck(pages=4)))
        seen: set[tuple[int, int]] = set()
        while not task.done():  # once it has limited itself, before the file is opened
            for child in _renderers():
                with contextlib.suppress(psutil.Error):
                    seen.add((child.nice(), child.rlimit(psutil.RLIMIT_AS)[0]))
            await asyncio.sleep(0.01)
        assert (await task)[0] == 201
        assert (19, 300 << 20) in seen


@pytest.mark.timeout(600)  # five renders at the lowest priority on a busy machine
async def test_decks_render_one_at_a_time_and_a_crowd_is_turned_away(tmp_path: Path) -> None:
    """One renderer per server; four uploads may wait their turn, a fifth is refused."""
    async with deck_server(tmp_path) as running:
        first = asyncio.create_task(upload(running, pdf_files.deck(pages=6)))
        for _ in range(3000):  # its renderer started: the others come while it runs
            if _renderers():
                break
            await asyncio.sleep(0.01)
        others = [asyncio.create_task(upload(running, pdf_files.deck(pages=1, size=(600 + n, 800))))
                  for n in range(5)]  # fmt: skip
        most = 0
        while not all(t.done() for t in [first, *others]):
            most = max(most, len(_renderers()))
            await asyncio.sleep(0.01)
        assert most == 1
        assert (await first)[0] == 201
        answers = [await t for t in others]
        refused = [a["error"]["code"] for s, a in answers if s != 201]
        assert refused == ["deck-render-busy"] and (len(answers), len(refused)) == (5, 1)


def test_the_pdf_renderer_cannot_run_javascript() -> None:
    """pdfium as shipped by pypdfium2 is built without V8 (JavaScript) and XFA forms."""
    flags = pypdfium2.PDFIUM_INFO.flags
    assert "V8" not in flags and "XFA" not in flags


# -- who may do what ---------------------------------------------------------------------------


async def test_who_may_upload_read_and_delete(tmp_path: Path) -> None:
    async with deck_server(tmp_path) as running:
        room = await make_classroom(running, 1, start=False)
        student = str(room.students[0]["link"]).split("#", 1)[1]
        body = pdf_files.deck(pages=1)
        assert (await upload(running, body, key="nonsense"))[0] == 401
        assert (await upload(running, body, key=student))[0] == 401
        async with running.rest() as rest:
            other = await rest.create_course("Physics")
        status, answer = await upload(running, body, key=teacher_token(room), course=other["id"])
        assert (status, answer["error"]["code"]) == (403, "forbidden")
        status, deck = await upload(running, body, key=teacher_token(room))
        assert status == 201
        # reading needs only the id (the page images load in <img> on phones)
        assert (await get(running, f"/api/decks/{deck['deck']}/pages/1"))[0] == 200
        assert (await get(running, "/api/decks/" + "0" * 64))[0] == 404
        assert (await get(running, "/api/decks/..%2F..%2Fadmin.key"))[0] == 404
        url = f"{running.url}/api/decks/{deck['deck']}"
        async with aiohttp.ClientSession() as http:
            teacher = {"Authorization": f"Bearer {teacher_token(room)}"}
            async with http.delete(url, headers=teacher) as resp:
                assert resp.status == 403
            organizer = {"Authorization": f"Bearer {running.admin_key}"}
            async with http.get(f"{running.url}/api/decks", headers=organizer) as resp:
                assert [d["deck"] for d in await resp.json()] == [deck["deck"]]
            async with http.delete(url, headers=organizer) as resp:
                assert (resp.status, await resp.json()) == (200, {"deleted": deck["deck"]})
        assert (await get(running, f"/api/decks/{deck['deck']}/pages/1"))[0] == 404
        assert not (running.settings.decks_path / deck["deck"]).exists()


# -- retention ---------------------------------------------------------------------------------


async def test_decks_no_kept_lesson_showed_go_after_keep_unshown_days(tmp_path: Path) -> None:
    async with deck_server(tmp_path, keep_unshown_days="1") as running:
        decks = running.app[DECKS]
        await make_classroom(running, 1)  # a live lesson, whose log names no deck
        _, old = await upload(running, pdf_files.deck(pages=1))
        _, new = await upload(running, pdf_files.deck(pages=2))
        old_info = await decks.store.info(old["deck"])
        assert old_info is not None
        day = 86_400_000
        # the old one uploaded two days ago (as its meta says), the new one now
        await decks.store.uploaded_again(old_info, old_info.uploaded_ms - 2 * day, None)
        assert await decks.sweep(old_info.uploaded_ms) == [old["deck"]]
        assert await decks.store.info(old["deck"]) is None
        assert await decks.store.info(new["deck"]) is not None
        # uploading it again brings it back (rendered anew)
        assert (await upload(running, pdf_files.deck(pages=1)))[0] == 201


def test_a_lesson_keeps_the_decks_its_log_names() -> None:
    """The retention scan reads `deck` from any logged event (the board's BoardShown)."""

    class Shown:  # shaped like core.events.board.BoardShown
        deck: str | None

        def __init__(self, deck: str | None) -> None:
            self.deck = deck

    records = [
        Record(1, 0, "t", Shown("a" * 64)),  # type: ignore[arg-type]
        Record(2, 0, "t", Shown(None)),  # type: ignore[arg-type]
        Record(3, 0, "t", ChatPosted(1, "t", "Teacher", "b" * 64, "all")),
    ]
    assert decks_named(records) == {"a" * 64}


async def test_the_cli_uploads_lists_and_deletes_decks(tmp_path: Path) -> None:
    async with deck_server(tmp_path) as running:
        path = tmp_path / "Fractions 7A.pdf"
        path.write_bytes(pdf_files.deck(pages=2))
        env = clean_env(SABAK_SERVER_PORT=str(running.settings.server.port),
                        SABAK_SERVER_DATA_DIR=str(running.settings.data_path))  # fmt: skip

        async def sabak(*args: str) -> Any:
            proc = await asyncio.create_subprocess_exec(
                SABAK, *args, env=env, stdout=asyncio.subprocess.PIPE
            )
            out, _ = await proc.communicate()
            assert proc.returncode == 0, args
            return json.loads(out)

        deck = await sabak("deck-upload", str(path))
        assert (deck["title"], deck["pages"]) == ("Fractions 7A", 2)
        assert [d["deck"] for d in await sabak("decks")] == [deck["deck"]]
        assert await sabak("deck-delete", deck["deck"]) == {"deleted": deck["deck"]}
        assert await sabak("decks") == []
