"""Serving the web client: pages, versioned files, compression, caching, headers, web API."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import AsyncIterator
from html import escape
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from client.rest import token_from_link
from server.first_paint import first_paint_rules, hash_source, inline_first_paint
from server.page_text import preferred_language, translate_html, words_json
from server.web import CSP, Asset, accepts_gzip, csp_allowing, load_assets
from server.web_api import WEB_OPERATIONS, web_api_routes
from tests.conftest import Classroom, Running, make_classroom

pytestmark = pytest.mark.store("memory")  # not about Redis: the in-memory store

VENDOR = "vendor/socket.io.esm.min.js"
CLIENT_DIR = Path(__file__).resolve().parent.parent / "client" / "web"


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(auto_decompress=False) as session:
        yield session


async def static_prefix(server: Running, http: aiohttp.ClientSession) -> str:
    async with http.get(f"{server.url}/join", headers={"Accept-Encoding": "identity"}) as resp:
        html = (await resp.read()).decode()
    match = re.search(r'src="(/static/[0-9a-f]{12})/js/student\.js"', html)
    assert match, html
    return match.group(1)


@pytest.mark.parametrize("path", ["/join", "/teach", "/organize"])
async def test_pages_are_compressed_revalidated_and_locked_down(
    server: Running, http: aiohttp.ClientSession, path: str
) -> None:
    async with http.get(server.url + path, headers={"Accept-Encoding": "gzip"}) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/html")
        assert resp.headers["Content-Encoding"] == "gzip"
        assert resp.headers["Cache-Control"] == "no-cache"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["Referrer-Policy"] == "no-referrer"
        html = gzip.decompress(await resp.read()).decode()
        assert resp.headers["Content-Security-Policy"] == page_csp(html)
    assert "{{static}}" not in html
    assert "'unsafe-inline'" not in CSP and "frame-ancestors 'none'" in CSP


def page_csp(html: str) -> str:
    """The CSP a page must carry: the strict one, allowing only its own <style> and <script>
    (if any) by their hashes."""
    styles = re.findall(r"<style>(.*?)</style>", html, re.S)
    scripts = re.findall(r"<script>(.*?)</script>", html, re.S)
    assert len(styles) <= 1 and len(scripts) <= 1, "one of each at most"
    return csp_allowing(*(hash_source(x[0]) if x else None for x in (styles, scripts)))


async def test_the_student_page_draws_its_first_screen_without_waiting_for_the_style_sheet(
    server: Running, http: aiohttp.ClientSession
) -> None:
    """On a slow link a linked style sheet in the head holds the first paint back a round
    trip and its bytes after the HTML: the first screen's rules come in the page itself."""
    sheet = (CLIENT_DIR / "css" / "app.css").read_text(encoding="utf-8")
    async with http.get(f"{server.url}/join", headers={"Accept-Encoding": "identity"}) as resp:
        html = (await resp.read()).decode()
        csp = resp.headers["Content-Security-Policy"]
    rules = first_paint_rules(sheet)
    assert ".top {" in rules and ".message {" in rules and ".card {" in rules
    assert f"<style>{rules}</style>" in html
    assert f"style-src 'self' {hash_source(rules)};" in csp
    assert "'unsafe-inline'" not in csp
    assert not re.search(r'<link rel="stylesheet"', html), "a render-blocking style sheet"
    assert re.search(r'<link rel="preload" href="/static/\w+/css/app\.css" as="style">', html)
    # The teacher's and organizer's pages keep their linked sheet and the strict CSP.
    async with http.get(f"{server.url}/teach", headers={"Accept-Encoding": "identity"}) as resp:
        assert resp.headers["Content-Security-Policy"] == CSP
        assert "<style" not in await resp.text()


CATALOGUE_DIR = CLIENT_DIR / "i18n"


