"""The presence timeline picture: one bar per learner, drawn as SVG, readable on a phone.

Times are the organizer's: the clock of the time zone the page asks for, written on the
picture with its UTC offset, with a time axis above the bars.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo
from typing import Any
from xml.sax.saxutils import escape as _xml_escape
from xml.sax.saxutils import quoteattr as _xml_quoteattr

WIDTH, LEFT, RIGHT = 360, 8, 352
ROW, BAR, TOP = 38, 12, 62
TICK_STEPS_MIN = (1, 2, 5, 10, 15, 20, 30, 60, 120, 240)
MAX_TICKS = 6
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
LEGEND = ("present", "listening", "background", "network", "server", "left", "removed", "waiting")
ABSENT = "#eceff1"
# Characters XML 1.0 cannot carry at all: a name stored before names were cleaned on input
# (a NUL, an ESC) must not make the whole picture unreadable.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def escape(text: str) -> str:
    return _xml_escape(_NOT_XML.sub("", text))


def quoteattr(text: str) -> str:
    return _xml_quoteattr(_NOT_XML.sub("", text))


def timeline_svg(
    title: str, report: dict[str, Any], labels: dict[str, str], tz: tzinfo = UTC
) -> str:
    """SVG of a lesson report; `labels` names statuses, states and "min" in the reader's
    language; times are shown on the clock of `tz`."""
    start, learners = report["started_at"], report["learners"]
    end = start + int(report["lesson_minutes"] * 60_000) if start is not None else 0
    layout = _legend_layout(labels)
    legend_y = TOP + ROW * len(learners) + 16
    height = legend_y + layout[-1][3] + 20
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'font-family="sans-serif" role="img" aria-label={quoteattr(title)}>',
        f'<rect width="{WIDTH}" height="{height}" fill="#fff"/>',
        f'<text x="{LEFT}" y="16" font-size="13" font-weight="bold">{escape(title)}</text>',
        f'<text x="{LEFT}" y="31" font-size="10" fill="#555">'
        f"{escape(_when(start, report['ended_at'], report['lesson_minutes'], labels, tz))}</text>",
        *_axis(start, end, TOP + ROW * len(learners), tz),
    ]
    for i, learner in enumerate(learners):
        parts += _row(TOP + i * ROW, learner, report["checks"], start, end, labels)
    parts += _legend(legend_y, layout)
    parts.append("</svg>")
    return "".join(parts)


def _clock(ms: int, tz: tzinfo) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC).astimezone(tz)


def _zone_name(at: datetime) -> str:
    """'Asia/Bishkek, UTC+06:00': the reader sees which clock the picture uses."""
    offset = at.strftime("%z")
    utc = f"UTC{offset[:3]}:{offset[3:]}" if offset not in ("", "+0000") else "UTC"
    key = getattr(at.tzinfo, "key", None)
    return f"{key}, {utc}" if key and key != "UTC" else utc


def _when(
    start: int | None, ended: int | None, minutes: float, labels: dict[str, str], tz: tzinfo
) -> str:
    if start is None:
        return "—"
    first = _clock(start, tz)
    last = _clock(ended, tz).strftime("%H:%M") if ended else "…"
    length = f"{minutes:.0f} {labels.get('min', 'min')}"
    return f"{first:%Y-%m-%d %H:%M}–{last} ({_zone_name(first)}) · {length}"


def _axis(start: int | None, end: int, bottom: int, tz: tzinfo) -> list[str]:
    """Ticks at round minutes of the local clock, with faint lines down through the bars."""
    if start is None or end <= start:
        return []
    span_min = (end - start) / 60_000
    step = next((s for s in TICK_STEPS_MIN if span_min / s <= MAX_TICKS), TICK_STEPS_MIN[-1])
    offset = _clock(start, tz).utcoffset()
    offset_ms = int(offset.total_seconds() * 1000) if offset else 0
    step_ms = step * 60_000
    tick = -(-(start + offset_ms) // step_ms) * step_ms - offset_ms  # first round local minute
    out = [f'<line x1="{LEFT}" y1="{TOP - 6}" x2="{RIGHT}" y2="{TOP - 6}" stroke="#999"/>']
    while tick <= end:
        x = _x(tick, start, end)
        anchor = "start" if x < LEFT + 12 else "end" if x > RIGHT - 12 else "middle"
        out += [
            f'<line x1="{x:.1f}" y1="{TOP - 9}" x2="{x:.1f}" y2="{bottom}" stroke="#e0e0e0"/>',
            f'<text x="{x:.1f}" y="{TOP - 12}" font-size="9" fill="#555" '
            f'text-anchor="{anchor}">{_clock(tick, tz):%H:%M}</text>',
        ]
        tick += step_ms
    return out


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


def _legend_layout(labels: dict[str, str]) -> list[tuple[str, str, int, int]]:
    """(state, label, x, line offset) of each swatch, wrapped to the width (names are
    estimated at 6.5 px a letter)."""
    out, x, line = [], LEFT, 0
    for state in (*LEGEND, "absent", "check"):
        label = labels.get(state, state)
        width = 22 + int(6.5 * len(label))
        if x + width > RIGHT and x > LEFT:
            x, line = LEFT, line + 16
        out.append((state, label, x, line))
        x += width
    return out


def _legend(y: int, layout: list[tuple[str, str, int, int]]) -> list[str]:
    out = []
    for state, label, x, line in layout:
        if state == "check":
            out.append(_check_mark(x + 5, y + line + 2, "answered"))
        else:
            colour = COLOURS.get(state, ABSENT)
            out.append(f'<rect x="{x}" y="{y + line}" width="10" height="10" fill="{colour}"/>')
        out.append(f'<text x="{x + 13}" y="{y + line + 9}" font-size="10">{escape(label)}</text>')
    return out
