"""A page's first-paint style and first script, written into its HTML, and the CSP that
allows exactly them.

On a slow link every file the page links is a round trip and its bytes after the HTML:
- A style sheet linked in the head blocks the first paint until it has arrived. The rules
  the first screen needs (marked in css/app.css between FIRST_BEGIN and FIRST_END) are put
  in a <style> in place of the page's STYLE_MARK comment; the page loads the whole sheet
  without blocking (a preload its first script turns into a style sheet).
- A page's first script (`<script src="…" data-inline></script>`, a classic script) is
  written in, so it runs as the HTML is read: the student page's boot.js opens the lesson's
  WebSocket and asks `/api/me` there, not a round trip later.
The CSP allows these by their SHA-256 hashes, never 'unsafe-inline', so no injected style or
script runs.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

STYLE_MARK = "<!-- first-paint-style -->"
FIRST_BEGIN = "/* first paint: begin */"
FIRST_END = "/* first paint: end */"
_INLINE_SCRIPT = re.compile(r'<script src="(/static/\w+/)([\w/.-]+)" data-inline></script>')


@dataclass(frozen=True)
class Inlined:
    """A page with its first-paint parts written in, and the CSP sources allowing them."""

    html: str
    style: str | None = None  # 'sha256-…' of the <style>, if any
    script: str | None = None  # 'sha256-…' of the <script>, if any


def first_paint_rules(css: str) -> str:
    """The marked part of the style sheet (every marked part, in order)."""
    parts = []
    rest = css
    while FIRST_BEGIN in rest:
        _, _, after = rest.partition(FIRST_BEGIN)
        part, found, rest = after.partition(FIRST_END)
        if not found:
            raise ValueError(f"{FIRST_BEGIN!r} without {FIRST_END!r}")
        parts.append(part.strip())
    return "\n".join(parts)


def hash_source(text: str) -> str:
    """The CSP source that allows an inline <style> or <script> with exactly this text."""
    digest = hashlib.sha256(text.encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def inline_first_paint(html: str, files: Mapping[str, bytes]) -> Inlined:
    """The page with its first-paint style (from `files["css/app.css"]`) in place of the mark
    and its data-inline script written in; a page with neither is unchanged."""
    style = script = None
    if STYLE_MARK in html:
        rules = first_paint_rules(files.get("css/app.css", b"").decode())
        if not rules or "<" in rules:  # none marked, or a "</style>" would end it early
            raise ValueError("the page's first-paint style is missing or holds a '<'")
        html, style = html.replace(STYLE_MARK, f"<style>{rules}</style>"), hash_source(rules)
    found = _INLINE_SCRIPT.search(html)
    if found:
        code = files[found[2]].decode()
        if "</script" in code.lower() or "<!--" in code:  # would end (or hide) it early
            raise ValueError(f"{found[2]} cannot be written into a page")
        html = html[: found.start()] + f"<script>{code}</script>" + html[found.end() :]
        script = hash_source(code)
    return Inlined(html, style, script)