@pytest.mark.parametrize(
    ("accept", "lang"),
    [("ky-KG,ky;q=0.9,ru;q=0.8", "ky"), ("ru-RU,ru;q=0.9,en;q=0.8", "ru"), ("en-US", "en")],
)
async def test_the_student_page_arrives_with_its_words_in_the_browsers_language(
    server: Running, http: aiohttp.ClientSession, accept: str, lang: str
) -> None:
    """On a slow link the modules come seconds after the HTML: the first words must not."""
    messages = json.loads((CATALOGUE_DIR / f"{lang}.json").read_text(encoding="utf-8"))
    headers = {"Accept-Language": accept, "Accept-Encoding": "identity"}
    async with http.get(f"{server.url}/join", headers=headers) as resp:
        html = (await resp.read()).decode()
        assert "Accept-Language" in resp.headers["Vary"]
        assert resp.headers["Content-Security-Policy"] == page_csp(html)
    assert f'<html lang="{lang}" data-words="student">' in html
    opening = messages["conn.opening"]
    assert f'data-i18n="conn.opening">{opening}</p>' in html
    assert f'placeholder="{escape(messages["chat.placeholder"])}"' in html
    # The catalogue comes with the page: the student's part of it (no teacher's words).
    block = re.search(r'<script type="application/json" id="words" data-lang="(\w+)">(.*?)<', html)
    assert block and block[1] == lang
    student = {k: v for k, v in messages.items() if k.split(".")[0] not in ("teach", "org")}
    assert json.loads(block[2]) == student
    assert "{{" not in html
    assert "sabakBoot" in html  # its first script is written in (the CSP allows it, above)


def test_the_first_paint_parts_are_the_marked_rules_and_the_marked_script() -> None:
    sheet = b"a{}\n/* first paint: begin */ b{} /* first paint: end */ c{}"
    files = {"css/app.css": sheet, "js/boot.js": b"go();"}
    page = '<head><!-- first-paint-style --><script src="/static/ab12/js/boot.js" data-inline>'
    page += "</script></head>"
    done = inline_first_paint(page, files)
    assert done.html == "<head><style>b{}</style><script>go();</script></head>"
    assert (done.style, done.script) == (hash_source("b{}"), hash_source("go();"))
    assert inline_first_paint("<head></head>", files).html == "<head></head>"
    for bad in ("/* first paint: begin */ b{}", "/* first paint: begin */ b{content:'</style>'}"
                "/* first paint: end */", "a{}"):  # fmt: skip
        with pytest.raises(ValueError):
            inline_first_paint(page, {**files, "css/app.css": bad.encode()})
    with pytest.raises(ValueError):  # a script that would end its own tag
        inline_first_paint(page, {**files, "js/boot.js": b"x = '</SCRIPT>';"})


def test_page_words_are_escaped_and_the_language_follows_the_q_values() -> None:
    html = '<p data-i18n="a"></p><input data-i18n-placeholder="b"><b data-i18n="c"></b>'
    out = translate_html(html, "ky", {"a": "<img src=x>", "b": '"quoted" & <b>'})
    assert out == (
        '<p data-i18n="a">&lt;img src=x&gt;</p>'
        '<input data-i18n-placeholder="b" placeholder="&quot;quoted&quot; &amp; &lt;b&gt;">'
        '<b data-i18n="c"></b>'
    )
    written = words_json({"a": "</script><!-- <b>"})  # the catalogue's data block
    assert "<" not in written and json.loads(written) == {"a": "</script><!-- <b>"}
    assert preferred_language("en;q=0.5, ky;q=0.9, ru;q=0.7") == "ky"
    assert preferred_language("de-DE, fr") == "ru"  # as the page: Russian when none fits
    assert preferred_language("ky;q=0, en") == "en"
    assert preferred_language("") == "ru"


async def test_versioned_files_are_cached_for_a_year_and_revalidate_by_etag(
    server: Running, http: aiohttp.ClientSession
) -> None:
    prefix = await static_prefix(server, http)
    url = f"{server.url}{prefix}/js/protocol.js"
    async with http.get(url, headers={"Accept-Encoding": "gzip, br"}) as resp:
        assert resp.status == 200
        assert resp.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert resp.headers["Content-Encoding"] == "gzip"
        assert resp.headers["Content-Type"].startswith("text/javascript")
        # Not a document: only nosniff (the CSP and referrer policy are 300 bytes a file).
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert "Content-Security-Policy" not in resp.headers
        assert "Referrer-Policy" not in resp.headers
        etag = resp.headers["ETag"]
        assert b"LessonConnection" in gzip.decompress(await resp.read())
    async with http.get(url, headers={"If-None-Match": etag}) as resp:
        assert resp.status == 304
    async with http.get(url, headers={"Accept-Encoding": "identity"}) as resp:
        assert "Content-Encoding" not in resp.headers
        assert b"LessonConnection" in await resp.read()


