"""The web client: its pages, versioned static files (gzip, long caching), security headers."""

from __future__ import annotations

import gzip
import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from config import Settings
from server.first_paint import inline_first_paint
from server.page_text import (
    LANG_MARK,
    LANGUAGES,
    load_catalogues,
    preferred_language,
    student_catalogues,
    translate_html,
)
from server.refusals import Handler
from server.web_api import web_api_routes

log = logging.getLogger(__name__)

CLIENT_DIR = Path(__file__).resolve().parent.parent / "client"
WEB_DIR = CLIENT_DIR / "web"
# Served from npm's install (`npm ci` in client/), never copied into the tree.
VENDOR = {
    "vendor/socket.io.esm.min.js": CLIENT_DIR
    / "node_modules/socket.io-client/dist/socket.io.esm.min.js",
}
PAGES = {
    "/join": "student.html",
    "/teach": "teacher.html",
    "/organize": "organizer.html",
    "/replay": "replay.html",
}
STATIC_DIRS = ("css", "js", "i18n")
TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".svg": "image/svg+xml",
}
VERSION_MARK = "{{static}}"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
CSP_PARTS = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "connect-src 'self'",
    "img-src 'self' blob: data:",
    "media-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
)
CSP = "; ".join(CSP_PARTS)


def csp_allowing(style: str | None = None, script: str | None = None) -> str:
    """The CSP, allowing also the one inline <style> and <script> with these hash sources."""
    csp = CSP.replace("style-src 'self'", f"style-src 'self' {style}") if style else CSP
    return csp.replace("script-src 'self'", f"script-src 'self' {script}") if script else csp


SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
# A versioned file (script, style sheet, catalogue) is never a document, and the CSP and the
# referrer policy govern documents only; nosniff keeps it from being read as one. On a slow
# link those two headers on each of the student page's twenty files are 6 KB, 0.12 s.
FILE_HEADERS = {"X-Content-Type-Options": "nosniff"}


@dataclass(frozen=True)
class Asset:
    """One file as served: its bytes, its gzip form when that is smaller, and its ETag."""

    body: bytes
    gzipped: bytes | None
    content_type: str
    etag: str

    @classmethod
    def of(cls, body: bytes, content_type: str) -> Asset:
        packed = gzip.compress(body, compresslevel=9, mtime=0)
        etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        return cls(body, packed if len(packed) < len(body) else None, content_type, etag)


@dataclass(frozen=True)
class Assets:
    """Every file the pages may load, read once at start; the version names them all."""

    version: str
    files: Mapping[str, Asset]
    pages: Mapping[str, Mapping[str, Asset]]  # route -> language -> the page in it
    csp: Mapping[str, str]  # route -> its CSP (a page's own first-paint style allowed)

    @property
    def prefix(self) -> str:
        return f"/static/{self.version}"


def read_files(web_dir: Path, vendor: Mapping[str, Path]) -> dict[str, bytes]:
    """The servable files by URL path: only known folders and types, plus the vendor files."""
    found: dict[str, bytes] = {}
    for folder in STATIC_DIRS:
        for path in sorted((web_dir / folder).rglob("*")):
            if path.is_file() and path.suffix in TYPES:
                found[path.relative_to(web_dir).as_posix()] = path.read_bytes()
    for name, path in vendor.items():
        if path.is_file():
            found[name] = path.read_bytes()
        else:
            log.error("%s is missing: run 'npm ci' in client/ (./dev does it)", path)
    return found


def load_assets(web_dir: Path = WEB_DIR, vendor: Mapping[str, Path] = VENDOR) -> Assets:
    raw = read_files(web_dir, vendor)
    catalogues = load_catalogues(web_dir / "i18n")
    raw.update(student_catalogues(catalogues))
    digest = hashlib.sha256()
    for name in sorted(raw):
        digest.update(name.encode() + b"\0" + raw[name] + b"\0")
    version = digest.hexdigest()[:12]
    files = {name: Asset.of(body, TYPES[Path(name).suffix]) for name, body in raw.items()}
    pages, csp = {}, {}
    for route, filename in PAGES.items():
        html = (web_dir / filename).read_text(encoding="utf-8")
        page = inline_first_paint(html.replace(VERSION_MARK, f"/static/{version}"), raw)
        pages[route] = page_in_languages(page.html, catalogues)
        csp[route] = csp_allowing(page.style, page.script)
    return Assets(version, files, pages, csp)


