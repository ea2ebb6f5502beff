"""Attendance exports: CSV with stable columns, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from typing import Any

LESSON_COLUMNS = (
    "lesson_id", "lesson_title", "learner_id", "external_id", "name", "guest", "status",
    "first_join", "last_leave", "lesson_minutes", "minutes_present", "minutes_background",
    "network_gaps", "network_minutes", "left_gaps", "left_minutes", "removed",
    "server_gap_minutes", "checks_answered", "checks_issued", "chat_messages", "hands_raised",
    "poll_answers", "quiz_score", "quiz_max_score", "minutes_listening", "minutes_counted",
)  # fmt: skip
_RISKY_START = ("=", "+", "-", "@", "\t", "\r", "\n")
# A spreadsheet set to another separator (`;` in Russian-locale Excel, tab, `|`) splits a
# cell we wrote whole; every piece it could make must not start a formula either.
_RISKY_PIECE = re.compile(r'([,;\t|\r\n])([ "]*)(?=[=+\-@\t\r])')


def safe_cell(value: Any) -> str:
    """A cell a spreadsheet shows as text: formulas (= + - @ ...) are neutralized with a '.

    Whatever separator the spreadsheet splits the line by, no piece starts with a formula.
    """
    text = _RISKY_PIECE.sub(r"\1\2'", "" if value is None else str(value))
    return "'" + text if text.startswith(_RISKY_START) else text


def iso(ms: int | None) -> str:
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def lesson_rows(lesson: dict[str, Any], report: dict[str, Any]) -> list[list[str]]:
    return [_lesson_row(lesson, report, r) for r in report["learners"]]


def _lesson_row(lesson: dict[str, Any], report: dict[str, Any], r: dict[str, Any]) -> list[str]:
    return [safe_cell(v) for v in lesson_values(lesson, report, r)]


def lesson_values(lesson: dict[str, Any], report: dict[str, Any], r: dict[str, Any]) -> list[Any]:
    """One learner's row as values (numbers stay numbers), in LESSON_COLUMNS order."""
    gaps = r["gaps"] or {}

    def gap(state: str, key: str) -> Any:
        return gaps.get(state, {}).get(key, 0)

    values = [
        lesson["id"], lesson["title"], r["id"], r["external_id"], r["name"],
        "yes" if r["guest"] else "no", r["status"], iso(r["first_join"]),
        iso(r["last_leave"]), report["lesson_minutes"], r["minutes_present"],
        r["minutes_background"], gap("network", "count"), gap("network", "minutes"),
        gap("left", "count"), gap("left", "minutes"), gap("removed", "count"),
        gap("server", "minutes"), r["checks_answered"], r["checks_issued"],
        r["chat_messages"], r["hands_raised"], r.get("poll_answers", 0),
        sum(r.get("quiz_scores", {}).values()),
        sum(q["max_score"] for q in report.get("quizzes", [])),
        r["minutes_listening"], r["minutes_counted"],
    ]  # fmt: skip
    return values


def to_csv(header: tuple[str, ...] | list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def lesson_csv(lesson: dict[str, Any], report: dict[str, Any]) -> str:
    return to_csv(LESSON_COLUMNS, lesson_rows(lesson, report))


def matrix_csv(matrix: dict[str, Any]) -> str:
    """One row per learner, one status column per lesson (in lesson order)."""
    lessons = matrix["lessons"]
    header = ["learner_id", "name", "guest", *(f"{x['title']} ({x['id']})" for x in lessons)]
    rows = [
        [safe_cell(v) for v in (
            learner["id"], learner["name"], "yes" if learner["guest"] else "no",
            *(learner["lessons"].get(x["id"], {}).get("status", "") for x in lessons),
        )]
        for learner in matrix["learners"]
    ]  # fmt: skip
    return to_csv([safe_cell(h) for h in header], rows)