async def test_socket_io_client_comes_from_npm_and_an_old_version_is_not_cached(
    server: Running, http: aiohttp.ClientSession
) -> None:
    prefix = await static_prefix(server, http)
    identity = {"Accept-Encoding": "identity"}
    async with http.get(f"{server.url}{prefix}/{VENDOR}", headers=identity) as resp:
        assert resp.status == 200, "run 'npm ci' in client/"
        assert b"export{" in await resp.read()
    async with http.get(f"{server.url}/static/000000000000/js/dom.js") as resp:
        assert resp.status == 200
        assert resp.headers["Cache-Control"] == "no-cache"


@pytest.mark.parametrize(
    "path",
    [
        "js/../../student.html",
        "../web/student.html",
        "%2e%2e/%2e%2e/server/app.py",
        "..%2F..%2Fserver%2Fapp.py",
        "js/%2e%2e/%2e%2e/%2e%2e/pyproject.toml",
        "student.html",
        "js/",
        "node_modules/socket.io-client/package.json",
        "js/protocol.js.map",
    ],
)
async def test_static_routes_serve_nothing_outside_their_list(
    server: Running, http: aiohttp.ClientSession, path: str
) -> None:
    prefix = await static_prefix(server, http)
    async with http.get(f"{server.url}{prefix}/{path}") as resp:
        assert resp.status == 404
        assert resp.headers["X-Content-Type-Options"] == "nosniff"


def test_the_student_catalogue_has_every_word_but_the_teachers_and_organizers() -> None:
    assets = load_assets(CLIENT_DIR, {})
    for lang in ("ky", "ru", "en"):
        whole = json.loads((CATALOGUE_DIR / f"{lang}.json").read_text(encoding="utf-8"))
        part = json.loads(assets.files[f"i18n/{lang}.student.json"].body)
        assert part == {k: v for k, v in whole.items() if k.split(".")[0] not in ("teach", "org")}
        later = json.loads((CATALOGUE_DIR / f"replay.{lang}.json").read_text(encoding="utf-8"))
        assert not part.keys() & later.keys()  # the catch-up card's words come with it
        assert part["conn.opening"] == whole["conn.opening"]
    # No script of the student page asks for those words.
    student_page = re.findall(
        r'href="\{\{static\}\}/js/(\w+\.js)"', (CLIENT_DIR / "student.html").read_text()
    )
    student_page += ["media.js", "media_view.js", "media_send.js", "student_media.js"]
    student_page += ["poll_view.js", "quiz_view.js", "scan.js", "boot.js"]
    for name in student_page:
        text = (CLIENT_DIR / "js" / name).read_text(encoding="utf-8")
        assert not re.search(r"t\(\s*['`](teach|org)\.", text), name


def test_the_asset_list_has_only_the_client_files(tmp_path: Path) -> None:
    web_dir = Path(__file__).resolve().parent.parent / "client" / "web"
    assets = load_assets(web_dir, {VENDOR: tmp_path / "missing.js"})
    assert "js/student.js" in assets.files and "i18n/ky.json" in assets.files
    assert VENDOR not in assets.files  # a missing npm install is logged, not served
    assert all(name.split("/")[0] in ("js", "css", "i18n") for name in assets.files)
    assert re.fullmatch(r"[0-9a-f]{12}", assets.version)
    assert load_assets(web_dir, {}).version == load_assets(web_dir, {}).version


def test_gzip_is_offered_only_when_it_helps_and_is_asked_for() -> None:
    assert Asset.of(b"x", "text/plain").gzipped is None
    assert Asset.of(b"abc" * 1000, "text/plain").gzipped is not None

    def accepts(header: str) -> bool:
        return accepts_gzip(make_mocked_request("GET", "/", headers={"Accept-Encoding": header}))

    assert accepts("gzip, deflate, br")
    assert accepts("br;q=1.0, gzip;q=0.8")
    assert not accepts("gzip;q=0")
    assert not accepts("br")
    assert not accepts("")


