"""A page's first-paint style, written into its HTML, and the CSP that allows exactly it.

A style sheet linked in the head blocks the first paint until it has arrived: on a slow link
that is a round trip and its bytes after the HTML. The rules the first screen needs (marked
in css/app.css between FIRST_BEGIN and FIRST_END) are put in a <style> in place of the page's
STYLE_MARK comment; the page loads the whole sheet without blocking (a preload the page's
first script turns into a style sheet). The CSP allows this one <style> by its SHA-256 hash,
never 'unsafe-inline', so no injected style is allowed.
"""

from __future__ import annotations

import base64
import hashlib

STYLE_MARK = "<!-- first-paint-style -->"
FIRST_BEGIN = "/* first paint: begin */"
FIRST_END = "/* first paint: end */"


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


def style_source(rules: str) -> str:
    """The CSP source that allows a <style> with exactly these contents."""
    digest = hashlib.sha256(rules.encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def inline_first_paint(html: str, css: str) -> tuple[str, str | None]:
    """The page with its first-paint style in place of the mark, and that style's CSP
    source; a page without the mark is unchanged (and needs no source)."""
    if STYLE_MARK not in html:
        return html, None
    rules = first_paint_rules(css)
    if not rules or "<" in rules:  # none marked, or a "</style>" would end it early
        raise ValueError("the page's first-paint style is missing or holds a '<'")
    return html.replace(STYLE_MARK, f"<style>{rules}</style>"), style_source(rules)
