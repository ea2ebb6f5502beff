"""HTTP Range for a body made on request (an audio clip): 206 with Content-Range, or 416.

Files on disk go through aiohttp's FileResponse, which does the same; a clip is cut in memory,
and a phone's audio element still asks for parts of it (to seek, to read its end first).
"""

from __future__ import annotations

import re

from aiohttp import web

_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


def ranged(
    request: web.Request, body: bytes, content_type: str, headers: dict[str, str]
) -> web.Response:
    headers = {**headers, "Accept-Ranges": "bytes"}
    asked = request.headers.get("Range", "")
    match = _RANGE.match(asked.strip())
    if not asked or match is None or not any(match.groups()):
        return web.Response(body=body, content_type=content_type, headers=headers)
    first, last = _span(match.group(1), match.group(2), len(body))
    if first is None or last is None:
        headers["Content-Range"] = f"bytes */{len(body)}"
        return web.Response(status=416, headers=headers)
    headers["Content-Range"] = f"bytes {first}-{last}/{len(body)}"
    return web.Response(
        status=206, body=body[first : last + 1], content_type=content_type, headers=headers
    )


def _span(start: str, end: str, size: int) -> tuple[int | None, int | None]:
    """The first and last byte asked for, (None, None) if none of them exists."""
    if not start:  # the last `end` bytes
        count = int(end)
        return (max(size - count, 0), size - 1) if count and size else (None, None)
    first = int(start)
    last = min(int(end), size - 1) if end else size - 1
    return (first, last) if first <= last and first < size else (None, None)