async def test_home_goes_to_the_join_page(server: Running, http: aiohttp.ClientSession) -> None:
    async with http.get(server.url + "/", allow_redirects=False) as resp:
        assert resp.status == 302
        assert resp.headers["Location"] == "/join"


async def test_api_responses_carry_the_security_headers_too(
    server: Running, http: aiohttp.ClientSession
) -> None:
    async with http.get(server.url + "/api/courses") as resp:
        assert resp.status == 401
        assert resp.headers["Content-Security-Policy"] == CSP
        assert resp.headers["Referrer-Policy"] == "no-referrer"


async def test_socket_io_refuses_a_foreign_origin(
    server: Running, http: aiohttp.ClientSession
) -> None:
    url = f"{server.url}/socket.io/?EIO=4&transport=polling"
    async with http.get(url, headers={"Origin": "http://evil.example"}) as resp:
        assert resp.status == 400
    async with http.get(url, headers={"Origin": server.url}) as resp:
        assert resp.status == 200


# -- the web's API ---------------------------------------------------------------------------


async def get(http: aiohttp.ClientSession, url: str, key: str | None) -> aiohttp.ClientResponse:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    resp = await http.get(url, headers=headers)
    await resp.read()
    return resp


async def test_me_tells_a_student_the_live_lessons_of_their_course(
    server: Running, http: aiohttp.ClientSession, classroom: Classroom
) -> None:
    student = token_from_link(classroom.students[0]["link"])
    resp = await get(http, f"{server.url}/api/me", student)
    me = await resp.json()
    assert me["role"] == "student" and me["name"] == "Student 0"
    assert [x["id"] for x in me["lessons"]] == [classroom.lesson["id"]]
    teacher = token_from_link(classroom.teacher["link"])
    assert (await (await get(http, f"{server.url}/api/me", teacher)).json())["role"] == "teacher"
    for key, status in ((None, 401), ("nonsense", 401), (server.admin_key, 401)):
        assert (await get(http, f"{server.url}/api/me", key)).status == status


async def test_me_lists_no_lesson_before_it_starts(
    server: Running, http: aiohttp.ClientSession
) -> None:
    room = await make_classroom(server, n_students=1, start=False)
    student = token_from_link(room.students[0]["link"])
    assert (await (await get(http, f"{server.url}/api/me", student)).json())["lessons"] == []


async def test_qr_codes_of_join_links_are_svg_for_the_course_teacher_only(
    server: Running, http: aiohttp.ClientSession, classroom: Classroom
) -> None:
    teacher = token_from_link(classroom.teacher["link"])
    lesson_qr = f"{server.url}/api/lessons/{classroom.lesson['id']}/qr.svg"
    student_qr = f"{server.url}/api/students/{classroom.students[0]['id']}/qr.svg"
    for url in (lesson_qr, student_qr):
        # A student's personal link is the organizer's to hand out (docs/privacy.md).
        resp = await get(http, url, teacher if url == lesson_qr else server.admin_key)
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "image/svg+xml"
        assert resp.headers["Cache-Control"] == "private, no-store"
        assert (await resp.read()).startswith(b"<svg")
        assert (await get(http, url, None)).status == 401
        assert (await get(http, url, server.admin_key)).status == 200
    assert (await get(http, student_qr, teacher)).status == 403
    other = await make_classroom(server, n_students=1)
    stranger = token_from_link(other.teacher["link"])
    assert (await get(http, lesson_qr, stranger)).status == 403
    assert (await get(http, student_qr, stranger)).status == 403
    missing = f"{server.url}/api/students/nobody/qr.svg"
    assert (await get(http, missing, server.admin_key)).status == 404


def test_every_web_api_route_is_described_for_openapi() -> None:
    app = web.Application()
    app.router.add_routes(web_api_routes)
    served = {
        (r.resource.canonical, r.method.lower())
        for r in app.router.routes()
        if r.resource is not None and r.method != "HEAD"
    }
    assert served == {(path, method) for path, method, *_ in WEB_OPERATIONS}
