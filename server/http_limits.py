"""The HTTP server's limits against slow and oversized clients: timeouts, the polling body.

aiohttp's own defaults leave a connection that sends its headers slowly (slowloris) open
for an hour (its keep-alive timeout, 3630 s, is also its only header timeout); and engine.io
answers a polling POST over its size limit by waiting for a GET that a hostile client never
sends, so the request is never answered. Both are bounded here, before engine.io.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from config import Settings
from server.appkeys import SETTINGS
from server.refusals import Handler

# Largest engine.io message and polling body (engine.io's max_http_buffer_size).
MAX_PACKET_BYTES = 64_000
SOCKETIO_PATH = "/socket.io/"
TOO_LARGE = {"code": "body-too-large", "message": "The request is too large."}


def runner_options(settings: Settings) -> dict[str, Any]:
    """AppRunner keywords: a connection without a complete request for the idle timeout
    (headers still coming, or idle between requests) is closed; header lines stay short."""
    return {
        "keepalive_timeout": settings.server.http_idle_timeout_s,
        "max_line_size": 8190,
        "max_field_size": 8190,
        "max_headers": 64,
    }


def make_runner(app: web.Application) -> web.AppRunner:
    """The one way the server is run (by `sabak serve` and by the tests)."""
    options = runner_options(app[SETTINGS])
    return web.AppRunner(app, handle_signals=False, shutdown_timeout=5, **options)


@web.middleware
async def polling_body_limit(request: web.Request, handler: Handler) -> web.StreamResponse:
    """413 for a socket.io polling POST announcing more than engine.io accepts, at once,
    and the connection closed, so that nothing of the body is read."""
    if (
        request.method == "POST"
        and request.path == SOCKETIO_PATH
        and (request.content_length or 0) > MAX_PACKET_BYTES
    ):
        response = web.json_response({"error": TOO_LARGE}, status=413)
        response.force_close()
        return response
    return await handler(request)
