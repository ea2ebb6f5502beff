"""REST routes of slide decks: upload (teacher or organizer), metadata and page images, delete.

Who may read a deck: anyone who holds its id. The id is the SHA-256 of the file: it cannot
be guessed, only learned from the file itself, from the upload's answer, or from a lesson
that showed it (its participants, its log). Page images are loaded by `<img>` on students'
phones, which send no Authorization header, and a page URL that names its content exactly
can be cached for ever, so each page costs a phone its bytes once, also on replay. Checking
"a participant of a lesson that showed it" would need a token on every image request and a
scan of lessons for each, to hide a file from people who already saw it. The cost of the
rule: an id passed on shows the deck to whoever gets it, like a link to a shared file; an
organizer who must stop that deletes the deck (a phone keeps what it has cached).
Caching is `private`: a phone's own cache, never a shared proxy, since slides may carry
children's names (docs/privacy.md).
"""

from __future__ import annotations

from aiohttp import web

from core.errors import Refused
from lessons.decks import kind_of, too_large
from server.access import caller
from server.appkeys import DECKS, DIRECTORY
from server.routes import ok
from store.decks import FORMATS, WIDTHS, DeckInfo, is_deck_id
from store.directory import Course

deck_routes = web.RouteTableDef()

PAGE_CACHE = "private, max-age=31536000, immutable"
CHUNK = 64 * 1024
IMAGE_TYPES = {"webp": "image/webp", "jpeg": "image/jpeg"}

# path, method, summary, body, who: rows in the form of server.openapi.OPERATIONS
DECK_OPERATIONS: list[tuple[str, str, str, str | None, str]] = [
    (
        "/api/decks",
        "post",
        "Upload a slide deck: the body is the file (application/pdf, image/png or "
        "image/jpeg); ?name= its file name (the title), ?course= the course it is for. It is "
        "rendered to WebP and JPEG page images 720 and 1440 px wide in a separate process with "
        "limits ([decks] in config/sabak.toml); 201 with the new deck, 200 if this very file "
        "was uploaded before (the id is its SHA-256). Refusals: deck-too-large, "
        "deck-too-many-pages, deck-page-too-large, deck-encrypted, deck-unreadable, "
        "deck-bad-type, deck-render-timeout, deck-render-failed, deck-render-busy",
        "deck",
        "organizer, teacher",
    ),
    ("/api/decks", "get", "Every stored deck (for deleting)", None, "organizer"),
    (
        "/api/decks/{deck}",
        "get",
        "A deck's pages, title and page sizes",
        None,
        "anyone holding the deck id",
    ),
    (
        "/api/decks/{deck}/pages/{page}",
        "get",
        "One page image (page from 1): ?w=720|1440 (default 720), ?f=webp|jpeg (default: "
        "WebP if the Accept header names image/webp, else JPEG); cached for ever by the phone",
        None,
        "anyone holding the deck id",
    ),
    (
        "/api/decks/{deck}",
        "delete",
        "Delete a deck, its file and its page images; lessons that showed it show no picture",
        None,
        "organizer",
    ),
]

_QUERY_TEXT = {"type": "string"}
# (path, method) -> query parameters, for the OpenAPI document
DECK_QUERY: dict[tuple[str, str], list[dict[str, object]]] = {
    ("/api/decks", "post"): [
        {"name": "name", "in": "query", "required": False, "schema": _QUERY_TEXT},
        {"name": "course", "in": "query", "required": False, "schema": _QUERY_TEXT},
    ],
    ("/api/decks/{deck}/pages/{page}", "get"): [
        {"name": "w", "in": "query", "required": False,
         "schema": {"type": "integer", "enum": list(WIDTHS), "default": WIDTHS[0]}},
        {"name": "f", "in": "query", "required": False,
         "schema": {"type": "string", "enum": list(FORMATS)}},
    ],
}  # fmt: skip


@deck_routes.post("/api/decks")
async def upload_deck(request: web.Request) -> web.Response:
    who = await caller(request)
    course = request.query.get("course") or None
    if course is not None:
        if await request.app[DIRECTORY].get(Course, course) is None:
            raise Refused("unknown-course", "There is no such course.")
        who.require_course(course)
    kind = kind_of(request.content_type)
    decks = request.app[DECKS]
    if (request.content_length or 0) > decks.settings.max_bytes:
        raise too_large(decks.settings.max_bytes)  # said at once, before any byte is read
    name = request.query.get("name", "")[:300]
    info, created = await decks.upload(request.content.iter_chunked(CHUNK), kind, name, course)
    return ok(info.public(), 201 if created else 200)


async def _deck(request: web.Request) -> DeckInfo:
    info = await request.app[DECKS].store.info(request.match_info["deck"])
    if info is None:
        raise Refused("unknown-deck", "There is no such deck.")
    return info


@deck_routes.get("/api/decks")
async def list_decks(request: web.Request) -> web.Response:
    (await caller(request)).require_organizer()
    decks = await request.app[DECKS].store.all()
    return ok([d.public() for d in sorted(decks, key=lambda d: d.uploaded_ms)])


@deck_routes.get("/api/decks/{deck}")
async def get_deck(request: web.Request) -> web.Response:
    return ok((await _deck(request)).public())


@deck_routes.get("/api/decks/{deck}/pages/{page}")
async def deck_page(request: web.Request) -> web.FileResponse:
    info = await _deck(request)
    given = request.match_info["page"]
    if not given.isdigit() or not 1 <= int(given) <= info.pages:
        raise Refused("unknown-page", f"The deck has pages 1 to {info.pages}.")
    width = request.query.get("w", str(WIDTHS[0]))
    if width not in {str(w) for w in WIDTHS}:
        raise Refused("invalid-payload", "'w' must be one of " + ", ".join(map(str, WIDTHS)) + ".")
    fmt = request.query.get("f") or _accepted(request)
    if fmt not in FORMATS:
        raise Refused("invalid-payload", "'f' must be webp or jpeg.")
    path = request.app[DECKS].store.page_path(info.deck, int(given), int(width), fmt)
    headers = {"Cache-Control": PAGE_CACHE, "Content-Type": IMAGE_TYPES[fmt]}
    if "f" not in request.query:
        headers["Vary"] = "Accept"
    if not path.is_file():  # deleted meanwhile by another process
        raise Refused("unknown-deck", "There is no such deck.")
    return web.FileResponse(path, headers=headers)


def _accepted(request: web.Request) -> str:
    """WebP where the browser says it takes it (every current one); JPEG for old phones."""
    return "webp" if "image/webp" in request.headers.get("Accept", "") else "jpeg"


@deck_routes.delete("/api/decks/{deck}")
async def delete_deck(request: web.Request) -> web.Response:
    (await caller(request)).require_organizer()
    deck = request.match_info["deck"]
    if not is_deck_id(deck) or not await request.app[DECKS].delete(deck):
        raise Refused("unknown-deck", "There is no such deck.")
    return ok({"deleted": deck})
