"""Reports for people's spreadsheets: .xlsx and the Excel CSV, in the organizer's language.

The plain CSV (server/exports.py) is for programs: English column ids, UTC ISO times, commas.
Excel opens a CSV by the computer's locale: without a byte-order mark it reads UTF-8 as the
local code page (mojibake), and Russian or Kyrgyz Excel splits on `;` and reads `12,5` as a
number. So the Excel CSV has a BOM, that separator, decimal commas, headers and statuses in
the page's language and times in the organizer's time zone; the .xlsx has typed cells.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.errors import Refused
from server.exports import LESSON_COLUMNS, lesson_values, safe_cell

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LANGS = ("ky", "ru", "en")
SEPARATOR = {"ky": ";", "ru": ";", "en": ","}
TIMES = ("first_join", "last_leave")
HEADERS = {
    "en": ("Lesson id", "Lesson", "Learner id", "External id", "Name", "Guest", "Status",
           "First joined", "Last left", "Lesson, min", "Present, min", "In background, min",
           "Network drops", "Network drops, min", "Times left", "Away, min", "Removed",
           "Server outage, min", "Checks answered", "Checks issued", "Chat messages",
           "Hands raised", "Poll answers", "Quiz score", "Quiz max score", "Listening, min",
           "Counted, min"),
    "ru": ("Код урока", "Урок", "Код ученика", "Внешний код", "Имя", "Гость", "Статус",
           "Первый вход", "Последний выход", "Урок, мин", "Присутствовал, мин", "В фоне, мин",
           "Обрывы сети", "Обрывы сети, мин", "Выходил, раз", "Отсутствовал, мин", "Удалён",
           "Сбой сервера, мин", "Ответил на проверки", "Проверок", "Сообщений в чате",
           "Поднимал руку", "Ответов в опросах", "Баллы теста", "Макс. баллы теста",
           "Слушал, мин", "Засчитано, мин"),
    "ky": ("Сабактын коду", "Сабак", "Окуучунун коду", "Тышкы код", "Аты", "Конок", "Абалы",
           "Биринчи кирди", "Акыркы чыкты", "Сабак, мүн", "Катышты, мүн", "Фондо, мүн",
           "Тармак үзүлдү", "Тармак үзүлдү, мүн", "Чыгып кетти, жолу", "Жок болду, мүн",
           "Чыгарылды", "Сервер токтоду, мүн", "Текшерүүгө жооп берди", "Текшерүүлөр",
           "Чаттагы билдирүүлөр", "Кол көтөрдү", "Сурамжылоого жооптор", "Тесттин баллы",
           "Тесттин эң көп баллы", "Угуп турду, мүн", "Эсептелди, мүн"),
}  # fmt: skip
WORDS = {
    "en": {"yes": "yes", "no": "no", "learner": "Name", "guest": "Guest"},
    "ru": {"yes": "да", "no": "нет", "learner": "Имя", "guest": "Гость"},
    "ky": {"yes": "ооба", "no": "жок", "learner": "Аты", "guest": "Конок"},
}


def language(value: str | None) -> str:
    return value if value in LANGS else "en"


def zone(name: str | None) -> ZoneInfo:
    """The organizer's time zone (an IANA name such as Asia/Bishkek); UTC when not given."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError) as exc:
        message = "'tz' must be a time zone name like Asia/Bishkek."
        raise Refused("invalid-payload", message) from exc


def lesson_table(
    lesson: dict[str, Any], report: dict[str, Any], labels: dict[str, str], lang: str, tz: ZoneInfo
) -> tuple[list[str], list[list[Any]]]:
    """The lesson report as typed cells: numbers, local datetimes, words in `lang`."""
    words = WORDS[lang]
    rows = []
    for r in report["learners"]:
        values = dict(zip(LESSON_COLUMNS, lesson_values(lesson, report, r), strict=True))
        for key in TIMES:
            values[key] = _local(r[key], tz)
        values["guest"] = words["yes" if r["guest"] else "no"]
        values["status"] = labels.get(r["status"], r["status"])
        rows.append([values[c] for c in LESSON_COLUMNS])
    return list(HEADERS[lang]), rows


def matrix_table(
    matrix: dict[str, Any], labels: dict[str, str], lang: str
) -> tuple[list[str], list[list[Any]]]:
    words, lessons = WORDS[lang], matrix["lessons"]
    header = [words["learner"], words["guest"], *(x["title"] for x in lessons)]
    rows = [
        [learner["name"], words["yes" if learner["guest"] else "no"],
         *(labels.get(s, s) for s in (
             learner["lessons"].get(x["id"], {}).get("status", "") for x in lessons))]
        for learner in matrix["learners"]
    ]  # fmt: skip
    return header, rows


def _local(ms: int | None, tz: ZoneInfo) -> datetime | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).astimezone(tz).replace(tzinfo=None)


def excel_csv(header: list[str], rows: list[list[Any]], lang: str) -> bytes:
    """UTF-8 with a BOM, the locale's separator and decimal mark; every cell safe_cell'd."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=SEPARATOR[lang], lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    writer.writerows([[safe_cell(_text(v, lang)) for v in row] for row in rows])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _text(value: Any, lang: str) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float) and SEPARATOR[lang] == ";":
        return str(value).replace(".", ",")
    return value


def xlsx(sheet: str, header: list[str], rows: list[list[Any]]) -> bytes:
    """One sheet with a bold header; text cells stay text, so a name is never a formula."""
    import openpyxl  # only when a workbook is asked for
    from openpyxl.styles import Font

    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    ws.title = _sheet_title(sheet)
    for col, title in enumerate(header, 1):
        _put(ws.cell(1, col), title).font = Font(bold=True)
    for r, row in enumerate(rows, 2):
        for col, value in enumerate(row, 1):
            cell = _put(ws.cell(r, col), value)
            if isinstance(value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm:ss"
    ws.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _put(cell: Any, value: Any) -> Any:
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"  # openpyxl would make "=…" a formula; typed text is only text
    return cell


def _sheet_title(title: str) -> str:
    # Excel refuses : \ / ? * [ ] in a sheet's name, and more than 31 characters.
    cleaned = "".join(" " if ch in ":\\/?*[]" else ch for ch in title).strip()
    return cleaned[:31] or "Sabak"
