"""The presence timeline picture: one bar per learner, drawn as SVG, readable on a phone."""

from __future__ import annotations

import re
from typing import Any
from xml.sax.saxutils import escape as _xml_escape
from xml.sax.saxutils import quoteattr as _xml_quoteattr

from server.exports import iso

WIDTH, LEFT, RIGHT = 360, 8, 352
ROW, BAR, TOP = 38, 12, 40
COLOURS = {
    "present": "#2e7d32",
    "listening": "#1565c0",
    "background": "#f9a825",
    "network": "#c62828",
    "server": "#6a1b9a",
    "left": "#9e9e9e",
    "removed": "#4e342e",
    "waiting": "#b0bec5",
}
LEGEND = ("present", "listening", "background", "network", "server", "left", "removed")
ABSENT = "#eceff1"
# Characters XML 1.0 cannot carry at all: a name stored before names were cleaned on input
# (a NUL, an ESC) must not make the whole picture unreadable.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def escape(text: str) -> str:
    return _xml_escape(_NOT_XML.sub("", text))


def quoteattr(text: str) -> str:
    return _xml_quoteattr(_NOT_XML.sub("", text))


def timeline_svg(title: str, report: dict[str, Any], labels: dict[str, str]) -> str:
    """SVG of a lesson report; `labels` names statuses and states in the reader's language."""
    start, learners = report["started_at"], report["learners"]
    end = start + int(report["lesson_minutes"] * 60_000) if start else 0
    height = TOP + ROW * len(learners) + 72
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'font-family="sans-serif" role="img" aria-label={quoteattr(title)}>',
        f'<rect width="{WIDTH}" height="{height}" fill="#fff"/>',
        f'<text x="{LEFT}" y="16" font-size="13" font-weight="bold">{escape(title)}</text>',
        f'<text x="{LEFT}" y="31" font-size="10" fill="#555">'
        f"{escape(iso(start))} – {escape(iso(report['ended_at']) or '…')}, "
        f"{report['lesson_minutes']:.0f} min</text>",
    ]
    for i, learner in enumerate(learners):
        parts += _row(TOP + i * ROW, learner, report["checks"], start, end, labels)
    parts += _legend(height - 60, labels)
    parts.append("</svg>")
    return "".join(parts)


def _x(ts: int, start: int, end: int) -> float:
    if end <= start:
        return LEFT
    return LEFT + (RIGHT - LEFT) * min(max((ts - start) / (end - start), 0.0), 1.0)


def _row(
    y: int,
    learner: dict[str, Any],
    checks: list[dict[str, Any]],
    start: int,
    end: int,
    labels: dict[str, str],
) -> list[str]:
    name = f"{learner['name']} — {labels.get(learner['status'], learner['status'])}"
    out = [
        f'<text x="{LEFT}" y="{y + 10}" font-size="11">{escape(name)}</text>',
        f'<rect x="{LEFT}" y="{y + 14}" width="{RIGHT - LEFT}" height="{BAR}" fill="{ABSENT}"/>',
    ]
    for seg in learner["segments"]:
        x0, x1 = _x(seg["start"], start, end), _x(seg["end"], start, end)
        out.append(
            f'<rect x="{x0:.1f}" y="{y + 14}" width="{max(x1 - x0, 0.5):.1f}" height="{BAR}" '
            f'fill="{COLOURS.get(seg["state"], ABSENT)}"><title>{escape(seg["state"])}</title>'
            "</rect>"
        )
    for check, result in zip(checks, learner["checks"], strict=False):
        out.append(_check_mark(_x(check["started_at"], start, end), y + 14 + BAR, result["result"]))
    return out


def _check_mark(x: float, y: int, result: str) -> str:
    fill = {"answered": "#000", "missed": "#fff"}.get(result, "none")
    stroke = "#000" if result != "not-present" else "#888"
    return (
        f'<path d="M{x:.1f} {y + 1} l-4 5 h8 z" fill="{fill}" stroke="{stroke}" '
        f'stroke-width="1"><title>{escape(result)}</title></path>'
    )


def _legend(y: int, labels: dict[str, str]) -> list[str]:
    """Swatches and names, wrapped to the width (names are estimated at 6.5 px a letter)."""
    out, x, line = [], LEFT, y
    for state in (*LEGEND, "absent", "check"):
        label = labels.get(state, state)
        width = 22 + int(6.5 * len(label))
        if x + width > RIGHT and x > LEFT:
            x, line = LEFT, line + 16
        if state == "check":
            out.append(_check_mark(x + 5, line + 2, "answered"))
        else:
            colour = COLOURS.get(state, ABSENT)
            out.append(f'<rect x="{x}" y="{line}" width="10" height="10" fill="{colour}"/>')
        out.append(f'<text x="{x + 13}" y="{line + 9}" font-size="10">{escape(label)}</text>')
        x += width
    return out