def page_in_languages(html: str, catalogues: Mapping[str, Mapping[str, str]]) -> dict[str, Asset]:
    """A page marked with {{lang}} gets its words written in, once per language; any other
    page is the same in every language."""
    if LANG_MARK not in html:
        same = Asset.of(html.encode(), TYPES[".html"])
        return dict.fromkeys(LANGUAGES, same)
    return {
        lang: Asset.of(translate_html(html, lang, catalogues[lang]).encode(), TYPES[".html"])
        for lang in LANGUAGES
    }


def accepts_gzip(request: web.Request) -> bool:
    for part in request.headers.get("Accept-Encoding", "").split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def respond(
    request: web.Request,
    asset: Asset,
    cache: str,
    vary: str = "Accept-Encoding",
    csp: str | None = None,
) -> web.Response:
    headers = {"Cache-Control": cache, "ETag": asset.etag, "Vary": vary}
    if csp is not None:  # a page's own (else the middleware's)
        headers["Content-Security-Policy"] = csp
    if request.headers.get("If-None-Match") == asset.etag:
        return web.Response(status=304, headers=headers)
    body = asset.body
    if asset.gzipped is not None and accepts_gzip(request):
        body, headers["Content-Encoding"] = asset.gzipped, "gzip"
    headers["Content-Type"] = asset.content_type
    return web.Response(body=body, headers=headers)


class WebClient:
    """The handlers of the pages and the static files, over one loaded `Assets`."""

    def __init__(self, assets: Assets) -> None:
        self.assets = assets

    async def page(self, request: web.Request) -> web.Response:
        versions = self.assets.pages[request.path]
        lang = preferred_language(request.headers.get("Accept-Language", ""))
        translated = len(set(versions.values())) > 1
        vary = "Accept-Encoding, Accept-Language" if translated else "Accept-Encoding"
        return respond(request, versions[lang], REVALIDATE, vary, self.assets.csp[request.path])

    async def static(self, request: web.Request) -> web.Response:
        # A dictionary lookup, never a filesystem path: nothing outside the list is served.
        asset = self.assets.files.get(request.match_info["path"])
        if asset is None:
            raise web.HTTPNotFound()
        current = request.match_info["version"] == self.assets.version
        # A page from before a restart may ask for an older version: give today's file,
        # but do not let it be cached under the old name for a year.
        return respond(request, asset, IMMUTABLE if current else REVALIDATE)

    async def home(self, request: web.Request) -> web.Response:
        raise web.HTTPFound("/join")


def add_web(app: web.Application, settings: Settings) -> None:
    """Serve the pages (/join, /teach, /organize), their static files and the web's API."""
    client = WebClient(load_assets())
    for route in PAGES:
        app.router.add_get(route, client.page)
    app.router.add_get("/", client.home)
    app.router.add_get("/static/{version}/{path:.+}", client.static)
    app.router.add_routes(web_api_routes)
    base = settings.public_base_url
    log.info("web pages: %s/organize, /teach, /join (client %s)", base, client.assets.version)


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A strict Content-Security-Policy and no sniffing or referrers on every response (a
    served static file: no sniffing)."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        exc.headers.update(SECURITY_HEADERS)
        raise
    if not response.prepared:  # a WebSocket has sent its headers already
        file = request.path.startswith("/static/") and response.status in (200, 304)
        for name, value in (FILE_HEADERS if file else SECURITY_HEADERS).items():
            response.headers.setdefault(name, value)  # a page's own CSP stays
    return response
