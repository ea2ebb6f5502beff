"""REST refusals: a Refused becomes a JSON error with its stable code and HTTP status, audited;
any other failure becomes "storage-unavailable" or "internal" with the detail only in the log."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from core.errors import Refused
from server.access import CALLER
from server.appkeys import AUDIT
from server.routes import ok
from store.errors import UNAVAILABLE

log = logging.getLogger(__name__)
INTERNAL = {"code": "internal", "message": "Something went wrong on the server; try again."}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

STATUS = {
    "auth-required": 401,
    "bad-token": 401,
    "token-expired": 401,
    "link-revoked": 401,
    "forbidden": 403,
    "bad-link": 403,
    "link-expired": 401,
    "no-recording": 404,
    "log-unavailable": 503,
    "internal": 500,
    "deck-too-large": 413,
    "deck-bad-type": 415,
    "deck-render-busy": 503,  # try again soon: not the file's fault
}


def status_for(code: str) -> int:
    if code in STATUS:
        return STATUS[code]
    if code.startswith("unknown-"):
        return 404
    if code.startswith("lesson-"):
        return 409
    return 400


def _audit(request: web.Request, code: str) -> None:
    """Failed authentication (counted) and 403s (stored, with who): REST refusals are audited."""
    if AUDIT not in request.app:
        return
    who = request.get(CALLER)
    request.app[AUDIT].record(
        code, event=f"{request.method} {request.path}"[:40], address=request.remote,
        actor=who.teacher.id if who and who.teacher else ("organizer" if who else None),
        role=("teacher" if who.teacher else "organizer") if who else None,
    )  # fmt: skip


@web.middleware
async def refusals(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refusals become JSON errors with a stable code; other failures become 'internal'."""
    try:
        return await handler(request)
    except Refused as refused:
        _audit(request, refused.code)
        return ok({"error": refused.as_dict()}, status_for(refused.code))
    except web.HTTPRequestEntityTooLarge:
        return ok(
            {"error": {"code": "body-too-large", "message": "The request is too large."}}, 413
        )
    except web.HTTPException:
        raise
    except UNAVAILABLE:
        log.exception("%s %s: storage unavailable", request.method, request.path)
        unavailable = {
            "code": "storage-unavailable",
            "message": "The server cannot reach its storage right now; try again soon.",
        }
        return ok({"error": unavailable}, 503)
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        return ok({"error": INTERNAL}, 500)
